//! Every catalogued Terraform fix that checkov has a check for is run through
//! checkov: the fix is generated from the control's realistic ASFF fixture,
//! written beside the minimal resource it applies to, and the checks the
//! control's remediation names (`checkov` in `gensec-kb/controls/*.json`) must all run and pass.
//! The same minimal resource without the fix (in its failing state) must fail
//! at least one of them, so each check is shown to examine what the fix sets.
//!
//! One checkov process scans every case (one directory per control and
//! variant). checkov comes from `$CHECKOV` or the workspace's
//! `.venv/bin/checkov`; `scripts/test` installs it, and without it this test
//! fails rather than skips.
#![allow(clippy::unwrap_used)]

use gensec_remediate::controls::{self, ControlCatalogue};
use gensec_remediate::event::parse_input;
use gensec_remediate::remediate;
use hcl::expr::{Expression, TemplateExpr};
use hcl::{Body, Structure};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One control's checkov case.
struct Case {
    control: &'static str,
    /// Finding fixture under `tests/fixtures`.
    fixture: &'static str,
    /// The resource the fix applies to, as the user's code has it (empty for
    /// account-level settings and for fixes that import the resource itself).
    context: String,
    /// `(literal, reference)`: the fix names the existing resource by the
    /// finding's literal value; in the test it refers to the context resource
    /// instead, as it would inside the user's configuration, so checkov's graph
    /// checks can connect the two. Only that literal changes.
    link: Option<(&'static str, &'static str)>,
    /// Added to `context` for the negative run: the failing state, without the fix.
    unfixed: &'static str,
}

const BUCKET: &str = r#"resource "aws_s3_bucket" "target" {
  bucket = "BUCKET"
}
"#;

