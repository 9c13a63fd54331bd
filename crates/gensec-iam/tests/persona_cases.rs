//! Personas over the 21 service packages, executed against each package's
//! own resources.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_analysis::{catalogue, recommend};
use gensec_core::SecurityProfile;
use gensec_core::contract::controls::Verdict;
use gensec_core::contract::iam::Persona;
use gensec_iam::{IamOutput, MAX_DOCUMENTS_PER_PERSONA};
use gensec_iam::{Package, build_model};
use gensec_kb::{AccessLevel, Kb};
use gensec_testkit::{all_services, example_profile};
use serde_json::Value;

fn template(kb: &Kb, service: &str, profile: &SecurityProfile) -> Value {
    let entry = kb.resolve_service(service).unwrap();
    let (recommendations, _) =
        recommend::recommend(kb, entry, &catalogue::load().unwrap(), profile);
    let curated = gensec_iac::data::curated().unwrap();
    gensec_iac::cloudformation::build(kb, curated, "test", &recommendations, profile).template
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

fn statements<'a>(output: &'a IamOutput, persona: &str) -> Vec<&'a Value> {
    output
        .policies
        .iter()
        .filter(|p| p.persona == persona)
        .flat_map(|p| p.document["Statement"].as_array().unwrap())
        .collect()
}

/// An action pattern's matches in the IAM reference.
fn expand(kb: &Kb, pattern: &str) -> Vec<String> {
    let Some(stem) = pattern.strip_suffix('*') else {
        return vec![pattern.to_string()];
    };
    let (prefix, verb) = stem.split_once(':').unwrap();
    kb.iam_service(prefix)
        .unwrap()
        .unwrap()
        .actions
        .iter()
        .filter(|a| {
            a.name
                .to_ascii_lowercase()
                .starts_with(&verb.to_ascii_lowercase())
        })
        .map(|a| format!("{prefix}:{}", a.name))
        .collect()
}

fn passed_case<'a>(persona: &'a Persona, starts: &str, expected: Verdict) -> Vec<&'a str> {
    persona
        .cases
        .iter()
        .filter(|c| c.name.starts_with(starts) && c.expected == expected && c.passed())
        .map(|c| c.name.as_str())
        .collect()
}

