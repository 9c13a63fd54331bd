//! Proactive controls: one Guard rules file per service and its unit tests.
//! A rule is kept only if it passes its compliant template and fails every
//! non-compliant one when executed with cfn-guard.

use crate::guard;
use crate::selftest::{self, Case};
use crate::tagging::{self, TagRule};
use gensec_core::contract::analysis::Recommendation;
use gensec_core::contract::controls::ExecutedCase;
use gensec_core::contract::controls::{ControlKind, GeneratedControl};
use gensec_core::contract::paths;
use gensec_core::contract::stage::Verdicts;
use gensec_core::input::Tagging;
use gensec_kb::Kb;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct Proactive {
    pub rules_file: Option<String>,
    pub cases: Vec<Case>,
    /// One per rule kept, with the cases it was executed against.
    pub controls: Vec<GeneratedControl>,
}

/// `tag_standard`: the KB (tag shapes) and the profile's tagging standard,
/// for the tagging control's rule; without it that rule is not written.
pub fn build(
    service_id: &str,
    header: &str,
    recommendations: &[Recommendation],
    tag_standard: Option<(&Kb, &Tagging)>,
    report: &mut Verdicts,
) -> Proactive {
    let mut out = Proactive::default();
    let mut rules = Vec::new();
    let mut types = BTreeSet::new();
    // An operational control has no template property: no Guard rule, and
    // nothing to reject either.
    for recommendation in recommendations.iter().filter(|r| !r.is_operational()) {
        let name = guard::rule_name(recommendation);
        if tagging::is_tagging(recommendation) {
            match tagging_rule(recommendation, &name, tag_standard) {
                Ok((rule, cases, executed, covered)) => {
                    report.accept();
                    rules.push(rule);
                    out.cases.extend(cases);
                    out.controls.push(guard_control(
                        service_id,
                        recommendation,
                        name,
                        covered,
                        executed,
                    ));
                }
                Err(reason) => report.reject(format!("Guard rule {name}"), reason),
            }
            continue;
        }
        match property_rule(recommendation, &name) {
            Ok((rule, cases, executed)) => {
                report.accept();
                types.insert(recommendation.resource_type.as_str());
                rules.push(rule);
                out.cases.extend(cases);
                out.controls.push(guard_control(
                    service_id,
                    recommendation,
                    name,
                    vec![recommendation.resource_type.clone()],
                    executed,
                ));
            }
            Err(reason) => report.reject(format!("Guard rule {name}"), reason),
        }
    }
    if !rules.is_empty() {
        let types: Vec<&str> = types.into_iter().collect();
        let header = format!(
            "{header}\nProactive controls for {service_id}: run with\n  cfn-guard validate --rules {service_id}.guard --data <template>\n  cfn-guard test --rules-file {service_id}.guard --test-data {service_id}_tests.yaml"
        );
        out.rules_file = Some(guard::rules_file(&header, &types, &rules));
    }
    out
}

/// The Guard rule for a recommendation's property, its cases and their
/// executed outcome; an error when the rule cannot be written, the
/// recommended value misses its own expectation, or a case fails.
fn property_rule(
    recommendation: &Recommendation,
    name: &str,
) -> Result<(String, Vec<Case>, Vec<ExecutedCase>), String> {
    let rule = guard::rule(recommendation)?;
    let single = guard::rules_file(
        "",
        &[recommendation.resource_type.as_str()],
        std::slice::from_ref(&rule),
    );
    if let Some(value) = selftest::compliant_value(recommendation)
        && !recommendation.expectation.is_met_by(Some(&value))
    {
        return Err(format!(
            "the recommended value {value} does not meet the expectation"
        ));
    }
    let cases = selftest::cases(recommendation, name);
    let executed = selftest::verify(&single, name, &cases)?;
    Ok((rule, cases, executed))
}

fn guard_control(
    service_id: &str,
    recommendation: &Recommendation,
    name: String,
    resource_types: Vec<String>,
    cases: Vec<ExecutedCase>,
) -> GeneratedControl {
    GeneratedControl {
        kind: ControlKind::GuardRule,
        name,
        file: paths::guard_rules(service_id),
        description: recommendation.title.clone(),
        configuration_ids: vec![recommendation.configuration_id.clone()],
        resource_types,
        source_identifier: None,
        actions: Vec::new(),
        conditional: false,
        checks: Vec::new(),
        cases,
    }
}

/// The tagging control's rule, its cases, the cases executed, and the types it covers.
type TaggingRule = (String, Vec<Case>, Vec<ExecutedCase>, Vec<String>);

/// The tagging control's rule, executed against its cases.
fn tagging_rule(
    recommendation: &Recommendation,
    name: &str,
    tag_standard: Option<(&Kb, &Tagging)>,
) -> Result<TaggingRule, String> {
    let (kb, standard) =
        tag_standard.ok_or("the tagging rule needs the KB's tag shapes and the profile")?;
    let tag_rule = TagRule::for_recommendation(kb, recommendation, standard)?;
    let rule = tag_rule.rule(name, recommendation)?;
    let single = guard::rules_file("", &[], std::slice::from_ref(&rule));
    let cases = tag_rule.cases(name);
    let executed = selftest::verify(&single, name, &cases)?;
    let covered = tag_rule.shapes.iter().map(|(t, _)| t.clone()).collect();
    Ok((rule, cases, executed, covered))
}
