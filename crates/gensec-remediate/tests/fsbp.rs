//! Every FSBP control over the deterministic path: a specific explanation for
//! each control the KB knows, and, for the catalogue's controls, realistic
//! findings in the three forms Security Hub emits (ASFF with the consolidated
//! control id, ASFF with the per-standard id, OCSF) recognised, explained and
//! fixed — Terraform allow-listed, CLI commands valid against the API model.
//! The fix coverage is printed and must stay at or above 80% (the issue's
//! goal): every FSBP control the catalogue maps has a remediation, and the
//! rest have no safe automated fix (settings fixed at creation such as
//! subnet placement or encryption at rest, a container user or secret the
//! owner chooses, CloudFront changes that need new resources first, a
//! password length the fix cannot raise without lowering a longer one, a
//! WAF or Network Firewall rule list or IAM/KMS/SNS/SQS policy whose rules
//! or principals must be chosen, root or user MFA), so they get an
//! explanation only.
#![allow(clippy::unwrap_used)]

use gensec_kb::Kb;
use gensec_kb::api_model::ApiModel;
use gensec_kb::controls::CliCommand;
use gensec_remediate::controls::{self, ControlCatalogue};
use gensec_remediate::event::parse_input;
use gensec_remediate::finding::Finding;
use gensec_remediate::{Remediation, email, remediate, safety};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const FSBP_ARN: &str =
    "arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0";
const FSBP_PATH: &str = "aws-foundational-security-best-practices/v/1.0.0";

fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(value: &Value, source: &str) -> Finding {
    let batch = parse_input(&value.to_string(), source);
    assert!(batch.rejected.is_empty(), "{source}: {:?}", batch.rejected);
    batch.findings.into_iter().next().unwrap().finding
}

/// The realistic ASFF findings of the catalogue's controls (consolidated ids),
/// keyed by control id.
fn realistic_findings() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with("_finding.json")
                || n.ends_with("_event.json")
                || n == "catalogue_findings.jsonl"
        })
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(fixtures_dir().join(&name)).unwrap();
        let values: Vec<Value> = if name.ends_with(".jsonl") {
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        } else {
            vec![serde_json::from_str(&text).unwrap()]
        };
        // An EventBridge event carries its ASFF findings in `detail`.
        let values = values
            .into_iter()
            .flat_map(|v| match v["detail"]["findings"].as_array() {
                Some(findings) => findings.clone(),
                None => vec![v],
            });
        for value in values {
            let finding = read(&value, &name);
            if let Some(id) = finding.control_id() {
                out.entry(id).or_insert(value);
            }
        }
    }
    out
}

/// The same finding as FSBP's per-standard (pre-consolidation) form: the
/// control id only in the generator id and `ProductFields.ControlId`.
fn per_standard(asff: &Value, id: &str) -> Value {
    let mut v = asff.clone();
    let uuid = v["Id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    v["Id"] = json!(format!(
        "arn:aws:securityhub:eu-west-1:123456789012:subscription/{FSBP_PATH}/{id}/finding/{uuid}"
    ));
    v["GeneratorId"] = json!(format!("{FSBP_PATH}/{id}"));
    if let Some(compliance) = v.get_mut("Compliance").and_then(Value::as_object_mut) {
        compliance.remove("SecurityControlId");
        compliance.remove("AssociatedStandards");
    }
    let fields = v["ProductFields"].as_object_mut().unwrap();
    fields.insert("StandardsArn".into(), json!(FSBP_ARN));
    fields.insert("ControlId".into(), json!(id));
    fields.insert(
        "StandardsControlArn".into(),
        json!(format!(
            "arn:aws:securityhub:eu-west-1:123456789012:control/{FSBP_PATH}/{id}"
        )),
    );
    v
}

