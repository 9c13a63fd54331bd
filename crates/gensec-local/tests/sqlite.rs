//! Request tracking and the control library on SQLite.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use gensec_core::conformance;
use gensec_core::ports::RequestTracker;
use gensec_local::SqliteDb;

#[tokio::test]
async fn request_tracking_keeps_the_port_contract() {
    conformance::request_tracker(&SqliteDb::in_memory().unwrap()).await;
}

#[tokio::test]
async fn control_library_keeps_the_port_contract() {
    conformance::control_library(&SqliteDb::in_memory().unwrap()).await;
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
