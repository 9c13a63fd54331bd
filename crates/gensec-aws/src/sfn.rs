//! Starting pipeline executions on Step Functions.

use crate::error::{aws_error, code};
use aws_sdk_sfn::Client;
use gensec_core::Result;

/// What happened to a start request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new execution.
    New { execution_arn: String },
    /// An execution with this name exists already: a duplicate event.
    Duplicate,
}

/// The pipeline's state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    client: Client,
    arn: String,
}

impl StateMachine {
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }

    /// Start an execution named `name`. Execution names are unique per state
    /// machine, so naming it after the request makes a repeated start a no-op.
    pub async fn start(&self, name: &str, input: &serde_json::Value) -> Result<Started> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(output) => Ok(Started::New {
                execution_arn: output.execution_arn().to_string(),
            }),
            Err(err) if code(&err) == Some("ExecutionAlreadyExists") => Ok(Started::Duplicate),
            Err(err) => Err(aws_error(format!("starting execution {name}"), err)),
        }
    }
}
