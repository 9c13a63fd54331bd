//! The `gensec` binary against one database from several processes, after a
//! crash, and with hostile text in it: requests, library and remediate.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt as _;
use gensec_core::library::{EntryStatus, LibraryEntry};
use gensec_core::ports::{ControlLibrary, RequestTracker};
use gensec_core::tracking::{NewAttempt, Runner, StatusUpdate};
use gensec_local::{SqliteDb, this_process};
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn gensec(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("gensec").unwrap();
    command.current_dir(dir).env_remove("GENSEC_KB");
    command
}

/// Start `gensec <args>` in each of `runs` processes at once; wait for all.
fn in_parallel(dir: &Path, runs: Vec<Vec<String>>) -> Vec<std::process::Output> {
    let children: Vec<_> = runs
        .into_iter()
        .map(|args| {
            std::process::Command::cargo_bin("gensec")
                .unwrap()
                .current_dir(dir)
                .env_remove("GENSEC_KB")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

fn text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(output: &std::process::Output) -> String {
    let (stdout, stderr) = text(output);
    assert!(output.status.success(), "stderr: {stderr}");
    stdout
}

fn refused(output: &std::process::Output, fragments: &[&str]) {
    let (_, stderr) = text(output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for fragment in fragments {
        assert!(stderr.contains(fragment), "{stderr:?} lacks {fragment:?}");
    }
}

#[test]
fn processes_opening_a_new_database_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let db = format!("new-{round}.db");
        let runs = (0..4)
            .map(|_| vec!["requests".into(), "--db".into(), db.clone()])
            .collect();
        for output in in_parallel(dir.path(), runs) {
            assert!(ok(&output).contains("no requests yet"));
        }
    }
}

fn finding(id: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gensec-remediate/tests/fixtures/s3_8_event.json");
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut finding = event["detail"]["findings"][0].clone();
    finding["Id"] = id.into();
    finding
}

/// Eight `gensec remediate` at once on one database: none fails on a lock,
/// the shared finding is notified once, each own finding once.
#[test]
fn parallel_remediate_processes_neither_fail_nor_lose_nor_double() {
    let dir = tempfile::tempdir().unwrap();
    let runs = (0..8)
        .map(|index| {
            let file = dir.path().join(format!("findings-{index}.json"));
            let findings = serde_json::json!([finding("shared"), finding(&format!("own-{index}"))]);
            std::fs::write(&file, findings.to_string()).unwrap();
            [
                "remediate",
                "--json",
                "--db",
                "state.db",
                "--out-dir",
                &format!("outbox-{index}"),
                "--finding",
            ]
            .iter()
            .map(ToString::to_string)
            .chain([file.display().to_string()])
            .collect()
        })
        .collect();
    let mut shared_sent = 0;
    let mut own_sent = 0;
    for output in in_parallel(dir.path(), runs) {
        let report: serde_json::Value = serde_json::from_str(&ok(&output)).unwrap();
        for sent in report["sent"].as_array().unwrap() {
            match sent["finding_id"].as_str().unwrap() {
                "shared" => shared_sent += 1,
                _ => own_sent += 1,
            }
        }
    }
    assert_eq!((shared_sent, own_sent), (1, 8));
    let conn = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM finding_state", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 9);
}

fn attempt(request_id: &str) -> NewAttempt<'_> {
    NewAttempt {
        request_id,
        service_id: "s3",
        service_name: "S3",
        profile_id: "example-corp",
        requester: "team",
        requested_at: chrono::Utc::now(),
    }
}

fn dead_runner() -> Runner {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let Runner::Process { host, .. } = this_process() else {
        unreachable!()
    };
    Runner::Process { host, pid }
}

/// A run killed with `kill -9` during the analysis stage (its attempt is
/// RUNNING with a pid that no longer exists): `gensec requests --reap` marks
/// it ABANDONED at that stage; `--id` then shows every attempt.
#[tokio::test]
async fn reap_marks_a_killed_run_abandoned_and_id_shows_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gensec.db");
    {
        let db = SqliteDb::open(&path).unwrap();
        db.begin_attempt(attempt("REQ-1")).await.unwrap();
        let failed = StatusUpdate::Failed {
            stage: Some("documentation".into()),
            error: "knowledge base unavailable".into(),
        };
        db.update("REQ-1", 1, failed).await.unwrap();
        db.begin_attempt(attempt("REQ-1")).await.unwrap();
        let running = StatusUpdate::Running {
            stage: "analysis".into(),
        };
        db.update("REQ-1", 2, running).await.unwrap();
        db.set_runner("REQ-1", 2, &dead_runner()).await.unwrap();
    }
    let reaped = ok(&gensec(dir.path())
        .args(["requests", "--reap"])
        .output()
        .unwrap());
    assert!(
        reaped.contains("REQ-1 attempt 2: ABANDONED at stage analysis"),
        "{reaped}"
    );
    let again = ok(&gensec(dir.path())
        .args(["requests", "--reap"])
        .output()
        .unwrap());
    assert!(again.contains("no abandoned attempts"), "{again}");

    let shown = ok(&gensec(dir.path())
        .args(["requests", "--id", "REQ-1"])
        .output()
        .unwrap());
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].contains("REQ-1") && lines[0].ends_with("ABANDONED"),
        "{shown}"
    );
    let first = lines
        .iter()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap();
    assert!(
        first.contains("FAILED") && first.contains("documentation"),
        "{first}"
    );
    assert!(first.contains("knowledge base unavailable"), "{first}");
    let second = lines
        .iter()
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap();
    assert!(
        second.contains("ABANDONED") && second.contains("analysis"),
        "{second}"
    );
    assert!(second.contains("pid "), "{second}");
}

