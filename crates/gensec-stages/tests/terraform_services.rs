//! The Terraform of the test services' packages (the 21 of the package tests
//! and the storage services of [`MAPPED_STORAGE`]): `main.tf` has a resource for
//! every resource of the CloudFormation template, parses back with hcl-rs,
//! every argument and nested block exists in the AWS provider's schema (the
//! knowledge base's `terraform-schema/aws-provider.json`) and every required
//! argument and block is set, and checkov (one run over every service) fails
//! no check that belongs to one of the package's controls (the checkov ids of
//! the catalogue remediations of the package's Security Hub controls). Every
//! other failing check is listed with its reason in
//! `tests/terraform-checkov-exceptions.json`.
//!
//! checkov comes from `$CHECKOV` or the workspace's `.venv/bin/checkov`;
//! without it this test fails rather than skips.
#![allow(clippy::unwrap_used)]

mod support;

use gensec_core::SecurityProfile;
use gensec_core::contract::paths;
use gensec_iac::terraform::mapping;
use gensec_kb::Kb;
use gensec_kb::controls::ControlCatalogue;
use gensec_kb::terraform_schema::{Body as SchemaBody, ProviderSchema};
use gensec_stages::Stages;
use gensec_testkit::{
    MANAGEMENT_SERVICES, STORAGE_SERVICES, all_services, example_profile, repo_root,
};
use hcl::Body;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support::{THROUGH_IAC, run_stages};

/// Terraform's meta-arguments and blocks, valid on every resource.
const META: &[&str] = &[
    "count",
    "depends_on",
    "for_each",
    "lifecycle",
    "provider",
    "provisioner",
];

/// The storage coverage issue's services whose every template resource type
/// has a curated Terraform mapping: all of `STORAGE_SERVICES`. FSx's template
/// builds one file system type (OpenZFS, the deployable data's variant), so it
/// maps to `aws_fsx_openzfs_file_system`; the Glue ML transform and the
/// Timestream InfluxDB instance are embedded as `aws_cloudformation_stack`
/// (their mappings say why).
const MAPPED_STORAGE: [&str; 17] = [
    "DocumentDB",
    "Neptune",
    "Redshift Serverless",
    "Athena",
    "MSK",
    "EMR",
    "Backup",
    "Kinesis",
    "MemoryDB",
    "EFS",
    "ElastiCache",
    "FSx",
    "Glue",
    "Firehose",
    "Timestream",
    "Lake Formation",
    "DAX",
];

/// The issue-18 services of `MANAGEMENT_SERVICES` whose every template
/// resource type has a curated Terraform mapping (the Amazon MQ broker, the
/// EventBridge bus, its archive and dead-letter queue, the AppSync API, the
/// Transfer Family server, with their security groups, log group, roles and
/// policies).
const MAPPED_MANAGEMENT: [&str; 4] = ["MQ", "EventBridge", "AppSync", "Transfer"];

/// One service's package, as far as the Terraform checks need it.
struct Package {
    service: String,
    template: Value,
    main_tf: String,
    /// The package's Security Hub controls.
    security_hub: BTreeSet<String>,
}

