//! What the state machine carries between states: keys and small figures,
//! never documents (Step Functions payloads are capped at 256 KiB).

use gensec_core::pipeline::{StageId, ValidationCounts};
use serde::{Deserialize, Serialize};

/// The execution input the trigger starts, passed to every state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionInput {
    pub request_id: String,
    pub attempt: u32,
    pub service_id: String,
    /// Output-bucket key of the run context (request, profile, service, KB stamp).
    pub context_key: String,
}

/// What a stage state returns (stored by the state machine under `$.stages`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    pub stage: StageId,
    /// Output-bucket key of the stage's full outcome.
    pub outcome_key: String,
    pub files_written: usize,
    pub validation: ValidationCounts,
}

/// Where the pipeline keeps its own state for a request: beside, not inside,
/// the run's output prefix, so the output layout matches the local one.
pub fn run_state_key(request_id: &str, name: &str) -> String {
    format!("_runs/{request_id}/{name}")
}

pub fn context_key(request_id: &str) -> String {
    run_state_key(request_id, "context.json")
}

pub fn outcome_key(request_id: &str, stage: StageId) -> String {
    run_state_key(request_id, &format!("{}.json", stage.as_str()))
}
