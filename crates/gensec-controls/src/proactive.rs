//! Proactive controls: one Guard rules file per service and its unit tests.
//! A rule is kept only if it passes its compliant template and fails every
//! non-compliant one when executed with cfn-guard.

use crate::guard;
use crate::selftest::{self, Case};
use gensec_core::contract::analysis::Recommendation;
use gensec_core::contract::controls::{ControlKind, GeneratedControl};
use gensec_core::contract::paths;
use gensec_core::contract::stage::Verdicts;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct Proactive {
    pub rules_file: Option<String>,
    pub cases: Vec<Case>,
    /// One per rule kept, with the cases it was executed against.
    pub controls: Vec<GeneratedControl>,
}

pub fn build(
    service_id: &str,
    header: &str,
    recommendations: &[Recommendation],
    report: &mut Verdicts,
) -> Proactive {
    let mut out = Proactive::default();
    let mut rules = Vec::new();
    let mut types = BTreeSet::new();
    for recommendation in recommendations {
        let name = guard::rule_name(recommendation);
        let rule = match guard::rule(recommendation) {
            Ok(rule) => rule,
            Err(reason) => {
                report.reject(format!("Guard rule {name}"), reason);
                continue;
            }
        };
        let single = guard::rules_file(
            "",
            &[recommendation.resource_type.as_str()],
            std::slice::from_ref(&rule),
        );
        if let Some(value) = selftest::compliant_value(recommendation)
            && !recommendation.expectation.is_met_by(Some(&value))
        {
            report.reject(
                format!("Guard rule {name}"),
                format!("the recommended value {value} does not meet the expectation"),
            );
            continue;
        }
        let cases = selftest::cases(recommendation, &name);
        let executed = match selftest::verify(&single, &name, &cases) {
            Ok(executed) => executed,
            Err(reason) => {
                report.reject(format!("Guard rule {name}"), reason);
                continue;
            }
        };
        report.accept();
        types.insert(recommendation.resource_type.as_str());
        rules.push(rule);
        out.cases.extend(cases);
        out.controls.push(GeneratedControl {
            kind: ControlKind::GuardRule,
            name,
            file: paths::guard_rules(service_id),
            description: recommendation.title.clone(),
            configuration_ids: vec![recommendation.configuration_id.clone()],
            resource_types: vec![recommendation.resource_type.clone()],
            source_identifier: None,
            actions: Vec::new(),
            conditional: false,
            checks: Vec::new(),
            cases: executed,
        });
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
