//! A database written by an older gensec (schema version 3: library entries
//! keyed by configuration id alone, history without a unique key) opens and
//! keeps its data: entries take the profile of their source request, else
//! "unknown"; duplicate history rows written by concurrent runs are dropped.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_core::library::{EntryStatus, UNKNOWN_PROFILE};
use gensec_core::ports::{ControlLibrary, RequestTracker};
use gensec_local::SqliteDb;

/// The schema of migrations 1-3 and rows as an older gensec wrote them.
const VERSION_3: &str = "
    CREATE TABLE requests (request_id TEXT PRIMARY KEY, service_id TEXT NOT NULL,
        service_name TEXT NOT NULL, profile_id TEXT NOT NULL, requester TEXT NOT NULL,
        requested_at TEXT NOT NULL, state TEXT NOT NULL, output_prefix TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE request_attempts (request_id TEXT NOT NULL REFERENCES requests(request_id),
        attempt INTEGER NOT NULL, state TEXT NOT NULL, stage TEXT, error TEXT,
        started_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT,
        llm_usage TEXT, PRIMARY KEY (request_id, attempt));
    CREATE INDEX requests_by_update ON requests(updated_at);
    CREATE TABLE library_entries (configuration_id TEXT PRIMARY KEY, service_id TEXT NOT NULL,
        status TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX library_by_service ON library_entries(service_id);
    CREATE TABLE library_history (configuration_id TEXT NOT NULL REFERENCES library_entries(configuration_id),
        version INTEGER NOT NULL, status TEXT NOT NULL, actor TEXT NOT NULL, note TEXT, at TEXT NOT NULL);
    CREATE TABLE finding_state (finding_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
        state TEXT NOT NULL, finding_updated_at TEXT NOT NULL, notified_at TEXT, updated_at TEXT NOT NULL);
    PRAGMA user_version = 3;
    INSERT INTO requests VALUES ('REQ-1', 's3', 'S3', 'example-corp', 'team',
        '2024-01-15T10:30:00+00:00', 'SUCCEEDED', 's3/REQ-1/', '2024-01-15T10:30:00+00:00',
        '2024-01-15T10:31:00+00:00');
    INSERT INTO request_attempts VALUES ('REQ-1', 1, 'SUCCEEDED', 'report', NULL,
        '2024-01-15T10:30:00+00:00', '2024-01-15T10:31:00+00:00', '2024-01-15T10:31:00+00:00', NULL);
";

fn body(id: &str, request: &str) -> String {
    serde_json::json!({
        "configuration_id": id, "service_id": "s3", "service_name": "Amazon S3",
        "security_domain": "Data Protection", "threat_vector": "Tampering", "priority": "High",
        "rationale": "r", "recommended_configuration": {}, "compliance": {},
        "status": "PROPOSED", "version": 1, "source_request_id": request,
        "updated_at": "2024-01-15T10:31:00+00:00"
    })
    .to_string()
}

#[tokio::test]
async fn an_older_database_keeps_its_entries_under_their_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(VERSION_3).unwrap();
        for (id, request, status, version) in [
            ("CFG-S3-A", "REQ-1", "APPROVED", 2),
            ("CFG-S3-B", "REQ-GONE", "PROPOSED", 1),
        ] {
            conn.execute(
                "INSERT INTO library_entries VALUES (?1, 's3', ?2, ?3, ?4, '2024-01-15T10:31:00+00:00')",
                rusqlite::params![id, status, version, body(id, request)],
            )
            .unwrap();
        }
        // Two parallel runs both wrote "v1 generated" for CFG-S3-A.
        conn.execute_batch(
            "INSERT INTO library_history VALUES ('CFG-S3-A', 1, 'PROPOSED', 'gensec', 'generated', '2024-01-15T10:31:00+00:00');
             INSERT INTO library_history VALUES ('CFG-S3-A', 1, 'PROPOSED', 'gensec', 'generated', '2024-01-15T10:31:01+00:00');
             INSERT INTO library_history VALUES ('CFG-S3-A', 2, 'APPROVED', 'alice', 'ok', '2024-01-16T09:00:00+00:00');
             INSERT INTO library_history VALUES ('CFG-S3-B', 1, 'PROPOSED', 'gensec', 'generated', '2024-01-15T10:31:00+00:00');",
        )
        .unwrap();
    }
    let db = SqliteDb::open(&path).unwrap();
    let approved = db.entry("CFG-S3-A", "example-corp").await.unwrap().unwrap();
    assert_eq!(
        (approved.status, approved.version),
        (EntryStatus::Approved, 2)
    );
    assert_eq!(approved.history.len(), 2, "{:?}", approved.history);
    assert_eq!(approved.history[1].actor, "alice");
    let orphan = db
        .entry("CFG-S3-B", UNKNOWN_PROFILE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(orphan.profile_id, UNKNOWN_PROFILE);
    // Requests and their attempts survive; older attempts have no runner.
    let request = db.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(request.attempts.len(), 1);
    assert_eq!(request.attempts[0].runner, None);
    // A new run for the profile updates its own entry, never the other's.
    assert!(db.decisions(None).await.unwrap().is_empty());
}
