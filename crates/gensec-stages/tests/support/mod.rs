//! Shared by the tests that run the first stages of the pipeline for one
//! service into a temporary directory and read what they wrote.
#![allow(clippy::unwrap_used)] // tests fail loudly by design
#![allow(dead_code)] // each test binary uses part of it

use gensec_core::SecurityProfile;
use gensec_core::contract::stage::{RunContext, StageId, StagePorts};
use gensec_core::input::parse_request;
use gensec_core::pipeline::run_stage;
use gensec_kb::Kb;
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::Stages;
use serde_json::json;
use std::path::PathBuf;

/// Stages 1-3: the documentation, the recommendations and the controls.
pub const THROUGH_CONTROLS: &[StageId] =
    &[StageId::Documentation, StageId::Analysis, StageId::Controls];

/// Stages 1-4: up to the hardened template and the Terraform.
pub const THROUGH_IAC: &[StageId] = &[
    StageId::Documentation,
    StageId::Analysis,
    StageId::Controls,
    StageId::Iac,
];

/// What the stages wrote for one service, and the run's context to find it.
#[derive(Debug)]
pub struct StagesRun {
    pub ctx: RunContext,
    dir: tempfile::TempDir,
}

impl StagesRun {
    /// The service's id in the knowledge base.
    pub fn service_id(&self) -> &str {
        &self.ctx.service_id
    }

    /// Where the run wrote the output `key` (a layout path).
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.path().join(self.ctx.key(key))
    }
}

/// Runs `ids` in order for `service` under `profile`, on a directory store
/// and an in-memory library; the request id is `<request>-<service id>`.
pub async fn run_stages(
    kb: &Kb,
    stages: &Stages,
    service: &str,
    profile: &SecurityProfile,
    request: &str,
    ids: &[StageId],
) -> StagesRun {
    let entry = kb.resolve_service(service).unwrap();
    let request = parse_request(
        "request.json",
        &json!({
            "request_id": format!("{request}-{}", entry.id),
            "requester": "tests@example.com",
            "timestamp": "2026-01-01T00:00:00Z",
            "service_name": service,
        })
        .to_string(),
    )
    .unwrap();
    let ctx = RunContext::new(
        request,
        profile.clone(),
        &entry.id,
        &entry.display_name,
        kb.stamp(),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let db = SqliteDb::in_memory().unwrap();
    let ports = StagePorts {
        store: &store,
        library: &db,
    };
    let attempt = gensec_core::ports::RequestTracker::begin_attempt(&db, ctx.new_attempt())
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for &id in ids {
        let outcome = run_stage(stages.get(id), &ctx, &ports, &db, attempt, &outcomes)
            .await
            .unwrap();
        outcomes.push(outcome);
    }
    StagesRun { ctx, dir }
}
