//! Service request tracking records: one record per request id, one attempt per run.

use crate::llm::LlmUsage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestState {
    Received,
    Running,
    Succeeded,
    Failed,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Received => "RECEIVED",
            RequestState::Running => "RUNNING",
            RequestState::Succeeded => "SUCCEEDED",
            RequestState::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RequestState::Received,
            RequestState::Running,
            RequestState::Succeeded,
            RequestState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A status change reported by the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusUpdate {
    Running {
        stage: String,
    },
    Succeeded {
        output_prefix: String,
    },
    Failed {
        stage: Option<String>,
        error: String,
    },
    /// The attempt's language model usage (sent before `Succeeded`, only when
    /// a model was configured); the state does not change.
    LlmUsage {
        usage: LlmUsage,
    },
}

/// One run of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt: u32,
    pub state: RequestState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Tokens and estimated cost the attempt spent on a language model;
    /// absent when none was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_usage: Option<LlmUsage>,
}

/// A request and its attempts, newest attempt last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: String,
    pub service_id: String,
    pub service_name: String,
    pub profile_id: String,
    pub requester: String,
    pub requested_at: DateTime<Utc>,
    /// State of the newest attempt.
    pub state: RequestState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_prefix: Option<String>,
    pub attempts: Vec<Attempt>,
}

impl RequestRecord {
    pub fn latest(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

/// What the tracker needs to open an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttempt<'a> {
    pub request_id: &'a str,
    pub service_id: &'a str,
    pub service_name: &'a str,
    pub profile_id: &'a str,
    pub requester: &'a str,
    pub requested_at: DateTime<Utc>,
}

/// What a status update writes on an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptChange<'a> {
    pub state: RequestState,
    /// The stage, when the update names one; otherwise the attempt keeps its own.
    pub stage: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The attempt is over (SUCCEEDED or FAILED).
    pub finished: bool,
    pub output_prefix: Option<&'a str>,
}

impl StatusUpdate {
    /// The state change this update makes; `None` for a usage report, which
    /// changes no state.
    pub fn attempt_change(&self) -> Option<AttemptChange<'_>> {
        Some(match self {
            StatusUpdate::Running { stage } => AttemptChange {
                state: RequestState::Running,
                stage: Some(stage),
                error: None,
                finished: false,
                output_prefix: None,
            },
            StatusUpdate::Succeeded { output_prefix } => AttemptChange {
                state: RequestState::Succeeded,
                stage: None,
                error: None,
                finished: true,
                output_prefix: Some(output_prefix),
            },
            StatusUpdate::Failed { stage, error } => AttemptChange {
                state: RequestState::Failed,
                stage: stage.as_deref(),
                error: Some(error),
                finished: true,
                output_prefix: None,
            },
            StatusUpdate::LlmUsage { .. } => return None,
        })
    }
}

/// An update for an attempt the tracker does not know.
pub fn no_attempt(request_id: &str, attempt: u32) -> crate::Error {
    crate::InputError::new(
        "request tracking",
        "$.request_id",
        format!("no attempt {attempt} of request {request_id:?}"),
    )
    .into()
}
