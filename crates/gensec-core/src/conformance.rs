//! Port contract tests. Every adapter (SQLite, directory, DynamoDB, S3, ...)
//! runs the same checks, so the embedded and the AWS deployment behave alike.
//! Each function panics on the first broken promise; call it from a test with
//! a fresh, empty adapter.
#![allow(clippy::unwrap_used)] // assertions are the point here
#![allow(clippy::missing_panics_doc)]

use crate::ErrorKind;
use crate::library::{EntryStatus, LibraryEntry};
use crate::ports::{
    ControlLibrary, FindingObservation, FindingStateStore, ObjectStore, RequestTracker,
};
use crate::tracking::{NewAttempt, RequestState, StatusUpdate};
use chrono::Utc;

/// A new attempt of `request_id` for S3 by the example profile.
pub fn new_attempt(request_id: &str) -> NewAttempt<'_> {
    NewAttempt {
        request_id,
        service_id: "s3",
        service_name: "S3",
        profile_id: "example-corp",
        requester: "team",
        requested_at: Utc::now(),
    }
}

/// RECEIVED -> RUNNING(stage) -> SUCCEEDED/FAILED, attempts, unknown attempts.
pub async fn request_tracker(db: &dyn RequestTracker) {
    assert!(db.request("REQ-1").await.unwrap().is_none());
    assert_eq!(db.begin_attempt(new_attempt("REQ-1")).await.unwrap(), 1);
    let received = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(received.state, RequestState::Received);
    assert_eq!(
        (
            received.service_id.as_str(),
            received.profile_id.as_str(),
            received.requester.as_str()
        ),
        ("s3", "example-corp", "team")
    );
    let running = StatusUpdate::Running {
        stage: "documentation".into(),
    };
    db.update("REQ-1", 1, running).await.unwrap();
    let running = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(running.state, RequestState::Running);
    assert_eq!(
        running.latest().unwrap().stage.as_deref(),
        Some("documentation")
    );
    let succeeded = StatusUpdate::Succeeded {
        output_prefix: "s3/REQ-1/".into(),
    };
    db.update("REQ-1", 1, succeeded).await.unwrap();
    let done = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(done.state, RequestState::Succeeded);
    assert_eq!(done.output_prefix.as_deref(), Some("s3/REQ-1/"));
    assert!(done.latest().unwrap().finished_at.is_some());

    // Running the request again adds an attempt, not a request.
    db.begin_attempt(new_attempt("REQ-2")).await.unwrap();
    let failed = StatusUpdate::Failed {
        stage: Some("documentation".into()),
        error: "boom".into(),
    };
    db.update("REQ-2", 1, failed).await.unwrap();
    assert_eq!(db.begin_attempt(new_attempt("REQ-2")).await.unwrap(), 2);
    let record = db.request("REQ-2").await.unwrap().unwrap();
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(record.attempts[0].state, RequestState::Failed);
    assert_eq!(record.attempts[0].error.as_deref(), Some("boom"));
    assert_eq!(record.attempts[0].stage.as_deref(), Some("documentation"));
    assert_eq!(record.state, RequestState::Received);

    let recent = db.recent_requests(10).await.unwrap();
    let ids: Vec<&str> = recent.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["REQ-2", "REQ-1"], "most recently updated first");
    assert_eq!(db.recent_requests(1).await.unwrap().len(), 1);

    let unknown = StatusUpdate::Running { stage: "x".into() };
    let err = db.update("REQ-404", 1, unknown).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

fn entry(service_id: &str, id: &str, rationale: &str) -> LibraryEntry {
    LibraryEntry {
        configuration_id: id.into(),
        service_id: service_id.into(),
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

/// Versions, unchanged re-runs, decisions with optimistic concurrency, history.
pub async fn control_library(db: &dyn ControlLibrary) {
    let first = db
        .upsert(&entry("s3", "CFG-S3-001", "keeps old versions"))
        .await
        .unwrap();
    assert_eq!((first.version, first.status), (1, EntryStatus::Proposed));
    // Same content again, even from another request: nothing changes.
    let mut rerun = entry("s3", "CFG-S3-001", "keeps old versions");
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
    let missing = db
        .set_status("CFG-S3-404", EntryStatus::Approved, "bob", None, None)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidInput);
    // Changed content goes back to PROPOSED with a new version.
    let changed = db
        .upsert(&entry(
            "s3",
            "CFG-S3-001",
            "keeps old versions; recovers deletes",
        ))
        .await
        .unwrap();
    assert_eq!(
        (changed.version, changed.status),
        (3, EntryStatus::Proposed)
    );
    assert_eq!(changed.history.len(), 3);
    assert_eq!(changed.history[1].actor, "alice");
    assert_eq!(changed.history[1].note.as_deref(), Some("ok"));
    assert_eq!(db.entry("CFG-S3-001").await.unwrap().unwrap(), changed);

    db.upsert(&entry("rds", "CFG-RDS-001", "encrypt"))
        .await
        .unwrap();
    db.upsert(&entry("s3", "CFG-S3-000", "first by id"))
        .await
        .unwrap();
    let s3: Vec<String> = db
        .entries(Some("s3"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.configuration_id)
        .collect();
    assert_eq!(s3, ["CFG-S3-000", "CFG-S3-001"], "ordered by id");
    assert_eq!(db.entries(None).await.unwrap().len(), 3);
    assert!(db.entries(Some("ec2")).await.unwrap().is_empty());
    assert!(db.entry("CFG-S3-404").await.unwrap().is_none());
}

fn seen<'a>(id: &'a str, fp: &'a str, at: &'a str) -> FindingObservation<'a> {
    FindingObservation {
        finding_id: id,
        fingerprint: fp,
        updated_at: at,
    }
}

