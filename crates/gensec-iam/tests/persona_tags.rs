//! The hardened template sets the profile's persona scope tag on the bucket
//! from a parameter, but S3 general purpose buckets leave tags out of the
//! request context until ABAC is enabled on them (data/tag-scoping.json), so
//! the runtime's S3 statements are scoped by ARN, never by that tag: with
//! the deployer's values gensec-policy allows the call on the package's
//! bucket whatever its tags, and refuses a bucket outside the prefix.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_analysis::{catalogue, recommend};
use gensec_core::SecurityProfile;
use gensec_iam::{Package, build_model};
use gensec_kb::tags::tag_pairs;
use gensec_kb::{Kb, ServiceDocumentation};
use gensec_policy::{ApiCall, Outcome, Policy, PolicyKind, PolicySet, ResourceSpec};
use serde_json::{Value, json};
use std::path::PathBuf;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const PREFIX: &str = "orders";
/// The value the deployer gives the persona scope tag's parameter; the IAM
/// review module says to put the same value for WORKLOAD_NAME.
const WORKLOAD: &str = "orders-service";

fn profile() -> SecurityProfile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config-example/security-profile/example-corp.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn doc() -> ServiceDocumentation {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/s3-service-documentation.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The hardened S3 template's bucket tags, with parameter references
/// resolved as a deployment with `parameters` would.
fn deployed_bucket_tags(
    kb: &Kb,
    profile: &SecurityProfile,
    parameters: &[(&str, &str)],
) -> Vec<(String, String)> {
    let service = kb.resolve_service("S3").unwrap();
    let (recommendations, _) =
        recommend::recommend(kb, service, &catalogue::load().unwrap(), profile);
    let curated = gensec_iac::data::curated().unwrap();
    let template =
        gensec_iac::cloudformation::build(kb, curated, "test", &recommendations, profile).template;
    let bucket = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::S3::Bucket")
        .unwrap();
    tag_pairs(&bucket["Properties"]["Tags"])
        .into_iter()
        .map(|(key, value)| {
            let resolved = match &value {
                Value::String(text) => text.clone(),
                other => {
                    let name = other["Ref"].as_str().unwrap();
                    assert!(
                        template["Parameters"][name].is_object(),
                        "tag {key} refers to undeclared parameter {name}"
                    );
                    parameters
                        .iter()
                        .find(|(p, _)| *p == name)
                        .map(|(_, v)| v.to_string())
                        .unwrap_or_else(|| format!("value of {name}"))
                }
            };
            (key, resolved)
        })
        .collect()
}

/// The application runtime's statement on the package's buckets, with the
/// review module's placeholders filled in; none is tag-scoped.
fn runtime_bucket_statement(kb: &Kb, profile: &SecurityProfile) -> Value {
    let output = build_model(kb, &doc(), profile, &Package::default()).unwrap();
    let condition_key = profile.tagging.persona_condition_key();
    let runtime = output
        .policies
        .iter()
        .find(|p| p.persona == "application-runtime")
        .unwrap();
    let statements = runtime.document["Statement"].as_array().unwrap();
    assert!(
        statements
            .iter()
            .all(|s| s["Condition"]["StringEquals"][&condition_key].is_null()),
        "a statement scoped with {condition_key}, which S3 buckets do not carry by default: {}",
        runtime.document
    );
    let statement = statements
        .iter()
        .find(|s| {
            s["Resource"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == "arn:aws:s3:::RESOURCE_PREFIX*"))
        })
        .unwrap_or_else(|| panic!("no statement on the buckets: {}", runtime.document));
    let text = statement
        .to_string()
        .replace("ACCOUNT_ID", ACCOUNT)
        .replace("REGION", REGION)
        .replace("RESOURCE_PREFIX", PREFIX)
        .replace("WORKLOAD_NAME", WORKLOAD);
    serde_json::from_str(&text).unwrap()
}

/// Whether the persona may make the statement's first call on a resource
/// named with `name_prefix`, carrying `tags`.
fn decide(kb: &Kb, statement: &Value, name_prefix: &str, tags: &[(String, String)]) -> Outcome {
    // The statement's first action that touches exactly one resource type,
    // on a resource of that type named as the deployment names them.
    let (action, required) = statement["Action"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find_map(|action| {
            let required: Vec<String> = kb
                .action(action)
                .unwrap()
                .unwrap()
                .resource_types
                .iter()
                .filter(|r| r.required)
                .map(|r| r.name.clone())
                .collect();
            (required.len() == 1).then_some((action, required))
        })
        .unwrap();
    let prefix = action.split(':').next().unwrap();
    let format = kb
        .iam_service(prefix)
        .unwrap()
        .unwrap()
        .resource_types
        .iter()
        .find(|r| r.name == required[0])
        .unwrap()
        .arn_formats[0]
        .clone();
    let resource_arn = gensec_iam::resource_arn(&format)
        .replace("ACCOUNT_ID", ACCOUNT)
        .replace("REGION", REGION)
        .replace("RESOURCE_PREFIX", name_prefix)
        .replace('*', "data");
    let mut spec = ResourceSpec::arn(resource_arn);
    for (key, value) in tags {
        spec = spec.with(format!("aws:ResourceTag/{key}"), value.as_str());
    }
    let call = ApiCall::new(
        action,
        format!("arn:aws:iam::{ACCOUNT}:role/{PREFIX}-runtime"),
    )
    .region(REGION)
    .value("aws:SecureTransport", "true")
    .resource(required[0].as_str(), spec);
    let policy = json!({"Version": "2012-10-17", "Statement": [statement]});
    let set = PolicySet {
        identity: vec![Policy::from_value("runtime", PolicyKind::Identity, &policy).unwrap()],
        ..PolicySet::default()
    };
    set.evaluate_call(&call.contexts(kb).unwrap()).outcome
}

fn check(profile: &SecurityProfile) {
    let kb = Kb::embedded().unwrap();
    let key = &profile.tagging.persona_scope_key;
    let parameter = gensec_core::input::Tagging::parameter_name(key);
    let statement = runtime_bucket_statement(&kb, profile);

    let ours = deployed_bucket_tags(&kb, profile, &[(parameter.as_str(), WORKLOAD)]);
    assert!(
        ours.iter().any(|(k, v)| k == key && v == WORKLOAD),
        "the template does not set {key} from {parameter}: {ours:?}"
    );
    assert_eq!(
        decide(&kb, &statement, PREFIX, &[]),
        Outcome::Allowed,
        "{statement}"
    );
    let theirs = deployed_bucket_tags(&kb, profile, &[(parameter.as_str(), "payments-service")]);
    assert_eq!(
        decide(&kb, &statement, PREFIX, &theirs),
        Outcome::Allowed,
        "the tag plays no part: {statement}"
    );
    assert_ne!(
        decide(&kb, &statement, "payments", &ours),
        Outcome::Allowed,
        "{statement}"
    );
}

#[test]
fn the_runtime_reaches_the_packages_buckets_by_arn_not_by_tag() {
    let profile = profile();
    assert_eq!(profile.tagging.persona_scope_key, "workload");
    check(&profile);
}

#[test]
fn the_scope_key_follows_the_profile() {
    let mut profile = profile();
    profile.tagging.persona_scope_key = "owner".into();
    check(&profile);
}
