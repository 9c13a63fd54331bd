//! One pipeline stage as a Lambda: read the run context, run the stage through
//! the same `run_stage` the CLI uses, keep the outcome in the output bucket and
//! return its key.

use crate::HandlerError;
use crate::payload::{ExecutionInput, StageResult, outcome_key};
use gensec_core::Error;
use gensec_core::contract::stage::{PIPELINE, RunContext, StageId, StageOutcome, StagePorts};
use gensec_core::pipeline::run_stage;
use gensec_core::ports::{ControlLibrary, ObjectStore, RequestTracker, read_json};
use gensec_stages::Stages;
use std::sync::Arc;

/// The ports every pipeline function uses.
#[derive(Clone)]
pub struct PipelinePorts {
    pub store: Arc<dyn ObjectStore>,
    pub library: Arc<dyn ControlLibrary>,
    pub tracker: Arc<dyn RequestTracker>,
}

impl std::fmt::Debug for PipelinePorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelinePorts").finish_non_exhaustive()
    }
}

/// The outcomes of the stages before `stage` in this attempt, in pipeline order.
pub async fn earlier_outcomes(
    store: &dyn ObjectStore,
    input: &ExecutionInput,
    stage: Option<StageId>,
) -> Result<Vec<StageOutcome>, HandlerError> {
    let mut outcomes = Vec::new();
    for earlier in PIPELINE.iter().take_while(|id| Some(**id) != stage) {
        let key = outcome_key(&input.request_id, input.attempt, *earlier);
        outcomes.push(read_json(store, &key).await?);
    }
    Ok(outcomes)
}

/// Read the run context the trigger stored.
pub async fn load_context(
    store: &dyn ObjectStore,
    input: &ExecutionInput,
) -> Result<RunContext, HandlerError> {
    let ctx: RunContext = read_json(store, &input.context_key).await?;
    if ctx.request.request_id != input.request_id {
        return Err(Error::Fatal(format!(
            "{} belongs to request {}, not {}",
            input.context_key, ctx.request.request_id, input.request_id
        ))
        .into());
    }
    Ok(ctx)
}

#[derive(Debug)]
pub struct StageHandler {
    stage: StageId,
    stages: Stages,
    ports: PipelinePorts,
}

impl StageHandler {
    pub fn new(stage: StageId, stages: Stages, ports: PipelinePorts) -> Self {
        Self {
            stage,
            stages,
            ports,
        }
    }

    pub async fn handle(&self, input: ExecutionInput) -> Result<StageResult, HandlerError> {
        let store = self.ports.store.as_ref();
        let ctx = load_context(store, &input).await?;
        let ports = StagePorts {
            store,
            library: self.ports.library.as_ref(),
        };
        let earlier = earlier_outcomes(store, &input, Some(self.stage)).await?;
        let outcome = run_stage(
            self.stages.get(self.stage),
            &ctx,
            &ports,
            self.ports.tracker.as_ref(),
            input.attempt,
            &earlier,
        )
        .await?;
        let key = outcome_key(&input.request_id, input.attempt, self.stage);
        let body = serde_json::to_vec(&outcome)
            .map_err(|err| Error::Fatal(format!("serialising the stage outcome: {err}")))?;
        store.put(&key, body, "application/json").await?;
        tracing::info!(
            request_id = %input.request_id,
            stage = self.stage.as_str(),
            files = outcome.files.len(),
            rejected = outcome.validation().rejected,
            "stage finished"
        );
        Ok(StageResult {
            stage: self.stage,
            outcome_key: key,
            files_written: outcome.files.len(),
            validation: outcome.validation(),
        })
    }
}