/// Once per failing state: re-imports, out-of-order imports, clearing, forget.
pub async fn finding_state(db: &dyn FindingStateStore) {
    let news = |fp, at| db.record_if_new(seen("f1", fp, at));
    assert!(news("a", "2024-05-01T10:00:00Z").await.unwrap());
    assert!(!news("a", "2024-05-02T10:00:00Z").await.unwrap());
    // An older, out-of-order import is never news.
    assert!(!news("b", "2024-04-01T10:00:00Z").await.unwrap());
    // An older clearing does not undo a newer failure.
    db.mark_cleared("f1", "2024-04-15T10:00:00Z").await.unwrap();
    assert!(!news("a", "2024-05-02T11:00:00Z").await.unwrap());
    db.mark_cleared("f1", "2024-05-03T10:00:00Z").await.unwrap();
    assert!(news("a", "2024-05-04T10:00:00Z").await.unwrap());
    // A changed failing state (e.g. severity raised) is news.
    assert!(news("c", "2024-05-05T10:00:00Z").await.unwrap());
    db.forget("f1").await.unwrap();
    assert!(news("c", "2024-05-05T10:00:00Z").await.unwrap());
    // Another finding is independent; clearing an unknown one is harmless.
    db.mark_cleared("f404", "2024-05-05T10:00:00Z")
        .await
        .unwrap();
    assert!(
        db.record_if_new(seen("f2", "a", "2024-05-01T10:00:00Z"))
            .await
            .unwrap()
    );
}

/// Round trips, missing keys, overwrites and sorted listing under a prefix.
pub async fn object_store(store: &dyn ObjectStore) {
    assert!(store.get("s3/REQ-1/missing.json").await.unwrap().is_none());
    store
        .put("s3/REQ-1/b.json", b"{\"b\":1}".to_vec(), "application/json")
        .await
        .unwrap();
    store
        .put("s3/REQ-1/a/x.yaml", b"a: 1\n".to_vec(), "application/yaml")
        .await
        .unwrap();
    store
        .put("s3/REQ-10/c.json", b"{}".to_vec(), "application/json")
        .await
        .unwrap();
    store
        .put("s3/REQ-1/b.json", b"{\"b\":2}".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(
        store.get("s3/REQ-1/b.json").await.unwrap().unwrap(),
        b"{\"b\":2}"
    );
    assert_eq!(
        store.list("s3/REQ-1/").await.unwrap(),
        ["s3/REQ-1/a/x.yaml", "s3/REQ-1/b.json"]
    );
    assert_eq!(store.list("s3/").await.unwrap().len(), 3);
    assert!(store.list("rds/").await.unwrap().is_empty());
    assert!(store.locate("s3/REQ-1/b.json").contains("s3/REQ-1/b.json"));
}

/// Attempts write into staging and are published as a whole: a later
/// attempt replaces the package without leaving files of the earlier one,
/// and a discarded attempt leaves nothing.
pub async fn publishing(store: &dyn ObjectStore) {
    let package = "s3/REQ-P/";
    let list_package = async |prefix: &str| -> Vec<String> {
        store
            .list(prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|key| key.strip_prefix(prefix).unwrap().to_string())
            .collect()
    };
    let first = store.staging_prefix(package, "attempt-1");
    assert!(!first.starts_with(package) || first.len() > package.len());
    for name in ["a.json", "dir/b.json"] {
        store
            .put(&format!("{first}{name}"), b"1".to_vec(), "application/json")
            .await
            .unwrap();
    }
    let published = store.publish(&first, package).await.unwrap();
    assert_eq!(list_package(&published).await, ["a.json", "dir/b.json"]);
    assert_eq!(
        store
            .get(&format!("{published}a.json"))
            .await
            .unwrap()
            .unwrap(),
        b"1"
    );

    let second = store.staging_prefix(package, "attempt-2");
    assert_ne!(first, second);
    store
        .put(
            &format!("{second}a.json"),
            b"2".to_vec(),
            "application/json",
        )
        .await
        .unwrap();
    let republished = store.publish(&second, package).await.unwrap();
    assert_eq!(list_package(&republished).await, ["a.json"]);
    assert_eq!(
        store
            .get(&format!("{republished}a.json"))
            .await
            .unwrap()
            .unwrap(),
        b"2"
    );

    let third = store.staging_prefix(package, "attempt-3");
    store
        .put(&format!("{third}a.json"), b"3".to_vec(), "application/json")
        .await
        .unwrap();
    store.discard(&third).await.unwrap();
    assert!(store.list(&third).await.unwrap().is_empty());
    assert_eq!(
        store
            .get(&format!("{republished}a.json"))
            .await
            .unwrap()
            .unwrap(),
        b"2"
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_memory_store_keeps_the_port_contract() {
        let store = crate::memory_store::MemoryStore::default();
        super::object_store(&store).await;
        super::publishing(&store).await;
    }
}
