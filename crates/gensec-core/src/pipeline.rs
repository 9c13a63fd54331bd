//! The runner: every stage in [`PIPELINE`] order, then the run is published.
//!
//! An attempt writes into its own staging area; the validation report and the
//! manifest are assembled from the stages' outcomes, the package is published
//! as a whole, and only then are the library entries stored and the request
//! marked SUCCEEDED. A failed attempt leaves nothing behind.

use crate::contract::controls::ControlSet;
use crate::contract::paths;
use crate::contract::stage::{
    PIPELINE, PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, outcome_of,
};
use crate::contract::validation::ValidationReport;
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Manifest;
use crate::ports::{ObjectStore, RequestTracker, read_json};
use crate::tracking::StatusUpdate;
use std::time::{Duration, Instant};

/// What the runner reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    StageStarted {
        stage: StageId,
        index: usize,
        total: usize,
    },
    StageFinished {
        stage: StageId,
        elapsed: Duration,
    },
}

/// A published run.
#[derive(Debug, Clone)]
pub struct PublishedRun {
    pub attempt: u32,
    pub outcomes: Vec<StageOutcome>,
    pub validation: ValidationReport,
    pub manifest: Manifest,
    /// Where the published package is read from.
    pub package_prefix: String,
    pub library_entries: usize,
    pub elapsed: Duration,
}

/// A failed run: which stage, and the error.
#[derive(Debug, thiserror::Error)]
#[error("stage {stage} failed: {source}{}", cleanup_note(.cleanup))]
pub struct PipelineError {
    pub stage: String,
    #[source]
    pub source: Error,
    /// When cleaning up after the failure failed too, what went wrong.
    pub cleanup: Option<String>,
}

fn cleanup_note(cleanup: &Option<String>) -> String {
    cleanup
        .as_deref()
        .map_or_else(String::new, |note| format!(" (and {note})"))
}

impl PipelineError {
    pub fn kind(&self) -> ErrorKind {
        self.source.kind()
    }
}

/// Run every stage in [`PIPELINE`] order, then publish the package. `stages`
/// must provide each stage of the pipeline once.
pub async fn run_pipeline(
    stages: &[&dyn Stage],
    ctx: &RunContext,
    ports: &StagePorts<'_>,
    tracker: &dyn RequestTracker,
    on_event: &(dyn Fn(PipelineEvent) + Sync),
) -> std::result::Result<PublishedRun, PipelineError> {
    let started = Instant::now();
    let setup_error = |source| PipelineError {
        stage: "setup".into(),
        source,
        cleanup: None,
    };
    let ordered = order_stages(stages).map_err(setup_error)?;
    let attempt = tracker
        .begin_attempt(ctx.new_attempt())
        .await
        .map_err(setup_error)?;
    let mut ctx = ctx.clone();
    ctx.stage_into(ports.store, attempt);

    let mut outcomes = Vec::with_capacity(ordered.len());
    for (index, stage) in ordered.iter().enumerate() {
        let id = stage.id();
        on_event(PipelineEvent::StageStarted {
            stage: id,
            index,
            total: ordered.len(),
        });
        let stage_started = Instant::now();
        match run_stage(*stage, &ctx, ports, tracker, attempt, &outcomes).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(source) => {
                return Err(fail(ports.store, tracker, &ctx, attempt, id.as_str(), source).await);
            }
        }
        on_event(PipelineEvent::StageFinished {
            stage: id,
            elapsed: stage_started.elapsed(),
        });
    }

    match finish_run(&ctx, ports, tracker, attempt, &outcomes).await {
        Ok(mut published) => {
            published.elapsed = started.elapsed();
            Ok(published)
        }
        Err(source) => Err(fail(ports.store, tracker, &ctx, attempt, "publish", source).await),
    }
}

/// Run one stage of an attempt: mark the request RUNNING at this stage, then
/// run it. The local runner and the stage Lambdas both come through here.
pub async fn run_stage(
    stage: &dyn Stage,
    ctx: &RunContext,
    ports: &StagePorts<'_>,
    tracker: &dyn RequestTracker,
    attempt: u32,
    earlier: &[StageOutcome],
) -> Result<StageOutcome> {
    tracker
        .update(
            &ctx.request.request_id,
            attempt,
            StatusUpdate::Running {
                stage: stage.id().as_str().to_string(),
            },
        )
        .await?;
    let outcome = stage.run(ctx, ports, earlier).await?;
    if outcome.stage != stage.id() {
        return Err(Error::Fatal(format!(
            "stage {} returned the outcome of {}",
            stage.id(),
            outcome.stage
        )));
    }
    Ok(outcome)
}

