//! The mix of a package over the 21 services the issue names: at most one
//! tagging recommendation, inferred recommendations at most 30% (and never
//! more than the curated ones) where the catalogue covers the service, all
//! of them kept where it does not, and every compliance reference exactly the
//! one in its control's (or inference category's) data. One KB load.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_analysis::{catalogue, infer, recommend};
use gensec_core::contract::analysis::Confidence;
use gensec_kb::Kb;
use gensec_testkit::{example_profile, services_with_templates};

/// The tagging control's id in the catalogue.
const TAGGING_CONTROL: &str = "tagging-required-keys";

#[test]
fn packages_are_curated_first_with_one_tagging_item_and_data_mappings() {
    let kb = Kb::embedded().unwrap();
    let profile = example_profile();
    let entries = catalogue::load().unwrap();
    let controls = catalogue::controls().unwrap();
    let mut failures = Vec::new();
    eprintln!("service | total | tagging | curated | inferred | inferred % | dropped");
    for name in services_with_templates() {
        let service = kb.resolve_service(name).unwrap();
        let (recommendations, verdicts) = recommend::recommend(&kb, service, &entries, &profile);
        let total = recommendations.len();
        let tagging = recommendations
            .iter()
            .filter(|r| r.control_id == TAGGING_CONTROL || r.property == "Tags")
            .count();
        let curated = recommendations
            .iter()
            .filter(|r| r.confidence == Confidence::Curated)
            .count();
        let inferred = recommendations
            .iter()
            .filter(|r| r.confidence == Confidence::Inferred)
            .count();
        let dropped = verdicts
            .rejected
            .iter()
            .filter(|r| r.reason.starts_with(recommend::INFERRED_CAP_REASON))
            .count();
        for rejection in verdicts.rejected.iter().filter(|r| r.item.contains("Tags")) {
            failures.push(format!(
                "{name}: tagging item rejected: {} — {}",
                rejection.item, rejection.reason
            ));
        }
        let share = if total == 0 {
            0.0
        } else {
            100.0 * inferred as f64 / total as f64
        };
        eprintln!(
            "{name} | {total} | {tagging} | {curated} | {inferred} | {share:.0}% | {dropped}"
        );
        if total == 0 {
            failures.push(format!("{name}: empty package"));
        }
        if tagging > 1 {
            failures.push(format!("{name}: {tagging} tagging recommendations"));
        }
        // The tagging control is curated but says nothing about the service.
        let covered = curated - usize::from(tagging > 0);
        if covered > 0 && inferred * 10 > total * 3 {
            failures.push(format!("{name}: {inferred} of {total} inferred (over 30%)"));
        }
        if covered > 0 && inferred > covered {
            failures.push(format!(
                "{name}: {inferred} inferred outnumber {covered} curated"
            ));
        }
        if covered == 0 && dropped > 0 {
            failures.push(format!(
                "{name}: not covered by the catalogue, yet {dropped} inferred items were capped"
            ));
        }
        for recommendation in &recommendations {
            let expected = match recommendation.confidence {
                Confidence::Curated => controls
                    .controls()
                    .iter()
                    .find(|c| c.id == recommendation.control_id)
                    .map(|c| c.compliance.clone()),
                Confidence::Inferred => {
                    infer::category_of(&recommendation.control_id).map(|c| c.compliance.clone())
                }
                Confidence::ModelProposed => None,
            };
            let Some(expected) = expected else {
                failures.push(format!(
                    "{name}: {} has no control or category {}",
                    recommendation.configuration_id, recommendation.control_id
                ));
                continue;
            };
            for (framework, references) in &recommendation.compliance {
                if expected.get(framework) != Some(references) {
                    failures.push(format!(
                        "{name}: {} {framework:?} {references:?} is not its data's {:?}",
                        recommendation.configuration_id,
                        expected.get(framework)
                    ));
                }
            }
            let rule_scope = kb
                .config_rule("REQUIRED_TAGS")
                .unwrap()
                .resource_types
                .clone();
            let in_scope = gensec_analysis::tagging::taggable_types(&kb, service)
                .iter()
                .any(|(t, _)| rule_scope.contains(t));
            if recommendation.control_id == TAGGING_CONTROL
                && in_scope
                && recommendation.detective.as_ref().is_none_or(|rule| {
                    rule.identifier != "REQUIRED_TAGS" || !rule.parameters.contains_key("tag1Key")
                })
            {
                failures.push(format!(
                    "{name}: tagging without REQUIRED_TAGS and its tag1Key: {:?}",
                    recommendation.detective
                ));
            }
            if recommendation.control_id == TAGGING_CONTROL
                && recommendation.threat_vector
                    == gensec_core::contract::analysis::StrideThreat::Repudiation
            {
                failures.push(format!("{name}: tagging labelled Repudiation"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
