//! `gensec remediate --llm`: the same model options as `gensec run`; a bad
//! spec is an input error, a control outside the catalogue gets the model's
//! checked fix (marked as the model's), and an unreachable model leaves the
//! deterministic e-mail.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An S3.4 finding (not in the catalogue) from the remediation fixtures.
fn uncatalogued(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../gensec-remediate/tests/fixtures/s3_2_finding.json"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["Id"] = json!("arn:aws:securityhub:eu-west-1:123456789012:security-control/S3.4/finding/cli");
    v["GeneratorId"] = json!("security-control/S3.4");
    v["Compliance"]["SecurityControlId"] = json!("S3.4");
    v["Title"] = json!("S3 general purpose buckets should have server-side encryption enabled");
    let path = dir.join("finding.json");
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

/// The printed e-mail with quoted-printable soft line breaks removed.
fn unfolded(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .replace("=\r\n", "")
        .replace("=\n", "")
}

fn remediate(dir: &Path, llm: Option<&str>) -> std::process::Output {
    let mut command = Command::cargo_bin("gensec").unwrap();
    command
        .current_dir(dir)
        .env_remove("GENSEC_LLM")
        .env_remove("GENSEC_LLM_CACHE")
        .env_remove("OPENAI_API_KEY")
        .env("GENSEC_LLM_ATTEMPTS", "1")
        .args(["remediate", "--finding"])
        .arg(uncatalogued(dir))
        .args(["--stdout", "--db", "state.db"]);
    if let Some(spec) = llm {
        command.args(["--llm", spec]);
    }
    command.output().unwrap()
}

#[test]
fn a_bad_llm_spec_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = remediate(dir.path(), Some("gemini:pro"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--llm"));
}

#[test]
fn an_unreachable_model_leaves_the_deterministic_email() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("openai=http://127.0.0.1:{port}/v1,model=llama3.1");
    let output = remediate(dir.path(), Some(&spec));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let email = unfolded(&output.stdout);
    assert!(
        email.contains("is not in gensec's reviewed remediation catalogue, so no fix was"),
        "{email}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 deterministic fallbacks"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_models_fix_is_checked_and_marked() {
    let answer = json!({
        "risk_explanation": "Objects in this bucket are stored without default encryption.",
        "manual_steps": ["Enable default encryption with SSE-KMS on the bucket."],
        "terraform": [{
            "resource_type": "aws_s3_bucket_server_side_encryption_configuration",
            "name": "encryption",
            "arguments": {"bucket": "${resource.name}", "rule": {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}}
        }]
    });
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-remediate", "object": "chat.completion", "created": 1741569952,
            "model": "llama3.1",
            "choices": [{"index": 0, "message": {"role": "assistant",
                         "content": answer.to_string()}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1500, "completion_tokens": 200, "total_tokens": 1700}
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("openai={}/v1,model=llama3.1", server.uri());
    let output = remediate(dir.path(), Some(&spec));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let email = unfolded(&output.stdout);
    assert!(
        email.contains("aws_s3_bucket_server_side_encryption_configuration"),
        "{email}"
    );
    assert!(email.contains("proposed by a language model"), "{email}");
    assert!(email.contains("acme-marketing-assets"), "{email}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 fixes accepted"), "{stderr}");
    // Answers are cached beside the outbox by default.
    assert!(dir.path().join("gensec-outbox/.llm-cache").is_dir());
}
