//! The IAM stage on golden service documentation (real outputs of the
//! documentation stage for S3, RDS and Lambda) and the example profile.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_core::SecurityProfile;
use gensec_core::contract::figures::StageFigures;
use gensec_core::contract::iam::{IamModel, RiskCategory};
use gensec_core::contract::stage::{RunContext, Stage, StagePorts};
use gensec_core::ports::ObjectStore;
use gensec_iam::policy::{MAX_POLICY_CHARS, check_document, policy_chars};
use gensec_iam::{IamOutput, IamStage, Package, build_model};
use gensec_kb::validate::{action, condition_key_for_action};
use gensec_kb::{AccessLevel, Kb, ServiceDocumentation};
use gensec_local::{DirStore, SqliteDb};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

const SERVICES: [&str; 3] = ["s3", "rds", "lambda"];

fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| Arc::new(Kb::embedded().unwrap())).clone()
}

fn doc(service: &str) -> ServiceDocumentation {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/fixtures/{service}-service-documentation.json"
    ));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn profile() -> SecurityProfile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config-example/security-profile/example-corp.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The package's resources: the hardened template of the service.
fn package(service: &str, profile: &SecurityProfile) -> Package {
    let kb = kb();
    let entry = kb.resolve_service(service).unwrap();
    let (recommendations, _) = gensec_analysis::recommend::recommend(
        &kb,
        entry,
        &gensec_analysis::catalogue::load().unwrap(),
        profile,
    );
    let curated = gensec_iac::data::curated().unwrap();
    let template =
        gensec_iac::cloudformation::build(&kb, curated, "test", &recommendations, profile).template;
    Package::from_template(&template)
}

fn build(service: &str, profile: &SecurityProfile) -> IamOutput {
    build_model(&kb(), &doc(service), profile, &package(service, profile)).unwrap()
}

fn statements(document: &Value) -> &Vec<Value> {
    document["Statement"].as_array().unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
        _ => panic!("not a string list: {value}"),
    }
}

/// A written action: itself, or a wildcard's matches in the IAM reference.
fn expand(pattern: &str) -> Vec<String> {
    match pattern.strip_suffix('*') {
        None => vec![pattern.to_string()],
        Some(stem) => {
            let (prefix, verb) = stem.split_once(':').unwrap();
            kb().iam_service(prefix)
                .unwrap()
                .unwrap()
                .actions
                .iter()
                .filter(|a| a.name.starts_with(verb))
                .map(|a| format!("{prefix}:{}", a.name))
                .collect()
        }
    }
}

/// The persona's actions, wildcards expanded over the IAM reference.
fn persona_actions(output: &IamOutput, persona: &str) -> Vec<String> {
    output
        .policies
        .iter()
        .filter(|p| p.persona == persona)
        .flat_map(|p| statements(&p.document).iter())
        .flat_map(|s| strings(&s["Action"]))
        .flat_map(|pattern| expand(&pattern))
        .collect()
}

fn persona_condition_keys(output: &IamOutput, persona: &str) -> Vec<String> {
    output
        .policies
        .iter()
        .filter(|p| p.persona == persona)
        .flat_map(|p| statements(&p.document).iter())
        .filter_map(|s| s["Condition"].as_object())
        .flat_map(|c| c.values())
        .flat_map(|block| block.as_object().unwrap().keys().cloned())
        .collect()
}

/// Does every resource type the action is scoped to list the key?
fn resource_tag_applies(kb: &Kb, full: &str) -> bool {
    let (prefix, _) = full.split_once(':').unwrap();
    let service = kb.iam_service(prefix).unwrap().unwrap();
    let known = action(kb, full).unwrap();
    let required: Vec<_> = known.resource_types.iter().filter(|r| r.required).collect();
    let types: Vec<_> = if required.is_empty() {
        known.resource_types.iter().collect()
    } else {
        required
    };
    !types.is_empty()
        && types.iter().all(|resource| {
            service
                .resource_types
                .iter()
                .filter(|r| r.name == resource.name)
                .flat_map(|r| &r.condition_keys)
                .chain(&resource.condition_keys)
                .any(|k| k.eq_ignore_ascii_case("aws:ResourceTag/${TagKey}"))
        })
}

