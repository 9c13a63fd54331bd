//! What the state machine carries between states: keys and small figures,
//! never documents (Step Functions payloads are capped at 256 KiB).

use gensec_core::contract::stage::{StageId, ValidationCounts, attempt_token};
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

/// Where the pipeline keeps its own state for an attempt at a request:
/// beside, not inside, the package, so the output layout matches the local one.
pub fn run_state_key(request_id: &str, attempt: u32, name: &str) -> String {
    format!("_runs/{request_id}/{}/{name}", attempt_token(attempt))
}

pub fn context_key(request_id: &str, attempt: u32) -> String {
    run_state_key(request_id, attempt, "context.json")
}

pub fn outcome_key(request_id: &str, attempt: u32, stage: StageId) -> String {
    run_state_key(request_id, attempt, &format!("{}.json", stage.as_str()))
}
