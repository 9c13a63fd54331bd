//! Port contract tests. Every adapter (SQLite, directory, DynamoDB, S3, ...)
//! runs the same checks, so the embedded and the AWS deployment behave alike.
//! Each function panics on the first broken promise; call it from a test with
//! a fresh, empty adapter.
#![allow(clippy::unwrap_used)] // assertions are the point here
#![allow(clippy::missing_panics_doc)]

use crate::ErrorKind;
use crate::library::{EntryStatus, LibraryEntry, NewDecision, Verdict};
use crate::ports::{
    ControlLibrary, FindingObservation, FindingStateStore, ObjectStore, RequestTracker,
};
use crate::tracking::{NewAttempt, RequestState, Runner, StatusUpdate};
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

    // Text with display control characters never reaches storage: names are
    // refused, error messages are stored escaped.
    let mut unclean = new_attempt("REQ-3");
    unclean.service_name = "S3\u{202e}\u{7}";
    let err = db.begin_attempt(unclean).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("$.service_name"), "{err}");
    assert!(db.request("REQ-3").await.unwrap().is_none());
    db.begin_attempt(new_attempt("REQ-3")).await.unwrap();
    let failed = StatusUpdate::Failed {
        stage: None,
        error: "bad \u{1b}[31mred".into(),
    };
    db.update("REQ-3", 1, failed).await.unwrap();
    let stored = db.request("REQ-3").await.unwrap().unwrap();
    let error = stored.attempts[0].error.as_deref().unwrap();
    assert!(
        !error.contains('\u{1b}') && error.contains("red"),
        "{error:?}"
    );
}

