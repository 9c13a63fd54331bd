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
pub fn evaluate_each(rules: &str, rule: &str, inputs: &[&Value]) -> Result<Vec<Outcome>, String> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    structured_records(rules, inputs)?
        .iter()
        .map(|record| {
            let outcomes = record_outcomes(record);
            let mut found = outcomes.iter().filter(|(name, _)| name == rule);
            match (found.next(), found.next()) {
                (Some((_, outcome)), None) => Ok(*outcome),
                _ => Err(format!(
                    "rule {rule} is not in the rules file (or reported twice)"
                )),
            }
        })
        .collect()
}

/// Every rule of a rules file and its result on one input, by rule name.
pub fn evaluate_all(rules: &str, input: &Value) -> Result<Vec<(String, Outcome)>, String> {
    let records = structured_records(rules, &[input])?;
    let mut outcomes = records.first().map(record_outcomes).unwrap_or_default();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(outcomes)
}

/// cfn-guard's `validate --payload --structured` in process: it parses every
/// rules file of the payload once and evaluates each data document against
/// them, reporting per document the rules that passed, failed and did not
/// apply (a lighter record than the verbose one, which also prints every
/// clause it evaluated).
fn structured_records(rules: &str, inputs: &[&Value]) -> Result<Vec<Value>, String> {
    use cfn_guard::CommandBuilder;
    use cfn_guard::commands::Executable;
    use cfn_guard::commands::validate::{OutputFormatType, ShowSummaryType};
    use cfn_guard::utils::reader::{ReadBuffer, Reader};
    use cfn_guard::utils::writer::{WriteBuffer, Writer};

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
    // buffer, which cannot be read beside the output): let the verbose
    // evaluation of one input say why.
    const ERROR_STATUS: i32 = 5;
    if command
        .execute(&mut writer, &mut reader)
        .map_err(|err| format!("cfn-guard: {err}"))?
        == ERROR_STATUS
    {
        if let Some(first) = inputs.first() {
            parse_problem(rules, first)?;
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
    Ok(records)
}

/// The rules a structured record lists, each with its outcome; a rule listed
/// under two outcomes appears twice.
fn record_outcomes(record: &Value) -> Vec<(String, Outcome)> {
    let listed = |field: &str, outcome: Outcome| {
        record[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(move |name| Some((name.as_str()?.to_string(), outcome)))
    };
    let mut failed: Vec<(String, Outcome)> = Vec::new();
    for clause in record["not_compliant"].as_array().into_iter().flatten() {
        if let Some(name) = clause["Rule"]["name"].as_str()
            && !failed.iter().any(|(seen, _)| seen == name)
        {
            failed.push((name.to_string(), Outcome::Fail));
        }
    }
    listed("compliant", Outcome::Pass)
        .chain(failed)
        .chain(listed("not_applicable", Outcome::Skip))
        .collect()
}

/// Why a rules file does not parse, from cfn-guard's verbose evaluation of
/// one input (the structured one only reports that it failed).
fn parse_problem(rules: &str, input: &Value) -> Result<(), String> {
    let data = input.to_string();
    cfn_guard::run_checks(
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
    .map(|_| ())
    .map_err(|err| format!("cfn-guard: {err}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const RULES: &str = r#"
let buckets = Resources.*[ Type == 'AWS::S3::Bucket' ]
let queues = Resources.*[ Type == 'AWS::SQS::Queue' ]

rule versioned when %buckets !empty {
    %buckets.Properties.VersioningConfiguration.Status == "Enabled"
}

rule encrypted when %buckets !empty {
    %buckets.Properties.BucketEncryption exists
}

rule queue_encrypted when %queues !empty {
    %queues.Properties.KmsMasterKeyId exists
}
"#;

    fn bucket(properties: Value) -> Value {
        json!({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": properties}}})
    }

    #[test]
    fn every_rule_is_reported_by_name_with_its_outcome() {
        let template = bucket(json!({"VersioningConfiguration": {"Status": "Enabled"}}));
        assert_eq!(
            evaluate_all(RULES, &template).unwrap(),
            vec![
                ("encrypted".to_string(), Outcome::Fail),
                ("queue_encrypted".to_string(), Outcome::Skip),
                ("versioned".to_string(), Outcome::Pass),
            ]
        );
        assert_eq!(
            evaluate(RULES, "versioned", &template).unwrap(),
            Outcome::Pass
        );
        assert!(evaluate(RULES, "absent", &template).is_err());
    }

    #[test]
    fn one_rule_is_reported_on_each_input_in_order() {
        let good = bucket(json!({"VersioningConfiguration": {"Status": "Enabled"}}));
        let bad = bucket(json!({"VersioningConfiguration": {"Status": "Suspended"}}));
        let other = json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}});
        assert_eq!(
            evaluate_each(RULES, "versioned", &[&bad, &good, &other]).unwrap(),
            vec![Outcome::Fail, Outcome::Pass, Outcome::Skip]
        );
        assert!(evaluate_each(RULES, "absent", &[&good]).is_err());
    }

    #[test]
    fn a_rules_file_that_does_not_parse_is_an_error_saying_so() {
        let err =
            evaluate_all("rule broken {\n  Resources.* ==\n", &bucket(json!({}))).unwrap_err();
        assert!(err.contains("cfn-guard"), "{err}");
    }
}