fn cases() -> Vec<Case> {
    let bucket = |control, fixture, name: &'static str, unfixed| Case {
        control,
        fixture,
        context: BUCKET.replace("BUCKET", name),
        link: Some((name, "aws_s3_bucket.target.id")),
        unfixed,
    };
    // A fix that stands alone: an account-level setting or one that imports
    // the resource itself.
    let alone = |control, fixture, unfixed| Case {
        control,
        fixture,
        context: String::new(),
        link: None,
        unfixed,
    };
    vec![
        alone(
            "CloudTrail.1",
            "cloudtrail_1_finding.json",
            r#"resource "aws_cloudtrail" "existing" {
  name                  = "management-events"
  s3_bucket_name        = "acme-cloudtrail-logs"
  is_multi_region_trail = false
  enable_logging        = false
}
"#,
        ),
        Case {
            control: "DynamoDB.1",
            fixture: "dynamodb_1_finding.json",
            context: r#"resource "aws_dynamodb_table" "target" {
  name           = "orders"
  billing_mode   = "PROVISIONED"
  read_capacity  = 5
  write_capacity = 5
  hash_key       = "order_id"
  attribute {
    name = "order_id"
    type = "S"
  }
}
"#.into(),
            link: Some(("orders", "aws_dynamodb_table.target.name")),
            unfixed: "",
        },
        Case {
            control: "EC2.2",
            fixture: "ec2_2_finding.json",
            context: r#"resource "aws_vpc" "target" {
  cidr_block = "10.20.0.0/16"
}
"#.into(),
            link: Some(("vpc-0f1e2d3c4b5a69788", "aws_vpc.target.id")),
            unfixed: "",
        },
        alone(
            "EC2.7",
            "ec2_7_finding.json",
            r#"resource "aws_ebs_encryption_by_default" "current" {
  enabled = false
}
"#,
        ),
        alone(
            "EC2.8",
            "ec2_8_finding.json",
            r#"resource "aws_instance" "current" {
  ami           = "ami-0c1bc246476a5572b"
  instance_type = "t3.medium"
  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "optional"
  }
}
"#,
        ),
        Case {
            control: "ELB.8",
            fixture: "elb_8_finding.json",
            context: r#"resource "aws_elb" "target" {
  name               = "legacy-web"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
  listener {
    instance_port      = 8080
    instance_protocol  = "http"
    lb_port            = 443
    lb_protocol        = "https"
    ssl_certificate_id = "arn:aws:acm:eu-west-1:123456789012:certificate/0f3c9a2e-1b4d-4e8f-a7c6-5d2b1e0f9a83"
  }
}
"#.into(),
            link: Some(("legacy-web", "aws_elb.target.name")),
            unfixed: r#"resource "aws_load_balancer_policy" "current" {
  load_balancer_name = aws_elb.target.name
  policy_name        = "legacy-tls"
  policy_type_name   = "SSLNegotiationPolicyType"
  policy_attribute {
    name  = "Reference-Security-Policy"
    value = "ELBSecurityPolicy-2016-08"
  }
}
"#,
        },
        alone(
            "IAM.7",
            "iam_7_finding.json",
            r#"resource "aws_iam_account_password_policy" "current" {
  minimum_password_length = 8
}
"#,
        ),
        alone(
            "KMS.4",
            "kms_4_finding.json",
            r#"resource "aws_kms_key" "current" {
  description = "payments data key"
}
"#,
        ),
        alone(
            "RDS.2",
            "rds_2_finding.json",
            r#"resource "aws_db_instance" "current" {
  identifier          = "reporting-replica"
  engine              = "mysql"
  instance_class      = "db.t3.medium"
  publicly_accessible = true
}
"#,
        ),
        alone(
            "RDS.5",
            "rds_5_finding.json",
            r#"resource "aws_db_instance" "current" {
  identifier     = "billing-prod"
  engine         = "postgres"
  instance_class = "db.m6g.large"
  multi_az       = false
}
"#,
        ),
        alone(
            "RDS.6",
            "rds_6_finding.json",
            r#"resource "aws_db_instance" "current" {
  identifier          = "inventory-db"
  engine              = "postgres"
  instance_class      = "db.r6g.large"
  monitoring_interval = 0
}
"#,
        ),
        alone(
            "RDS.7",
            "rds_7_finding.json",
            r#"resource "aws_rds_cluster" "current" {
  cluster_identifier  = "ledger-aurora"
  engine              = "aurora-postgresql"
  deletion_protection = false
}
"#,
        ),
        alone(
            "RDS.8",
            "rds_8_finding.json",
            r#"resource "aws_db_instance" "current" {
  identifier          = "customers-prod"
  engine              = "postgres"
  instance_class      = "db.m6g.large"
  deletion_protection = false
}
"#,
        ),
        alone(
            "RDS.11",
            "rds_11_finding.json",
            r#"resource "aws_db_instance" "current" {
  identifier              = "analytics-staging"
  engine                  = "postgres"
  instance_class          = "db.t4g.large"
  backup_retention_period = 0
}
"#,
        ),
        alone(
            "CloudTrail.4",
            "cloudtrail_4_finding.json",
            r#"resource "aws_cloudtrail" "current" {
  name                       = "management-events"
  s3_bucket_name             = "acme-cloudtrail-logs"
  enable_log_file_validation = false
}
"#,
        ),
        alone(
            "ELB.4",
            "elb_4_finding.json",
            r#"resource "aws_lb" "current" {
  name                       = "web-alb"
  drop_invalid_header_fields = false
}
"#,
        ),
        alone(
            "ELB.6",
            "elb_6_finding.json",
            r#"resource "aws_lb" "current" {
  name                       = "web-alb"
  enable_deletion_protection = false
}
"#,
        ),
        alone(
            "Opensearch.1",
            "opensearch_1_finding.json",
            r#"resource "aws_opensearch_domain" "current" {
  domain_name = "search-logs"
  encrypt_at_rest {
    enabled = false
  }
}
"#,
        ),
        alone(
            "Opensearch.3",
            "opensearch_3_finding.json",
            r#"resource "aws_opensearch_domain" "current" {
  domain_name = "search-logs"
  # CKV_AWS_6 only judges domains of more than one node.
  cluster_config {
    instance_count = 3
  }
  node_to_node_encryption {
    enabled = false
  }
}
"#,
        ),
        alone(
            "Redshift.1",
            "redshift_1_finding.json",
            r#"resource "aws_redshift_cluster" "current" {
  cluster_identifier  = "analytics"
  node_type           = "ra3.xlplus"
  publicly_accessible = true
}
"#,
        ),
        alone(
            "Redshift.3",
            "redshift_3_finding.json",
            r#"resource "aws_redshift_cluster" "current" {
  cluster_identifier                  = "analytics"
  node_type                           = "ra3.xlplus"
  automated_snapshot_retention_period = 0
}
"#,
        ),
        alone(
            "SQS.1",
            "sqs_1_finding.json",
            r#"resource "aws_sqs_queue" "current" {
  name                    = "order-intake"
  sqs_managed_sse_enabled = false
}
"#,
        ),
        alone(
            "RDS.10",
            "catalogue_findings.jsonl",
            r#"resource "aws_db_instance" "current" {
  identifier                          = "orders-db"
  engine                              = "postgres"
  instance_class                      = "db.m6g.large"
  iam_database_authentication_enabled = false
}
"#,
        ),
        alone(
            "RDS.13",
            "catalogue_findings.jsonl",
            r#"resource "aws_db_instance" "current" {
  identifier                 = "orders-db"
  engine                     = "postgres"
  instance_class             = "db.m6g.large"
  auto_minor_version_upgrade = false
}
"#,
        ),
        alone(
            "RDS.12",
            "catalogue_findings.jsonl",
            r#"resource "aws_rds_cluster" "current" {
  cluster_identifier                  = "catalog-aurora"
  engine                              = "aurora-mysql"
  iam_database_authentication_enabled = false
}
"#,
        ),
        alone(
            "RDS.16",
            "catalogue_findings.jsonl",
            r#"resource "aws_rds_cluster" "current" {
  cluster_identifier    = "catalog-aurora"
  engine                = "aurora-mysql"
  copy_tags_to_snapshot = false
}
"#,
        ),
        alone(
            "RDS.47",
            "catalogue_findings.jsonl",
            r#"resource "aws_rds_cluster" "current" {
  cluster_identifier    = "catalog-aurora"
  engine                = "aurora-mysql"
  copy_tags_to_snapshot = false
}
"#,
        ),
        alone(
            "RDS.48",
            "catalogue_findings.jsonl",
            r#"resource "aws_rds_cluster" "current" {
  cluster_identifier    = "catalog-aurora"
  engine                = "aurora-mysql"
  copy_tags_to_snapshot = false
}
"#,
        ),
        alone(
            "Opensearch.8",
            "catalogue_findings.jsonl",
            r#"resource "aws_opensearch_domain" "current" {
  domain_name = "search-logs"
  domain_endpoint_options {
    enforce_https       = false
    tls_security_policy = "Policy-Min-TLS-1-0-2019-07"
  }
}
"#,
        ),
        alone(
            "ES.1",
            "catalogue_findings.jsonl",
            r#"resource "aws_opensearch_domain" "current" {
  domain_name = "legacy-logs"
  encrypt_at_rest {
    enabled = false
  }
}
"#,
        ),
        alone(
            "ES.3",
            "catalogue_findings.jsonl",
            r#"resource "aws_opensearch_domain" "current" {
  domain_name = "legacy-logs"
  # CKV_AWS_6 only judges domains of more than one node.
  cluster_config {
    instance_count = 2
  }
  node_to_node_encryption {
    enabled = false
  }
}
"#,
        ),
        alone(
            "ES.8",
            "catalogue_findings.jsonl",
            r#"resource "aws_opensearch_domain" "current" {
  domain_name = "legacy-logs"
  domain_endpoint_options {
    enforce_https       = false
    tls_security_policy = "Policy-Min-TLS-1-0-2019-07"
  }
}
"#,
        ),
        alone(
            "Redshift.10",
            "catalogue_findings.jsonl",
            r#"resource "aws_redshift_cluster" "current" {
  cluster_identifier = "finance-dw"
  node_type          = "ra3.xlplus"
  encrypted          = false
}
"#,
        ),
        alone(
            "Redshift.7",
            "catalogue_findings.jsonl",
            r#"resource "aws_redshift_cluster" "current" {
  cluster_identifier   = "finance-dw"
  node_type            = "ra3.xlplus"
  enhanced_vpc_routing = false
}
"#,
        ),
        alone(
            "Redshift.6",
            "catalogue_findings.jsonl",
            r#"resource "aws_redshift_cluster" "current" {
  cluster_identifier    = "finance-dw"
  node_type             = "ra3.xlplus"
  allow_version_upgrade = false
}
"#,
        ),
        alone(
            "Neptune.2",
            "catalogue_findings.jsonl",
            r#"resource "aws_neptune_cluster" "current" {
  cluster_identifier = "fraud-graph"
}
"#,
        ),
        alone(
            "Neptune.5",
            "catalogue_findings.jsonl",
            r#"resource "aws_neptune_cluster" "current" {
  cluster_identifier      = "fraud-graph"
  backup_retention_period = 1
}
"#,
        ),
        alone(
            "Neptune.7",
            "catalogue_findings.jsonl",
            r#"resource "aws_neptune_cluster" "current" {
  cluster_identifier                  = "fraud-graph"
  iam_database_authentication_enabled = false
}
"#,
        ),
        alone(
            "Neptune.8",
            "catalogue_findings.jsonl",
            r#"resource "aws_neptune_cluster" "current" {
  cluster_identifier    = "fraud-graph"
  copy_tags_to_snapshot = false
}
"#,
        ),
        alone(
            "DocumentDB.2",
            "catalogue_findings.jsonl",
            r#"resource "aws_docdb_cluster" "current" {
  cluster_identifier      = "profiles-docdb"
  backup_retention_period = 1
}
"#,
        ),
        alone(
            "DocumentDB.4",
            "catalogue_findings.jsonl",
            r#"resource "aws_docdb_cluster" "current" {
  cluster_identifier = "profiles-docdb"
}
"#,
        ),
        alone(
            "EMR.2",
            "catalogue_findings.jsonl",
            r#"resource "aws_emr_block_public_access_configuration" "current" {
  block_public_security_group_rules = false
}
"#,
        ),
        alone(
            "Kinesis.1",
            "catalogue_findings.jsonl",
            r#"resource "aws_kinesis_stream" "current" {
  name            = "clickstream"
  shard_count     = 2
  encryption_type = "NONE"
}
"#,
        ),
        Case {
            control: "S3.13",
            fixture: "catalogue_findings.jsonl",
            context: BUCKET.replace("BUCKET", "acme-clickstream-raw"),
            link: Some(("acme-clickstream-raw", "aws_s3_bucket.target.id")),
            // A lifecycle configuration whose only rule is disabled: S3.13 fails.
            unfixed: r#"resource "aws_s3_bucket_lifecycle_configuration" "current" {
  bucket = aws_s3_bucket.target.id
  rule {
    id     = "expire-old-exports"
    status = "Disabled"
    filter {}
    expiration {
      days = 365
    }
  }
}
"#,
        },
        bucket("S3.2", "s3_2_finding.json", "acme-marketing-assets", ""),
        bucket("S3.3", "s3_3_finding.json", "acme-partner-uploads", ""),
        bucket("S3.8", "s3_8_event.json", "acme-billing-exports", ""),
        bucket(
            "S3.12",
            "s3_12_finding.json",
            "acme-legacy-reports",
            r#"resource "aws_s3_bucket_ownership_controls" "current" {
  bucket = aws_s3_bucket.target.id
  rule {
    object_ownership = "ObjectWriter"
  }
}
"#,
        ),
        bucket("S3.14", "s3_14_finding.json", "acme-data-lake-raw", ""),
        bucket("S3.17", "s3_17_finding.json", "acme-hr-documents", ""),
    ]
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// `$CHECKOV`, else `<workspace>/.venv/bin/checkov`; absent is a failure.
fn checkov() -> PathBuf {
    let path = std::env::var_os("CHECKOV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/checkov"));
    assert!(
        path.is_file(),
        "checkov not found at {} (set $CHECKOV or run scripts/test, which installs checkov into .venv as CI does)",
        path.display()
    );
    path
}