/// Runners, heartbeats and reaping: a silent unfinished attempt becomes
/// ABANDONED with the stage it reached; live and finished ones are untouched.
pub async fn abandoned_attempts(db: &dyn RequestTracker) {
    let runner = Runner::Execution {
        arn: "arn:aws:states:us-east-1:123456789012:execution:gensec:REQ-R1".into(),
    };
    db.begin_attempt(new_attempt("REQ-R1")).await.unwrap();
    db.set_runner("REQ-R1", 1, &runner).await.unwrap();
    let running = |stage: &str| StatusUpdate::Running {
        stage: stage.into(),
    };
    db.update("REQ-R1", 1, running("analysis")).await.unwrap();
    db.begin_attempt(new_attempt("REQ-R2")).await.unwrap();
    let done = StatusUpdate::Succeeded {
        output_prefix: "s3/REQ-R2/".into(),
    };
    db.update("REQ-R2", 1, done).await.unwrap();
    db.begin_attempt(new_attempt("REQ-R3")).await.unwrap();
    db.update("REQ-R3", 1, running("iac")).await.unwrap();
    let record = db.request("REQ-R1").await.unwrap().unwrap();
    assert_eq!(record.latest().unwrap().runner.as_ref(), Some(&runner));
    let hour = chrono::Duration::hours(1);
    assert!(
        db.reap_abandoned(Utc::now(), hour)
            .await
            .unwrap()
            .is_empty(),
        "nothing is silent yet"
    );

    // R3's runner keeps beating after the cut; R1's falls silent.
    let cut = Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    db.heartbeat("REQ-R3", 1).await.unwrap();
    let later = cut + hour + chrono::Duration::milliseconds(1);
    let reaped = db.reap_abandoned(later, hour).await.unwrap();
    assert_eq!(reaped.len(), 1, "{reaped:?}");
    assert_eq!(
        (reaped[0].request_id.as_str(), reaped[0].attempt),
        ("REQ-R1", 1)
    );
    assert_eq!(reaped[0].stage.as_deref(), Some("analysis"));
    let record = db.request("REQ-R1").await.unwrap().unwrap();
    assert_eq!(record.state, RequestState::Abandoned);
    let attempt = record.latest().unwrap();
    assert_eq!(attempt.state, RequestState::Abandoned);
    assert_eq!(attempt.stage.as_deref(), Some("analysis"));
    assert!(attempt.finished_at.is_some());
    assert!(
        attempt.error.as_deref().unwrap().contains("abandoned"),
        "{attempt:?}"
    );
    let r2 = db.request("REQ-R2").await.unwrap().unwrap();
    assert_eq!(r2.state, RequestState::Succeeded);
    assert_eq!(
        db.request("REQ-R3").await.unwrap().unwrap().state,
        RequestState::Running
    );
    // Reaping again finds nothing new; a retry adds an attempt as usual.
    assert!(db.reap_abandoned(later, hour).await.unwrap().is_empty());
    assert_eq!(db.begin_attempt(new_attempt("REQ-R1")).await.unwrap(), 2);
    let err = db.heartbeat("REQ-404", 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = db.set_runner("REQ-404", 1, &runner).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

fn entry(service_id: &str, id: &str, rationale: &str) -> LibraryEntry {
    LibraryEntry {
        configuration_id: id.into(),
        profile_id: "example-corp".into(),
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

const PROFILE: &str = "example-corp";

/// Versions, unchanged re-runs, decisions with optimistic concurrency, history.
pub async fn control_library(db: &dyn ControlLibrary) {
    reruns_keep_the_version_and_decisions_are_checked(db).await;
    changed_content_is_proposed_again(db).await;
    entries_are_listed_by_service_in_id_order(db).await;
    profiles_keep_their_own_approvals(db).await;
}

/// Version 1 on the first write and after an unchanged re-run; a decision
/// makes version 2; stale, unknown, anonymous or unclean decisions are refused.
async fn reruns_keep_the_version_and_decisions_are_checked(db: &dyn ControlLibrary) {
    let first = db
        .upsert(&entry("s3", "CFG-S3-001", "keeps old versions"))
        .await
        .unwrap();
    assert_eq!((first.version, first.status), (1, EntryStatus::Proposed));
    assert_eq!(first.profile_id, PROFILE);
    // Same content again, even from another request: nothing changes.
    let mut rerun = entry("s3", "CFG-S3-001", "keeps old versions");
    rerun.source_request_id = "REQ-2".into();
    let same = db.upsert(&rerun).await.unwrap();
    assert_eq!(same.version, 1);
    assert_eq!(same.source_request_id, "REQ-1");
    assert_eq!(same.history.len(), 1, "no duplicate history row");
    let approved = db
        .set_status(
            "CFG-S3-001",
            PROFILE,
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
        .set_status(
            "CFG-S3-001",
            PROFILE,
            EntryStatus::Rejected,
            "bob",
            None,
            Some(1),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::InvalidInput);
    let missing = db
        .set_status(
            "CFG-S3-404",
            PROFILE,
            EntryStatus::Approved,
            "bob",
            None,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidInput);
    // Who decides must be named, and say why in clean text.
    for (actor, note) in [
        ("", Some("ok")),
        ("  ", None),
        ("bob", Some(" ")),
        ("bob", Some("\u{1b}[2J")),
    ] {
        let blank = db
            .set_status(
                "CFG-S3-001",
                PROFILE,
                EntryStatus::Rejected,
                actor,
                note,
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(blank.kind(), ErrorKind::InvalidInput, "{actor:?} {note:?}");
    }
}

/// Changed content goes back to PROPOSED with a new version, history kept.
async fn changed_content_is_proposed_again(db: &dyn ControlLibrary) {
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
    assert_eq!(
        db.entry("CFG-S3-001", PROFILE).await.unwrap().unwrap(),
        changed
    );
}

/// Entries of one service, ordered by configuration id, or of all services.
async fn entries_are_listed_by_service_in_id_order(db: &dyn ControlLibrary) {
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
    assert!(db.entry("CFG-S3-404", PROFILE).await.unwrap().is_none());
}

/// One configuration id under two profiles: two entries, each with its own
/// version, status and history; a run for one profile leaves the other's
/// approval alone.
async fn profiles_keep_their_own_approvals(db: &dyn ControlLibrary) {
    let mine = entry("s3", "CFG-S3-900", "mine");
    let mut theirs = entry("s3", "CFG-S3-900", "theirs");
    theirs.profile_id = "startup-sandbox".into();
    db.upsert(&mine).await.unwrap();
    db.set_status(
        "CFG-S3-900",
        PROFILE,
        EntryStatus::Approved,
        "alice",
        Some("ok"),
        None,
    )
    .await
    .unwrap();
    let other = db.upsert(&theirs).await.unwrap();
    assert_eq!((other.version, other.status), (1, EntryStatus::Proposed));
    let kept = db.entry("CFG-S3-900", PROFILE).await.unwrap().unwrap();
    assert_eq!((kept.version, kept.status), (2, EntryStatus::Approved));
    assert_eq!(kept.rationale, "mine");
    let both: Vec<String> = db
        .entries_with_id("CFG-S3-900")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.profile_id)
        .collect();
    assert_eq!(both, [PROFILE, "startup-sandbox"]);
    let listed: Vec<(String, String)> = db
        .entries(Some("s3"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.configuration_id == "CFG-S3-900")
        .map(|e| (e.configuration_id, e.profile_id))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(db.entries_with_id("CFG-404").await.unwrap().is_empty());
    assert!(db.entry("CFG-S3-900", "nobody").await.unwrap().is_none());
}

/// Service-level decisions: versions with history, per profile, validated.
pub async fn service_decisions(db: &dyn ControlLibrary) {
    assert!(db.decision("s3", PROFILE).await.unwrap().is_none());
    decisions_are_versioned_with_history(db).await;
    profiles_and_services_decide_independently(db).await;
    unclean_decisions_are_refused(db).await;
}

/// S3's first decision under the example profile.
const APPROVAL: NewDecision<'static> = NewDecision {
    service_id: "s3",
    profile_id: PROFILE,
    decision: Verdict::ApprovedWithConditions,
    conditions: Some("no public buckets"),
    actor: "alice",
    reason: "meets the standard",
};

/// The decision that replaces [`APPROVAL`].
const REJECTION: NewDecision<'static> = NewDecision {
    decision: Verdict::Rejected,
    conditions: None,
    actor: "bob",
    reason: "new finding",
    ..APPROVAL
};

/// Each decision is a new version; the history keeps every one.
async fn decisions_are_versioned_with_history(db: &dyn ControlLibrary) {
    let first = db.decide(APPROVAL).await.unwrap();
    assert_eq!(
        (first.current.version, first.current.decision),
        (1, Verdict::ApprovedWithConditions)
    );
    assert_eq!(
        first.current.conditions.as_deref(),
        Some("no public buckets")
    );
    let second = db.decide(REJECTION).await.unwrap();
    assert_eq!(
        (second.current.version, second.current.decision),
        (2, Verdict::Rejected)
    );
    assert_eq!(second.history.len(), 2);
    assert_eq!(second.history[0].actor, "alice");
    assert_eq!(second.history[1], second.current);
    assert_eq!(db.decision("s3", PROFILE).await.unwrap().unwrap(), second);
}

/// Another profile and another service are independent; decisions are
/// listed per service and are not library entries.
async fn profiles_and_services_decide_independently(db: &dyn ControlLibrary) {
    let other = NewDecision {
        profile_id: "startup-sandbox",
        decision: Verdict::Approved,
        conditions: None,
        ..APPROVAL
    };
    assert_eq!(db.decide(other).await.unwrap().current.version, 1);
    let rds = NewDecision {
        service_id: "rds",
        decision: Verdict::Approved,
        conditions: None,
        ..APPROVAL
    };
    db.decide(rds).await.unwrap();
    let s3: Vec<(String, String)> = db
        .decisions(Some("s3"))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.service_id, d.profile_id))
        .collect();
    assert_eq!(
        s3,
        [
            ("s3".to_string(), PROFILE.to_string()),
            ("s3".to_string(), "startup-sandbox".to_string())
        ]
    );
    assert_eq!(db.decisions(None).await.unwrap().len(), 3);
    assert!(db.decision("ec2", PROFILE).await.unwrap().is_none());
    // Decisions are not library entries.
    assert!(db.entries(None).await.unwrap().is_empty());
}

/// Blank or unclean fields are refused and change nothing.
async fn unclean_decisions_are_refused(db: &dyn ControlLibrary) {
    for bad in [
        NewDecision {
            actor: " ",
            ..REJECTION
        },
        NewDecision {
            reason: "",
            ..REJECTION
        },
        NewDecision {
            conditions: None,
            ..APPROVAL
        },
        NewDecision {
            reason: "ok\u{202e}",
            ..REJECTION
        },
    ] {
        let err = db.decide(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert_eq!(
        db.decision("s3", PROFILE)
            .await
            .unwrap()
            .unwrap()
            .current
            .version,
        2
    );
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