/// Stages 1-4 of one service under the example profile.
async fn package(
    kb: &Arc<Kb>,
    stages: &Stages,
    service: &str,
    profile: &SecurityProfile,
) -> Package {
    let run = run_stages(kb, stages, service, profile, "REQ-TF", THROUGH_IAC).await;
    let read = |key: &str| std::fs::read_to_string(run.path(key)).unwrap();
    let controls: Value = serde_json::from_str(&read(paths::CONTROLS_INDEX)).unwrap();
    let security_hub = controls["library_entries"]
        .as_array()
        .into_iter()
        .flatten()
        // Operational controls set nothing the Terraform carries.
        .filter(|entry| entry["recommended_configuration"]["operational"].is_null())
        .flat_map(|entry| {
            entry["recommended_configuration"]["security_hub_controls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    Package {
        service: run.service_id().to_string(),
        template: serde_json::from_str(&read(paths::TEMPLATE_JSON)).unwrap(),
        main_tf: read(paths::TERRAFORM),
        security_hub,
    }
}

/// `resource` blocks of a main.tf: (type, label, body).
fn resources(body: &Body) -> Vec<(&str, &str, &Body)> {
    body.blocks()
        .filter(|block| block.identifier() == "resource")
        .filter_map(|block| {
            let labels = block.labels();
            Some((
                labels.first()?.as_str(),
                labels.get(1)?.as_str(),
                block.body(),
            ))
        })
        .collect()
}

/// Arguments and blocks of `body` the schema does not know, and required
/// ones that are missing; `path` names the place for the message.
fn schema_problems(body: &Body, schema: &SchemaBody, path: &str, top: bool, out: &mut Vec<String>) {
    for attribute in body.attributes() {
        let name = attribute.key();
        let meta = top && META.contains(&name);
        if !(schema.arguments.contains_key(name) || meta) {
            out.push(format!(
                "{path}: argument {name} is not in the provider schema"
            ));
        }
    }
    for block in body.blocks() {
        let name = block.identifier();
        match schema.blocks.get(name) {
            Some(nested) => {
                schema_problems(block.body(), nested, &format!("{path}.{name}"), false, out);
            }
            None if top && (META.contains(&name) || name == "timeouts") => {}
            None => out.push(format!(
                "{path}: block {name} is not in the provider schema"
            )),
        }
    }
    for (name, argument) in &schema.arguments {
        if argument.required && !body.attributes().any(|a| a.key() == name) {
            out.push(format!("{path}: required argument {name} is missing"));
        }
    }
    for (name, nested) in &schema.blocks {
        if nested.required && !body.blocks().any(|b| b.identifier() == name) {
            out.push(format!("{path}: required block {name} is missing"));
        }
    }
}

/// checkov: `$CHECKOV`, else `<workspace>/.venv/bin/checkov`; absent is a failure.
fn checkov() -> PathBuf {
    let path = std::env::var_os("CHECKOV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/checkov"));
    assert!(
        path.is_file(),
        "checkov not found at {} (set $CHECKOV or run scripts/test, which installs checkov into .venv as CI does)",
        path.display()
    );
    path
}

/// Failed checks that are no package control: check id → reason.
fn exceptions() -> BTreeMap<String, String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/terraform-checkov-exceptions.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let file: BTreeMap<String, Value> = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not a JSON object: {err}", path.display()));
    file.into_iter()
        .filter(|(key, _)| key.starts_with("CKV"))
        .map(|(key, value)| (key, value.as_str().unwrap().to_string()))
        .collect()
}

/// The first resource of `kind` in `body`.
fn first<'a>(body: &'a Body, kind: &str) -> Option<&'a Body> {
    resources(body)
        .into_iter()
        .find(|(k, _, _)| *k == kind)
        .map(|(_, _, b)| b)
}

fn attribute<'a>(body: &'a Body, name: &str) -> Option<&'a hcl::Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

fn block<'a>(body: &'a Body, name: &str) -> Option<&'a Body> {
    body.blocks()
        .find(|b| b.identifier() == name)
        .map(hcl::Block::body)
}