fn entry(id: &str, profile: &str) -> LibraryEntry {
    LibraryEntry {
        configuration_id: id.into(),
        profile_id: profile.into(),
        service_id: "s3".into(),
        service_name: "Amazon S3".into(),
        security_domain: "Data Protection".into(),
        threat_vector: "Tampering".into(),
        priority: "High".into(),
        rationale: format!("for {profile}"),
        recommended_configuration: serde_json::json!({"property": "VersioningConfiguration"}),
        detective_controls: vec![],
        preventive_controls: vec![],
        proactive_controls: vec![],
        compliance: serde_json::json!({}),
        status: EntryStatus::Proposed,
        version: 0,
        source_request_id: "REQ-1".into(),
        updated_at: chrono::Utc::now(),
        history: vec![],
    }
}

/// A library with one id under two profiles, and one under one profile.
async fn two_profile_library(dir: &Path) -> PathBuf {
    let path = dir.join("gensec.db");
    let db = SqliteDb::open(&path).unwrap();
    for (id, profile) in [
        ("CFG-S3-SHARED", "example-corp"),
        ("CFG-S3-SHARED", "startup-sandbox"),
        ("CFG-S3-ONLY", "example-corp"),
    ] {
        db.upsert(&entry(id, profile)).await.unwrap();
    }
    path
}

fn library(dir: &Path, args: &[&str]) -> std::process::Output {
    gensec(dir).arg("library").args(args).output().unwrap()
}

