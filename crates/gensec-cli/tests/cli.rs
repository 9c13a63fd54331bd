//! The `gensec` binary end to end: runs, inspection and bad input.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config-example")
}

fn profile() -> PathBuf {
    examples().join("security-profile/example-corp.json")
}

fn gensec(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("gensec").unwrap();
    command.current_dir(dir).env_remove("GENSEC_KB");
    command
}

fn json_stdout(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn kb_info_reports_the_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let info = json_stdout(
        &gensec(dir.path())
            .args(["kb", "info", "--json"])
            .output()
            .unwrap(),
    );
    let counts = &info["meta"]["counts"];
    assert!(counts["resource_types"].as_u64().unwrap() >= 1_800);
    assert!(counts["iam_actions"].as_u64().unwrap() >= 20_000);
    assert!(counts["config_rules"].as_u64().unwrap() >= 280);
    assert!(!info["meta"]["data_date"].as_str().unwrap().is_empty());
}

#[test]
fn kb_service_answers_for_quicksight() {
    let dir = tempfile::tempdir().unwrap();
    let output = gensec(dir.path())
        .args(["kb", "service", "quicksight"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("AWS::QuickSight::DataSource"), "{text}");
    assert!(text.contains("IAM actions:"), "{text}");
}

fn run_service(dir: &Path, service: &str) -> serde_json::Value {
    json_stdout(
        &gensec(dir)
            .args(["run", "--service", service, "--json", "--profile"])
            .arg(profile())
            .output()
            .unwrap(),
    )
}

#[test]
fn run_writes_the_documented_files_with_true_hashes() {
    let dir = tempfile::tempdir().unwrap();
    for (service, id) in [("S3", "s3"), ("QuickSight", "quicksight")] {
        let result = run_service(dir.path(), service);
        let request_id = result["request_id"].as_str().unwrap();
        let run_dir = dir.path().join("gensec-out").join(id).join(request_id);
        let doc: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run_dir.join("documentation/service-documentation.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(doc["service_id"], id);
        assert!(!doc["resource_types"].as_array().unwrap().is_empty());
        assert!(
            !doc["iam_services"][0]["actions"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest, result["manifest"]);
        assert!(!manifest["kb"]["data_date"].as_str().unwrap().is_empty());
        for file in manifest["files"].as_array().unwrap() {
            let body = std::fs::read(run_dir.join(file["path"].as_str().unwrap())).unwrap();
            use sha2::Digest;
            assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&body)));
        }
    }
    let requests = json_stdout(
        &gensec(dir.path())
            .args(["requests", "--json"])
            .output()
            .unwrap(),
    );
    let states: Vec<&str> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["SUCCEEDED", "SUCCEEDED"]);
}

#[test]
fn running_a_request_file_again_records_a_second_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let request = examples().join("service-request/quicksight.json");
    for expected_attempt in [1, 2] {
        let result = json_stdout(
            &gensec(dir.path())
                .args(["run", "--json", "--request"])
                .arg(&request)
                .arg("--profile")
                .arg(examples().join("security-profile"))
                .output()
                .unwrap(),
        );
        assert_eq!(result["attempt"], expected_attempt);
    }
    let record = json_stdout(
        &gensec(dir.path())
            .args(["requests", "--json", "--id", "REQ-2024-001"])
            .output()
            .unwrap(),
    );
    assert_eq!(record[0]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(record[0]["service_id"], "quicksight");
}

/// Bad input exits 2, names the problem and writes nothing.
fn assert_rejected(dir: &Path, args: &[&str], profile: &Path, expected: &[&str]) {
    let output = gensec(dir)
        .args(args)
        .arg("--profile")
        .arg(profile)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "{args:?}: {stderr:?} lacks {fragment:?}"
        );
    }
    assert!(!dir.join("gensec-out").exists(), "{args:?} wrote outputs");
    assert!(!dir.join("gensec.db").exists(), "{args:?} wrote a database");
}

fn broken_profile(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(profile()).unwrap()).unwrap();
    edit(&mut value);
    let path = dir.join("inputs/profile.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = ["run", "--service", "S3"];

    let malformed = dir.path().join("inputs/malformed.json");
    std::fs::create_dir_all(malformed.parent().unwrap()).unwrap();
    std::fs::write(&malformed, "{\"profile_id\": \"x\",").unwrap();
    assert_rejected(
        dir.path(),
        &run,
        &malformed,
        &["malformed.json", "malformed JSON"],
    );

    let missing = broken_profile(dir.path(), |v| {
        v.as_object_mut().unwrap().remove("security_controls");
    });
    assert_rejected(
        dir.path(),
        &run,
        &missing,
        &["profile.json", "missing field `security_controls`"],
    );

    let wrong_type = broken_profile(dir.path(), |v| {
        v["security_operations"]["access_management"]["mfa_required"] = "yes".into();
    });
    assert_rejected(
        dir.path(),
        &run,
        &wrong_type,
        &[
            "$.security_operations.access_management.mfa_required",
            "expected a boolean",
        ],
    );

    assert_rejected(
        dir.path(),
        &["run", "--service", "Quiksight"],
        &profile(),
        &[
            "unknown service \"Quiksight\"",
            "did you mean",
            "QuickSight",
        ],
    );

    let missing_file = dir.path().join("inputs/nope.json");
    assert_rejected(
        dir.path(),
        &run,
        &missing_file,
        &["nope.json", "cannot read file"],
    );
}