/// Publish an attempt whose stages all succeeded: write the validation report
/// and the manifest (the last file), publish the package, store the library
/// entries, record the language model usage and mark the attempt SUCCEEDED.
pub async fn finish_run(
    ctx: &RunContext,
    ports: &StagePorts<'_>,
    tracker: &dyn RequestTracker,
    attempt: u32,
    outcomes: &[StageOutcome],
) -> Result<PublishedRun> {
    let store = ports.store;
    let validation = ValidationReport::assemble(outcomes);
    let mut writer = PackageWriter::new(store, ctx);
    writer
        .put_json(paths::VALIDATION_REPORT, &validation)
        .await?;
    let manifest = Manifest::build(ctx, outcomes, writer.finish());
    let body = serde_json::to_vec_pretty(&manifest)
        .map_err(|err| Error::Fatal(format!("serialising the manifest: {err}")))?;
    store
        .put(&ctx.key(paths::MANIFEST), body, "application/json")
        .await?;
    let package_prefix = store
        .publish(&ctx.write_prefix, &ctx.package_prefix)
        .await?;

    let mut library_entries = 0;
    if outcome_of(outcomes, StageId::Controls).is_some_and(|o| o.wrote(paths::CONTROLS_INDEX)) {
        let controls: ControlSet =
            read_json(store, &format!("{package_prefix}{}", paths::CONTROLS_INDEX)).await?;
        ports.library.upsert_all(&controls.library_entries).await?;
        library_entries = controls.library_entries.len();
    }
    let request_id = &ctx.request.request_id;
    if let Some(llm) = &manifest.llm {
        let usage = llm.usage.clone();
        tracker
            .update(request_id, attempt, StatusUpdate::LlmUsage { usage })
            .await?;
    }
    let output_prefix = package_prefix.clone();
    tracker
        .update(
            request_id,
            attempt,
            StatusUpdate::Succeeded { output_prefix },
        )
        .await?;
    Ok(PublishedRun {
        attempt,
        outcomes: outcomes.to_vec(),
        validation,
        manifest,
        package_prefix,
        library_entries,
        elapsed: Duration::ZERO,
    })
}

/// The message a FAILED attempt records: the error kind, then the cause.
pub fn failure_message(kind: ErrorKind, cause: &str) -> String {
    format!("[{}] {cause}", kind.as_str())
}

/// Record a failed attempt and remove what it wrote. Returns a note when
/// either of those failed too, for the caller to add to its message.
pub async fn abandon_attempt(
    store: &dyn ObjectStore,
    tracker: &dyn RequestTracker,
    ctx: &RunContext,
    attempt: u32,
    stage: &str,
    message: &str,
) -> Option<String> {
    let mut notes = Vec::new();
    if let Err(err) = store.discard(&ctx.write_prefix).await {
        notes.push(format!("removing the attempt's files failed: {err}"));
    }
    let failed = StatusUpdate::Failed {
        stage: Some(stage.to_string()),
        error: message.to_string(),
    };
    if let Err(err) = tracker
        .update(&ctx.request.request_id, attempt, failed)
        .await
    {
        notes.push(format!("recording the failure failed: {err}"));
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

async fn fail(
    store: &dyn ObjectStore,
    tracker: &dyn RequestTracker,
    ctx: &RunContext,
    attempt: u32,
    stage: &str,
    source: Error,
) -> PipelineError {
    // The stage error is what the user needs; a cleanup or tracking failure on
    // top of it is logged rather than hiding the original cause.
    let message = failure_message(source.kind(), &source.to_string());
    let cleanup = abandon_attempt(store, tracker, ctx, attempt, stage, &message).await;
    PipelineError {
        stage: stage.to_string(),
        source,
        cleanup,
    }
}

fn order_stages<'a>(stages: &[&'a dyn Stage]) -> Result<Vec<&'a dyn Stage>> {
    PIPELINE
        .iter()
        .map(|id| {
            let mut matching = stages.iter().filter(|stage| stage.id() == *id);
            match (matching.next(), matching.next()) {
                (Some(stage), None) => Ok(*stage),
                (None, _) => Err(Error::Fatal(format!("no stage provided for {id}"))),
                (Some(_), Some(_)) => Err(Error::Fatal(format!("stage {id} provided twice"))),
            }
        })
        .collect()
}