/// The security-relevant settings the translation used to drop.
fn hardening_problems(service: &str, body: &Body) -> Vec<String> {
    let mut out = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            out.push(format!("{service}: {what}"));
        }
    };
    match service {
        "ec2" => {
            let instance = first(body, "aws_instance");
            expect(
                instance.and_then(|i| attribute(i, "associate_public_ip_address"))
                    == Some(&hcl::Expression::Bool(false)),
                "aws_instance without associate_public_ip_address = false",
            );
            let root = instance.and_then(|i| block(i, "root_block_device"));
            expect(
                root.and_then(|r| attribute(r, "encrypted")) == Some(&hcl::Expression::Bool(true)),
                "aws_instance root_block_device not encrypted",
            );
            expect(
                root.is_some_and(|r| attribute(r, "kms_key_id").is_some()),
                "aws_instance root_block_device without the key",
            );
            expect(
                instance.is_some_and(|i| block(i, "ebs_block_device").is_none()),
                "the root volume is written as ebs_block_device",
            );
        }
        "lambda" => expect(
            first(body, "aws_lambda_function")
                .and_then(|f| block(f, "vpc_config"))
                .is_some_and(|v| attribute(v, "security_group_ids").is_some()),
            "aws_lambda_function vpc_config without security groups",
        ),
        "opensearch" => {
            let domain = first(body, "aws_opensearch_domain");
            for (name, what) in [
                ("encrypt_at_rest", "encryption at rest"),
                ("node_to_node_encryption", "node-to-node encryption"),
                ("domain_endpoint_options", "HTTPS and TLS policy"),
                ("advanced_security_options", "fine-grained access control"),
                ("log_publishing_options", "audit logs"),
                ("vpc_options", "VPC placement"),
            ] {
                expect(
                    domain.is_some_and(|d| block(d, name).is_some()),
                    &format!("aws_opensearch_domain without {what}"),
                );
            }
        }
        "sagemaker" => {
            let notebook = first(body, "aws_sagemaker_notebook_instance");
            for name in [
                "kms_key_id",
                "direct_internet_access",
                "root_access",
                "security_groups",
            ] {
                expect(
                    notebook.is_some_and(|n| attribute(n, name).is_some()),
                    &format!("aws_sagemaker_notebook_instance without {name}"),
                );
            }
        }
        "bedrock" => {
            let guardrail = first(body, "aws_bedrock_guardrail");
            for name in [
                "content_policy_config",
                "sensitive_information_policy_config",
            ] {
                expect(
                    guardrail.is_some_and(|g| block(g, name).is_some()),
                    &format!("aws_bedrock_guardrail without {name}"),
                );
            }
        }
        "fsx" => {
            let fs = first(body, "aws_fsx_openzfs_file_system");
            for name in [
                "copy_tags_to_backups",
                "copy_tags_to_volumes",
                "kms_key_id",
                "security_group_ids",
            ] {
                expect(
                    fs.is_some_and(|f| attribute(f, name).is_some()),
                    &format!("aws_fsx_openzfs_file_system without {name}"),
                );
            }
            expect(
                fs.and_then(|f| attribute(f, "deployment_type"))
                    == Some(&hcl::Expression::String("MULTI_AZ_1".into())),
                "aws_fsx_openzfs_file_system not Multi-AZ",
            );
        }
        "dax" => {
            let cluster = first(body, "aws_dax_cluster");
            for name in [
                "cluster_endpoint_encryption_type",
                "subnet_group_name",
                "security_group_ids",
            ] {
                expect(
                    cluster.is_some_and(|c| attribute(c, name).is_some()),
                    &format!("aws_dax_cluster without {name}"),
                );
            }
            expect(
                cluster
                    .and_then(|c| block(c, "server_side_encryption"))
                    .and_then(|b| attribute(b, "enabled"))
                    == Some(&hcl::Expression::Bool(true)),
                "aws_dax_cluster without encryption at rest",
            );
        }
        "mq" => {
            let broker = first(body, "aws_mq_broker");
            expect(
                broker.and_then(|b| attribute(b, "publicly_accessible"))
                    == Some(&hcl::Expression::Bool(false)),
                "aws_mq_broker publicly accessible",
            );
            for name in ["subnet_ids", "security_groups"] {
                expect(
                    broker.is_some_and(|b| attribute(b, name).is_some()),
                    &format!("aws_mq_broker without {name}"),
                );
            }
            expect(
                broker
                    .and_then(|b| block(b, "logs"))
                    .and_then(|l| attribute(l, "audit"))
                    == Some(&hcl::Expression::Bool(true)),
                "aws_mq_broker without audit logs",
            );
            expect(
                broker
                    .and_then(|b| block(b, "encryption_options"))
                    .is_some_and(|e| attribute(e, "kms_key_id").is_some()),
                "aws_mq_broker without the package key",
            );
        }
        "events" => {
            let bus = first(body, "aws_cloudwatch_event_bus");
            expect(
                bus.is_some_and(|b| attribute(b, "kms_key_identifier").is_some()),
                "aws_cloudwatch_event_bus without the package key",
            );
            expect(
                bus.and_then(|b| block(b, "dead_letter_config"))
                    .is_some_and(|d| attribute(d, "arn").is_some()),
                "aws_cloudwatch_event_bus without a dead-letter queue",
            );
            expect(
                first(body, "aws_cloudwatch_event_bus_policy").is_some(),
                "no aws_cloudwatch_event_bus_policy",
            );
        }
        "appsync" => {
            let api = first(body, "aws_appsync_graphql_api");
            expect(
                api.and_then(|a| attribute(a, "xray_enabled"))
                    == Some(&hcl::Expression::Bool(true)),
                "aws_appsync_graphql_api without X-Ray",
            );
            expect(
                api.and_then(|a| block(a, "log_config"))
                    .is_some_and(|l| attribute(l, "field_log_level").is_some()),
                "aws_appsync_graphql_api without field-level logging",
            );
        }
        "quicksight" => expect(
            first(body, "aws_quicksight_data_set")
                .is_some_and(|d| block(d, "row_level_permission_data_set").is_some()),
            "aws_quicksight_data_set without row-level security",
        ),
        _ => {}
    }
    out
}

