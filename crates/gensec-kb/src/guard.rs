//! Executing CloudFormation Guard rules in-process: the validator every
//! generated rule and template goes through.

use serde::{Deserialize, Serialize};
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
    if declares_only(rules, rule) {
        return file_outcomes(rules, rule, inputs);
    }
    structured_records(rules, inputs)?
        .into_iter()
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

/// Does the rules file declare exactly one rule, `rule`? Then the file's
/// outcome is the rule's. A conservative reading of the text: every line
/// that starts a rule (`rule NAME ...`) is counted, so a second rule is never
/// missed; anything unusual counts as "no" and takes the per-rule record.
fn declares_only(rules: &str, rule: &str) -> bool {
    let mut declared = rules.lines().filter_map(|line| {
        let rest = line.trim_start().strip_prefix("rule")?;
        rest.starts_with(char::is_whitespace)
            .then(|| rest.split_whitespace().next().unwrap_or_default())
    });
    matches!((declared.next(), declared.next()), (Some(name), None) if name == rule)
}

/// The outcome of a rules file on each input, from cfn-guard's JUnit record:
/// one test case per input, its status the file's (pass, skip, error, or a
/// failure naming the rule). Much lighter than the per-rule record, which
/// also prints every value each failing clause found; used for a file
/// holding one rule (see [`declares_only`]).
fn file_outcomes(rules: &str, rule: &str, inputs: &[&Value]) -> Result<Vec<Outcome>, String> {
    use quick_xml::events::{BytesStart, Event};
    let output = validate(
        rules,
        inputs,
        cfn_guard::commands::validate::OutputFormatType::Junit,
    )?;
    let attribute = |element: &BytesStart<'_>, name: &str| -> Result<Option<String>, String> {
        element
            .try_get_attribute(name)
            .map_err(|err| format!("cfn-guard JUnit output: {err}"))?
            .map(|found| {
                found
                    .unescape_value()
                    .map(|value| value.into_owned())
                    .map_err(|err| format!("cfn-guard JUnit output: {err}"))
            })
            .transpose()
    };
    let mut reader = quick_xml::Reader::from_str(&output);
    let mut outcomes = Vec::with_capacity(inputs.len());
    loop {
        let element = match reader.read_event() {
            Err(err) => return Err(format!("cfn-guard JUnit output: {err}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(element) | Event::Empty(element)) => element,
            Ok(_) => continue,
        };
        match element.name().as_ref() {
            b"testcase" => outcomes.push(match attribute(&element, "status")?.as_deref() {
                Some("pass") => Outcome::Pass,
                Some("skip") => Outcome::Skip,
                // A failing case has no status, and a failure inside it.
                None => Outcome::Fail,
                Some(other) => {
                    return Err(format!(
                        "cfn-guard could not evaluate {rule}: status {other}"
                    ));
                }
            }),
            b"failure" => {
                if let Some(name) = attribute(&element, "message")?
                    && name != rule
                {
                    return Err(format!("cfn-guard reported rule {name}, not {rule}"));
                }
            }
            _ => {}
        }
    }
    one_per_input(outcomes, inputs)
}

/// `reported`, when cfn-guard reported once on each input.
fn one_per_input<T>(reported: Vec<T>, inputs: &[&Value]) -> Result<Vec<T>, String> {
    if reported.len() == inputs.len() {
        Ok(reported)
    } else {
        Err(format!(
            "cfn-guard reported on {} inputs of {}",
            reported.len(),
            inputs.len()
        ))
    }
}

/// Every rule of a rules file and its result on one input, by rule name.
pub fn evaluate_all(rules: &str, input: &Value) -> Result<Vec<(String, Outcome)>, String> {
    let records = structured_records(rules, &[input])?;
    let mut outcomes = records
        .into_iter()
        .next()
        .map(record_outcomes)
        .unwrap_or_default();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(outcomes)
}

/// cfn-guard's `validate --payload --structured` in process: it parses every
/// rules file of the payload once and evaluates each data document against
/// them, reporting per document the rules that passed, failed and did not
/// apply (a lighter record than the verbose one, which also prints every
/// clause it evaluated).
fn structured_records(rules: &str, inputs: &[&Value]) -> Result<Vec<Record>, String> {
    let output = validate(
        rules,
        inputs,
        cfn_guard::commands::validate::OutputFormatType::JSON,
    )?;
    let records: Vec<Record> =
        serde_json::from_str(&output).map_err(|err| format!("cfn-guard output: {err}"))?;
    one_per_input(records, inputs)
}

/// `cfn-guard validate --payload --structured` with the given output format,
/// in process: the record it prints.
fn validate(
    rules: &str,
    inputs: &[&Value],
    format: cfn_guard::commands::validate::OutputFormatType,
) -> Result<String, String> {
    use cfn_guard::CommandBuilder;
    use cfn_guard::commands::Executable;
    use cfn_guard::commands::validate::ShowSummaryType;
    use cfn_guard::utils::reader::{ReadBuffer, Reader};
    use cfn_guard::utils::writer::{WriteBuffer, Writer};

    let payload = Payload {
        rules: [rules],
        data: inputs.iter().map(|input| input.to_string()).collect(),
    };
    let payload =
        serde_json::to_vec(&payload).map_err(|err| format!("cfn-guard payload: {err}"))?;
    let command = cfn_guard::ValidateBuilder::default()
        .payload(true)
        .structured(true)
        .output_format(format)
        .show_summary(vec![ShowSummaryType::None])
        .try_build()
        .map_err(|err| format!("cfn-guard: {err}"))?;
    let mut reader = Reader::new(ReadBuffer::Cursor(std::io::Cursor::new(payload)));
    let mut writer =
        Writer::new_with_err(WriteBuffer::Vec(Vec::new()), WriteBuffer::Vec(Vec::new()))
            .map_err(|err| format!("cfn-guard: {err}"))?;
    // Exit code 5: the rules did not parse (the reason went to the error
    // buffer, which cannot be read beside the output), or a rule could not
    // be evaluated: let the verbose evaluation of one input say why.
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
    writer
        .into_string()
        .map_err(|err| format!("cfn-guard output: {err}"))
}

/// What cfn-guard's `validate --payload` reads: rules files and data
/// documents, each as text.
#[derive(Serialize)]
struct Payload<'a> {
    rules: [&'a str; 1],
    data: Vec<String>,
}

/// The part of a structured record the outcomes come from: the names of the
/// rules that passed and did not apply, and the failing clauses' rules.
/// Everything else (the values each failing clause found) is skipped
/// unread instead of built into a JSON value.
#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    compliant: Vec<String>,
    #[serde(default)]
    not_compliant: Vec<FailingClause>,
    #[serde(default)]
    not_applicable: Vec<String>,
}

