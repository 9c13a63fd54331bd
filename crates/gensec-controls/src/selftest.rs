//! Executing Guard rules before anyone sees them: every rule must pass a
//! compliant template and fail each non-compliant one. The same cases become
//! the `cfn-guard test` file shipped with the rules.

use gensec_core::contract::analysis::{ElementCondition, Expectation, Recommendation, bound_value};
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

pub use gensec_kb::guard::{evaluate, evaluate_each};
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

/// A value meeting a scalar expectation; `None` for "leave it unset" or
/// when no value can be built without guessing (patterns).
fn meeting(expectation: &Expectation) -> Option<Value> {
    match expectation {
        Expectation::Equals(value) => Some(value.clone()),
        Expectation::NotEquals(value) => Some(flipped(value)),
        Expectation::OneOf(values) => values.first().cloned(),
        Expectation::Present => Some(json!("present")),
        Expectation::AtLeast(bound) | Expectation::AtMost(bound) => Some(bound_value(*bound)),
        _ => None,
    }
}

/// An element of a list with a field for every condition, each meeting its
/// condition except the one at `violated`.
fn element(conditions: &[ElementCondition], violated: Option<usize>) -> Option<Value> {
    let mut fields = Map::new();
    for (index, condition) in conditions.iter().enumerate() {
        let value = if Some(index) == violated {
            violating(&condition.expect)?
        } else {
            match &condition.expect {
                // Unset meets both.
                Expectation::Absent | Expectation::NotMatches(_) => continue,
                other => meeting(other)?,
            }
        };
        set_path(&mut fields, &condition.field, value);
    }
    Some(Value::Object(fields))
}

/// A text a pattern matches, when the pattern opens with a literal (its
/// first alternative: `^(root|0)(:.*)?$` gives `root`): kept only if the
/// pattern does match it; otherwise no text is guessed.
fn matching_text(pattern: &str) -> Option<Value> {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let body = body.strip_prefix('(').unwrap_or(body);
    let literal: String = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
        .collect();
    let matches = regex::Regex::new(pattern).is_ok_and(|re| re.is_match(&literal));
    (!literal.is_empty() && matches).then(|| json!(literal))
}

/// A value that does not meet the expectation, when one can be built.
fn violating(expectation: &Expectation) -> Option<Value> {
    match expectation {
        Expectation::Equals(value) => Some(flipped(value)),
        Expectation::NotEquals(value) => Some(value.clone()),
        Expectation::OneOf(_) | Expectation::Matches(_) => Some(json!("NONCOMPLIANT")),
        Expectation::Present => None,
        Expectation::NotMatches(pattern) => matching_text(pattern),
        Expectation::Absent => Some(json!("present")),
        Expectation::AtLeast(bound) => Some(bound_value(bound - 1.0)),
        Expectation::AtMost(bound) => Some(bound_value(bound + 1.0)),
        Expectation::Contains(wanted) => {
            let mut altered = wanted.clone();
            if let Some((_, first)) = altered
                .as_object_mut()
                .and_then(|o| o.iter_mut().find(|(_, v)| !v.is_object()))
            {
                *first = flipped(first);
            }
            Some(json!([altered]))
        }
        Expectation::NoElement(conditions) => Some(json!([element(conditions, None)?])),
        Expectation::EveryElement(conditions) => Some(json!([element(conditions, Some(0))?])),
        Expectation::Excludes(refused) => Some(json!([refused])),
        // One element short.
        Expectation::MinItems(least) => Some(Value::Array(
            (1..*least).map(|n| json!(format!("element-{n}"))).collect(),
        )),
    }
}

/// The property value of the compliant case: the hardened value (in a list
/// for `contains`); `None` when the hardened template leaves it unset.
pub fn compliant_value(recommendation: &Recommendation) -> Option<Value> {
    match &recommendation.expectation {
        Expectation::Contains(element) => Some(json!([element])),
        _ => Some(recommendation.recommended_value.clone()).filter(|v| !v.is_null()),
    }
}

