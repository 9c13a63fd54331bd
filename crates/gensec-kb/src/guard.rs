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

/// One rule of a rules file and its result on each of several inputs, the
/// rules parsed once for all of them (a self-test runs one rule against
/// several templates; parsing the rules for each was most of its cost).
///
/// Uses cfn-guard's `validate --payload --structured` command in process: it
/// parses every rules file of the payload once and evaluates each data
/// document against the parsed rules, reporting per document the rules that
/// passed, failed and did not apply.
pub fn evaluate_each(rules: &str, rule: &str, inputs: &[&Value]) -> Result<Vec<Outcome>, String> {
    use cfn_guard::CommandBuilder;
    use cfn_guard::commands::Executable;
    use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
    use cfn_guard::utils::reader::{ReadBuffer, Reader};
    use cfn_guard::utils::writer::{WriteBuffer, Writer};

    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let payload = serde_json::json!({
        "rules": [rules],
        "data": inputs.iter().map(|input| input.to_string()).collect::<Vec<_>>(),
    });
    let command = cfn_guard::ValidateBuilder::default()
        .payload(true)
        .structured(true)
        .output_format(OutputFormatType::JSON)
        .show_summary(vec![ShowSummaryType::None])
        .try_build()
        .map_err(|err| format!("cfn-guard: {err}"))?;
    let mut reader = Reader::new(ReadBuffer::Cursor(std::io::Cursor::new(
        payload.to_string().into_bytes(),
    )));
    let mut writer =
        Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
            .map_err(|err| format!("cfn-guard: {err}"))?;
    // Exit code 5: the rules did not parse (the reason went to the error
    // buffer, which cannot be read beside the output): let the one-input
    // evaluation say why.
    const ERROR_STATUS: i32 = 5;
    if command
        .execute(&mut writer, &mut reader)
        .map_err(|err| format!("cfn-guard: {err}"))?
        == ERROR_STATUS
    {
        if let Some(first) = inputs.first() {
            evaluate_all(rules, first)?;
        }
        return Err("cfn-guard could not evaluate the rules file".into());
    }
    let output = writer
        .into_string()
        .map_err(|err| format!("cfn-guard output: {err}"))?;
    let records: Vec<Value> =
        serde_json::from_str(&output).map_err(|err| format!("cfn-guard output: {err}"))?;
    if records.len() != inputs.len() {
        return Err(format!(
            "cfn-guard reported on {} inputs of {}",
            records.len(),
            inputs.len()
        ));
    }
    records
        .iter()
        .map(|record| {
            let listed = |field: &str| {
                record[field]
                    .as_array()
                    .is_some_and(|names| names.iter().any(|name| name == rule))
            };
            let failed = record["not_compliant"].as_array().is_some_and(|clauses| {
                clauses
                    .iter()
                    .any(|clause| clause["Rule"]["name"].as_str() == Some(rule))
            });
            match (listed("compliant"), failed, listed("not_applicable")) {
                (true, false, false) => Ok(Outcome::Pass),
                (false, true, false) => Ok(Outcome::Fail),
                (false, false, true) => Ok(Outcome::Skip),
                _ => Err(format!(
                    "rule {rule} is not in the rules file (or reported twice)"
                )),
            }
        })
        .collect()
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
