//! Request tracking and the control library on SQLite.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use chrono::Utc;
use gensec_core::ErrorKind;
use gensec_core::library::{EntryStatus, LibraryEntry};
use gensec_core::ports::{ControlLibrary, RequestTracker};
use gensec_core::tracking::{NewAttempt, RequestState, StatusUpdate};
use gensec_local::SqliteDb;

fn new_attempt(request_id: &str) -> NewAttempt<'_> {
    NewAttempt {
        request_id,
        service_id: "s3",
        service_name: "S3",
        profile_id: "example-corp",
        requester: "team",
        requested_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_request_moves_through_its_states() {
    let db = SqliteDb::in_memory().unwrap();
    let attempt = db.begin_attempt(new_attempt("REQ-1")).await.unwrap();
    assert_eq!(attempt, 1);
    assert_eq!(
        db.request("REQ-1").await.unwrap().unwrap().state,
        RequestState::Received
    );
    db.update(
        "REQ-1",
        1,
        StatusUpdate::Running {
            stage: "documentation".into(),
        },
    )
    .await
    .unwrap();
    let running = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(running.state, RequestState::Running);
    assert_eq!(
        running.latest().unwrap().stage.as_deref(),
        Some("documentation")
    );
    db.update(
        "REQ-1",
        1,
        StatusUpdate::Succeeded {
            output_prefix: "s3/REQ-1/".into(),
        },
    )
    .await
    .unwrap();
    let done = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(done.state, RequestState::Succeeded);
    assert_eq!(done.output_prefix.as_deref(), Some("s3/REQ-1/"));
    assert!(done.latest().unwrap().finished_at.is_some());
}

#[tokio::test]
async fn running_a_request_again_adds_an_attempt_not_a_request() {
    let db = SqliteDb::in_memory().unwrap();
    db.begin_attempt(new_attempt("REQ-1")).await.unwrap();
    db.update(
        "REQ-1",
        1,
        StatusUpdate::Failed {
            stage: Some("documentation".into()),
            error: "boom".into(),
        },
    )
    .await
    .unwrap();
    let second = db.begin_attempt(new_attempt("REQ-1")).await.unwrap();
    assert_eq!(second, 2);
    let record = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(record.attempts[0].state, RequestState::Failed);
    assert_eq!(record.attempts[0].error.as_deref(), Some("boom"));
    assert_eq!(record.state, RequestState::Received);
    assert_eq!(db.recent_requests(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn updating_an_unknown_attempt_is_an_input_error() {
    let db = SqliteDb::in_memory().unwrap();
    let err = db
        .update("REQ-404", 1, StatusUpdate::Running { stage: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

fn entry(rationale: &str) -> LibraryEntry {
    LibraryEntry {
        configuration_id: "CFG-S3-001".into(),
        service_id: "s3".into(),
        service_name: "Amazon S3".into(),
        security_domain: "Data Protection".into(),
        threat_vector: "Information disclosure".into(),
        priority: "High".into(),
        rationale: rationale.into(),
        recommended_configuration: serde_json::json!({"VersioningConfiguration.Status": "Enabled"}),
        detective_controls: vec!["S3_BUCKET_VERSIONING_ENABLED".into()],
        preventive_controls: vec![],
        proactive_controls: vec![],
        compliance: serde_json::json!({}),
        status: EntryStatus::Proposed,
        version: 0,
        source_request_id: "REQ-1".into(),
        updated_at: Utc::now(),
        history: vec![],
    }
}

#[tokio::test]
async fn library_versions_content_and_decisions() {
    let db = SqliteDb::in_memory().unwrap();
    let first = db.upsert(&entry("keeps old versions")).await.unwrap();
    assert_eq!((first.version, first.status), (1, EntryStatus::Proposed));
    // Same content again, even from another request: nothing changes.
    let mut rerun = entry("keeps old versions");
    rerun.source_request_id = "REQ-2".into();
    let same = db.upsert(&rerun).await.unwrap();
    assert_eq!(same.version, 1);
    assert_eq!(same.source_request_id, "REQ-1");
    let approved = db
        .set_status(
            "CFG-S3-001",
            EntryStatus::Approved,
            "alice",
            Some("ok"),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (approved.version, approved.status),
        (2, EntryStatus::Approved)
    );
    // A stale decision is refused.
    let stale = db
        .set_status("CFG-S3-001", EntryStatus::Rejected, "bob", None, Some(1))
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::InvalidInput);
    // Changed content goes back to PROPOSED with a new version.
    let changed = db
        .upsert(&entry("keeps old versions; recovers deletes"))
        .await
        .unwrap();
    assert_eq!(
        (changed.version, changed.status),
        (3, EntryStatus::Proposed)
    );
    assert_eq!(changed.history.len(), 3);
    assert_eq!(changed.history[1].actor, "alice");
    assert_eq!(db.entries(Some("s3")).await.unwrap().len(), 1);
    assert!(db.entries(Some("rds")).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_database_file_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/gensec.db");
    {
        let db = SqliteDb::open(&path).unwrap();
        db.begin_attempt(new_attempt("REQ-9")).await.unwrap();
    }
    let db = SqliteDb::open(&path).unwrap();
    assert!(db.request("REQ-9").await.unwrap().is_some());
}