/// The compliant template and the non-compliant ones for a recommendation.
/// What each case should give is decided by [`Expectation::is_met_by`], the
/// expectation's own semantics, not by the Guard rule under test.
pub fn cases(recommendation: &Recommendation, rule: &str) -> Vec<Case> {
    let expectation = &recommendation.expectation;
    // A setting of one variant is checked on resources of that variant: the
    // property missing means the block is set without it.
    let without = || {
        let mut properties = Map::new();
        if let Some(block) = &recommendation.when_set {
            set_path(&mut properties, block, json!({}));
        }
        template(&recommendation.resource_type, properties)
    };
    let case = |name: String, value: Option<Value>| {
        let outcome = if expectation.is_met_by(value.as_ref()) {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        let input = match value {
            Some(value) => with(recommendation, value),
            None => without(),
        };
        Case {
            name,
            input,
            expectations: CaseExpectations {
                rules: BTreeMap::from([(rule.to_string(), outcome)]),
            },
        }
    };
    let compliant = compliant_value(recommendation);
    let property = &recommendation.property;
    let mut cases = Vec::new();
    if compliant.is_some() {
        cases.push(case(
            format!("{rule}: compliant {}", recommendation.resource_type),
            compliant,
        ));
    }
    cases.push(case(format!("{rule}: {property} missing"), None));
    if let Some(block) = &recommendation.when_set {
        // A resource of another variant (without the block) is skipped.
        cases.push(Case {
            name: format!("{rule}: {block} not set (another variant)"),
            input: template(&recommendation.resource_type, Map::new()),
            expectations: CaseExpectations {
                rules: BTreeMap::from([(rule.to_string(), Outcome::Skip)]),
            },
        });
    }
    if let Some(wrong) = violating(expectation) {
        cases.push(case(format!("{rule}: {property} wrong"), Some(wrong)));
    }
    if matches!(
        expectation,
        Expectation::NotEquals(Value::String(_)) | Expectation::NotMatches(_)
    ) {
        // A value written as an intrinsic function is not a string.
        cases.push(case(
            format!("{rule}: {property} given by a function"),
            Some(json!({"Fn::Sub": "${AWS::AccountId}"})),
        ));
    }
    if let Expectation::NoElement(conditions) = expectation {
        // An element that differs in one condition is allowed.
        for index in 0..conditions.len() {
            if let Some(other) = element(conditions, Some(index)) {
                cases.push(case(
                    format!(
                        "{rule}: {property} with an element differing in {}",
                        conditions[index].field
                    ),
                    Some(json!([other])),
                ));
            }
            // So is one whose field holds a map where the condition names a
            // literal (a principal written as {"AWS": ...}).
            if let Expectation::Equals(text @ (Value::String(_) | Value::Number(_))) =
                &conditions[index].expect
                && let Some(mut other) = element(conditions, None)
                && let Some(fields) = other.as_object_mut()
            {
                set_path(fields, &conditions[index].field, json!({"AWS": text}));
                cases.push(case(
                    format!(
                        "{rule}: {property} with an element whose {} is a map",
                        conditions[index].field
                    ),
                    Some(json!([other])),
                ));
            }
        }
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
    let expects = |outcome| {
        cases
            .iter()
            .any(|c| c.expectations.rules.get(rule) == Some(&outcome))
    };
    if !expects(Outcome::Pass) || !expects(Outcome::Fail) {
        return Err("the self-test needs a case the rule passes and one it fails".into());
    }
    // The rules are parsed once for all the cases.
    let inputs: Vec<&Value> = cases.iter().map(|case| &case.input).collect();
    let outcomes = evaluate_each(rules, rule, &inputs)?;
    let mut executed = Vec::with_capacity(cases.len());
    for (case, found) in cases.iter().zip(outcomes) {
        let expected = case
            .expectations
            .rules
            .get(rule)
            .copied()
            .unwrap_or(Outcome::Skip);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_not_matches_expectation_gets_a_matching_text_only_when_the_pattern_matches_it() {
        assert_eq!(matching_text("^(root|0)(:.*)?$"), Some(json!("root")));
        assert_eq!(matching_text("^(HTTP|TCP)$"), Some(json!("HTTP")));
        // The literal the pattern opens with is not enough for it ("arn:aws"
        // lacks ":acm:"), or there is none: no guess.
        assert_eq!(matching_text("^arn:aws[a-z-]*:acm:"), None);
        assert_eq!(matching_text("^[0-9]+$"), None);
        let violating = violating(&Expectation::NotMatches("^(root|0)(:.*)?$".into())).unwrap();
        assert!(!Expectation::NotMatches("^(root|0)(:.*)?$".into()).is_met_by(Some(&violating)));
    }
}