/// Every persona of the 21 packages, executed against the package's own
/// resources: every case passes; the runtime can use its resources and the
/// package key through the service; the auditor reads no data; nothing
/// escalates; at most ten documents per persona, wildcards exact.
#[test]
fn personas_work_on_their_package_and_nothing_escalates() {
    let kb = Kb::embedded().unwrap();
    let profile = example_profile();
    let curated = gensec_iam::data::curated().unwrap();
    let mut executed = 0;
    for name in all_services() {
        let entry = kb.resolve_service(name).unwrap();
        let service = entry.id.as_str();
        let doc = gensec_docs::collect(&kb, &entry.id).unwrap();
        let package = Package::from_template(&template(&kb, service, &profile));
        let output = build_model(&kb, &doc, &profile, &package).unwrap();
        let mut line = format!("{service}:");
        for persona in &output.model.personas {
            let failed: Vec<_> = persona.cases.iter().filter(|c| !c.passed()).collect();
            assert!(failed.is_empty(), "{service} {}: {failed:#?}", persona.id);
            executed += persona.cases.len();
            assert!(
                persona.documents <= MAX_DOCUMENTS_PER_PERSONA,
                "{service} {}: {} documents",
                persona.id,
                persona.documents
            );
            line.push_str(&format!(
                " {}={}/{} ({} cases)",
                persona.id,
                persona.statements,
                persona.documents,
                persona.cases.len()
            ));
            // Nothing escalates: the cases ran for every persona.
            assert_eq!(
                passed_case(persona, "iam:PassRole to ", Verdict::Denied).len(),
                1,
                "{service} {}",
                persona.id
            );
            assert_eq!(
                passed_case(persona, "iam:CreateServiceLinkedRole for", Verdict::Denied).len(),
                1,
                "{service} {}",
                persona.id
            );
            if service != "kms" {
                assert_eq!(
                    passed_case(persona, "kms:Decrypt with ", Verdict::Denied).len(),
                    2,
                    "{service} {}: no direct decryption, with no key",
                    persona.id
                );
            }
            for statement in statements(&output, &persona.id) {
                let actions: Vec<String> = strings(&statement["Action"])
                    .iter()
                    .flat_map(|p| expand(&kb, p))
                    .collect();
                let has = |name: &str| actions.iter().any(|a| a.eq_ignore_ascii_case(name));
                if has("iam:PassRole") {
                    assert!(
                        !strings(&statement["Condition"]["StringEquals"]["iam:PassedToService"])
                            .is_empty(),
                        "{service} {}: {statement}",
                        persona.id
                    );
                }
                if has("iam:CreateServiceLinkedRole") {
                    assert!(
                        strings(&statement["Resource"])
                            .iter()
                            .all(|r| r.contains(":role/aws-service-role/")),
                        "{service} {}: {statement}",
                        persona.id
                    );
                    assert!(
                        !strings(&statement["Condition"]["StringEquals"]["iam:AWSServiceName"])
                            .is_empty()
                    );
                }
                if service != "kms" && (has("kms:Decrypt") || has("kms:GenerateDataKey")) {
                    assert!(
                        !strings(&statement["Condition"]["StringEquals"]["kms:ViaService"])
                            .is_empty(),
                        "{service} {}: key use outside the package's services: {statement}",
                        persona.id
                    );
                }
                if persona.id == "read-only-auditor" {
                    for action in &actions {
                        assert!(
                            curated.data_read(action).is_none(),
                            "{service}: the auditor reads data with {action}"
                        );
                        let level = kb.action(action).unwrap().unwrap().access_level();
                        assert!(
                            matches!(level, AccessLevel::List | AccessLevel::Read),
                            "{service}: the auditor's {action} is {level:?}"
                        );
                    }
                }
                if persona.id == "operator" {
                    for action in &actions {
                        let known = kb.action(action).unwrap().unwrap();
                        assert!(
                            !known
                                .access_levels
                                .contains(&AccessLevel::PermissionsManagement),
                            "{service}: the operator's wildcard reaches {action}"
                        );
                    }
                }
                if persona.id == "application-runtime" && service == "secretsmanager" {
                    for withheld in [
                        "secretsmanager:DeleteSecret",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecret",
                    ] {
                        assert!(!has(withheld), "the runtime may {withheld}");
                    }
                }
            }
            if persona.id == "read-only-auditor" {
                let data_reads = passed_case(persona, "data read ", Verdict::Denied);
                let has_data_reads = doc.iam_services.iter().any(|s| {
                    s.actions.iter().any(|a| {
                        curated
                            .data_read(&format!("{}:{}", s.prefix, a.name))
                            .is_some()
                    })
                });
                assert!(
                    !has_data_reads || !data_reads.is_empty(),
                    "{service}: no data read was executed against the auditor"
                );
            }
            if persona.id == "application-runtime" && persona.actions > 0 {
                let own = passed_case(persona, "", Verdict::Allowed);
                assert!(
                    !own.is_empty(),
                    "{service}: the runtime reaches none of its resources"
                );
                let key_use = package
                    .key
                    .as_ref()
                    .is_some_and(|k| !k.via_services.is_empty());
                if key_use && service != "kms" {
                    for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
                        assert!(
                            !passed_case(
                                persona,
                                &format!("{action} with the package key through"),
                                Verdict::Allowed
                            )
                            .is_empty(),
                            "{service}: the runtime cannot use the package key for {action}"
                        );
                    }
                }
            }
        }
        assert!(
            !output
                .verdicts
                .rejected
                .iter()
                .any(|r| r.reason.contains("also matches")),
            "{service}: a wildcard matches an action outside its persona"
        );
        println!("{line}");
        for dropped in &output.model.dropped {
            println!(
                "  dropped {} {}: {}",
                dropped.persona, dropped.action, dropped.case.name
            );
        }
    }
    println!("{executed} persona cases executed");
    assert!(executed > 1000, "{executed}");
}
