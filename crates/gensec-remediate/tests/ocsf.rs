//! OCSF findings ("Findings Imported V2", `tests/fixtures/ocsf/`, sources in
//! its README) beside ASFF: read into the one internal finding, filtered,
//! deduplicated and remediated exactly as the same finding in ASFF.
#![allow(clippy::unwrap_used)]

use gensec_local::SqliteDb;
use gensec_remediate::event::parse_input;
use gensec_remediate::filter::{Decision, FilterConfig, decide};
use gensec_remediate::finding::{Finding, FindingFormat, Severity};
use gensec_remediate::notify::MemoryNotifier;
use gensec_remediate::{ProcessConfig, dedupe, process, remediate};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn event(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn read(value: &Value) -> Finding {
    let batch = parse_input(&value.to_string(), "test");
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    assert_eq!(batch.findings.len(), 1);
    batch.findings.into_iter().next().unwrap().finding
}

#[test]
fn an_ocsf_control_finding_reads_into_the_internal_finding() {
    let finding = read(&event("ocsf/s3_2_event.json"));
    assert_eq!(finding.format, FindingFormat::Ocsf);
    assert_eq!(
        finding.id,
        "arn:aws:securityhub:eu-west-1:123456789012:security-control/S3.2/finding/f75ef721-9aae-abc3-f32f-4ef1a1bcfb9a"
    );
    assert_eq!(finding.control_id().as_deref(), Some("S3.2"));
    assert_eq!(finding.aws_account_id, "123456789012");
    assert_eq!(finding.region(), Some("eu-west-1"));
    assert_eq!(finding.severity(), Severity::Critical);
    assert_eq!(finding.compliance_status().as_deref(), Some("FAILED"));
    assert_eq!(finding.workflow_status().as_deref(), Some("NEW"));
    assert_eq!(finding.record_state.as_deref(), Some("ACTIVE"));
    assert_eq!(finding.updated_at, "2024-06-10T08:14:02.905Z");
    let resource = finding.resource().unwrap();
    assert_eq!(
        resource.kind, "AwsS3Bucket",
        "CloudFormation name → ASFF name"
    );
    assert_eq!(resource.id, "arn:aws:s3:::acme-marketing-assets");
    assert_eq!(
        finding.product_arn,
        "arn:aws:securityhub:eu-west-1::product/aws/securityhub"
    );

    let guardduty = read(&event("ocsf/guardduty_event.json"));
    assert_eq!(guardduty.control_id(), None);
    assert_eq!(
        guardduty.origin(),
        gensec_remediate::finding::Origin::GuardDuty
    );
    assert_eq!(guardduty.resource().unwrap().kind, "AwsEc2Instance");
}

#[test]
fn the_same_finding_gets_the_same_remediation_in_both_formats() {
    let asff = read(&serde_json::from_str(&fixture("s3_2_finding.json")).unwrap());
    let ocsf = read(&event("ocsf/s3_2_event.json"));
    let (a, o) = (remediate(&asff), remediate(&ocsf));
    assert!(o.terraform.is_some(), "{:?}", o.no_fix_reason);
    assert_eq!(o.terraform, a.terraform);
    assert_eq!(o.title, a.title);
    assert_eq!(o.risk, a.risk);
    assert_eq!(o.manual_steps, a.manual_steps);
    assert_eq!(o.documentation, a.documentation);
    assert_eq!(dedupe::state_key(&ocsf), dedupe::state_key(&asff));
    assert_eq!(dedupe::fingerprint(&ocsf), dedupe::fingerprint(&asff));

    // A control whose catalogue entry has no safe Terraform change: its
    // reason, and the CLI replacement (snapshot, encrypted copy, new
    // instance) with the instance named from the ARN, in OCSF too.
    let rds = remediate(&read(&event("ocsf/rds_3_event.json")));
    assert!(rds.terraform.is_none());
    assert!(rds.title.starts_with("RDS.3 "), "{}", rds.title);
    assert!(!rds.risk.is_empty() && !rds.manual_steps.is_empty());
    assert!(rds.no_fix_reason.is_some());
    assert!(
        rds.cli
            .first()
            .is_some_and(|c| c.starts_with("aws rds create-db-snapshot --db-instance-identifier ")),
        "{:?}",
        rds.cli
    );

    let guardduty = remediate(&read(&event("ocsf/guardduty_event.json")));
    assert!(guardduty.terraform.is_none());
    assert!(guardduty.risk.contains("GuardDuty"));
}

/// One logical change, written in each format.
struct Change {
    name: &'static str,
    asff: fn(&mut Value),
    ocsf: fn(&mut Value),
    expected: fn(&Decision) -> bool,
}

#[test]
fn filters_decide_the_same_on_both_formats() {
    let asff_base: Value = serde_json::from_str(&fixture("s3_2_finding.json")).unwrap();
    let ocsf_base = event("ocsf/s3_2_event.json")["detail"]["findings"][0].clone();
    let notify = |d: &Decision| *d == Decision::Notify;
    let cleared = |d: &Decision| matches!(d, Decision::Clear(_));
    let skipped = |d: &Decision| matches!(d, Decision::Skip(_));
    let changes = [
        Change {
            name: "unchanged",
            asff: |_| {},
            ocsf: |_| {},
            expected: notify,
        },
        Change {
            name: "notified already (In Progress)",
            asff: |v| v["Workflow"] = json!({"Status": "NOTIFIED"}),
            ocsf: |v| {
                v["status"] = json!("In Progress");
                v["status_id"] = json!(2);
            },
            expected: notify,
        },
        Change {
            name: "suppressed",
            asff: |v| v["Workflow"] = json!({"Status": "SUPPRESSED"}),
            ocsf: |v| {
                v["status"] = json!("Suppressed");
                v["status_id"] = json!(3);
            },
            expected: cleared,
        },
        Change {
            name: "resolved",
            asff: |v| v["Workflow"] = json!({"Status": "RESOLVED"}),
            ocsf: |v| {
                v["status"] = json!("Resolved");
                v["status_id"] = json!(4);
            },
            expected: cleared,
        },
        Change {
            name: "archived record / closed finding",
            asff: |v| v["RecordState"] = json!("ARCHIVED"),
            ocsf: |v| {
                v["activity_id"] = json!(3);
                v["activity_name"] = json!("Close");
            },
            expected: cleared,
        },
        Change {
            name: "compliance passed",
            asff: |v| v["Compliance"]["Status"] = json!("PASSED"),
            ocsf: |v| {
                v["compliance"]["status"] = json!("Pass");
                v["compliance"]["status_id"] = json!(1);
            },
            expected: cleared,
        },
        Change {
            name: "compliance warning",
            asff: |v| v["Compliance"]["Status"] = json!("WARNING"),
            ocsf: |v| {
                v["compliance"]["status"] = json!("Warning");
                v["compliance"]["status_id"] = json!(2);
            },
            expected: cleared,
        },
        Change {
            name: "low severity",
            asff: |v| v["Severity"] = json!({"Label": "LOW"}),
            ocsf: |v| {
                v["severity"] = json!("Low");
                v["severity_id"] = json!(2);
            },
            expected: skipped,
        },
        Change {
            name: "excluded account",
            asff: |v| v["AwsAccountId"] = json!("999999999999"),
            ocsf: |v| v["cloud"]["account"]["uid"] = json!("999999999999"),
            expected: skipped,
        },
        Change {
            name: "excluded tag",
            asff: |v| v["Resources"][0]["Tags"] = json!({"gensec:ignore": "true"}),
            ocsf: |v| {
                v["resources"][0]["tags"] = json!([{"name": "gensec:ignore", "value": "true"}])
            },
            expected: skipped,
        },
    ];
    let config = FilterConfig {
        exclude_accounts: ["999999999999".to_string()].into(),
        exclude_tags: vec![("gensec:ignore".into(), None)],
        ..FilterConfig::default()
    };
    for change in changes {
        let (mut asff, mut ocsf) = (asff_base.clone(), ocsf_base.clone());
        (change.asff)(&mut asff);
        (change.ocsf)(&mut ocsf);
        let from_asff = decide(&read(&asff), &config);
        let from_ocsf = decide(&read(&ocsf), &config);
        assert_eq!(from_ocsf, from_asff, "{}", change.name);
        assert!(
            (change.expected)(&from_ocsf),
            "{}: {from_ocsf:?}",
            change.name
        );
    }
    // KMS.4 is MEDIUM: below the default threshold, notified at MEDIUM.
    let kms = read(&event("ocsf/kms_4_event.json"));
    assert!(matches!(
        decide(&kms, &FilterConfig::default()),
        Decision::Skip(_)
    ));
    let medium = FilterConfig {
        min_severity: Severity::Medium,
        ..FilterConfig::default()
    };
    assert_eq!(decide(&kms, &medium), Decision::Notify);
    assert!(remediate(&kms).terraform.is_some());
}

#[tokio::test]
async fn an_ocsf_event_is_sent_once_and_its_asff_twin_is_a_duplicate() {
    let db = SqliteDb::in_memory().unwrap();
    let notifier = MemoryNotifier::default();
    let config = ProcessConfig::default();
    let ocsf = fixture("ocsf/s3_2_event.json");
    let first = process(
        parse_input(&ocsf, "v2"),
        &config,
        &db,
        &notifier,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(first.sent.len(), 1, "{first:?}");
    assert!(first.sent[0].fix_generated);
    let again = process(
        parse_input(&ocsf, "v2"),
        &config,
        &db,
        &notifier,
        None,
        None,
    )
    .await
    .unwrap();
    assert!(again.sent.is_empty());
    assert_eq!(again.duplicates.len(), 1);
    // The same finding from Security Hub CSPM (ASFF) is the same (finding id,
    // control id): already notified.
    let asff = fixture("s3_2_finding.json");
    let twin = process(
        parse_input(&asff, "cspm"),
        &config,
        &db,
        &notifier,
        None,
        None,
    )
    .await
    .unwrap();
    assert!(twin.sent.is_empty(), "{twin:?}");
    assert_eq!(twin.duplicates.len(), 1);
    assert_eq!(notifier.sent().len(), 1);
}

#[test]
fn a_malformed_ocsf_finding_is_rejected_with_its_path() {
    let mut no_account = event("ocsf/s3_2_event.json");
    no_account["detail"]["findings"][0]["cloud"]
        .as_object_mut()
        .unwrap()
        .remove("account");
    let batch = parse_input(&no_account.to_string(), "bad");
    assert!(batch.findings.is_empty());
    assert_eq!(batch.rejected.len(), 1);
    let rejected = &batch.rejected[0];
    assert!(
        rejected.source.contains("$.detail.findings[0].cloud"),
        "{rejected:?}"
    );
    assert!(rejected.error.contains("account"), "{rejected:?}");

    let mut no_date = event("ocsf/s3_2_event.json");
    let finding = &mut no_date["detail"]["findings"][0];
    finding["finding_info"]
        .as_object_mut()
        .unwrap()
        .remove("modified_time_dt");
    finding["time_dt"] = json!("yesterday");
    let batch = parse_input(&no_date.to_string(), "bad");
    assert_eq!(batch.rejected.len(), 1);
    assert!(
        batch.rejected[0].error.contains("time_dt"),
        "{:?}",
        batch.rejected
    );

    let mut other = event("ocsf/s3_2_event.json");
    other["detail-type"] = json!("Findings Exported V9");
    let batch = parse_input(&other.to_string(), "bad");
    assert_eq!(batch.rejected.len(), 1);
    assert!(batch.rejected[0].error.contains("Findings Imported V2"));
}