/// The same finding as an OCSF "Findings Imported V2" event: resources by
/// CloudFormation type and ARN, no ASFF details (identifiers come from the ARN).
fn ocsf(asff: &Value, id: &str, kb: &Kb) -> Value {
    let template = std::fs::read_to_string(fixtures_dir().join("ocsf/kms_4_event.json")).unwrap();
    let mut event: Value = serde_json::from_str(&template).unwrap();
    let resource = &asff["Resources"][0];
    let asff_type = resource["Type"].as_str().unwrap();
    let cfn_type = kb
        .security_hub_controls()
        .iter()
        .find_map(|c| {
            let i = c.asff_resource_types.iter().position(|t| t == asff_type)?;
            c.resource_types.get(i).cloned()
        })
        .unwrap_or_else(|| "AWS::::Account".to_string());
    let finding = &mut event["detail"]["findings"][0];
    finding["compliance"]["control"] = json!(id);
    finding["finding_info"]["uid"] = asff["Id"].clone();
    finding["metadata"]["uid"] = asff["Id"].clone();
    finding["finding_info"]["title"] = asff["Title"].clone();
    finding["finding_info"]["desc"] = asff["Description"].clone();
    finding["severity"] = json!(match asff["Severity"]["Label"].as_str().unwrap() {
        "CRITICAL" => "Critical",
        "HIGH" => "High",
        "MEDIUM" => "Medium",
        _ => "Low",
    });
    finding["resources"] = json!([{
        "cloud_partition": "aws",
        "region": resource["Region"],
        "type": cfn_type,
        "uid": resource["Id"],
        "owner": {"account": {"uid": asff["AwsAccountId"]}}
    }]);
    event
}

/// Is the explanation about this control (not a text any control could get)?
fn assert_specific(r: &Remediation, id: &str, context: &str) {
    assert!(
        r.title.starts_with(&format!("{id} ")),
        "{context}: title {:?}",
        r.title
    );
    assert!(!r.risk.trim().is_empty(), "{context}: empty risk");
    assert!(!r.manual_steps.is_empty(), "{context}: no steps");
    assert!(
        !r.risk.contains("gensec has no catalogue entry"),
        "{context}: generic risk"
    );
    let message = email::render(r);
    assert!(
        !message.text.contains("The fix below") || r.terraform.is_some() || !r.cli.is_empty(),
        "{context}: a message without a fix says 'The fix below'"
    );
}

/// Every FSBP control the KB knows gets a message whose explanation names the
/// control, its resource type and what it checks.
#[test]
fn every_fsbp_control_gets_a_specific_explanation() {
    let kb = Kb::embedded().unwrap();
    let catalogue = ControlCatalogue::embedded().unwrap();
    let mut risks = BTreeMap::new();
    let mut uncatalogued = 0;
    let fsbp: Vec<_> = kb
        .security_hub_controls()
        .iter()
        .filter(|c| c.is_fsbp() && !c.retired)
        .collect();
    for facts in &fsbp {
        let id = facts.id.as_str();
        let asff_type = facts
            .asff_resource_types
            .first()
            .cloned()
            .unwrap_or_else(|| "AwsAccount".into());
        let finding = read(
            &json!({
                "SchemaVersion": "2018-10-08",
                "Id": format!("arn:aws:securityhub:eu-west-1:123456789012:security-control/{id}/finding/1"),
                "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
                "GeneratorId": format!("security-control/{id}"),
                "AwsAccountId": "123456789012",
                "Title": facts.title,
                "Description": "d",
                "CreatedAt": "2024-05-01T10:00:00Z",
                "UpdatedAt": "2024-05-01T10:00:00Z",
                "Severity": {"Label": "HIGH"},
                "Compliance": {"Status": "FAILED", "SecurityControlId": id},
                "Resources": [{"Type": asff_type, "Id": format!("arn:aws:x:eu-west-1:123456789012:thing/{}", id.replace('.', "-")), "Region": "eu-west-1"}]
            }),
            id,
        );
        assert_eq!(finding.control_id().as_deref(), Some(id));
        let r = remediate(&finding);
        assert_specific(&r, id, id);
        if controls::lookup(catalogue, id).is_some() {
            assert!(!r.check_before.is_empty() && !r.verify.is_empty(), "{id}");
        } else {
            uncatalogued += 1;
            assert!(r.risk.contains(&facts.title), "{id}: {}", r.risk);
            if let Some(kind) = facts.resource_types.first() {
                assert!(
                    r.risk.contains(kind.as_str()),
                    "{id} names {kind}: {}",
                    r.risk
                );
            }
            if let Some(rule) = facts.config_rule_identifier.as_deref() {
                assert!(r.risk.contains(rule), "{id} names {rule}: {}", r.risk);
            }
            assert!(
                r.documentation
                    .contains(&id.to_ascii_lowercase().replace('.', "-")),
                "{id}"
            );
            if let Some(previous) = risks.insert(r.risk.clone(), id.to_string()) {
                panic!("{id} and {previous} get the same explanation");
            }
        }
    }
    println!(
        "FSBP controls in the KB: {}; explained from the catalogue: {}; from Security Hub's definition: {uncatalogued}",
        fsbp.len(),
        fsbp.len() - uncatalogued
    );
    assert!(fsbp.len() >= 300, "only {} FSBP controls", fsbp.len());
}

