//! The S3 trigger: a service request uploaded to `service-request/*.json`
//! becomes one pipeline execution; a request naming several services
//! (`services`, see [`crate::batch`]) one batch execution.
//!
//! Profiles uploaded to `security-profile/` are stored and never start a run.
//! The request is validated and its profile resolved before anything starts;
//! a bad request gets a FAILED tracking record that says why. The execution
//! is named after the request id, so a duplicated S3 event never starts a
//! second run.

use crate::HandlerError;
use crate::batch::{
    BATCH_SERVICE_ID, BatchDocument, BatchInput, BatchRequest, batch_key, is_batch_request,
    parse_batch_request,
};
use crate::payload::{ExecutionInput, context_key};
use aws_lambda_events::event::s3::S3Event;
use gensec_aws::{Started, StateMachine};
use gensec_core::input::{
    SecurityProfile, SourcedProfile, parse_profile, parse_request, select_sourced_profile,
};
use gensec_core::pipeline::failure_message;
use gensec_core::ports::{ObjectStore, RequestTracker};
use gensec_core::tracking::{NewAttempt, RequestState, Runner, StatusUpdate};
use gensec_core::{Error, ErrorKind, ServiceRequest};
use gensec_kb::Kb;
use serde::Serialize;
use std::sync::Arc;

pub const REQUEST_PREFIX: &str = "service-request/";
pub const PROFILE_PREFIX: &str = "security-profile/";
/// The tracking stage name of failures found before the pipeline starts.
pub const TRIGGER_STAGE: &str = "trigger";

/// What became of one S3 record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RecordOutcome {
    Started {
        key: String,
        request_id: String,
        execution_arn: String,
    },
    Duplicate {
        key: String,
        request_id: String,
    },
    Rejected {
        key: String,
        request_id: String,
        error: String,
    },
    Ignored {
        key: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TriggerReport {
    pub records: Vec<RecordOutcome>,
}

pub struct TriggerHandler {
    pub kb: Arc<Kb>,
    /// The input bucket (requests and profiles).
    pub input: Arc<dyn ObjectStore>,
    pub input_bucket: String,
    /// The output bucket (run context).
    pub output: Arc<dyn ObjectStore>,
    pub tracker: Arc<dyn RequestTracker>,
    pub machine: StateMachine,
    /// Started for a request naming several services.
    pub batch_machine: StateMachine,
}

impl std::fmt::Debug for TriggerHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerHandler")
            .field("input_bucket", &self.input_bucket)
            .finish_non_exhaustive()
    }
}

