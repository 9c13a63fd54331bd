//! Shared set-up: the s3 fixture run copied into a temporary directory store.
#![allow(dead_code, clippy::unwrap_used)]

use gensec_core::input::{parse_profile, parse_request};
use gensec_core::pipeline::{RunContext, Stage, StageOutcome, StagePorts, output_prefix};
use gensec_kb::{Kb, ServiceDocumentation};
use gensec_local::{DirStore, SqliteDb};
use gensec_report::ReportStage;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub const REQUEST_ID: &str = "REQ-FIXTURE-s3";

pub fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| Arc::new(Kb::embedded().unwrap())).clone()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/s3")
}

pub fn context(kb: &Kb) -> RunContext {
    let path = repo_root().join("config-example/security-profile/example-corp.json");
    let profile = parse_profile(
        "example-corp.json",
        &std::fs::read_to_string(&path).unwrap(),
    )
    .unwrap();
    let request = parse_request(
        "request.json",
        &format!(
            r#"{{"request_id":"{REQUEST_ID}","requester":"fixture@example.com","timestamp":"2024-01-15T10:30:00Z","service_name":"S3"}}"#
        ),
    )
    .unwrap();
    RunContext {
        request,
        profile,
        service_id: "s3".into(),
        service_display_name: "Amazon S3".into(),
        output_prefix: output_prefix("s3", REQUEST_ID),
        kb: kb.stamp(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A run directory with the fixture's files; `prepare` may change them first.
pub struct Run {
    pub dir: tempfile::TempDir,
    pub ctx: RunContext,
    pub outcome: StageOutcome,
}

impl Run {
    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("s3").join(REQUEST_ID)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.run_dir().join(relative)).unwrap()
    }

    pub fn documentation(&self) -> ServiceDocumentation {
        serde_json::from_str(&self.read("documentation/service-documentation.json")).unwrap()
    }
}

pub async fn run_with(prepare: impl FnOnce(&Path)) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("s3").join(REQUEST_ID);
    copy_dir(&fixture_dir(), &run_dir);
    prepare(&run_dir);
    let kb = kb();
    let ctx = context(&kb);
    let store = DirStore::new(dir.path());
    let db = SqliteDb::in_memory().unwrap();
    let ports = StagePorts {
        store: &store,
        library: &db,
    };
    let outcome = ReportStage::new(kb).run(&ctx, &ports).await.unwrap();
    Run { dir, ctx, outcome }
}

pub async fn run() -> Run {
    run_with(|_| {}).await
}

/// Write a file below the run directory.
pub fn write(run_dir: &Path, relative: &str, text: &str) {
    let path = run_dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