/// A CLI line parsed back into a command, to check it against the API model
/// independently of how it was produced.
fn parse_cli(line: &str) -> CliCommand {
    let words = shell_words(line);
    assert_eq!(words[0], "aws", "{line}");
    let mut arguments = serde_json::Map::new();
    let mut i = 3;
    while i < words.len() {
        let flag = &words[i];
        assert!(flag.starts_with("--"), "{line}: {flag}");
        let mut values = Vec::new();
        while i + 1 < words.len() && !words[i + 1].starts_with("--") {
            i += 1;
            values.push(words[i].clone());
        }
        let value = match values.as_slice() {
            [] => match flag.strip_prefix("--no-") {
                Some(rest) => {
                    arguments.insert(format!("--{rest}"), json!(false));
                    i += 1;
                    continue;
                }
                None => json!(true),
            },
            [one] => typed(one),
            many => Value::Array(many.iter().map(|v| typed(v)).collect()),
        };
        arguments.insert(flag.clone(), value);
        i += 1;
    }
    CliCommand {
        service: words[1].clone(),
        operation: words[2].clone(),
        arguments,
    }
}

fn typed(word: &str) -> Value {
    if word.starts_with('<') {
        return json!(format!("${{fill:{}}}", word.trim_matches(['<', '>'])));
    }
    if (word.starts_with('{') || word.starts_with('['))
        && let Ok(parsed) =
            serde_json::from_str::<Value>(&word.replace('<', "${fill:").replace('>', "}"))
    {
        return parsed;
    }
    word.parse::<i64>()
        .map_or_else(|_| json!(word), |n| json!(n))
}