#[test]
fn every_action_exists_every_condition_applies_and_documents_fit() {
    let kb = kb();
    for service in SERVICES {
        let output = build(service, &profile());
        assert_eq!(
            output
                .policies
                .iter()
                .map(|p| &p.persona)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            5,
            "{service}"
        );
        for policy in &output.policies {
            assert!(
                check_document(&policy.document).is_empty(),
                "{}",
                policy.path
            );
            assert!(
                policy_chars(&policy.document) <= MAX_POLICY_CHARS,
                "{}",
                policy.path
            );
            for statement in statements(&policy.document) {
                let written = strings(&statement["Action"]);
                assert!(!written.is_empty());
                // Wildcards stand for every action they match in the reference.
                let actions: Vec<String> = written.into_iter().flat_map(|a| expand(&a)).collect();
                for name in &actions {
                    action(&kb, name).unwrap_or_else(|e| panic!("{}: {e}", policy.path));
                }
                let Some(condition) = statement["Condition"].as_object() else {
                    continue;
                };
                for block in condition.values() {
                    for key in block.as_object().unwrap().keys() {
                        for name in &actions {
                            condition_key_for_action(&kb, name, key)
                                .unwrap_or_else(|e| panic!("{}: {e}", policy.path));
                            if key.starts_with("aws:ResourceTag/") {
                                assert!(resource_tag_applies(&kb, name), "{key} on {name}");
                            }
                        }
                    }
                }
            }
        }
        let model = &output.model;
        assert_eq!(model.personas.len(), 5);
        for persona in &model.personas {
            assert_eq!(persona.actions, {
                let mut actions = persona_actions(&output, &persona.id);
                actions.sort();
                actions.dedup();
                actions.len()
            });
            assert!(persona.actions > 0, "{service} {}", persona.id);
        }
    }
}

#[test]
fn mfa_follows_the_profile_for_human_personas_only() {
    let required = build("s3", &profile());
    for persona in ["operator", "administrator"] {
        for policy in required.policies.iter().filter(|p| p.persona == persona) {
            for statement in statements(&policy.document) {
                // Federated sessions carry no key: IfExists lets them through.
                assert_eq!(
                    statement["Condition"]["BoolIfExists"]["aws:MultiFactorAuthPresent"], "true",
                    "{persona}"
                );
            }
        }
    }
    for persona in ["application-runtime", "cicd-deployer", "read-only-auditor"] {
        assert!(
            !persona_condition_keys(&required, persona)
                .contains(&"aws:MultiFactorAuthPresent".to_string()),
            "{persona}"
        );
    }
    let mut relaxed = profile();
    relaxed.security_operations.access_management.mfa_required = false;
    let relaxed = build("s3", &relaxed);
    for persona in ["operator", "administrator"] {
        assert!(
            !persona_condition_keys(&relaxed, persona)
                .contains(&"aws:MultiFactorAuthPresent".to_string())
        );
    }
    assert!(required.review.contains("MFA required"));
}

#[test]
fn auditor_only_reads_metadata_and_runtime_manages_no_permissions() {
    let kb = kb();
    for service in SERVICES {
        let output = build(service, &profile());
        for name in persona_actions(&output, "read-only-auditor") {
            let level = action(&kb, &name).unwrap().access_level();
            assert!(
                matches!(level, AccessLevel::List | AccessLevel::Read),
                "{name} is {level:?}"
            );
        }
        for name in persona_actions(&output, "application-runtime") {
            let known = action(&kb, &name).unwrap();
            assert!(
                !known
                    .access_levels
                    .contains(&AccessLevel::PermissionsManagement),
                "{name}"
            );
            assert_ne!(known.access_level(), AccessLevel::Tagging, "{name}");
        }
        for name in persona_actions(&output, "operator") {
            let known = action(&kb, &name).unwrap();
            assert_ne!(
                known.access_level(),
                AccessLevel::PermissionsManagement,
                "{name}"
            );
        }
    }
    let s3 = build("s3", &profile());
    let auditor = persona_actions(&s3, "read-only-auditor");
    assert!(auditor.contains(&"s3:GetBucketPolicy".to_string()));
    assert!(auditor.contains(&"s3:GetObjectAcl".to_string()));
    assert!(!auditor.contains(&"s3:GetObject".to_string()));
    let runtime = persona_actions(&s3, "application-runtime");
    for needed in ["s3:GetObject", "s3:PutObject", "s3:ListBucket"] {
        assert!(runtime.contains(&needed.to_string()), "{needed}");
    }
    assert!(!runtime.contains(&"s3:DeleteBucket".to_string()));
    let operator = persona_actions(&s3, "operator");
    assert!(!operator.contains(&"s3:DeleteBucket".to_string()));
    assert!(operator.contains(&"s3:PutBucketVersioning".to_string()));
    let admin = persona_actions(&s3, "administrator");
    assert!(admin.contains(&"s3:PutBucketPolicy".to_string()));
}

#[test]
fn deployer_passes_roles_and_that_is_flagged() {
    for service in SERVICES {
        let output = build(service, &profile());
        let deployer = persona_actions(&output, "cicd-deployer");
        assert!(deployer.contains(&"iam:PassRole".to_string()), "{service}");
        let flagged = output.model.risky_actions.iter().find(|r| {
            r.action == "iam:PassRole" && r.category == RiskCategory::PrivilegeEscalation
        });
        let flagged = flagged.unwrap();
        assert!(flagged.granted_to.contains(&"cicd-deployer".to_string()));
        let passrole = output
            .policies
            .iter()
            .filter(|p| p.persona == "cicd-deployer")
            .flat_map(|p| statements(&p.document).iter())
            .find(|s| strings(&s["Action"]).contains(&"iam:PassRole".to_string()))
            .unwrap();
        assert!(
            strings(&passrole["Condition"]["StringEquals"]["iam:PassedToService"])
                .contains(&format!("{service}.amazonaws.com"))
        );
        let deployer = output
            .model
            .personas
            .iter()
            .find(|p| p.id == "cicd-deployer")
            .unwrap();
        assert!(
            deployer.approval.contains("IAM team"),
            "{}",
            deployer.approval
        );
    }
}

