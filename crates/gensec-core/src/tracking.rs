//! Service request tracking records: one record per request id, one attempt per run.
//!
//! An attempt records who runs it ([`Runner`]: a local process, or a Step
//! Functions execution) and is touched on every change (`updated_at`, the
//! heartbeat). An attempt whose runner is gone, or whose heartbeat is older
//! than a threshold, is marked ABANDONED with the stage it reached
//! ([`abandonment`], the adapters' `reap_abandoned`).

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
    /// The attempt's runner died (killed, crashed, timed out) before it
    /// finished; `stage` says how far it got.
    Abandoned,
}

impl RequestState {
    pub const ALL: [RequestState; 5] = [
        RequestState::Received,
        RequestState::Running,
        RequestState::Succeeded,
        RequestState::Failed,
        RequestState::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Received => "RECEIVED",
            RequestState::Running => "RUNNING",
            RequestState::Succeeded => "SUCCEEDED",
            RequestState::Failed => "FAILED",
            RequestState::Abandoned => "ABANDONED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The attempt is over (SUCCEEDED, FAILED or ABANDONED).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RequestState::Succeeded | RequestState::Failed | RequestState::Abandoned
        )
    }
}

/// Who runs an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Runner {
    /// A local process (`gensec run`): dead when the host is this one and the
    /// process is gone.
    Process { host: String, pid: u32 },
    /// A Step Functions execution (its ARN): dead when its heartbeat is stale.
    Execution { arn: String },
}

impl std::fmt::Display for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Runner::Process { host, pid } => write!(f, "pid {pid} on {host}"),
            Runner::Execution { arn } => write!(f, "execution {arn}"),
        }
    }
}

/// Whether a local process is running, as far as this machine can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Gone,
    /// Another host's process, an execution, or no runner recorded.
    Unknown,
}

/// Why `attempt` counts as abandoned at `now`, or `None` while it may still
/// be running: finished attempts never are; an attempt whose runner is
/// [`Liveness::Gone`] is; so is one whose heartbeat (`updated_at`) is older
/// than `stale_after`.
pub fn abandonment(
    attempt: &Attempt,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
    liveness: impl Fn(&Runner) -> Liveness,
) -> Option<String> {
    if attempt.state.is_finished() {
        return None;
    }
    if let Some(runner) = &attempt.runner
        && liveness(runner) == Liveness::Gone
    {
        return Some(format!("abandoned: its runner ({runner}) is gone"));
    }
    let silent = now - attempt.updated_at;
    (silent > stale_after).then(|| {
        format!(
            "abandoned: no heartbeat for {} minutes (threshold {} minutes)",
            silent.num_minutes(),
            stale_after.num_minutes()
        )
    })
}

/// An attempt marked ABANDONED by a reaper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbandonedAttempt {
    pub request_id: String,
    pub attempt: u32,
    /// The stage it had reached, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub reason: String,
}

/// How long an attempt may stay silent before it counts as abandoned, unless
/// configured otherwise: longer than any one stage (a Lambda runs at most 15
/// minutes), so only dead attempts are reaped.
pub const DEFAULT_STALE_AFTER_MINUTES: i64 = 60;

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
    /// Who runs it, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<Runner>,
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

impl NewAttempt<'_> {
    /// Refuse text that would reach storage with display control characters
    /// or unbounded length (inputs are checked when parsed; this keeps every
    /// other caller honest too).
    pub fn check(&self) -> crate::Result<()> {
        use crate::input::text::{NAME_MAX, check_line};
        let fields = [
            ("$.request_id", self.request_id),
            ("$.service_id", self.service_id),
            ("$.service_name", self.service_name),
            ("$.profile_id", self.profile_id),
            ("$.requester", self.requester),
        ];
        for (path, value) in fields {
            check_line(value, NAME_MAX).map_err(|message| {
                crate::InputError::new("request tracking", path, format!("the value {message}"))
            })?;
        }
        Ok(())
    }
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