#[tokio::test]
async fn approvals_belong_to_one_profile() {
    let dir = tempfile::tempdir().unwrap();
    let db = two_profile_library(dir.path()).await;
    let approve = [
        "approve",
        "CFG-S3-SHARED",
        "--by",
        "alice",
        "--reason",
        "ok",
    ];
    refused(
        &library(dir.path(), &approve),
        &["example-corp, startup-sandbox", "--profile"],
    );
    ok(&library(
        dir.path(),
        &[&approve[..], &["--profile", "startup-sandbox"]].concat(),
    ));
    // The only profile of an id needs no --profile.
    ok(&library(
        dir.path(),
        &["approve", "CFG-S3-ONLY", "--by", "alice", "--reason", "ok"],
    ));
    // A later run for the other profile leaves this profile's approval alone.
    let mut changed = entry("CFG-S3-SHARED", "example-corp");
    changed.rationale = "changed".into();
    SqliteDb::open(&db).unwrap().upsert(&changed).await.unwrap();
    let shown: serde_json::Value = serde_json::from_str(&ok(&library(
        dir.path(),
        &[
            "show",
            "CFG-S3-SHARED",
            "--profile",
            "STARTUP-SANDBOX",
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(shown["status"], "APPROVED");
    assert_eq!(shown["profile_id"], "startup-sandbox");
    refused(
        &library(
            dir.path(),
            &["show", "CFG-S3-SHARED", "--profile", "nobody"],
        ),
        &["no entry for profile \"nobody\""],
    );
}

#[tokio::test]
async fn decisions_need_a_named_reviewer_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    two_profile_library(dir.path()).await;
    for (by, reason) in [("", "ok"), ("alice", ""), ("   ", "ok"), ("alice", " \t ")] {
        let flag = if by.trim().is_empty() {
            "--by"
        } else {
            "--reason"
        };
        refused(
            &library(
                dir.path(),
                &["approve", "CFG-S3-ONLY", "--by", by, "--reason", reason],
            ),
            &[flag, "must not be empty"],
        );
        refused(
            &library(
                dir.path(),
                &[
                    "decide",
                    "s3",
                    "--decision",
                    "approved",
                    "--profile",
                    "example-corp",
                    "--by",
                    by,
                    "--reason",
                    reason,
                ],
            ),
            &[flag],
        );
    }
    refused(
        &library(
            dir.path(),
            &[
                "approve",
                "CFG-S3-ONLY",
                "--by",
                "eve\u{1b}[2J",
                "--reason",
                "ok",
            ],
        ),
        &["--by", "U+001B"],
    );
}

#[tokio::test]
async fn a_service_decision_is_recorded_with_history_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    two_profile_library(dir.path()).await;
    let decide = |extra: &[&str]| {
        library(
            dir.path(),
            &[
                &["decide", "S3", "--by", "alice", "--reason", "reviewed"],
                extra,
            ]
            .concat(),
        )
    };
    refused(
        &decide(&["--decision", "approved"]),
        &["example-corp, startup-sandbox"],
    );
    refused(
        &decide(&[
            "--decision",
            "approved-with-conditions",
            "--profile",
            "example-corp",
        ]),
        &["--conditions", "needs the conditions"],
    );
    refused(
        &decide(&[
            "--decision",
            "rejected",
            "--profile",
            "example-corp",
            "--conditions",
            "x",
        ]),
        &["--conditions"],
    );
    let first = ok(&decide(&[
        "--decision",
        "APPROVED_WITH_CONDITIONS",
        "--profile",
        "example-corp",
        "--conditions",
        "no public buckets",
    ]));
    assert!(first.contains("APPROVED_WITH_CONDITIONS v1"), "{first}");
    let second = ok(&decide(&[
        "--decision",
        "rejected",
        "--profile",
        "example-corp",
    ]));
    assert!(
        second.contains("REJECTED v2") && second.contains("history"),
        "{second}"
    );
    refused(
        &library(
            dir.path(),
            &[
                "decide",
                "ec2",
                "--decision",
                "approved",
                "--by",
                "a",
                "--reason",
                "b",
            ],
        ),
        &["no entries for service"],
    );

    let listed = ok(&library(dir.path(), &["list"]));
    assert!(listed.contains("SERVICE DECISIONS"), "{listed}");
    assert!(
        listed.contains("s3 (example-corp): REJECTED v2 by alice"),
        "{listed}"
    );
    let decisions: serde_json::Value = serde_json::from_str(&ok(&library(
        dir.path(),
        &["decisions", "--service", "Amazon S3", "--json"],
    )))
    .unwrap();
    assert_eq!(decisions[0]["decision"], "REJECTED");
    assert_eq!(
        decisions[0]["history"][0]["conditions"],
        "no public buckets"
    );
    let db = SqliteDb::open(&dir.path().join("gensec.db")).unwrap();
    let stored = db.decision("s3", "example-corp").await.unwrap().unwrap();
    assert_eq!(stored.history.len(), 2);
}

#[tokio::test]
async fn filters_accept_any_case_and_export_only_what_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    two_profile_library(dir.path()).await;
    ok(&library(
        dir.path(),
        &["approve", "CFG-S3-ONLY", "--by", "alice", "--reason", "ok"],
    ));
    let count = |args: &[&str]| {
        let listed: serde_json::Value = serde_json::from_str(&ok(&library(
            dir.path(),
            &[&["list", "--format", "JSON"], args].concat(),
        )))
        .unwrap();
        listed.as_array().unwrap().len()
    };
    assert_eq!(count(&[]), 3);
    assert_eq!(count(&["--service", "S3"]), 3);
    assert_eq!(count(&["--service", "amazon s3"]), 3);
    assert_eq!(count(&["--service", "EC2"]), 0);
    assert_eq!(count(&["--status", "APPROVED"]), 1);
    assert_eq!(count(&["--status", "approved"]), 1);
    assert_eq!(count(&["--profile", "Startup-Sandbox"]), 1);
    let table = library(dir.path(), &["export", "--format", "table"]);
    assert_eq!(table.status.code(), Some(2));
    assert!(
        text(&table).1.contains("invalid value 'table'"),
        "{}",
        text(&table).1
    );
    let csv = ok(&library(dir.path(), &["export", "--format", "CSV"]));
    assert!(csv.starts_with("configuration_id,profile_id,"), "{csv}");
}

/// Text stored before inputs were checked (or by another tool) cannot act
/// on the terminal: escape sequences and bidirectional overrides are shown
/// escaped by `library` and `requests`.
#[tokio::test]
async fn stored_control_characters_are_escaped_on_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = two_profile_library(dir.path()).await;
    {
        let db = SqliteDb::open(&path).unwrap();
        db.begin_attempt(attempt("REQ-X")).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE library_history SET actor = 'eve' || char(27) || '[2J' || char(8238);
         UPDATE requests SET service_name = 'S3' || char(8238) || char(7);
         UPDATE request_attempts SET stage = 'x' || char(27) || '[31m';",
    )
    .unwrap();
    drop(conn);
    let outputs = [
        library(dir.path(), &["show", "CFG-S3-ONLY"]),
        library(dir.path(), &["list", "--format", "csv"]),
        library(dir.path(), &["list", "--format", "json"]),
        gensec(dir.path())
            .args(["requests", "--id", "REQ-X"])
            .output()
            .unwrap(),
        gensec(dir.path()).args(["requests"]).output().unwrap(),
    ];
    for output in &outputs {
        let stdout = ok(output);
        assert!(
            !stdout.contains(['\u{1b}', '\u{202e}', '\u{7}']),
            "{stdout:?}"
        );
    }
    assert!(ok(&outputs[0]).contains("eve\\u{001b}[2J\\u{202e}"));
    assert!(ok(&outputs[3]).contains("S3\\u{202e}\\u{0007}"));
    let json: serde_json::Value = serde_json::from_str(&ok(&outputs[2])).unwrap();
    assert_eq!(json[0]["history"][0]["actor"], "eve\u{1b}[2J\u{202e}");
}

