//! Proactive controls: one Guard rules file per service and its unit tests.
//! A rule is kept only if it passes its compliant template and fails every
//! non-compliant one when executed with cfn-guard.

use crate::guard;
use crate::selftest::{self, Case};
use gensec_core::analysis::{Recommendation, ValidationReport};
use std::collections::{BTreeMap, BTreeSet};

pub const STAGE: &str = "controls";

#[derive(Debug, Default)]
pub struct Proactive {
    pub rules_file: Option<String>,
    pub cases: Vec<Case>,
    /// configuration id -> rule name.
    pub references: BTreeMap<String, String>,
    pub verified: usize,
}

pub fn build(
    service_id: &str,
    header: &str,
    recommendations: &[Recommendation],
    report: &mut ValidationReport,
) -> Proactive {
    let mut out = Proactive::default();
    let mut rules = Vec::new();
    let mut types = BTreeSet::new();
    for recommendation in recommendations {
        let name = guard::rule_name(recommendation);
        let rule = match guard::rule(recommendation) {
            Ok(rule) => rule,
            Err(reason) => {
                report.reject(STAGE, format!("Guard rule {name}"), reason);
                continue;
            }
        };
        let single = guard::rules_file(
            "",
            &[recommendation.resource_type.as_str()],
            std::slice::from_ref(&rule),
        );
        let cases = selftest::cases(recommendation, &name);
        if let Err(reason) = selftest::verify(&single, &name, &cases) {
            report.reject(STAGE, format!("Guard rule {name}"), reason);
            continue;
        }
        report.accept();
        types.insert(recommendation.resource_type.as_str());
        rules.push(rule);
        out.cases.extend(cases);
        out.references
            .insert(recommendation.configuration_id.clone(), name);
        out.verified += 1;
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
