//! The Catch target: record why the execution failed on the request's
//! tracking record (state FAILED, the stage it was in, the error kind and
//! message).

use crate::HandlerError;
use crate::error::kind_of_error_type;
use gensec_core::ErrorKind;
use gensec_core::contract::stage::RunContext;
use gensec_core::pipeline::failure_message;
use gensec_core::ports::{ObjectStore, RequestTracker};
use gensec_core::tracking::StatusUpdate;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The state the Catch clause hands over: the execution input plus `error`.
#[derive(Debug, Clone, Deserialize)]
pub struct FailedExecution {
    pub request_id: String,
    pub attempt: u32,
    /// The run context's key, whose write prefix holds what the attempt
    /// wrote; absent when the execution failed before the trigger stored it.
    #[serde(default)]
    pub context_key: Option<String>,
    pub error: CaughtError,
}

/// Step Functions' caught error: `Error` is the error type, `Cause` the
/// Lambda's JSON error document (or plain text for States.* errors).
#[derive(Debug, Clone, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    pub request_id: String,
    pub attempt: u32,
    pub error: String,
}

/// The message a failed attempt records.
pub fn describe(caught: &CaughtError) -> String {
    let kind = kind_of_error_type(&caught.error).unwrap_or(match caught.error.as_str() {
        "States.Timeout" | "Lambda.TooManyRequestsException" | "Lambda.ServiceException" => {
            ErrorKind::Retryable
        }
        _ => ErrorKind::Fatal,
    });
    let cause = caught.cause.as_deref().unwrap_or_default();
    // A Lambda's Cause is {"errorType": ..., "errorMessage": ...}.
    let message = serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|doc| doc.get("errorMessage")?.as_str().map(str::to_string))
        .unwrap_or_else(|| {
            if cause.is_empty() {
                caught.error.clone()
            } else {
                format!("{}: {cause}", caught.error)
            }
        });
    failure_message(kind, &message)
}

#[derive(Clone)]
pub struct RecordFailureHandler {
    store: Arc<dyn ObjectStore>,
    tracker: Arc<dyn RequestTracker>,
}

impl std::fmt::Debug for RecordFailureHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordFailureHandler")
            .finish_non_exhaustive()
    }
}

impl RecordFailureHandler {
    pub fn new(store: Arc<dyn ObjectStore>, tracker: Arc<dyn RequestTracker>) -> Self {
        Self { store, tracker }
    }

    /// Remove what the failed attempt wrote: it is never published.
    async fn discard(&self, context_key: &str) -> Result<(), HandlerError> {
        let store = self.store.as_ref();
        if let Some(body) = store.get(context_key).await? {
            let ctx: RunContext = serde_json::from_slice(&body).map_err(|err| {
                gensec_core::Error::Fatal(format!("{context_key} is not valid: {err}"))
            })?;
            store.discard(&ctx.write_prefix).await?;
        }
        Ok(())
    }

    pub async fn handle(&self, failed: FailedExecution) -> Result<Recorded, HandlerError> {
        if let Some(key) = &failed.context_key {
            self.discard(key).await?;
        }
        let error = describe(&failed.error);
        // The stage stays the one the attempt was RUNNING in.
        self.tracker
            .update(
                &failed.request_id,
                failed.attempt,
                StatusUpdate::Failed {
                    stage: None,
                    error: error.clone(),
                },
            )
            .await?;
        tracing::warn!(request_id = %failed.request_id, %error, "execution failed");
        Ok(Recorded {
            request_id: failed.request_id,
            attempt: failed.attempt,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_causes_become_kind_and_message() {
        let caught = CaughtError {
            error: "GenSec.InvalidInput".into(),
            cause: Some(
                r#"{"errorType":"GenSec.InvalidInput","errorMessage":"unknown service \"S4\""}"#
                    .into(),
            ),
        };
        assert_eq!(describe(&caught), "[InvalidInput] unknown service \"S4\"");
        let timeout = CaughtError {
            error: "States.Timeout".into(),
            cause: None,
        };
        assert_eq!(describe(&timeout), "[Retryable] States.Timeout");
    }
}
