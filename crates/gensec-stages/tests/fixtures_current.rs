//! Stage crates test on fixtures written by earlier stages: the report stage
//! reads a real run's documents from `crates/gensec-report/tests/fixtures/s3`
//! (documentation, analysis and controls of an S3 run with the example
//! profile), the IAM stage reads service documentation from
//! `crates/gensec-iam/tests/fixtures`. These tests rewrite those fixtures from
//! the current stages when `GENSEC_UPDATE_FIXTURES=1`, and otherwise check
//! that they still read as the current types.
#![allow(clippy::unwrap_used)]

use gensec_core::contract::analysis::RecommendationSet;
use gensec_core::contract::controls::ControlSet;
use gensec_core::contract::paths;
use gensec_core::contract::stage::{RunContext, StageId, StagePorts};
use gensec_core::input::{parse_profile, parse_request};
use gensec_core::pipeline::run_stage;
use gensec_kb::{Kb, ServiceDocumentation};
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::Stages;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const REQUEST_ID: &str = "REQ-FIXTURE-s3";
const REWRITE: &str =
    "rewrite it with GENSEC_UPDATE_FIXTURES=1 cargo test -p gensec-stages --test fixtures_current";
/// The services whose documentation the IAM stage's tests read.
const IAM_FIXTURE_SERVICES: &[&str] = &["s3", "rds", "lambda"];

fn updating() -> bool {
    std::env::var("GENSEC_UPDATE_FIXTURES").as_deref() == Ok("1")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture_dir() -> PathBuf {
    repo_root().join("crates/gensec-report/tests/fixtures/s3")
}

fn context(kb: &Kb) -> RunContext {
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
    RunContext::new(request, profile, "s3", "Amazon S3", kb.stamp())
}

#[tokio::test]
async fn the_report_fixture_is_a_run_of_the_first_three_stages() {
    let fixture = fixture_dir();
    if !updating() {
        let read = |path: &str| {
            std::fs::read_to_string(fixture.join(path)).unwrap_or_else(|err| {
                panic!("{path} is missing from the report fixture ({err}); {REWRITE}")
            })
        };
        let stale = |path: &str, err: serde_json::Error| -> ! {
            panic!("{path} in the report fixture is stale ({err}); {REWRITE}")
        };
        serde_json::from_str::<ServiceDocumentation>(&read(paths::DOCUMENTATION))
            .unwrap_or_else(|err| stale(paths::DOCUMENTATION, err));
        serde_json::from_str::<RecommendationSet>(&read(paths::RECOMMENDATIONS))
            .unwrap_or_else(|err| stale(paths::RECOMMENDATIONS, err));
        serde_json::from_str::<ControlSet>(&read(paths::CONTROLS_INDEX))
            .unwrap_or_else(|err| stale(paths::CONTROLS_INDEX, err));
        return;
    }
    let kb = Arc::new(Kb::embedded().unwrap());
    let stages = Stages::new(&kb).unwrap();
    let ctx = context(&kb);
    let out = tempfile::tempdir().unwrap();
    let store = DirStore::new(out.path());
    let db = SqliteDb::in_memory().unwrap();
    let ports = StagePorts {
        store: &store,
        library: &db,
    };
    let request = ctx.new_attempt();
    let attempt = gensec_core::ports::RequestTracker::begin_attempt(&db, request)
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for id in [StageId::Documentation, StageId::Analysis, StageId::Controls] {
        let outcome = run_stage(stages.get(id), &ctx, &ports, &db, attempt, &outcomes)
            .await
            .unwrap();
        outcomes.push(outcome);
    }
    if fixture.exists() {
        std::fs::remove_dir_all(&fixture).unwrap();
    }
    for file in outcomes.iter().flat_map(|o| &o.files) {
        let target = fixture.join(&file.path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let body = std::fs::read(out.path().join(ctx.key(&file.path))).unwrap();
        std::fs::write(target, body).unwrap();
    }
}

#[test]
fn the_iam_fixtures_are_the_services_documentation() {
    let kb = Kb::embedded().unwrap();
    for service in IAM_FIXTURE_SERVICES {
        let path = repo_root().join(format!(
            "crates/gensec-iam/tests/fixtures/{service}-service-documentation.json"
        ));
        if updating() {
            let doc = gensec_docs::collect(&kb, service).unwrap();
            let mut text = serde_json::to_string_pretty(&doc).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            serde_json::from_str::<ServiceDocumentation>(&text)
                .unwrap_or_else(|err| panic!("{} is stale ({err}); {REWRITE}", path.display()));
        }
    }
}
