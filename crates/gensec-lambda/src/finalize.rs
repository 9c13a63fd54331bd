//! The last state: write `manifest.json` from every stage's outcome and mark
//! the request SUCCEEDED, through the same `finish_run` the CLI uses.

use crate::HandlerError;
use crate::payload::{ExecutionInput, outcome_key};
use crate::stage::{PipelinePorts, load_context};
use gensec_core::pipeline::{PIPELINE, StageOutcome, finish_run};
use gensec_core::ports::read_json;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finished {
    pub request_id: String,
    pub manifest_key: String,
    pub files: usize,
    pub rejected: u64,
}

#[derive(Debug)]
pub struct FinalizeHandler {
    ports: PipelinePorts,
}

impl FinalizeHandler {
    pub fn new(ports: PipelinePorts) -> Self {
        Self { ports }
    }

    pub async fn handle(&self, input: ExecutionInput) -> Result<Finished, HandlerError> {
        let store = self.ports.store.as_ref();
        let ctx = load_context(store, &input).await?;
        let mut outcomes = Vec::with_capacity(PIPELINE.len());
        for stage in PIPELINE {
            let outcome: StageOutcome =
                read_json(store, &outcome_key(&input.request_id, *stage)).await?;
            outcomes.push(outcome);
        }
        let (manifest, manifest_key) = finish_run(
            &ctx,
            store,
            self.ports.tracker.as_ref(),
            input.attempt,
            &outcomes,
        )
        .await?;
        Ok(Finished {
            request_id: input.request_id,
            manifest_key,
            files: manifest.files.len(),
            rejected: manifest.validation.rejected,
        })
    }
}
