//! Every persona's written policy with the cases the IAM stage executed it
//! against on its package's own resources (the runtime's and auditor's
//! calls there, key use through the services, data reads, escalation,
//! MFA), over the test services' packages: the hardened template built
//! from the example profile's recommendations, as the persona test builds it.

use gensec_analysis::{catalogue, recommend};
use gensec_iam::{Package, build_model};
use gensec_kb::Kb;
use gensec_policy::corpus::{Case, SimulatorMode};
use gensec_testkit::{all_services, example_profile};
use serde::Deserialize;

/// A case iam-simulate cannot express (simulator-exceptions.json).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Exception {
    action: String,
    resource_arn_contains: String,
    reason: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Exceptions {
    #[allow(dead_code)] // documentation in the file
    why: String,
    exceptions: Vec<Exception>,
}

/// Skip the cases an exception names, with its reason and source; every
/// exception must name at least one case.
fn apply_exceptions(cases: &mut [Case]) {
    let text = include_str!("simulator-exceptions.json");
    let exceptions: Exceptions =
        serde_json::from_str(text).unwrap_or_else(|err| panic!("simulator-exceptions.json: {err}"));
    for exception in &exceptions.exceptions {
        let mut matched = 0;
        for case in cases.iter_mut() {
            if case.requests.iter().any(|request| {
                request.action.eq_ignore_ascii_case(&exception.action)
                    && request.resource.contains(&exception.resource_arn_contains)
            }) {
                case.simulator = SimulatorMode::Skip {
                    reason: format!("{} (source: {})", exception.reason, exception.source),
                };
                matched += 1;
            }
        }
        assert!(
            matched > 0,
            "simulator-exceptions.json: {} on {} matches no case (stale exception)",
            exception.action,
            exception.resource_arn_contains
        );
    }
}

pub fn cases(kb: &Kb) -> Vec<Case> {
    let profile = example_profile();
    let catalogue = catalogue::load().unwrap_or_else(|err| panic!("catalogue: {err}"));
    let curated = gensec_iac::data::curated().unwrap_or_else(|err| panic!("IaC data: {err}"));
    let mut cases = Vec::new();
    for name in all_services() {
        let entry = kb.resolve_service(name).unwrap();
        let service = entry.id.as_str();
        let (recommendations, _) = recommend::recommend(kb, entry, &catalogue, &profile);
        let template =
            gensec_iac::cloudformation::build(kb, curated, "test", &recommendations, &profile)
                .template;
        let doc = gensec_docs::collect(kb, &entry.id)
            .unwrap_or_else(|err| panic!("{service} documentation: {err}"));
        let output = build_model(kb, &doc, &profile, &Package::from_template(&template))
            .unwrap_or_else(|err| panic!("{service} IAM model: {err}"));
        cases.extend(output.corpus(kb, service));
    }
    apply_exceptions(&mut cases);
    cases
}
