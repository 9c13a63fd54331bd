//! Request tracking, the control library and the finding state on SQLite:
//! the port contracts, and what only a local database can do (a dead
//! process's attempt).
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use chrono::Utc;
use gensec_core::conformance;
use gensec_core::ports::RequestTracker;
use gensec_core::tracking::{RequestState, Runner, StatusUpdate};
use gensec_local::{SqliteDb, this_process};

#[tokio::test]
async fn request_tracking_keeps_the_port_contract() {
    conformance::request_tracker(&SqliteDb::in_memory().unwrap()).await;
}

#[tokio::test]
async fn abandoned_attempts_keep_the_port_contract() {
    conformance::abandoned_attempts(&SqliteDb::in_memory().unwrap()).await;
}

#[tokio::test]
async fn control_library_keeps_the_port_contract() {
    conformance::control_library(&SqliteDb::in_memory().unwrap()).await;
}

#[tokio::test]
async fn service_decisions_keep_the_port_contract() {
    conformance::service_decisions(&SqliteDb::in_memory().unwrap()).await;
}

#[tokio::test]
async fn finding_state_keeps_the_port_contract() {
    conformance::finding_state(&SqliteDb::in_memory().unwrap()).await;
}

#[tokio::test]
async fn a_database_file_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/gensec.db");
    {
        let db = SqliteDb::open(&path).unwrap();
        db.begin_attempt(conformance::new_attempt("REQ-9"))
            .await
            .unwrap();
    }
    let db = SqliteDb::open(&path).unwrap();
    assert!(db.request("REQ-9").await.unwrap().is_some());
}

/// A pid that no process has: a child that has exited and been waited for.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn dead_runner() -> Runner {
    let Runner::Process { host, .. } = this_process() else {
        unreachable!("this process is a process")
    };
    Runner::Process {
        host,
        pid: dead_pid(),
    }
}

/// `kill -9` during a stage leaves the attempt RUNNING with a pid that is
/// gone; reaping marks it ABANDONED at that stage at once, without waiting
/// for the heartbeat to go stale. This process's own attempt stays.
#[tokio::test]
async fn a_killed_runs_attempt_is_reaped_with_its_stage() {
    let db = SqliteDb::in_memory().unwrap();
    db.begin_attempt(conformance::new_attempt("REQ-K"))
        .await
        .unwrap();
    db.update(
        "REQ-K",
        1,
        StatusUpdate::Running {
            stage: "controls".into(),
        },
    )
    .await
    .unwrap();
    db.set_runner("REQ-K", 1, &dead_runner()).await.unwrap();
    db.begin_attempt(conformance::new_attempt("REQ-LIVE"))
        .await
        .unwrap();
    let record = db.request("REQ-LIVE").await.unwrap().unwrap();
    assert_eq!(record.latest().unwrap().runner, Some(this_process()));

    let reaped = db
        .reap_abandoned(Utc::now(), chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(reaped.len(), 1, "{reaped:?}");
    assert_eq!(reaped[0].request_id, "REQ-K");
    assert_eq!(reaped[0].stage.as_deref(), Some("controls"));
    assert!(reaped[0].reason.contains("is gone"), "{}", reaped[0].reason);
    let record = db.request("REQ-K").await.unwrap().unwrap();
    assert_eq!(record.state, RequestState::Abandoned);
    assert_eq!(record.attempts[0].stage.as_deref(), Some("controls"));
    assert_eq!(
        db.request("REQ-LIVE").await.unwrap().unwrap().state,
        RequestState::Received
    );
}

/// Retrying a request whose attempt died leaves no attempt RUNNING forever:
/// the retry marks it ABANDONED first.
#[tokio::test]
async fn a_retry_after_a_crash_abandons_the_dead_attempt() {
    let db = SqliteDb::in_memory().unwrap();
    db.begin_attempt(conformance::new_attempt("REQ-C"))
        .await
        .unwrap();
    db.update(
        "REQ-C",
        1,
        StatusUpdate::Running {
            stage: "iac".into(),
        },
    )
    .await
    .unwrap();
    db.set_runner("REQ-C", 1, &dead_runner()).await.unwrap();
    assert_eq!(
        db.begin_attempt(conformance::new_attempt("REQ-C"))
            .await
            .unwrap(),
        2
    );
    let record = db.request("REQ-C").await.unwrap().unwrap();
    assert_eq!(record.attempts[0].state, RequestState::Abandoned);
    assert_eq!(record.attempts[0].stage.as_deref(), Some("iac"));
    assert_eq!(record.attempts[1].state, RequestState::Received);
    assert_eq!(record.state, RequestState::Received);

    // An attempt of a live process (a parallel run of the same request) stays.
    db.begin_attempt(conformance::new_attempt("REQ-C"))
        .await
        .unwrap();
    let record = db.request("REQ-C").await.unwrap().unwrap();
    assert_eq!(record.attempts[1].state, RequestState::Received);
}

/// Without a runner that can be checked, only a stale heartbeat counts.
#[tokio::test]
async fn a_silent_attempt_of_another_host_is_abandoned_after_the_threshold() {
    let db = SqliteDb::in_memory()
        .unwrap()
        .with_stale_after(chrono::Duration::zero());
    db.begin_attempt(conformance::new_attempt("REQ-H"))
        .await
        .unwrap();
    let elsewhere = Runner::Process {
        host: "another-host.invalid".into(),
        pid: 1,
    };
    db.set_runner("REQ-H", 1, &elsewhere).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    db.begin_attempt(conformance::new_attempt("REQ-H"))
        .await
        .unwrap();
    let record = db.request("REQ-H").await.unwrap().unwrap();
    assert_eq!(record.attempts[0].state, RequestState::Abandoned);
    assert!(
        record.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("no heartbeat"),
        "{record:?}"
    );
}