#[tokio::test]
async fn terraform_of_every_service() {
    let kb = Arc::new(Kb::embedded().unwrap());
    let stages = Stages::new(&kb).unwrap();
    let profile = example_profile();
    let mut packages = Vec::new();
    for service in all_services()
        .chain(MAPPED_STORAGE)
        .chain(MAPPED_MANAGEMENT)
    {
        packages.push(package(&kb, &stages, service, &profile).await);
    }
    assert!(
        MAPPED_STORAGE.iter().all(|s| STORAGE_SERVICES.contains(s)),
        "MAPPED_STORAGE names a service outside STORAGE_SERVICES"
    );
    assert!(
        MAPPED_MANAGEMENT
            .iter()
            .all(|s| MANAGEMENT_SERVICES.contains(s)),
        "MAPPED_MANAGEMENT names a service outside MANAGEMENT_SERVICES"
    );
    for hardened in [
        "ec2",
        "lambda",
        "opensearch",
        "sagemaker",
        "bedrock",
        "quicksight",
        "fsx",
        "dax",
        "mq",
        "events",
        "appsync",
    ] {
        assert!(
            packages.iter().any(|p| p.service == hardened),
            "no package {hardened}"
        );
    }
    let schema = ProviderSchema::embedded().unwrap();
    let by_type: BTreeMap<String, String> = mapping::load()
        .unwrap()
        .into_iter()
        .flat_map(|file| file.resources)
        .map(|r| (r.cloudformation_type, r.terraform_type))
        .collect();
    let mut problems = Vec::new();
    let scan = tempfile::tempdir().unwrap();
    for package in &packages {
        let service = &package.service;
        let body: Body = match hcl::from_str(&package.main_tf) {
            Ok(body) => body,
            Err(err) => {
                problems.push(format!("{service}: main.tf does not parse: {err}"));
                continue;
            }
        };
        problems.extend(hardening_problems(service, &body));
        let blocks = resources(&body);
        // A Terraform resource for every CloudFormation resource.
        let mut wanted: BTreeMap<&str, usize> = BTreeMap::new();
        for (logical, resource) in package.template["Resources"].as_object().unwrap() {
            let cfn_type = resource["Type"].as_str().unwrap_or_default();
            match by_type.get(cfn_type) {
                Some(tf) => *wanted.entry(tf.as_str()).or_default() += 1,
                None => problems.push(format!(
                    "{service}: {logical} ({cfn_type}) has no Terraform mapping"
                )),
            }
        }
        for (tf, count) in wanted {
            let found = blocks.iter().filter(|(kind, _, _)| *kind == tf).count();
            if found < count {
                problems.push(format!(
                    "{service}: {count} CloudFormation resources map to {tf}, main.tf has {found}"
                ));
            }
        }
        // Every argument and block in the provider schema.
        for (kind, label, resource) in &blocks {
            match schema.resource(kind) {
                Some(resource_schema) => {
                    schema_problems(
                        resource,
                        resource_schema,
                        &format!("{service}: {kind}.{label}"),
                        true,
                        &mut problems,
                    );
                }
                None => problems.push(format!("{service}: {kind} is not in the provider schema")),
            }
        }
        let dir = scan.path().join(service);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.tf"), &package.main_tf).unwrap();
    }

    // One checkov run over every service.
    let output = Command::new(checkov())
        .args([
            "--framework",
            "terraform",
            "--output",
            "json",
            "--skip-download",
            "--directory",
        ])
        .arg(scan.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "checkov printed no JSON ({err}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let catalogue = ControlCatalogue::embedded().unwrap();
    let listed = exceptions();
    let mut failing_ids = BTreeSet::new();
    let mut passed = 0;
    for check in report["results"]["passed_checks"].as_array().unwrap() {
        passed += usize::from(check["check_id"].is_string());
    }
    for check in report["results"]["failed_checks"].as_array().unwrap() {
        let id = check["check_id"].as_str().unwrap();
        let file = check["file_path"].as_str().unwrap();
        let service = file
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let package = packages.iter().find(|p| p.service == service).unwrap();
        let owned: Vec<&str> = package
            .security_hub
            .iter()
            .filter(|sh| {
                catalogue
                    .for_security_hub(sh)
                    .filter_map(|control| control.remediation.as_ref())
                    .any(|remediation| remediation.checkov.iter().any(|c| c == id))
            })
            .map(String::as_str)
            .collect();
        let resource = check["resource"].as_str().unwrap_or_default();
        if !owned.is_empty() {
            problems.push(format!("{service}: checkov {id} fails on {resource}, and it checks the package's control {owned:?}"));
        } else if !listed.contains_key(id) {
            problems.push(format!(
                "{service}: checkov {id} fails on {resource} and is not listed with a reason"
            ));
        }
        failing_ids.insert(id.to_string());
    }
    for id in listed.keys().filter(|id| !failing_ids.contains(*id)) {
        problems.push(format!(
            "{id} is listed as failing but no longer fails; remove it"
        ));
    }
    assert!(
        passed > 0,
        "checkov passed no check: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