/// S3 event keys are URL-encoded with `+` for spaces.
pub fn decode_key(key: &str) -> String {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// A request id for tracking a request that could not be parsed: its own
/// `request_id` when that is usable, else the object's file name.
fn fallback_request_id(key: &str, text: &str) -> String {
    let usable = |id: &str| {
        !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if let Some(id) = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|doc| doc.get("request_id")?.as_str().map(str::to_string))
        .filter(|id| usable(id))
    {
        return id;
    }
    let stem = key
        .rsplit('/')
        .next()
        .unwrap_or(key)
        .trim_end_matches(".json");
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(72)
        .collect();
    format!("invalid-{cleaned}")
}

impl TriggerHandler {
    pub async fn handle(&self, event: S3Event) -> Result<TriggerReport, HandlerError> {
        let mut report = TriggerReport::default();
        for record in event.records {
            let Some(raw_key) = record.s3.object.key.as_deref() else {
                continue;
            };
            let key = decode_key(raw_key);
            let bucket = record.s3.bucket.name.unwrap_or_default();
            let outcome = if bucket != self.input_bucket {
                RecordOutcome::Ignored {
                    key,
                    reason: format!("bucket {bucket:?} is not the input bucket"),
                }
            } else if key.starts_with(PROFILE_PREFIX) {
                RecordOutcome::Ignored {
                    key,
                    reason: "a security profile is stored; it never starts a run".into(),
                }
            } else if !key.starts_with(REQUEST_PREFIX) || !key.ends_with(".json") {
                RecordOutcome::Ignored {
                    key,
                    reason: format!("only {REQUEST_PREFIX}*.json starts a run"),
                }
            } else {
                self.request(&key).await?
            };
            tracing::info!(outcome = ?outcome, "S3 record handled");
            report.records.push(outcome);
        }
        Ok(report)
    }

    async fn request(&self, key: &str) -> Result<RecordOutcome, HandlerError> {
        let Some(body) = self.input.get(key).await? else {
            return Ok(RecordOutcome::Ignored {
                key: key.to_string(),
                reason: "the object no longer exists".into(),
            });
        };
        let source = self.input.locate(key);
        let text = String::from_utf8_lossy(&body);
        if is_batch_request(&text) {
            return self.batch_request(key, &source, &text).await;
        }
        let request = match parse_request(&source, &text) {
            Ok(request) => request,
            Err(err) => {
                let request_id = fallback_request_id(key, &text);
                return self.reject(key, &request_id, None, err.into()).await;
            }
        };
        if let Some(duplicate) = self.duplicate(key, &request.request_id).await? {
            return Ok(duplicate);
        }
        let ctx = match self.context(key, request.clone()).await {
            Ok(ctx) => ctx,
            Err(err) if err.kind() == ErrorKind::InvalidInput => {
                let id = request.request_id.clone();
                return self.reject(key, &id, Some(&request), err).await;
            }
            Err(err) => return Err(err.into()),
        };
        let attempt = self.tracker.begin_attempt(ctx.new_attempt()).await?;
        let mut ctx = ctx;
        ctx.stage_into(self.output.as_ref(), attempt);
        self.start(key, ctx, attempt).await
    }

    /// Writes the attempt's run context and starts the state machine on it;
    /// an execution that already exists for the request (a concurrent
    /// delivery of the same event) makes this attempt a duplicate.
    async fn start(
        &self,
        key: &str,
        ctx: gensec_core::contract::stage::RunContext,
        attempt: u32,
    ) -> Result<RecordOutcome, HandlerError> {
        let context_key = context_key(&ctx.request.request_id, attempt);
        let body = serde_json::to_vec(&ctx)
            .map_err(|err| Error::Fatal(format!("serialising the run context: {err}")))?;
        self.output
            .put(&context_key, body, "application/json")
            .await?;
        let input = ExecutionInput {
            request_id: ctx.request.request_id.clone(),
            attempt,
            service_id: ctx.service_id.clone(),
            context_key,
        };
        let input = serde_json::to_value(&input)
            .map_err(|err| Error::Fatal(format!("serialising the execution input: {err}")))?;
        let started = self.machine.start(&ctx.request.request_id, &input).await?;
        self.started(key, &ctx.request.request_id, attempt, started)
            .await
    }

    /// Resolve the service and the profile the request applies to.
    async fn context(
        &self,
        key: &str,
        request: ServiceRequest,
    ) -> Result<gensec_core::contract::stage::RunContext, Error> {
        self.kb
            .resolve_service(&request.service_name)
            .map_err(|err| err.located(self.input.locate(key), "$.service_name"))?;
        let profile = self.profile(request.profile_id.as_deref()).await?;
        gensec_stages::run_context(&self.kb, request, profile)
    }

    /// The profile a request applies to, from those in the input bucket.
    async fn profile(&self, wanted: Option<&str>) -> Result<SecurityProfile, Error> {
        let mut profiles = Vec::new();
        for key in self.input.list(PROFILE_PREFIX).await? {
            if !key.ends_with(".json") {
                continue;
            }
            let Some(body) = self.input.get(&key).await? else {
                continue;
            };
            let source = self.input.locate(&key);
            let profile = parse_profile(&source, &String::from_utf8_lossy(&body))?;
            profiles.push(SourcedProfile { source, profile });
        }
        Ok(select_sourced_profile(
            &self.input.locate(PROFILE_PREFIX),
            profiles,
            wanted,
        )?)
    }

    /// A request id already tracked, and not one that failed before it
    /// started: the same upload delivered again.
    async fn duplicate(
        &self,
        key: &str,
        request_id: &str,
    ) -> Result<Option<RecordOutcome>, HandlerError> {
        Ok(match self.tracker.request(request_id).await? {
            Some(existing) if !failed_before_start(&existing) => Some(RecordOutcome::Duplicate {
                key: key.to_string(),
                request_id: request_id.to_string(),
            }),
            _ => None,
        })
    }

    /// A request naming several services: checked, its profile picked, then
    /// one batch execution (named after the request, like a single run) on
    /// the batch document; the names are resolved by the batch function.
    async fn batch_request(
        &self,
        key: &str,
        source: &str,
        text: &str,
    ) -> Result<RecordOutcome, HandlerError> {
        let request = match parse_batch_request(source, text) {
            Ok(request) => request,
            Err(err) => {
                let request_id = fallback_request_id(key, text);
                return self.reject(key, &request_id, None, err.into()).await;
            }
        };
        if let Some(duplicate) = self.duplicate(key, &request.request_id).await? {
            return Ok(duplicate);
        }
        let profile = match self.profile(request.profile_id.as_deref()).await {
            Ok(profile) => profile,
            Err(err) if err.kind() == ErrorKind::InvalidInput => {
                let id = request.request_id.clone();
                let shown = batch_as_service_request(&request);
                return self.reject(key, &id, Some(&shown), err).await;
            }
            Err(err) => return Err(err.into()),
        };
        let service_name = request.service_name();
        let attempt = self
            .tracker
            .begin_attempt(NewAttempt {
                request_id: &request.request_id,
                service_id: BATCH_SERVICE_ID,
                service_name: &service_name,
                profile_id: &profile.profile_id,
                requester: &request.requester,
                requested_at: request.timestamp,
            })
            .await?;
        let request_id = request.request_id.clone();
        let batch_key = batch_key(&request_id, attempt);
        let body = serde_json::to_vec(&BatchDocument { request, profile })
            .map_err(|err| Error::Fatal(format!("serialising the batch document: {err}")))?;
        self.output
            .put(&batch_key, body, "application/json")
            .await?;
        let input = serde_json::to_value(BatchInput {
            request_id: request_id.clone(),
            attempt,
            batch_key,
        })
        .map_err(|err| Error::Fatal(format!("serialising the execution input: {err}")))?;
        let started = self.batch_machine.start(&request_id, &input).await?;
        self.started(key, &request_id, attempt, started).await
    }

    /// Record who runs the attempt, or that a concurrent delivery of the
    /// same event won the race (then this attempt never runs).
    async fn started(
        &self,
        key: &str,
        request_id: &str,
        attempt: u32,
        started: Started,
    ) -> Result<RecordOutcome, HandlerError> {
        match started {
            Started::New { execution_arn } => {
                let runner = Runner::Execution {
                    arn: execution_arn.clone(),
                };
                self.tracker
                    .set_runner(request_id, attempt, &runner)
                    .await?;
                Ok(RecordOutcome::Started {
                    key: key.to_string(),
                    request_id: request_id.to_string(),
                    execution_arn,
                })
            }
            Started::Duplicate => {
                self.tracker
                    .update(
                        request_id,
                        attempt,
                        StatusUpdate::Failed {
                            stage: Some(TRIGGER_STAGE.into()),
                            error: "duplicate event: an execution for this request exists".into(),
                        },
                    )
                    .await?;
                Ok(RecordOutcome::Duplicate {
                    key: key.to_string(),
                    request_id: request_id.to_string(),
                })
            }
        }
    }

    /// Record a FAILED attempt that says what is wrong with the request.
    async fn reject(
        &self,
        key: &str,
        request_id: &str,
        request: Option<&ServiceRequest>,
        err: Error,
    ) -> Result<RecordOutcome, HandlerError> {
        let error = failure_message(err.kind(), &err.to_string());
        let attempt = self
            .tracker
            .begin_attempt(NewAttempt {
                request_id,
                service_id: "unknown",
                service_name: request.map_or("", |r| r.service_name.as_str()),
                profile_id: request.and_then(|r| r.profile_id.as_deref()).unwrap_or(""),
                requester: request.map_or("", |r| r.requester.as_str()),
                requested_at: request.map_or_else(chrono::Utc::now, |r| r.timestamp),
            })
            .await?;
        self.tracker
            .update(
                request_id,
                attempt,
                StatusUpdate::Failed {
                    stage: Some(TRIGGER_STAGE.into()),
                    error: error.clone(),
                },
            )
            .await?;
        tracing::warn!(key, request_id, %error, "request rejected");
        Ok(RecordOutcome::Rejected {
            key: key.to_string(),
            request_id: request_id.to_string(),
            error,
        })
    }
}

/// A batch request as the tracking of a rejection shows it.
fn batch_as_service_request(request: &BatchRequest) -> ServiceRequest {
    ServiceRequest {
        request_id: request.request_id.clone(),
        requester: request.requester.clone(),
        timestamp: request.timestamp,
        service_name: request.service_name(),
        profile_id: request.profile_id.clone(),
    }
}

/// A request whose every attempt was rejected by the trigger may be uploaded
/// again (fixed); one that reached the pipeline is a duplicate.
fn failed_before_start(record: &gensec_core::tracking::RequestRecord) -> bool {
    record.attempts.iter().all(|attempt| {
        attempt.state == RequestState::Failed && attempt.stage.as_deref() == Some(TRIGGER_STAGE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(
            decode_key("service-request/my+request%281%29.json"),
            "service-request/my request(1).json"
        );
    }

    #[test]
    fn unparsable_requests_get_a_usable_tracking_id() {
        assert_eq!(
            fallback_request_id("service-request/a.json", r#"{"request_id":"REQ-7","x":"#),
            "invalid-a"
        );
        assert_eq!(
            fallback_request_id("service-request/a.json", r#"{"request_id":"REQ-7"}"#),
            "REQ-7"
        );
        assert_eq!(
            fallback_request_id("service-request/bad name!.json", "not json"),
            "invalid-bad-name-"
        );
    }
}