/// Split a command line the way a POSIX shell does for the quoting the
/// renderer uses (bare words and single quotes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in line.chars() {
        match (c, quoted) {
            ('\'', _) => {
                quoted = !quoted;
                in_word = true;
            }
            (' ', false) => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (c, _) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Realistic findings for every FSBP control of the catalogue, in ASFF (both
/// id forms) and OCSF: recognised, explained, fixed where a fix is safe.
#[test]
fn every_catalogue_fsbp_control_in_every_form_gets_a_checked_fix() {
    let kb = Kb::embedded().unwrap();
    let catalogue = ControlCatalogue::embedded().unwrap();
    let model = ApiModel::embedded().unwrap();
    let findings = realistic_findings();
    let ids: BTreeSet<&str> = controls::remediated(catalogue)
        .map(|c| c.security_hub_id)
        .filter(|id| kb.security_hub_control(id).is_some_and(|f| f.is_fsbp()))
        .collect();
    let (mut terraform, mut cli, mut explanation_only) = (Vec::new(), Vec::new(), Vec::new());
    let mut cli_commands = 0;
    for id in &ids {
        let asff = findings
            .get(*id)
            .unwrap_or_else(|| panic!("{id}: no realistic fixture finding"));
        let forms = [
            ("ASFF consolidated", asff.clone()),
            ("ASFF per-standard", per_standard(asff, id)),
            ("OCSF", ocsf(asff, id, &kb)),
        ];
        let mut fixed = (false, false);
        for (form, value) in forms {
            let context = format!("{id} ({form})");
            let finding = read(&value, &context);
            assert_eq!(finding.control_id().as_deref(), Some(*id), "{context}");
            let r = remediate(&finding);
            assert_specific(&r, id, &context);
            if let Some(code) = &r.terraform {
                safety::check(code, None).unwrap_or_else(|e| panic!("{context}: {e}"));
            }
            for line in &r.cli {
                assert!(
                    !line.contains("${"),
                    "{context}: unresolved placeholder in {line}"
                );
                // A read-modify-write: the jq edit between the read and the
                // write (its paths were checked against the model when it was
                // rendered), the read saved to a file, the write given the
                // token read from it.
                if line.starts_with("jq '") {
                    assert!(
                        line.ends_with("' current.json > config.json"),
                        "{context}: {line}"
                    );
                    continue;
                }
                // A policy merge: the read saved (with its error output, to
                // tell "no policy yet" from a failure), the jq merge, the
                // write run only when the merge produced a policy.
                if line.starts_with("jq -c '") {
                    assert!(
                        line.ends_with("' current.json > policy.json"),
                        "{context}: {line}"
                    );
                    continue;
                }
                let line = line.strip_prefix("test -s policy.json && ").unwrap_or(line);
                let mut line = line
                    .split_once(" > current.json")
                    .map_or(line, |(command, _)| command)
                    .to_string();
                if let Some(start) = line.find("\"$(jq -r .") {
                    let end = line[start..].find(")\"").expect("token read") + start;
                    line.replace_range(start..end + 2, "token-from-the-read");
                }
                // A whole-input write (a new ECS task definition revision):
                // the input file the jq line wrote holds the members (kept
                // and checked against the model when it was rendered); the
                // rest of the command is checked here.
                let whole_input = line.contains(" --cli-input-json file://config.json");
                if whole_input {
                    line = line.replace(" --cli-input-json file://config.json", "");
                }
                let line = &line;
                let mut command = parse_cli(line);
                // The command line has no types: a list given one item reads
                // as a scalar, a numeric id as a number.
                if let Some(operation) = model.operation(&command.service, &command.operation) {
                    for (flag, value) in command.arguments.iter_mut() {
                        let kind = operation
                            .parameters
                            .iter()
                            .find(|p| p.flag == *flag)
                            .map(|p| p.shape.kind.as_str());
                        match (kind, &*value) {
                            (Some("list"), v) if !v.is_array() => {
                                *value = Value::Array(vec![value.take()]);
                            }
                            (Some("string"), Value::Number(n)) => *value = json!(n.to_string()),
                            _ => {}
                        }
                    }
                }
                let from_input: Vec<String> = match (
                    whole_input,
                    model.operation(&command.service, &command.operation),
                ) {
                    (true, Some(operation)) => operation
                        .parameters
                        .iter()
                        .map(|p| p.member.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                model
                    .check_given(&command, &from_input)
                    .unwrap_or_else(|e| panic!("{context}: {line}: {e}"));
                assert!(
                    !line.contains("${"),
                    "{context}: unresolved placeholder in {line}"
                );
                cli_commands += 1;
            }
            if form == "ASFF consolidated" {
                fixed = (r.terraform.is_some(), !r.cli.is_empty());
            } else if form == "OCSF" {
                // Identifiers come from the ARN: OCSF findings carry no details.
                assert_eq!(
                    !r.cli.is_empty(),
                    fixed.1,
                    "{context}: {:?}",
                    r.no_cli_reason
                );
            }
        }
        if fixed.0 {
            terraform.push(*id);
        }
        if fixed.1 {
            cli.push(*id);
        }
        if fixed == (false, false) {
            explanation_only.push(*id);
        }
    }
    let total = ids.len();
    let with_fix = total - explanation_only.len();
    let share = with_fix as f64 * 100.0 / total as f64;
    println!(
        "FSBP controls in the catalogue: {total}; with a Terraform fix: {}; with a CLI fix: {}; with a fix: {with_fix} ({share:.1}%); explanation only: {} {explanation_only:?}; CLI commands checked: {cli_commands}",
        terraform.len(),
        cli.len(),
        explanation_only.len()
    );
    assert!(share >= 80.0, "only {share:.1}% of FSBP controls get a fix");
}

/// An RDS finding without Details: the instance identifier comes from the ARN.
#[test]
fn identifiers_resolve_from_the_arn_when_details_lack_them() {
    let findings = realistic_findings();
    let mut rds = findings["RDS.8"].clone();
    rds["Resources"][0]["Details"] = json!({});
    let r = remediate(&read(&rds, "rds"));
    let arn = rds["Resources"][0]["Id"].as_str().unwrap();
    let name = arn.rsplit(':').next().unwrap();
    assert!(
        r.cli
            .iter()
            .any(|l| l.contains(&format!("--db-instance-identifier {name} "))),
        "{:?}",
        r.cli
    );
    assert!(r.fill_in.is_empty(), "{:?}", r.fill_in);
    // A details field naming another thing than the resource is not read
    // from the resource's ARN: an EFS access point's ARN does not give its
    // file system, a certificate's ARN not its domain name.
    for (id, field, name) in [
        ("EFS.3", "AwsEfsAccessPoint", "FileSystemId"),
        ("ACM.2", "AwsCertificateManagerCertificate", "DomainName"),
    ] {
        let mut bare = findings[id].clone();
        let given = bare["Resources"][0]["Details"][field][name]
            .as_str()
            .unwrap()
            .to_string();
        let with_details = remediate(&read(&bare, id));
        assert!(
            with_details.cli.iter().any(|l| l.contains(&given)),
            "{id}: {:?}",
            with_details.cli
        );
        bare["Resources"][0]["Details"] = json!({});
        let r = remediate(&read(&bare, id));
        let own = resource_id_tail(&bare);
        assert!(
            r.cli.iter().all(|l| !l.contains(&own)),
            "{id}: {name} read from the ARN: {:?}",
            r.cli
        );
        assert!(
            r.cli.iter().any(|l| l.contains(&format!("<{name}>"))),
            "{id}: {:?}",
            r.cli
        );
        assert!(
            r.fill_in
                .iter()
                .any(|f| f.starts_with(&format!("{name}: "))),
            "{id}: {:?}",
            r.fill_in
        );
    }
    // Without an ARN to read, the command says which identifier to fill in.
    rds["Resources"][0]["Id"] = json!("customers-prod-but-not-an-arn");
    let r = remediate(&read(&rds, "rds"));
    assert!(
        r.cli.iter().any(|l| l.contains("<DbInstanceIdentifier>")),
        "{:?}",
        r.cli
    );
    assert!(
        r.fill_in
            .iter()
            .any(|f| f.starts_with("DbInstanceIdentifier: ")),
        "{:?}",
        r.fill_in
    );
}

/// The last segment of a finding's resource ARN (the resource's own id).
fn resource_id_tail(finding: &Value) -> String {
    let arn = finding["Resources"][0]["Id"].as_str().unwrap();
    arn.rsplit(['/', ':']).next().unwrap().to_string()
}

/// Control files of the catalogue in which every control mapped to an FSBP
/// control already carries a remediation (the others are being filled in; a
/// file joins this list once it is complete).
const REMEDIATED_FILES: &[&str] = &[
    "athena",
    "backup",
    "docdb",
    "dynamodb",
    "efs",
    "elasticache",
    "emr",
    "firehose",
    "fsx",
    "glue",
    "kinesis",
    "msk",
    "neptune",
    "opensearch",
    "rds",
    "redshift",
    "redshiftserverless",
    "s3",
];

/// Every FSBP control the catalogue maps gets a remediation: the ones still
/// without are printed, and none may come from [`REMEDIATED_FILES`].
#[test]
fn fsbp_controls_mapped_by_the_catalogue_have_a_remediation() {
    let kb = Kb::embedded().unwrap();
    let catalogue = ControlCatalogue::embedded().unwrap();
    let mut mapped = BTreeSet::new();
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for control in catalogue.controls() {
        for id in &control.security_hub {
            if !kb.security_hub_control(id).is_some_and(|f| f.is_fsbp()) {
                continue;
            }
            mapped.insert(id.as_str());
            if controls::lookup(catalogue, id).is_none() {
                missing.entry(id).or_default().push(control.id.as_str());
            }
        }
    }
    println!(
        "FSBP controls mapped by the catalogue: {}; without a remediation: {} {missing:?}",
        mapped.len(),
        missing.len()
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gensec-kb/controls");
    let mut checked = 0;
    for name in REMEDIATED_FILES {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let file: Vec<Value> = serde_json::from_str(&text).unwrap();
        for control in &file {
            let id = control["id"].as_str().unwrap();
            let unremediated: Vec<&str> = missing
                .iter()
                .filter(|(_, ids)| ids.contains(&id))
                .map(|(sh, _)| *sh)
                .collect();
            assert!(
                unremediated.is_empty(),
                "{name}.json: {id} answers {unremediated:?} without a remediation"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 150,
        "only {checked} controls in the remediated files"
    );
}
