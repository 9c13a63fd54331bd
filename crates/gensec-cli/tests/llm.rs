//! `gensec run --llm`: a bad spec is an input error, an unreachable model
//! leaves the deterministic result (and says so), and a re-run of the same
//! request is answered from the response cache at no token cost.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config-example")
}

fn gensec(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("gensec").unwrap();
    command
        .current_dir(dir)
        .env_remove("GENSEC_KB")
        .env_remove("GENSEC_LLM")
        .env_remove("GENSEC_LLM_CACHE")
        .env_remove("OPENAI_API_KEY")
        .env("GENSEC_LLM_ATTEMPTS", "1");
    command
}

fn run(dir: &Path, out: &str, llm: Option<&str>, json: bool) -> std::process::Output {
    let mut command = gensec(dir);
    command.args([
        "run",
        "--profile",
        examples()
            .join("security-profile/example-corp.json")
            .to_str()
            .unwrap(),
        "--request",
        examples().join("service-request/s3.json").to_str().unwrap(),
        "--out",
        out,
        "--db",
        "gensec.db",
    ]);
    if let Some(spec) = llm {
        command.args(["--llm", spec]);
    }
    if json {
        command.arg("--json");
    }
    command.output().unwrap()
}

fn text(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn run_dir(dir: &Path, out: &str) -> PathBuf {
    let services = dir.join(out).join("s3");
    let request = std::fs::read_dir(&services)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    request.path()
}

#[test]
fn a_bad_llm_spec_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), "out", Some("gemini:pro"), false);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--llm"), "{stderr}");
    assert!(
        !dir.path().join("out").exists(),
        "nothing is written on bad input"
    );
}

#[test]
fn an_unreachable_model_leaves_the_deterministic_result() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("openai=http://127.0.0.1:{port}/v1,model=llama3.1");
    let summary = text(&run(dir.path(), "with", Some(&spec), false));
    assert!(
        summary.contains("analysis: LLM unavailable, deterministic result"),
        "{summary}"
    );
    text(&run(dir.path(), "without", None, false));
    let with = run_dir(dir.path(), "with");
    let without = run_dir(dir.path(), "without");
    assert_eq!(
        std::fs::read_to_string(with.join("analysis/recommendations.json")).unwrap(),
        std::fs::read_to_string(without.join("analysis/recommendations.json")).unwrap()
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(with.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["llm"]["deterministic_fallback"], true);
    let plain = std::fs::read_to_string(without.join("manifest.json")).unwrap();
    assert!(!plain.contains("\"llm\""));
}

/// Empty but valid answers for both prompts, in the chat-completions shape.
struct Answers;

impl Respond for Answers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body);
        let answer = if body.contains("BEGIN service-facts") {
            json!({"overview": "Amazon S3 stores objects in buckets.", "answers": []})
        } else {
            json!({"rationales": [], "priority_adjustments": [], "additional_recommendations": []})
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-cli", "object": "chat.completion", "created": 1741569952, "model": "llama3.1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string()}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5000, "completion_tokens": 40, "total_tokens": 5040}
        }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_is_answered_from_the_cache() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Answers)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("openai={}/v1,model=llama3.1", server.uri());
    let first = text(&run(dir.path(), "out", Some(&spec), false));
    assert!(
        first.contains(
            "llm: llama3.1, 2 calls (0 from cache), 10000 input + 80 output tokens, est. $0.0000"
        ),
        "{first}"
    );
    let second = run(dir.path(), "out", Some(&spec), true);
    let report: Value = serde_json::from_slice(&second.stdout).unwrap();
    let usage = &report["manifest"]["llm"]["usage"];
    assert_eq!(usage["cache_hits"], 2);
    assert_eq!(usage["input_tokens"], 0);
    assert_eq!(usage["cached_input_tokens"], 10_000);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(dir.path().join("out/.llm-cache").is_dir());
}
