//! Shared set-up: the s3 fixture run copied into a temporary directory store.
#![allow(dead_code, clippy::unwrap_used)]

use gensec_core::contract::figures::{
    AnalysisFigures, ControlsFigures, DocumentationFigures, IacFigures, IamFigures, StageFigures,
};
use gensec_core::contract::stage::{
    RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts, WrittenFile,
};
use gensec_core::input::{parse_profile, parse_request};
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
    RunContext::new(request, profile, "s3", "Amazon S3", kb.stamp())
}

/// The stage that writes a layout path, by its top directory.
fn stage_of(path: &str) -> Option<StageId> {
    match path.split('/').next()? {
        "documentation" => Some(StageId::Documentation),
        "analysis" => Some(StageId::Analysis),
        "controls" => Some(StageId::Controls),
        "iac" => Some(StageId::Iac),
        "iam" => Some(StageId::Iam),
        _ => None,
    }
}

fn files_under(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, root, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

/// The outcomes of the stages before the report, as if they had written
/// exactly the files in the run directory.
pub fn earlier_outcomes(run_dir: &Path) -> Vec<StageOutcome> {
    let mut paths = Vec::new();
    files_under(run_dir, run_dir, &mut paths);
    paths.sort();
    [
        StageId::Documentation,
        StageId::Analysis,
        StageId::Controls,
        StageId::Iac,
        StageId::Iam,
    ]
    .into_iter()
    .map(|stage| StageOutcome {
        stage,
        files: paths
            .iter()
            .filter(|path| stage_of(path) == Some(stage))
            .map(|path| WrittenFile {
                path: path.clone(),
                sha256: String::new(),
                bytes: std::fs::metadata(run_dir.join(path)).unwrap().len(),
            })
            .collect(),
        figures: match stage {
            StageId::Documentation => StageFigures::Documentation(DocumentationFigures::default()),
            StageId::Analysis => StageFigures::Analysis(AnalysisFigures::default()),
            StageId::Controls => StageFigures::Controls(ControlsFigures::default()),
            StageId::Iac => StageFigures::Iac(IacFigures::default()),
            _ => StageFigures::Iam(IamFigures::default()),
        },
        verdicts: Verdicts::new(stage),
        warnings: Vec::new(),
        llm: None,
    })
    .collect()
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

/// The fixture's files copied to a run directory.
pub fn copy_fixture(run_dir: &Path) {
    copy_dir(&fixture_dir(), run_dir);
}

pub async fn run_with(prepare: impl FnOnce(&Path)) -> Run {
    run_with_outcomes(prepare, |_| {}).await
}

/// [`run_with`], with the earlier stages' outcomes changed by `adjust` first.
pub async fn run_with_outcomes(
    prepare: impl FnOnce(&Path),
    adjust: impl FnOnce(&mut Vec<StageOutcome>),
) -> Run {
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
    let mut earlier = earlier_outcomes(&run_dir);
    adjust(&mut earlier);
    let outcome = ReportStage::new(kb)
        .run(&ctx, &ports, &earlier)
        .await
        .unwrap();
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
