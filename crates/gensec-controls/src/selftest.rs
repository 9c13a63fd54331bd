//! Executing Guard rules before anyone sees them: every rule must pass a
//! compliant template and fail each non-compliant one. The same cases become
//! the `cfn-guard test` file shipped with the rules.

use gensec_core::contract::analysis::{Expectation, Recommendation};
use gensec_core::contract::controls::{ExecutedCase, Verdict};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub use gensec_kb::guard::Outcome;

/// One entry of a `cfn-guard test` file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub name: String,
    pub input: Value,
    pub expectations: CaseExpectations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseExpectations {
    pub rules: BTreeMap<String, Outcome>,
}

pub use gensec_kb::guard::evaluate;
pub use gensec_kb::paths::set_property as set_path;

fn template(resource_type: &str, properties: Map<String, Value>) -> Value {
    json!({"Resources": {"Resource": {"Type": resource_type, "Properties": properties}}})
}

fn with(recommendation: &Recommendation, value: Value) -> Value {
    let mut properties = Map::new();
    set_path(&mut properties, &recommendation.property, value);
    template(&recommendation.resource_type, properties)
}

fn flipped(value: &Value) -> Value {
    match value {
        Value::Bool(flag) => json!(!flag),
        Value::Number(number) => json!(number.as_f64().unwrap_or_default() + 1.0),
        _ => json!("NONCOMPLIANT"),
    }
}

/// The compliant template and the non-compliant ones for a recommendation.
pub fn cases(recommendation: &Recommendation, rule: &str) -> Vec<Case> {
    let case = |name: String, input: Value, outcome: Outcome| Case {
        name,
        input,
        expectations: CaseExpectations {
            rules: BTreeMap::from([(rule.to_string(), outcome)]),
        },
    };
    let compliant_value = match &recommendation.expectation {
        Expectation::Contains(element) => json!([element]),
        _ => recommendation.recommended_value.clone(),
    };
    let mut cases = vec![
        case(
            format!("{rule}: compliant {}", recommendation.resource_type),
            with(recommendation, compliant_value),
            Outcome::Pass,
        ),
        case(
            format!("{rule}: {} missing", recommendation.property),
            template(&recommendation.resource_type, Map::new()),
            Outcome::Fail,
        ),
    ];
    let wrong = match &recommendation.expectation {
        Expectation::Equals(value) => Some(flipped(value)),
        Expectation::OneOf(_) => Some(json!("NONCOMPLIANT")),
        Expectation::Present => None,
        Expectation::AtLeast(bound) => Some(json!(bound - 1.0)),
        Expectation::AtMost(bound) => Some(json!(bound + 1.0)),
        Expectation::Contains(element) => {
            let mut altered = element.clone();
            if let Some((_, first)) = altered
                .as_object_mut()
                .and_then(|o| o.iter_mut().find(|(_, v)| !v.is_object()))
            {
                *first = flipped(first);
            }
            Some(json!([altered]))
        }
    };
    if let Some(wrong) = wrong {
        cases.push(case(
            format!("{rule}: {} wrong", recommendation.property),
            with(recommendation, wrong),
            Outcome::Fail,
        ));
    }
    cases
}

/// The verdict an executed case reports for a Guard outcome.
pub fn verdict(outcome: Outcome) -> Verdict {
    match outcome {
        Outcome::Pass => Verdict::Pass,
        Outcome::Fail => Verdict::Fail,
        Outcome::Skip => Verdict::Skip,
    }
}

/// Run every case; the first one that misbehaves is the reason to reject the
/// rule. Returns the executed cases.
pub fn verify(rules: &str, rule: &str, cases: &[Case]) -> Result<Vec<ExecutedCase>, String> {
    let mut executed = Vec::with_capacity(cases.len());
    for case in cases {
        let expected = case
            .expectations
            .rules
            .get(rule)
            .copied()
            .unwrap_or(Outcome::Skip);
        let found = evaluate(rules, rule, &case.input)?;
        if found != expected {
            return Err(format!(
                "case \"{}\" gave {found:?}, expected {expected:?}",
                case.name
            ));
        }
        executed.push(ExecutedCase {
            name: case.name.clone(),
            expected: verdict(expected),
            actual: verdict(found),
        });
    }
    Ok(executed)
}