/// Every file under `dir`, relative to it, as `/`-separated paths.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Eight runs with distinct request ids and eight of one id, all at once on
/// one database and one output root: every run succeeds, each package holds
/// exactly the files its manifest lists (nothing of another run), the runs of
/// one id take turns as attempts 1 to 8, no staging area is left behind and
/// the library records each version once.
#[test]
fn eight_parallel_runs_on_one_database_and_output_root_lose_and_mix_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let request = |id: &str, requester: &str| {
        let path = dir.path().join(format!("{id}.json"));
        let body = serde_json::json!({
            "request_id": id,
            "requester": requester,
            "timestamp": "2026-01-02T03:04:05Z",
            "service_name": "SQS",
        });
        std::fs::write(&path, body.to_string()).unwrap();
        path.display().to_string()
    };
    let mut runs: Vec<(String, String)> = (0..8)
        .map(|index| {
            let id = format!("REQ-DISTINCT-{index}");
            let file = request(&id, &format!("team-{index}"));
            (id, file)
        })
        .collect();
    let same = request("REQ-SAME", "team-same");
    runs.extend((0..8).map(|_| ("REQ-SAME".to_string(), same.clone())));
    let outputs = in_parallel(
        dir.path(),
        runs.iter()
            .map(|(_, file)| {
                [
                    "run",
                    "--json",
                    "--db",
                    "state.db",
                    "--out",
                    "out",
                    "--request",
                    file,
                ]
                .iter()
                .map(ToString::to_string)
                .collect()
            })
            .collect(),
    );

    let mut same_attempts = Vec::new();
    for ((id, _), output) in runs.iter().zip(&outputs) {
        let report: serde_json::Value = serde_json::from_str(&ok(output)).unwrap();
        assert_eq!(report["request_id"], id.as_str());
        assert_eq!(report["manifest"]["request_id"], id.as_str());
        if id == "REQ-SAME" {
            same_attempts.push(report["attempt"].as_u64().unwrap());
        }
    }
    same_attempts.sort_unstable();
    assert_eq!(same_attempts, (1..=8).collect::<Vec<u64>>());

    let out = dir.path().join("out");
    for id in runs.iter().map(|(id, _)| id.as_str()) {
        let package = out.join("sqs").join(id);
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(package.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["request_id"], id);
        let mut listed: Vec<String> = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|file| file["path"].as_str().unwrap().to_string())
            .chain(["manifest.json".to_string()])
            .collect();
        listed.sort();
        assert_eq!(files_under(&package), listed, "{id}: files on disk");
    }
    let staging = out.join(gensec_local::STAGING_DIR);
    assert!(
        !staging.exists() || files_under(&staging).is_empty(),
        "staging leftovers: {:?}",
        files_under(&staging)
    );

    let conn = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM requests"), 9);
    assert_eq!(count("SELECT COUNT(*) FROM request_attempts"), 16);
    assert_eq!(
        count("SELECT COUNT(*) FROM request_attempts WHERE state <> 'SUCCEEDED'"),
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM (SELECT configuration_id, profile_id, version, status
             FROM library_history GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1)"
        ),
        0,
        "duplicate library history rows"
    );
    assert!(count("SELECT COUNT(*) FROM library_history") > 0);
}