#[test]
fn a_list_of_services_runs_each_as_its_own_request() {
    let dir = tempfile::tempdir().unwrap();
    // Names are resolved like single ones; a repeated service runs once.
    let summary = run_service(dir.path(), "S3, sqs,Amazon S3,AWS::SNS");
    assert_eq!(summary["services"], 3);
    assert_eq!(summary["failed"], serde_json::json!({}));
    let succeeded = summary["succeeded"].as_object().unwrap();
    let ids: Vec<&str> = succeeded.keys().map(String::as_str).collect();
    assert_eq!(ids, ["s3", "sns", "sqs"]);
    for (service, request_id) in succeeded {
        let request_id = request_id.as_str().unwrap();
        assert!(request_id.ends_with(service.as_str()), "{request_id}");
        let package = dir.path().join("gensec-out").join(service).join(request_id);
        assert!(
            package.join("manifest.json").is_file(),
            "{}",
            package.display()
        );
    }
    let requests = json_stdout(
        &gensec(dir.path())
            .args(["requests", "--json"])
            .output()
            .unwrap(),
    );
    let mut tracked: Vec<(&str, &str)> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["service_id"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
            )
        })
        .collect();
    tracked.sort_unstable();
    assert_eq!(
        tracked,
        [
            ("s3", "SUCCEEDED"),
            ("sns", "SUCCEEDED"),
            ("sqs", "SUCCEEDED")
        ]
    );

    // An unknown name in the list stops the run before anything is written.
    let empty = tempfile::tempdir().unwrap();
    let output = gensec(empty.path())
        .args(["run", "--service", "s3,Quiksight", "--profile"])
        .arg(profile())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown service \"Quiksight\""), "{stderr}");
    assert!(!empty.path().join("gensec-out").exists());
}

#[test]
fn reviewers_list_approve_reject_and_export_the_library() {
    let dir = tempfile::tempdir().unwrap();
    run_service(dir.path(), "S3");
    let list = json_stdout(
        &gensec(dir.path())
            .args(["library", "list", "--service", "s3", "--format", "json"])
            .output()
            .unwrap(),
    );
    let count = list.as_array().unwrap().len();
    assert!(count >= 10);
    // A second run of the service updates entries instead of adding new ones.
    run_service(dir.path(), "S3");
    let again = json_stdout(
        &gensec(dir.path())
            .args(["library", "list", "--format", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(again.as_array().unwrap().len(), count);

    let id = "CFG-S3-BUCKET-VERSIONING";
    let approve = gensec(dir.path())
        .args([
            "library",
            "approve",
            id,
            "--by",
            "alice",
            "--reason",
            "matches standard",
            "--version",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        approve.status.success(),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    // A decision on a stale version is refused.
    let stale = gensec(dir.path())
        .args([
            "library",
            "reject",
            id,
            "--by",
            "bob",
            "--reason",
            "late",
            "--version",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(stale.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("version 2"));
    let reject = gensec(dir.path())
        .args([
            "library",
            "reject",
            "CFG-S3-BUCKET-OBJECT-LOCK",
            "--by",
            "bob",
            "--reason",
            "not for this workload",
        ])
        .output()
        .unwrap();
    assert!(reject.status.success());
    let unknown = gensec(dir.path())
        .args([
            "library", "approve", "CFG-NOPE", "--by", "a", "--reason", "b",
        ])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));

    let shown = json_stdout(
        &gensec(dir.path())
            .args(["library", "show", id, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(shown["status"], "APPROVED");
    let history = shown["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["actor"], "alice");
    assert_eq!(history.last().unwrap()["note"], "matches standard");

    let approved = json_stdout(
        &gensec(dir.path())
            .args([
                "library", "list", "--status", "approved", "--format", "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(approved.as_array().unwrap().len(), 1);

    let export = dir.path().join("library.csv");
    let output = gensec(dir.path())
        .args(["library", "export", "--format", "csv", "--out"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(output.status.success());
    let csv = std::fs::read_to_string(&export).unwrap();
    assert_eq!(
        csv.lines().count(),
        count + 1,
        "header plus one row per entry"
    );
    assert!(csv.contains("APPROVED") && csv.contains("REJECTED") && csv.contains("by alice"));
}
