//! Executing CloudFormation Guard rules in-process: the validator every
//! generated rule and template goes through.

use serde::Serialize;
use serde_json::Value;

/// A rule's result on one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "SKIP")]
    Skip,
}

/// Evaluate one rule of a rules file against a template.
///
/// Uses cfn-guard's verbose event record: its summary output is read back from
/// a `BufWriter` without flushing and comes back empty once it outgrows the
/// buffer (cfn-guard 3.2.1), while the record is serialised whole.
pub fn evaluate(rules: &str, rule: &str, input: &Value) -> Result<Outcome, String> {
    evaluate_all(rules, input)?
        .into_iter()
        .find(|(name, _)| name == rule)
        .map(|(_, outcome)| outcome)
        .ok_or_else(|| format!("rule {rule} is not in the rules file"))
}

/// Every rule of a rules file and its result on one input.
pub fn evaluate_all(rules: &str, input: &Value) -> Result<Vec<(String, Outcome)>, String> {
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
    let record: Value =
        serde_json::from_str(&output).map_err(|err| format!("cfn-guard output: {err}"))?;
    Ok(record["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|child| &child["container"]["RuleCheck"])
        .filter_map(|check| {
            let outcome = match check["status"].as_str()? {
                "PASS" => Outcome::Pass,
                "FAIL" => Outcome::Fail,
                _ => Outcome::Skip,
            };
            Some((check["name"].as_str()?.to_string(), outcome))
        })
        .collect())
}
