//! `gensec run --refresh` end to end against a local stand-in for AWS's
//! documentation sources (wiremock on 127.0.0.1): a refresh goes live and is
//! recorded in the manifest and the summary, the next run revalidates its
//! cache under `<out>/.cache/live/` (304), and a source that cannot be
//! reached keeps the baseline with a warning while the run still succeeds.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../gensec-docs/tests/support/fake_sources.rs"]
mod fake_sources;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use wiremock::MockServer;

fn profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config-example/security-profile/example-corp.json")
}

/// `gensec run --service s3 --refresh` with the sources at `base`; the
/// manifest (from `--json`) or the summary text, and whether it exited 0.
async fn run(dir: &Path, base: &str, ttl_seconds: u64, json: bool) -> (bool, String) {
    let mut command = Command::cargo_bin("gensec").unwrap();
    command
        .current_dir(dir)
        .env_remove("GENSEC_KB")
        .env_remove("AWS_REGION")
        .env("GENSEC_REFRESH_TTL_SECONDS", ttl_seconds.to_string())
        .args([
            "run",
            "--service",
            "s3",
            "--refresh",
            "--refresh-from",
            base,
        ])
        .arg("--profile")
        .arg(profile());
    if json {
        command.arg("--json");
    }
    // The fake server answers on this runtime's other worker meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Each source's origin and warning, from the manifest's documentation figures.
fn origins(result: &Value) -> Vec<(String, String, Option<String>)> {
    let stages = result["manifest"]["stages"].as_array().unwrap();
    let figures = stages
        .iter()
        .find(|stage| stage["stage"] == "documentation")
        .unwrap();
    figures["figures"]["documentation"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|status| {
            (
                status["source"].as_str().unwrap().to_string(),
                status["origin"].as_str().unwrap().to_string(),
                status["warning"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_goes_live_then_revalidates_its_cache() {
    let server = MockServer::start().await;
    // One full answer per source document, then one 304 each.
    fake_sources::serve(&server, 1, true, &[]).await;
    let dir = tempfile::tempdir().unwrap();

    let (_, first) = run(dir.path(), &server.uri(), 3600, true).await;
    let first: Value = serde_json::from_str(&first).unwrap();
    let sources = origins(&first);
    assert_eq!(sources.len(), 3, "{sources:?}");
    assert!(
        sources.iter().all(|(_, origin, _)| origin == "live"),
        "{sources:?}"
    );
    // The refreshed schema's type is documented, and the package says so.
    let output = dir.path().join(first["output"].as_str().unwrap());
    let doc: Value = serde_json::from_slice(
        &std::fs::read(output.join("documentation/service-documentation.json")).unwrap(),
    )
    .unwrap();
    assert!(
        doc["resource_types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|schema| schema["type_name"] == "AWS::S3::LiveOnlyThing")
    );
    // The cache is beside the packages, not in one.
    let cache = dir.path().join("gensec-out/.cache/live");
    assert!(cache.is_dir(), "{}", cache.display());
    assert!(!output.join(".cache").exists());

    // Past the TTL every request is conditional and answered 304.
    let (_, second) = run(dir.path(), &server.uri(), 0, false).await;
    for source in [
        "cloudformation-schemas: cache",
        "iam-service-reference: cache",
        "config-managed-rules: cache",
    ] {
        assert!(second.contains(source), "{second}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_sources_the_baseline_is_kept_with_a_warning_and_the_run_succeeds() {
    // A server that has gone away: connections to its port are refused.
    let base = {
        let server = MockServer::start().await;
        server.uri()
    };
    let dir = tempfile::tempdir().unwrap();
    let (succeeded, text) = run(dir.path(), &base, 3600, true).await;
    assert!(succeeded);
    let result: Value = serde_json::from_str(&text).unwrap();
    let sources = origins(&result);
    assert_eq!(sources.len(), 3, "{sources:?}");
    for (source, origin, warning) in &sources {
        assert_eq!(origin, "baseline", "{source}");
        let warning = warning.as_deref().unwrap_or_default();
        assert!(
            warning.contains("keeping the baseline"),
            "{source}: {warning}"
        );
    }
    let warnings = result["manifest"]["stages"][0]["warnings"]
        .as_array()
        .unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");

    let (_, summary) = run(dir.path(), &base, 3600, false).await;
    assert!(
        summary.contains("cloudformation-schemas: baseline") && summary.contains("warning: "),
        "{summary}"
    );
}