/// Runs made on the fly with `--service` in the same instant each get their
/// own request id, package and tracking row (ids once had one-second
/// resolution, and the second run overwrote the first one's package and
/// mixed the requesters on one row).
#[test]
fn service_runs_started_together_get_their_own_ids_and_packages() {
    let dir = tempfile::tempdir().unwrap();
    let requesters: Vec<String> = (0..6).map(|index| format!("team-{index}")).collect();
    let outputs = in_parallel(
        dir.path(),
        requesters
            .iter()
            .map(|requester| {
                [
                    "run",
                    "--json",
                    "--service",
                    "SQS",
                    "--requester",
                    requester,
                ]
                .iter()
                .map(ToString::to_string)
                .collect()
            })
            .collect(),
    );
    let mut ids = std::collections::BTreeSet::new();
    for output in &outputs {
        let report: serde_json::Value = serde_json::from_str(&ok(output)).unwrap();
        let id = report["request_id"].as_str().unwrap().to_string();
        assert_eq!(report["attempt"], 1, "{id} reused an earlier request");
        let package = dir.path().join("gensec-out/sqs").join(&id);
        assert!(package.join("manifest.json").is_file(), "{id}: no package");
        ids.insert(id);
    }
    assert_eq!(ids.len(), requesters.len(), "request ids collided: {ids:?}");

    let conn = rusqlite::Connection::open(dir.path().join("gensec.db")).unwrap();
    let mut rows: Vec<(String, String)> = conn
        .prepare("SELECT request_id, requester FROM requests")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    let mut tracked_requesters: Vec<&str> = rows.iter().map(|(_, who)| who.as_str()).collect();
    tracked_requesters.sort_unstable();
    assert_eq!(tracked_requesters, requesters);
    assert_eq!(
        rows.iter()
            .map(|(id, _)| id.clone())
            .collect::<std::collections::BTreeSet<_>>(),
        ids
    );
}