#[derive(Deserialize)]
struct FailingClause {
    #[serde(rename = "Rule")]
    rule: Option<RuleName>,
}

#[derive(Deserialize)]
struct RuleName {
    name: String,
}

/// The rules a structured record lists, each with its outcome; a rule listed
/// under two outcomes appears twice.
fn record_outcomes(record: Record) -> Vec<(String, Outcome)> {
    let mut outcomes: Vec<(String, Outcome)> = record
        .compliant
        .into_iter()
        .map(|name| (name, Outcome::Pass))
        .collect();
    let passed = outcomes.len();
    for name in record
        .not_compliant
        .into_iter()
        .filter_map(|clause| clause.rule)
    {
        if !outcomes[passed..]
            .iter()
            .any(|(seen, _)| *seen == name.name)
        {
            outcomes.push((name.name, Outcome::Fail));
        }
    }
    outcomes.extend(
        record
            .not_applicable
            .into_iter()
            .map(|name| (name, Outcome::Skip)),
    );
    outcomes
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

    /// `RULES` cut down to its selectors and rule `name`.
    fn only(name: &str) -> String {
        let start = RULES.find(&format!("rule {name} ")).unwrap();
        let end = start + RULES[start..].find("\n}").unwrap() + 2;
        format!(
            "{}\n{}\n",
            &RULES[..RULES.find("\nrule").unwrap()],
            &RULES[start..end]
        )
    }

    #[test]
    fn a_file_of_one_rule_is_read_from_the_junit_record_with_the_same_outcomes() {
        assert!(!declares_only(RULES, "versioned"), "three rules");
        assert!(declares_only(&only("versioned"), "versioned"));
        assert!(
            !declares_only(&only("versioned"), "encrypted"),
            "another name"
        );
        // A word "rule" inside a message is not a declaration, but counting it
        // only sends the file down the per-rule path.
        assert!(!declares_only(
            &format!("{}\n<<\nrule of thumb\n>>\n", only("versioned")),
            "versioned"
        ));
        let inputs = [
            bucket(json!({"VersioningConfiguration": {"Status": "Enabled"}})),
            bucket(
                json!({"VersioningConfiguration": {"Status": "Suspended"}, "BucketEncryption": {}}),
            ),
            json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}),
            json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": "k"}}}}),
        ];
        let inputs: Vec<&Value> = inputs.iter().collect();
        for name in ["versioned", "encrypted", "queue_encrypted"] {
            let single = only(name);
            let from_junit = file_outcomes(&single, name, &inputs).unwrap();
            let per_rule = structured_records(RULES, &inputs)
                .unwrap()
                .into_iter()
                .map(|record| {
                    record_outcomes(record)
                        .into_iter()
                        .find(|(found, _)| found == name)
                        .unwrap()
                        .1
                })
                .collect::<Vec<_>>();
            assert_eq!(from_junit, per_rule, "{name}");
            assert_eq!(evaluate_each(&single, name, &inputs).unwrap(), per_rule);
        }
        assert_eq!(
            file_outcomes(&only("versioned"), "versioned", &inputs).unwrap(),
            vec![Outcome::Pass, Outcome::Fail, Outcome::Skip, Outcome::Skip]
        );
        // A failure naming another rule is not taken for this one.
        let err = file_outcomes(&only("versioned"), "encrypted", &inputs[1..2]).unwrap_err();
        assert!(err.contains("reported rule versioned"), "{err}");
    }

    #[test]
    fn a_rules_file_that_does_not_parse_is_an_error_saying_so() {
        let err =
            evaluate_all("rule broken {\n  Resources.* ==\n", &bucket(json!({}))).unwrap_err();
        assert!(err.contains("cfn-guard"), "{err}");
        let err = evaluate_each(
            "rule broken {\n  Resources.* ==\n",
            "broken",
            &[&bucket(json!({}))],
        )
        .unwrap_err();
        assert!(err.contains("cfn-guard"), "{err}");
    }
}