#[test]
fn allowed_regions_restrict_regional_statements() {
    let mut restricted = profile();
    restricted.allowed_regions = vec!["eu-west-1".into(), "eu-central-1".into()];
    let output = build("lambda", &restricted);
    for policy in &output.policies {
        for statement in statements(&policy.document) {
            let actions = strings(&statement["Action"]);
            let global = actions.iter().all(|a| a.starts_with("iam:"));
            let regions = &statement["Condition"]["StringEquals"]["aws:RequestedRegion"];
            assert_eq!(regions.is_null(), global, "{}: {statement}", policy.path);
        }
    }
    // Without allowed regions, no region condition.
    let open = build("lambda", &profile());
    for persona in ["operator", "cicd-deployer"] {
        assert!(!persona_condition_keys(&open, persona).contains(&"aws:RequestedRegion".into()));
    }
}

#[test]
fn review_module_covers_every_persona_and_the_placeholders() {
    let output = build("s3", &profile());
    let review = &output.review;
    for persona in &output.model.personas {
        assert!(
            review.contains(&format!("`{}`", persona.id)),
            "{}",
            persona.id
        );
    }
    for needle in [
        "ACCOUNT_ID",
        "RESOURCE_PREFIX",
        "Approval workflow",
        "security team + IAM team",
        "privilege escalation",
        "data exfiltration",
        "resource exposure",
        "permissions management",
    ] {
        assert!(review.contains(needle), "{needle}");
    }
}

#[test]
fn s3_snapshots() {
    let output = build("s3", &profile());
    insta::assert_json_snapshot!("s3_iam_model", output.model);
    let runtime = output
        .policies
        .iter()
        .find(|p| p.persona == "application-runtime")
        .unwrap();
    insta::assert_json_snapshot!("s3_application_runtime_policy", runtime.document);
    insta::assert_json_snapshot!("s3_summary", output.figures);
}

#[tokio::test]
async fn the_stage_reads_the_documentation_and_writes_the_package() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let db = SqliteDb::in_memory().unwrap();
    let request = gensec_core::ServiceRequest {
        request_id: "REQ-IAM-1".into(),
        requester: "tests".into(),
        timestamp: chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
        service_name: "S3".into(),
        profile_id: None,
    };
    let ctx = RunContext::new(request, profile(), "s3", "Amazon S3", kb.stamp());
    let ports = StagePorts {
        store: &store,
        library: &db,
    };
    let stage = IamStage::new(kb.clone());
    // Without the documentation the stage fails clearly.
    let err = stage.run(&ctx, &ports, &[]).await.unwrap_err();
    assert!(
        err.to_string().contains("an earlier stage writes it"),
        "{err}"
    );

    let body = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/s3-service-documentation.json"),
    )
    .unwrap();
    store
        .put(
            &ctx.key(gensec_core::contract::paths::DOCUMENTATION),
            body,
            "application/json",
        )
        .await
        .unwrap();
    let outcome = stage.run(&ctx, &ports, &[]).await.unwrap();
    let written = |relative: &str| outcome.files.iter().any(|f| f.path == relative);
    assert_eq!(outcome.stage, gensec_core::contract::stage::StageId::Iam);
    for relative in [
        "iam/iam-model.json",
        "iam/iam-review.md",
        "iam/policies/read-only-auditor.json",
        "iam/policies/application-runtime.json",
        "iam/policies/cicd-deployer.json",
    ] {
        let key = ctx.key(relative);
        assert!(written(relative), "{key}");
        assert!(store.get(&key).await.unwrap().is_some(), "{key}");
    }
    // Merged statements and exact wildcards: operator and administrator
    // fit one document each (they were split in two before).
    for persona in ["operator", "administrator"] {
        let relative = format!("iam/policies/{persona}.json");
        assert!(written(&relative), "{relative}");
    }
    let model: IamModel = serde_json::from_slice(
        &store
            .get(&ctx.key("iam/iam-model.json"))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(model.personas.len(), 5);
    let StageFigures::Iam(figures) = &outcome.figures else {
        panic!("not the IAM figures: {:?}", outcome.figures);
    };
    assert_eq!(figures.personas, 5);
    let counts = outcome.validation();
    assert_eq!(counts.checked, counts.accepted + counts.rejected);
    assert_eq!(counts.rejected, outcome.verdicts.rejected.len() as u64);
}
