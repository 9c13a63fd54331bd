//! The last state: publish the attempt (validation report, manifest, the
//! package, library entries) and mark the request SUCCEEDED, through the same
//! `finish_run` the CLI uses.

use crate::HandlerError;
use crate::payload::ExecutionInput;
use crate::stage::{PipelinePorts, earlier_outcomes, load_context};
use gensec_core::contract::stage::StagePorts;
use gensec_core::pipeline::finish_run;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finished {
    pub request_id: String,
    /// Where the published package is read from.
    pub package_prefix: String,
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
        let outcomes = earlier_outcomes(store, &input, None).await?;
        let ports = StagePorts {
            store,
            library: self.ports.library.as_ref(),
        };
        let published = finish_run(
            &ctx,
            &ports,
            self.ports.tracker.as_ref(),
            input.attempt,
            &outcomes,
        )
        .await?;
        Ok(Finished {
            request_id: input.request_id,
            package_prefix: published.package_prefix,
            files: published.manifest.files.len(),
            rejected: published.manifest.validation.rejected,
        })
    }
}
