//! `gensec remediate` reports what it did truthfully: a rejected finding
//! (a malformed `--events` line, with its line number) fails the run after the
//! valid ones were handled; `--stdout` previews without using up send-once
//! state; `--digest` is one send; OCSF events are read like ASFF ones.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gensec-remediate/tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// JSON lines: each value on a line of its own, `raw` lines as given.
fn events_file(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("events.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn remediate(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("gensec")
        .unwrap()
        .current_dir(dir)
        .env_remove("GENSEC_LLM")
        .env_remove("GENSEC_SLACK_WEBHOOK_URL")
        .env_remove("GENSEC_WEBHOOK_URL")
        .args(["remediate", "--db", "state.db", "--out-dir", "outbox"])
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn emails(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("outbox")).map_or(0, |entries| {
        entries
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
    })
}

#[test]
fn a_malformed_events_line_is_a_rejected_finding_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let events = events_file(
        dir.path(),
        &[
            fixture("s3_8_event.json").to_string(),
            "{\"detail-type\": \"Security Hub Findings - Imported\", \"detail\": {\"findings\": ["
                .into(),
            fixture("ocsf/s3_2_event.json").to_string(),
        ],
    );
    let output = remediate(dir.path(), &["--events", events.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("1 finding(s) rejected"), "{err}");
    assert!(err.contains("events.jsonl:2"), "the line number: {err}");
    assert!(
        err.contains("2 sent"),
        "the valid findings were handled: {err}"
    );
    assert_eq!(emails(dir.path()), 2);
    assert_eq!(
        std::fs::read_dir(dir.path().join("outbox/rejected"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn stdout_is_a_preview_that_uses_up_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let events = events_file(dir.path(), &[fixture("ocsf/s3_2_event.json").to_string()]);
    let events = events.to_str().unwrap();
    for _ in 0..2 {
        let preview = remediate(dir.path(), &["--events", events, "--stdout"]);
        assert!(preview.status.success(), "{}", stderr(&preview));
        let printed = String::from_utf8_lossy(&preview.stdout);
        assert!(
            printed.contains("Subject: Security Alert: CRITICAL"),
            "{printed}"
        );
    }
    assert_eq!(emails(dir.path()), 0);
    // The real delivery still sends it, once.
    let sent = remediate(dir.path(), &["--events", events]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert_eq!(emails(dir.path()), 1);
    // A preview now shows it is already notified, and prints no e-mail.
    let preview = remediate(dir.path(), &["--events", events, "--stdout"]);
    assert!(preview.status.success());
    assert!(!String::from_utf8_lossy(&preview.stdout).contains("Subject:"));
    assert!(
        stderr(&preview).contains("already notified"),
        "{}",
        stderr(&preview)
    );
    let again = remediate(dir.path(), &["--events", events]);
    assert!(
        stderr(&again).contains("0 sent, 1 duplicate"),
        "{}",
        stderr(&again)
    );
    assert_eq!(emails(dir.path()), 1);
}

#[test]
fn a_digest_is_reported_as_one_send() {
    let dir = tempfile::tempdir().unwrap();
    let events = events_file(
        dir.path(),
        &[
            fixture("s3_8_event.json").to_string(),
            fixture("ocsf/s3_2_event.json").to_string(),
            fixture("ocsf/guardduty_event.json").to_string(),
        ],
    );
    let output = remediate(
        dir.path(),
        &["--events", events.to_str().unwrap(), "--digest"],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(err.matches("gensec: sent ").count(), 1, "{err}");
    assert!(err.contains("(3 findings)"), "{err}");
    assert!(err.contains("gensec: 1 sent (3 findings)"), "{err}");
    assert_eq!(emails(dir.path()), 1);
}

/// `GENSEC_SLACK_WEBHOOK_URL` sends to Slack instead of the outbox: once,
/// retried after a failure, and the URL (a secret) is never printed.
#[tokio::test(flavor = "multi_thread")]
async fn slack_webhook_from_the_environment_delivers_once_and_retries() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let finding = dir.path().join("finding.json");
    std::fs::write(&finding, fixture("s3_8_event.json").to_string()).unwrap();
    let url = format!("{}/services/T1/B1/secret-token-abc", server.uri());
    let run = |dir: PathBuf, finding: PathBuf, url: String| {
        tokio::task::spawn_blocking(move || {
            Command::cargo_bin("gensec")
                .unwrap()
                .current_dir(&dir)
                .env_remove("GENSEC_LLM")
                .env("GENSEC_SLACK_WEBHOOK_URL", &url)
                .args(["remediate", "--db", "state.db", "--out-dir", "outbox"])
                .arg("--finding")
                .arg(&finding)
                .output()
                .unwrap()
        })
    };
    let failed = run(dir.path().into(), finding.clone(), url.clone())
        .await
        .unwrap();
    assert!(!failed.status.success());
    let sent = run(dir.path().into(), finding.clone(), url.clone())
        .await
        .unwrap();
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(
        stderr(&sent).contains("-> slack (200)"),
        "{}",
        stderr(&sent)
    );
    let again = run(dir.path().into(), finding, url).await.unwrap();
    assert!(
        stderr(&again).contains("0 sent, 1 duplicate"),
        "{}",
        stderr(&again)
    );
    for output in [&failed, &sent, &again] {
        let all = format!(
            "{}{}",
            stderr(output),
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(!all.contains("secret-token"), "{all}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(emails(dir.path()), 0, "nothing went to the outbox");
}
