//! Stage contracts and the one definition of the stage order.
//!
//! Stages are pure functions over ports: they read what earlier stages wrote
//! from the object store and hand back keys and a small summary, never whole
//! documents (Step Functions payloads are capped at 256 KiB).

use crate::error::{Error, ErrorKind, Result};
use crate::input::{SecurityProfile, ServiceRequest};
use crate::manifest::{KbStamp, Manifest};
use crate::ports::{ControlLibrary, ObjectStore, RequestTracker};
use crate::tracking::{NewAttempt, StatusUpdate};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Pipeline stages. The order of [`PIPELINE`] is the run order everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageId {
    /// Stage 1: collect the service's documentation from the knowledge base.
    Documentation,
    /// Stage 2: validated recommendations tailored to the profile.
    Analysis,
    /// Stage 3: detective, preventive and proactive controls; library entries.
    Controls,
    /// Stage 4: hardened CloudFormation and Terraform.
    Iac,
    /// Stage 5: IAM model, personas and least-privilege policies.
    Iam,
    /// Stage 6: research profile and HTML report.
    Report,
}

/// The stage order, defined once.
pub const PIPELINE: &[StageId] = &[
    StageId::Documentation,
    StageId::Analysis,
    StageId::Controls,
    StageId::Iac,
    StageId::Iam,
    StageId::Report,
];

impl StageId {
    pub fn as_str(self) -> &'static str {
        match self {
            StageId::Documentation => "documentation",
            StageId::Analysis => "analysis",
            StageId::Controls => "controls",
            StageId::Iac => "iac",
            StageId::Iam => "iam",
            StageId::Report => "report",
        }
    }
}

/// Everything a stage may know about the run it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    pub request: ServiceRequest,
    pub profile: SecurityProfile,
    /// Catalogue id of the resolved service (`s3`, `quicksight`).
    pub service_id: String,
    pub service_display_name: String,
    /// `<service_id>/<request_id>/`
    pub output_prefix: String,
    pub kb: KbStamp,
}

impl RunContext {
    /// The tracking record of a new attempt at this run's request.
    pub fn new_attempt(&self) -> NewAttempt<'_> {
        NewAttempt {
            request_id: &self.request.request_id,
            service_id: &self.service_id,
            service_name: &self.request.service_name,
            profile_id: &self.profile.profile_id,
            requester: &self.request.requester,
            requested_at: self.request.timestamp,
        }
    }

    /// Key of a document of this run.
    pub fn key(&self, relative: &str) -> String {
        format!("{}{}", self.output_prefix, relative)
    }
}

/// Output prefix for a service and request, as in the documented layout.
pub fn output_prefix(service_id: &str, request_id: &str) -> String {
    format!("{service_id}/{request_id}/")
}

/// How many items a stage checked and what its validators did with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationCounts {
    pub checked: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// What a stage hands to the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutcome {
    pub stage: StageId,
    /// Keys this stage wrote.
    pub keys: Vec<String>,
    /// Small figures for people and the manifest (counts, not documents).
    pub summary: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub validation: ValidationCounts,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The ports a stage may use.
#[derive(Clone, Copy)]
pub struct StagePorts<'a> {
    pub store: &'a dyn ObjectStore,
    pub library: &'a dyn ControlLibrary,
}

impl std::fmt::Debug for StagePorts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagePorts").finish_non_exhaustive()
    }
}

/// One pipeline stage.
#[async_trait]
pub trait Stage: Send + Sync {
    fn id(&self) -> StageId;
    async fn run(&self, ctx: &RunContext, ports: &StagePorts<'_>) -> Result<StageOutcome>;
}

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

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub attempt: u32,
    pub outcomes: Vec<StageOutcome>,
    pub manifest: Manifest,
    pub manifest_key: String,
    pub elapsed: Duration,
}

/// A failed run: which stage, and the error.
#[derive(Debug, thiserror::Error)]
#[error("stage {stage} failed: {source}")]
pub struct PipelineError {
    pub stage: String,
    #[source]
    pub source: Error,
}

impl PipelineError {
    pub fn kind(&self) -> ErrorKind {
        self.source.kind()
    }
}

