//! Several connections on one new file at once, as parallel processes use
//! it: every open succeeds, every write lands once.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_core::library::{EntryStatus, LibraryEntry};
use gensec_core::ports::{ControlLibrary, FindingObservation, FindingStateStore};
use gensec_local::SqliteDb;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

/// Run `work` on `threads` threads, each with its own connection to `path`,
/// all released at once.
fn in_parallel<T: Send + 'static>(
    path: &Path,
    threads: usize,
    work: impl Fn(SqliteDb, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(threads));
    let work = Arc::new(work);
    let handles: Vec<_> = (0..threads)
        .map(|index| {
            let (barrier, work, path) = (barrier.clone(), work.clone(), PathBuf::from(path));
            std::thread::spawn(move || {
                barrier.wait();
                let db = SqliteDb::open(&path).unwrap();
                work(db, index)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn concurrent_first_opens_all_succeed() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("new-{round}.db"));
        let opened = in_parallel(&path, 4, |_db, _| true);
        assert_eq!(opened, [true; 4]);
    }
}

fn entry() -> LibraryEntry {
    LibraryEntry {
        configuration_id: "CFG-S3-BUCKET-VERSIONING".into(),
        profile_id: "example-corp".into(),
        service_id: "s3".into(),
        service_name: "Amazon S3".into(),
        security_domain: "Data Protection".into(),
        threat_vector: "Tampering".into(),
        priority: "High".into(),
        rationale: "keeps old versions".into(),
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

/// Parallel runs recommending the same thing: one version, one history row.
/// Races are probabilistic: each test runs several rounds on fresh files.
const ROUNDS: usize = 5;

#[test]
fn parallel_upserts_write_one_history_row() {
    for round in 0..ROUNDS {
        parallel_upserts_round(round);
    }
}

fn parallel_upserts_round(round: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("gensec-{round}.db"));
    let versions = in_parallel(&path, 6, |db, index| {
        let mut mine = entry();
        mine.source_request_id = format!("REQ-{index}");
        runtime().block_on(db.upsert(&mine)).unwrap().version
    });
    assert_eq!(versions, [1; 6]);
    let db = SqliteDb::open(&path).unwrap();
    let stored = runtime()
        .block_on(db.entry("CFG-S3-BUCKET-VERSIONING", "example-corp"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.history.len(), 1, "{:?}", stored.history);
}

/// The same finding seen by eight processes at once is news to one of them;
/// distinct findings are all recorded.
#[test]
fn parallel_finding_state_writes_are_neither_lost_nor_doubled() {
    for round in 0..ROUNDS {
        parallel_findings_round(round);
    }
}

fn parallel_findings_round(round: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("gensec-{round}.db"));
    let news = in_parallel(&path, 8, |db, index| {
        let rt = runtime();
        let own = format!("finding-{index}");
        let seen = |id| FindingObservation {
            finding_id: id,
            fingerprint: "fp",
            updated_at: "2024-05-01T10:00:00Z",
        };
        let shared = rt.block_on(db.record_if_new(seen("shared"))).unwrap();
        let mine = rt.block_on(db.record_if_new(seen(&own))).unwrap();
        (shared, mine)
    });
    assert_eq!(news.iter().filter(|(shared, _)| *shared).count(), 1);
    assert!(news.iter().all(|(_, mine)| *mine));
}
