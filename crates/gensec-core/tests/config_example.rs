//! The published examples and schemas stay in step with the types.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use gensec_core::input::{parse_profile, parse_request, schemas};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_file_parses() {
    let root = repo_root().join("config-example");
    let profiles = json_files(&root.join("security-profile"));
    let requests = json_files(&root.join("service-request"));
    assert!(profiles.len() >= 2 && requests.len() >= 3);
    let mut ids = Vec::new();
    for path in profiles {
        let text = std::fs::read_to_string(&path).unwrap();
        ids.push(
            parse_profile(&path.display().to_string(), &text)
                .unwrap()
                .profile_id,
        );
    }
    for path in requests {
        let text = std::fs::read_to_string(&path).unwrap();
        let request = parse_request(&path.display().to_string(), &text).unwrap();
        if let Some(profile_id) = &request.profile_id {
            assert!(
                ids.contains(profile_id),
                "{} names unknown profile {profile_id}",
                path.display()
            );
        }
    }
}

/// Set GENSEC_UPDATE_SCHEMAS=1 to rewrite the published schemas.
#[test]
fn published_schemas_are_current() {
    let dir = repo_root().join("config-example/schemas");
    for (name, schema) in schemas() {
        let expected = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
        let path = dir.join(name);
        if std::env::var_os("GENSEC_UPDATE_SCHEMAS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &expected).unwrap();
        }
        // Compared as JSON values: key order depends on serde_json features the
        // rest of the workspace turns on.
        let found: serde_json::Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        assert!(
            found == schema,
            "{} is stale; run GENSEC_UPDATE_SCHEMAS=1 cargo test -p gensec-core --test config_example",
            path.display()
        );
    }
}

#[test]
fn published_schemas_validate_the_examples_and_reject_bad_ones() {
    let root = repo_root().join("config-example");
    for (name, schema) in schemas() {
        let validator = jsonschema::validator_for(&schema).unwrap();
        let dir = if name.starts_with("security-profile") {
            "security-profile"
        } else {
            "service-request"
        };
        for path in json_files(&root.join(dir)) {
            let instance: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            let mut broken = instance.clone();
            broken
                .as_object_mut()
                .unwrap()
                .insert("unexpected".into(), 1.into());
            assert!(
                !validator.is_valid(&broken),
                "{name} accepts unknown fields"
            );
        }
    }
}

#[test]
fn schemas_accept_the_examples_field_names() {
    for (name, schema) in schemas() {
        let properties = schema["properties"].as_object().unwrap();
        if name.starts_with("security-profile") {
            for field in [
                "profile_id",
                "organization_name",
                "security_operations",
                "compliance_requirements",
            ] {
                assert!(properties.contains_key(field), "{name} lacks {field}");
            }
        } else {
            for field in [
                "request_id",
                "requester",
                "timestamp",
                "service_name",
                "profile_id",
            ] {
                assert!(properties.contains_key(field), "{name} lacks {field}");
            }
        }
    }
}
