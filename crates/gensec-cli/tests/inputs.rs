//! Hostile and awkward input files: each is refused with exit code 2, a
//! message naming the file, the JSON path and what was expected, and
//! nothing written (no output directory, no database).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config-example")
}

fn example_profile() -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(examples().join("security-profile/example-corp.json")).unwrap(),
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join("inputs").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn request(fields: serde_json::Value) -> String {
    let mut value = serde_json::json!({
        "request_id": "REQ-T-1", "requester": "team",
        "timestamp": "2024-01-15T10:30:00Z", "service_name": "S3"
    });
    for (key, field) in fields.as_object().unwrap() {
        value[key] = field.clone();
    }
    value.to_string()
}

/// `gensec run --request <request> --profile <profile>` is refused with
/// every fragment in its message and writes nothing.
fn refused(dir: &Path, request: &Path, profile: &Path, fragments: &[&str]) {
    let output = Command::cargo_bin("gensec")
        .unwrap()
        .current_dir(dir)
        .env_remove("GENSEC_KB")
        .args(["run", "--request"])
        .arg(request)
        .arg("--profile")
        .arg(profile)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for fragment in fragments {
        assert!(stderr.contains(fragment), "{stderr:?} lacks {fragment:?}");
    }
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{202e}'),
        "{stderr:?}"
    );
    assert!(!dir.join("gensec-out").exists());
    assert!(!dir.join("gensec.db").exists());
}

#[test]
fn an_unknown_service_names_the_file_the_path_and_suggestions_even_after_a_bom() {
    let dir = tempfile::tempdir().unwrap();
    let profile = examples().join("security-profile/example-corp.json");
    let text = format!(
        "\u{FEFF}{}",
        request(serde_json::json!({"service_name": "Quiksight"}))
    );
    let file = write(dir.path(), "bom-request.json", &text);
    refused(
        dir.path(),
        &file,
        &profile,
        &[
            "bom-request.json: at $.service_name: unknown service \"Quiksight\"",
            "did you mean",
            "QuickSight",
        ],
    );
}

#[test]
fn malformed_documents_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let profile = examples().join("security-profile/example-corp.json");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "timestamp.json",
            request(serde_json::json!({"timestamp": "15/01/2024"})),
            vec!["timestamp.json", "$.timestamp", "RFC 3339"],
        ),
        (
            "control.json",
            request(serde_json::json!({"service_name": "S3\u{202e}\u{7}"})),
            vec!["control.json", "$.service_name", "U+202E"],
        ),
        (
            "escape.json",
            request(serde_json::json!({"requester": "\u{1b}[31mteam"})),
            vec!["$.requester", "U+001B"],
        ),
        (
            "long-name.json",
            request(serde_json::json!({"service_name": "s".repeat(200_000)})),
            vec!["$.service_name", "limit is 256 bytes"],
        ),
        (
            "array.json",
            "[\"REQ-1\", \"team\", \"2024-01-15T10:30:00Z\", \"S3\"]".into(),
            vec![
                "array.json: at $:",
                "expected a JSON object (a service request), got an array",
            ],
        ),
    ];
    for (name, text, fragments) in cases {
        let file = write(dir.path(), name, &text);
        refused(dir.path(), &file, &profile, &fragments);
    }
}

#[test]
fn profiles_are_bounded_objects_with_unique_ids() {
    let dir = tempfile::tempdir().unwrap();
    let good_request = write(dir.path(), "request.json", &request(serde_json::json!({})));

    let mut huge = example_profile();
    huge["organization_name"] = "x".repeat(2 * 1024 * 1024).into();
    let huge = write(dir.path(), "huge.json", &huge.to_string());
    refused(dir.path(), &good_request, &huge, &["huge.json", "1 MiB"]);

    let values: Vec<serde_json::Value> = example_profile()
        .as_object()
        .unwrap()
        .values()
        .cloned()
        .collect();
    let array = write(
        dir.path(),
        "array-profile.json",
        &serde_json::to_string(&values).unwrap(),
    );
    refused(
        dir.path(),
        &good_request,
        &array,
        &["array-profile.json: at $:", "a security profile"],
    );

    let twins = dir.path().join("twins");
    std::fs::create_dir_all(&twins).unwrap();
    let profile = example_profile().to_string();
    std::fs::write(twins.join("a.json"), &profile).unwrap();
    std::fs::write(twins.join("b.json"), &profile).unwrap();
    refused(
        dir.path(),
        &good_request,
        &twins,
        &["\"example-corp\" is defined twice", "a.json", "b.json"],
    );
}
