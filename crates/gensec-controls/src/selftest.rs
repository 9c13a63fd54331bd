//! Executing Guard rules before anyone sees them: every rule must pass a
//! compliant template and fail each non-compliant one. The same cases become
//! the `cfn-guard test` file shipped with the rules.

use gensec_core::analysis::{Expectation, Recommendation};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "SKIP")]
    Skip,
}

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

/// Set `path` (`A.B[].C`) in `properties`, creating objects and one-element arrays.
pub fn set_path(properties: &mut Map<String, Value>, path: &str, value: Value) {
    let segments: Vec<&str> = path.split('.').collect();
    let mut current = properties;
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        let (name, array) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*segment, false),
        };
        if last {
            let value = if array && !value.is_array() {
                json!([value])
            } else {
                value
            };
            current.insert(name.to_string(), value);
            return;
        }
        let slot = current
            .entry(name.to_string())
            .or_insert_with(|| if array { json!([{}]) } else { json!({}) });
        let next = if array {
            match slot.as_array_mut().and_then(|items| items.first_mut()) {
                Some(item) => item,
                None => return,
            }
        } else {
            slot
        };
        match next.as_object_mut() {
            Some(object) => current = object,
            None => return,
        }
    }
}

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

/// Evaluate one rule of a rules file against a template.
///
/// Uses cfn-guard's verbose event record: its summary output is read back from
/// a `BufWriter` without flushing and comes back empty once it outgrows the
/// buffer (cfn-guard 3.2.1), while the record is serialised whole.
pub fn evaluate(rules: &str, rule: &str, input: &Value) -> Result<Outcome, String> {
    let data = input.to_string();
    let output = cfn_guard::run_checks(
        cfn_guard::ValidateInput {
            content: &data,
            file_name: "template.json",
        },
        cfn_guard::ValidateInput {
            content: rules,
            file_name: "rules.guard",
        },
        true,
    )
    .map_err(|err| format!("cfn-guard: {err}"))?;
    if output.is_empty() {
        return Err("cfn-guard found no rules in the file".into());
    }
    let record: Value = serde_json::from_str(&output).map_err(|err| {
        format!(
            "cfn-guard output: {err}: {}",
            output.chars().take(300).collect::<String>()
        )
    })?;
    let status = record["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|child| &child["container"]["RuleCheck"])
        .find(|check| check["name"].as_str() == Some(rule))
        .and_then(|check| check["status"].as_str());
    match status {
        Some("PASS") => Ok(Outcome::Pass),
        Some("FAIL") => Ok(Outcome::Fail),
        Some(_) => Ok(Outcome::Skip),
        None => Err(format!("rule {rule} is not in the rules file")),
    }
}

/// Run every case; the first one that misbehaves is the reason to reject the rule.
pub fn verify(rules: &str, rule: &str, cases: &[Case]) -> Result<(), String> {
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
    }
    Ok(())
}