/// Replace `literal` in the fix's string values by `${reference}`.
fn link(code: &str, literal: &str, reference: &str) -> String {
    fn walk(body: Body, literal: &str, reference: &str, count: &mut usize) -> Body {
        body.into_iter()
            .map(|structure| match structure {
                Structure::Attribute(mut attribute) => {
                    if let Expression::String(text) = &attribute.expr
                        && text.contains(literal)
                    {
                        *count += 1;
                        attribute.expr = Expression::from(TemplateExpr::QuotedString(
                            text.replace(literal, &format!("${{{reference}}}")),
                        ));
                    }
                    Structure::Attribute(attribute)
                }
                Structure::Block(mut block) => {
                    block.body = walk(block.body, literal, reference, count);
                    Structure::Block(block)
                }
            })
            .collect()
    }
    let mut count = 0;
    let body = walk(hcl::parse(code).unwrap(), literal, reference, &mut count);
    assert!(count > 0, "the fix never names {literal:?}:\n{code}");
    hcl::format::to_string(&body).unwrap()
}

/// `(control, variant)` → check id → results (PASSED / FAILED / SKIPPED).
type Results = BTreeMap<(String, String), BTreeMap<String, Vec<String>>>;

fn run_checkov(root: &Path, checks: &BTreeSet<String>) -> Results {
    let checks: Vec<&str> = checks.iter().map(String::as_str).collect();
    let output = Command::new(checkov())
        .arg("-d")
        .arg(root)
        .args(["--framework", "terraform", "--check"])
        .arg(checks.join(","))
        // `--quiet` would drop the passed checks from the JSON report too.
        .args(["-o", "json", "--compact", "--skip-download"])
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Exit code 1 means "some check failed", which the negatives always cause.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "checkov failed ({}):\n{}\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("checkov output is not JSON ({err}):\n{stdout}"));
    let reports = match report {
        Value::Array(items) => items,
        single => vec![single],
    };
    let mut results = Results::new();
    let mut seen_terraform = false;
    for report in reports {
        if report["check_type"] != "terraform" {
            continue;
        }
        seen_terraform = true;
        assert_eq!(
            report["summary"]["parsing_errors"], 0,
            "checkov could not parse some Terraform: {}",
            report["results"]["parsing_errors"]
        );
        for (list, outcome) in [
            ("passed_checks", "PASSED"),
            ("failed_checks", "FAILED"),
            ("skipped_checks", "SKIPPED"),
        ] {
            for item in report["results"][list].as_array().into_iter().flatten() {
                let file = item["file_path"].as_str().unwrap();
                let mut parts = file.trim_start_matches('/').split('/');
                let (Some(control), Some(variant)) = (parts.next(), parts.next()) else {
                    panic!("unexpected checkov file path {file}");
                };
                results
                    .entry((control.to_string(), variant.to_string()))
                    .or_default()
                    .entry(item["check_id"].as_str().unwrap().to_string())
                    .or_default()
                    .push(format!(
                        "{outcome} {}",
                        item["resource"].as_str().unwrap_or("?")
                    ));
            }
        }
    }
    assert!(
        seen_terraform,
        "checkov reported no terraform results:\n{stdout}"
    );
    results
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn fixes_pass_their_checkov_checks() {
    let catalogue = ControlCatalogue::embedded().unwrap();
    let cases = cases();
    let with_checks: BTreeSet<&str> = controls::remediated(catalogue)
        .filter(|c| !c.remediation.checkov.is_empty())
        .map(|c| c.security_hub_id)
        .collect();
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.control).collect();
    assert_eq!(
        covered, with_checks,
        "every remediation with checkov checks needs a case here, and only those"
    );
    assert_eq!(covered.len(), cases.len(), "a control has two cases");

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut all_checks = BTreeSet::new();
    let mut fixed_code = BTreeMap::new();
    for case in &cases {
        let entry = controls::lookup(catalogue, case.control)
            .unwrap()
            .remediation;
        all_checks.extend(entry.checkov.iter().cloned());
        let batch = parse_input(&read_fixture(case.fixture), case.fixture);
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        // A fixture file holds one finding, or (catalogue_findings.jsonl)
        // one per control: the case takes its control's.
        let finding = &batch
            .findings
            .iter()
            .find(|f| f.finding.control_id().as_deref() == Some(case.control))
            .unwrap_or_else(|| panic!("{}: no {} finding", case.fixture, case.control))
            .finding;
        let remediation = remediate(finding);
        let code = remediation
            .terraform
            .unwrap_or_else(|| panic!("{}: no fix: {:?}", case.control, remediation.no_fix_reason));
        let code = match case.link {
            Some((literal, reference)) => link(&code, literal, reference),
            None => code,
        };
        assert!(
            !(case.context.is_empty() && case.unfixed.is_empty()),
            "{}: the negative run needs a resource",
            case.control
        );
        for (variant, text) in [
            ("fixed", format!("{}\n{code}", case.context)),
            ("unfixed", format!("{}\n{}", case.context, case.unfixed)),
        ] {
            let path = root.join(case.control).join(variant);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("main.tf"), text).unwrap();
        }
        fixed_code.insert(case.control, code);
    }

    let results = run_checkov(root, &all_checks);
    let mut problems = Vec::new();
    for case in &cases {
        let entry = controls::lookup(catalogue, case.control)
            .unwrap()
            .remediation;
        let empty = BTreeMap::new();
        let key = |variant: &str| (case.control.to_string(), variant.to_string());
        let fixed = results.get(&key("fixed")).unwrap_or(&empty);
        for check in &entry.checkov {
            let outcomes = fixed.get(check).cloned().unwrap_or_default();
            let passed = outcomes.iter().any(|o| o.starts_with("PASSED"));
            let other = outcomes.iter().any(|o| !o.starts_with("PASSED"));
            if !passed || other {
                problems.push(format!(
                    "{} {check}: expected PASSED only, got {outcomes:?}\n{}",
                    case.control, fixed_code[case.control]
                ));
            }
        }
        let unfixed = results.get(&key("unfixed")).unwrap_or(&empty);
        let failed = entry.checkov.iter().any(|check| {
            unfixed
                .get(check)
                .is_some_and(|o| o.iter().any(|o| o.starts_with("FAILED")))
        });
        if !failed {
            problems.push(format!(
                "{}: without the fix none of {:?} failed, so they do not prove the fix: {unfixed:?}",
                case.control, entry.checkov
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