/// Run every stage in [`PIPELINE`] order, tracking the request and writing
/// `manifest.json` last. `stages` must provide each stage of the pipeline once.
pub async fn run_pipeline(
    stages: &[&dyn Stage],
    ctx: &RunContext,
    ports: &StagePorts<'_>,
    tracker: &dyn RequestTracker,
    on_event: &(dyn Fn(PipelineEvent) + Sync),
) -> std::result::Result<RunReport, PipelineError> {
    let started = Instant::now();
    let setup_error = |source| PipelineError {
        stage: "setup".into(),
        source,
    };
    let ordered = order_stages(stages).map_err(setup_error)?;
    let attempt = tracker
        .begin_attempt(ctx.new_attempt())
        .await
        .map_err(setup_error)?;

    let mut outcomes = Vec::with_capacity(ordered.len());
    for (index, stage) in ordered.iter().enumerate() {
        let id = stage.id();
        on_event(PipelineEvent::StageStarted {
            stage: id,
            index,
            total: ordered.len(),
        });
        let stage_started = Instant::now();
        match run_stage(*stage, ctx, ports, tracker, attempt).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(source) => {
                return Err(fail(tracker, ctx, attempt, id.as_str(), source).await);
            }
        }
        on_event(PipelineEvent::StageFinished {
            stage: id,
            elapsed: stage_started.elapsed(),
        });
    }

    let (manifest, manifest_key) =
        match finish_run(ctx, ports.store, tracker, attempt, &outcomes).await {
            Ok(finished) => finished,
            Err(source) => return Err(fail(tracker, ctx, attempt, "manifest", source).await),
        };
    Ok(RunReport {
        attempt,
        outcomes,
        manifest,
        manifest_key,
        elapsed: started.elapsed(),
    })
}

/// Run one stage of an attempt: mark the request RUNNING at this stage, then
/// run it. The local runner and the stage Lambdas both come through here.
pub async fn run_stage(
    stage: &dyn Stage,
    ctx: &RunContext,
    ports: &StagePorts<'_>,
    tracker: &dyn RequestTracker,
    attempt: u32,
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
    stage.run(ctx, ports).await
}

/// Write `manifest.json` from every stage's outcome, record the attempt's
/// language model usage (when a model was used) and mark the attempt
/// SUCCEEDED. Returns the manifest and its key.
pub async fn finish_run(
    ctx: &RunContext,
    store: &dyn ObjectStore,
    tracker: &dyn RequestTracker,
    attempt: u32,
    outcomes: &[StageOutcome],
) -> Result<(Manifest, String)> {
    let manifest_key = ctx.key("manifest.json");
    let manifest = write_manifest(ctx, store, outcomes, &manifest_key).await?;
    if let Some(llm) = &manifest.llm {
        tracker
            .update(
                &ctx.request.request_id,
                attempt,
                StatusUpdate::LlmUsage {
                    usage: llm.usage.clone(),
                },
            )
            .await?;
    }
    tracker
        .update(
            &ctx.request.request_id,
            attempt,
            StatusUpdate::Succeeded {
                output_prefix: ctx.output_prefix.clone(),
            },
        )
        .await?;
    Ok((manifest, manifest_key))
}

/// The message a FAILED attempt records: the error kind, then the cause.
pub fn failure_message(kind: ErrorKind, cause: &str) -> String {
    format!("[{}] {cause}", kind.as_str())
}

async fn fail(
    tracker: &dyn RequestTracker,
    ctx: &RunContext,
    attempt: u32,
    stage: &str,
    source: Error,
) -> PipelineError {
    // The stage error is what the user needs; a tracking failure on top of it
    // is logged into the message rather than hiding the original cause.
    let mut message = failure_message(source.kind(), &source.to_string());
    if let Err(tracking) = tracker
        .update(
            &ctx.request.request_id,
            attempt,
            StatusUpdate::Failed {
                stage: Some(stage.to_string()),
                error: message.clone(),
            },
        )
        .await
    {
        message.push_str(&format!(" (and recording the failure failed: {tracking})"));
    }
    PipelineError {
        stage: stage.to_string(),
        source,
    }
}

fn order_stages<'a>(stages: &[&'a dyn Stage]) -> Result<Vec<&'a dyn Stage>> {
    PIPELINE
        .iter()
        .map(|id| {
            let mut matching = stages.iter().filter(|stage| stage.id() == *id);
            match (matching.next(), matching.next()) {
                (Some(stage), None) => Ok(*stage),
                (None, _) => Err(Error::Fatal(format!(
                    "no stage provided for {}",
                    id.as_str()
                ))),
                (Some(_), Some(_)) => Err(Error::Fatal(format!(
                    "stage {} provided twice",
                    id.as_str()
                ))),
            }
        })
        .collect()
}

async fn write_manifest(
    ctx: &RunContext,
    store: &dyn ObjectStore,
    outcomes: &[StageOutcome],
    manifest_key: &str,
) -> Result<Manifest> {
    let manifest = Manifest::build(ctx, store, outcomes, manifest_key).await?;
    let body = serde_json::to_vec_pretty(&manifest)
        .map_err(|err| Error::Fatal(format!("serialising manifest: {err}")))?;
    store.put(manifest_key, body, "application/json").await?;
    Ok(manifest)
}
