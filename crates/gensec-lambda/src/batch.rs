//! Several services in one request: the batch state machine
//! (`state-machine/batch.asl.json`) resolves the names, runs the per-service
//! pipeline for each as a child execution of a Distributed Map, and writes a
//! summary.
//!
//! A batch request is a service request whose `service_name` is replaced by
//! `services`: a list of names, or `"*"` for the whole catalogue. The trigger
//! checks it, picks the profile and stores both as the batch document; the
//! batch function's `resolve` step turns each name into a child request
//! (`<request_id>.<service_id>`, tracked like any single request, run by a
//! pipeline execution of that name) and its `summarize` step reads the
//! children's tracking records into `batches/<request_id>/attempt-N/summary.json`.
//! A name that does not resolve never runs; the summary says why.

use crate::HandlerError;
use crate::payload::{ExecutionInput, context_key, run_state_key};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use gensec_core::contract::stage::attempt_token;
use gensec_core::input::text::{NAME_MAX, check_line};
use gensec_core::input::{SecurityProfile, parse_request};
use gensec_core::pipeline::failure_message;
use gensec_core::ports::{ObjectStore, RequestTracker, read_json};
use gensec_core::tracking::{RequestState, Runner, StatusUpdate};
use gensec_core::{Error, InputError, ServiceRequest};
use gensec_kb::Kb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `services: "*"`: every service of the catalogue.
pub const ALL_SERVICES: &str = "*";
/// At most this many names in one request (the catalogue has fewer services).
pub const MAX_NAMES: usize = 1000;
/// The tracking service id of a batch request (it names no one service).
pub const BATCH_SERVICE_ID: &str = "batch";
/// Execution names and request ids are at most this long.
const REQUEST_ID_MAX: usize = 80;
/// Child requests resolved at once (tracking writes and context uploads).
const RESOLVE_CONCURRENCY: usize = 16;

/// Which services a batch request names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Services {
    /// `"*"`.
    All(String),
    Named(Vec<String>),
}

/// A request for several services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    pub request_id: String,
    pub requester: String,
    pub timestamp: DateTime<Utc>,
    pub services: Services,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

impl BatchRequest {
    /// The tracking record's service name: `*`, or the names (shortened to
    /// fit the tracking limit).
    pub fn service_name(&self) -> String {
        match &self.services {
            Services::All(all) => all.clone(),
            Services::Named(names) => {
                let joined = names.join(", ");
                if joined.len() <= NAME_MAX {
                    joined
                } else {
                    let mut short = format!("{} services: ", names.len());
                    for name in names {
                        if short.len() + name.len() + 6 > NAME_MAX {
                            short.push_str("...");
                            break;
                        }
                        short.push_str(name);
                        short.push_str(", ");
                    }
                    short
                }
            }
        }
    }

    /// The single-service request for one of the names.
    fn child(&self, request_id: String, service_name: &str) -> ServiceRequest {
        ServiceRequest {
            request_id,
            requester: self.requester.clone(),
            timestamp: self.timestamp,
            service_name: service_name.to_string(),
            profile_id: self.profile_id.clone(),
        }
    }
}

/// Whether an uploaded request names several services (it has `services`).
pub fn is_batch_request(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .is_some_and(|doc| doc.get("services").is_some())
}

/// Parse a batch request: the fields it shares with a service request are
/// checked exactly as there; `services` is `"*"` or 1 to 1000 names.
pub fn parse_batch_request(source: &str, text: &str) -> Result<BatchRequest, InputError> {
    let mut doc: serde_json::Map<String, Value> = serde_json::from_str(text)
        .map_err(|err| InputError::new(source, "$", format!("not a JSON object: {err}")))?;
    if doc.contains_key("service_name") {
        return Err(InputError::new(
            source,
            "$.service_name",
            "a request names one service (service_name) or several (services), not both",
        ));
    }
    let services = doc
        .remove("services")
        .ok_or_else(|| InputError::new(source, "$.services", "missing"))?;
    let services = match services {
        Value::String(all) if all == ALL_SERVICES => Services::All(all),
        Value::Array(items) => {
            if items.is_empty() || items.len() > MAX_NAMES {
                return Err(InputError::new(
                    source,
                    "$.services",
                    format!("expected 1-{MAX_NAMES} service names, got {}", items.len()),
                ));
            }
            let mut names: Vec<String> = Vec::new();
            for (index, item) in items.into_iter().enumerate() {
                let path = format!("$.services[{index}]");
                let Value::String(name) = item else {
                    return Err(InputError::new(source, path, "expected a service name"));
                };
                if name.trim().is_empty() {
                    return Err(InputError::new(source, path, "empty service name"));
                }
                check_line(&name, NAME_MAX)
                    .map_err(|message| InputError::new(source, &path, message))?;
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            Services::Named(names)
        }
        other => {
            return Err(InputError::new(
                source,
                "$.services",
                format!("expected \"*\" or a list of service names, got {other}"),
            ));
        }
    };
    // The shared fields, checked by the service request's own parser.
    doc.insert("service_name".into(), Value::String("batch".into()));
    let shared = parse_request(source, &Value::Object(doc).to_string())?;
    Ok(BatchRequest {
        request_id: shared.request_id,
        requester: shared.requester,
        timestamp: shared.timestamp,
        services,
        profile_id: shared.profile_id,
    })
}

/// What the trigger stores for the batch function: the request and the
/// profile it applies to (picked once, for every child).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchDocument {
    pub request: BatchRequest,
    pub profile: SecurityProfile,
}

pub fn batch_key(request_id: &str, attempt: u32) -> String {
    run_state_key(request_id, attempt, "batch.json")
}

fn items_key(request_id: &str, attempt: u32) -> String {
    run_state_key(request_id, attempt, "items.json")
}

fn rejected_key(request_id: &str, attempt: u32) -> String {
    run_state_key(request_id, attempt, "rejected.json")
}

/// Where a batch's summary is published.
pub fn summary_prefix(request_id: &str, attempt: u32) -> String {
    format!("batches/{request_id}/{}/", attempt_token(attempt))
}

/// The batch state machine's execution input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchInput {
    pub request_id: String,
    pub attempt: u32,
    /// Output-bucket key of the [`BatchDocument`].
    pub batch_key: String,
}

/// What the batch function is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum BatchStep {
    Resolve(BatchInput),
    Summarize(BatchInput),
}

/// A name that never ran, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub service_name: String,
    pub reason: String,
}

/// The resolve step's answer: where the Map reads its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// Output-bucket key of the JSON array of child [`ExecutionInput`]s.
    pub items_key: String,
    pub items: usize,
    pub rejected: usize,
}

/// One service of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOutcome {
    pub service_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The child request (absent for a name that never ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// Where the published package is (succeeded services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_prefix: Option<String>,
    /// The stage it failed in (failed services that ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `batches/<request_id>/attempt-N/summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub request_id: String,
    pub attempt: u32,
    pub requested: usize,
    pub succeeded: Vec<ServiceOutcome>,
    pub failed: Vec<ServiceOutcome>,
    pub written_at: DateTime<Utc>,
}

/// The summarize step's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summarized {
    pub summary_key: String,
    pub succeeded: usize,
    pub failed: usize,
}

/// The ARN of the execution named `name` of the state machine `machine_arn`.
pub fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The batch function: both steps.
pub struct BatchHandler {
    pub kb: Arc<Kb>,
    pub store: Arc<dyn ObjectStore>,
    pub tracker: Arc<dyn RequestTracker>,
    /// The pipeline state machine the Map starts the children on.
    pub pipeline_arn: String,
}

impl std::fmt::Debug for BatchHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchHandler")
            .field("pipeline_arn", &self.pipeline_arn)
            .finish_non_exhaustive()
    }
}

fn fatal(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Fatal(format!("{what}: {err}"))
}

impl BatchHandler {
    pub async fn handle(&self, step: BatchStep) -> Result<Value, HandlerError> {
        match step {
            BatchStep::Resolve(input) => serde_json::to_value(self.resolve(&input).await?),
            BatchStep::Summarize(input) => serde_json::to_value(self.summarize(&input).await?),
        }
        .map_err(|err| fatal("serialising the answer", err).into())
    }

    async fn put_json(&self, key: &str, value: &impl Serialize) -> Result<(), HandlerError> {
        let body = serde_json::to_vec(value).map_err(|err| fatal(key, err))?;
        self.store.put(key, body, "application/json").await?;
        Ok(())
    }

    /// One child request per name: tracked, its run context stored, its
    /// pipeline execution recorded as its runner.
    pub async fn resolve(&self, input: &BatchInput) -> Result<Resolved, HandlerError> {
        let doc: BatchDocument = read_json(self.store.as_ref(), &input.batch_key).await?;
        if doc.request.request_id != input.request_id {
            return Err(Error::Fatal(format!(
                "{} belongs to request {}, not {}",
                input.batch_key, doc.request.request_id, input.request_id
            ))
            .into());
        }
        self.tracker
            .update(
                &input.request_id,
                input.attempt,
                StatusUpdate::Running {
                    stage: "resolve".into(),
                },
            )
            .await?;
        let names: Vec<String> = match &doc.request.services {
            Services::All(_) => self.kb.services().iter().map(|s| s.id.clone()).collect(),
            Services::Named(names) => names.clone(),
        };
        // Names resolved first (cheap, in order), so two names of one service
        // run it once.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut planned = Vec::new();
        let mut rejected = Vec::new();
        for name in &names {
            let reason = match self.kb.resolve_service(name) {
                Err(err) => Some(failure_message(err.kind(), &err.to_string())),
                Ok(service) => {
                    let child = format!("{}.{}", doc.request.request_id, service.id);
                    if let Some(first) = seen.get(&service.id) {
                        Some(format!(
                            "[InvalidInput] {name:?} is {}, already requested as {first:?}",
                            service.id
                        ))
                    } else if child.len() > REQUEST_ID_MAX {
                        Some(format!(
                            "[InvalidInput] the child request id {child:?} is longer than {REQUEST_ID_MAX} characters; use a shorter request_id"
                        ))
                    } else {
                        seen.insert(service.id.clone(), name.clone());
                        planned.push((name.clone(), child));
                        None
                    }
                }
            };
            if let Some(reason) = reason {
                rejected.push(Rejected {
                    service_name: name.clone(),
                    reason,
                });
            }
        }
        let started: Vec<Result<ExecutionInput, Rejected>> = futures::stream::iter(planned)
            .map(|(name, child)| self.child(&doc, name, child))
            .buffered(RESOLVE_CONCURRENCY)
            .collect()
            .await;
        let mut items = Vec::new();
        for outcome in started {
            match outcome {
                Ok(item) => items.push(item),
                Err(reject) => rejected.push(reject),
            }
        }
        let items_key = items_key(&input.request_id, input.attempt);
        self.put_json(&items_key, &items).await?;
        self.put_json(&rejected_key(&input.request_id, input.attempt), &rejected)
            .await?;
        self.tracker
            .update(
                &input.request_id,
                input.attempt,
                StatusUpdate::Running {
                    stage: "map".into(),
                },
            )
            .await?;
        tracing::info!(
            request_id = %input.request_id,
            items = items.len(),
            rejected = rejected.len(),
            "batch resolved"
        );
        Ok(Resolved {
            items_key,
            items: items.len(),
            rejected: rejected.len(),
        })
    }

    /// Open the child request's attempt and store its run context. A child
    /// whose context cannot be built is rejected with the reason; a storage
    /// failure fails the step (it is retried).
    async fn child(
        &self,
        doc: &BatchDocument,
        name: String,
        child: String,
    ) -> Result<ExecutionInput, Rejected> {
        let attempt = async {
            let request = doc.request.child(child.clone(), &name);
            let mut ctx = gensec_stages::run_context(&self.kb, request, doc.profile.clone())?;
            let attempt = self.tracker.begin_attempt(ctx.new_attempt()).await?;
            ctx.stage_into(self.store.as_ref(), attempt);
            let key = context_key(&child, attempt);
            let body = serde_json::to_vec(&ctx).map_err(|err| fatal(&key, err))?;
            self.store.put(&key, body, "application/json").await?;
            let runner = Runner::Execution {
                arn: execution_arn(&self.pipeline_arn, &child),
            };
            self.tracker.set_runner(&child, attempt, &runner).await?;
            Ok::<_, Error>(ExecutionInput {
                request_id: child.clone(),
                attempt,
                service_id: ctx.service_id.clone(),
                context_key: key,
            })
        };
        attempt.await.map_err(|err| Rejected {
            service_name: name,
            reason: failure_message(err.kind(), &err.to_string()),
        })
    }

    /// Read every child's tracking record into the summary and mark the
    /// batch SUCCEEDED (it ran; the summary says which services did).
    pub async fn summarize(&self, input: &BatchInput) -> Result<Summarized, HandlerError> {
        let store = self.store.as_ref();
        let items: Vec<ExecutionInput> =
            read_json(store, &items_key(&input.request_id, input.attempt)).await?;
        let rejected: Vec<Rejected> =
            read_json(store, &rejected_key(&input.request_id, input.attempt)).await?;
        let doc: BatchDocument = read_json(store, &input.batch_key).await?;
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        for item in &items {
            let record = self.tracker.request(&item.request_id).await?;
            let mut outcome = ServiceOutcome {
                service_name: record
                    .as_ref()
                    .map_or_else(|| item.service_id.clone(), |r| r.service_name.clone()),
                service_id: Some(item.service_id.clone()),
                request_id: Some(item.request_id.clone()),
                attempt: Some(item.attempt),
                execution_arn: None,
                package_prefix: None,
                stage: None,
                reason: None,
            };
            let attempt = record
                .as_ref()
                .and_then(|r| r.attempts.iter().find(|a| a.attempt == item.attempt));
            let Some(attempt) = attempt else {
                outcome.reason = Some("no tracking record of its attempt".into());
                failed.push(outcome);
                continue;
            };
            if let Some(Runner::Execution { arn }) = &attempt.runner {
                outcome.execution_arn = Some(arn.clone());
            }
            outcome.stage = attempt.stage.clone();
            match attempt.state {
                RequestState::Succeeded => {
                    outcome.stage = None;
                    outcome.package_prefix = record.and_then(|r| r.output_prefix);
                    succeeded.push(outcome);
                }
                RequestState::Failed => {
                    outcome.reason = attempt.error.clone();
                    failed.push(outcome);
                }
                other => {
                    outcome.reason = Some(format!(
                        "did not finish: {other:?} when the batch ended (its execution failed before recording why, or timed out)"
                    ));
                    failed.push(outcome);
                }
            }
        }
        failed.extend(rejected.into_iter().map(|r| ServiceOutcome {
            service_name: r.service_name,
            service_id: None,
            request_id: None,
            attempt: None,
            execution_arn: None,
            package_prefix: None,
            stage: None,
            reason: Some(r.reason),
        }));
        let requested = match &doc.request.services {
            Services::All(_) => {
                items.len() + failed.iter().filter(|f| f.request_id.is_none()).count()
            }
            Services::Named(names) => names.len(),
        };
        let summary = Summary {
            request_id: input.request_id.clone(),
            attempt: input.attempt,
            requested,
            succeeded,
            failed,
            written_at: Utc::now(),
        };
        let prefix = summary_prefix(&input.request_id, input.attempt);
        let summary_key = format!("{prefix}summary.json");
        self.put_json(&summary_key, &summary).await?;
        self.tracker
            .update(
                &input.request_id,
                input.attempt,
                StatusUpdate::Succeeded {
                    output_prefix: prefix,
                },
            )
            .await?;
        tracing::info!(
            request_id = %input.request_id,
            succeeded = summary.succeeded.len(),
            failed = summary.failed.len(),
            "batch summarized"
        );
        Ok(Summarized {
            summary_key,
            succeeded: summary.succeeded.len(),
            failed: summary.failed.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""request_id": "REQ-B", "requester": "a@example.com", "timestamp": "2026-11-22T02:30:00Z""#;

    #[test]
    fn batch_requests_are_told_apart_and_checked() {
        let list = format!(r#"{{{BASE}, "services": ["S3", "RDS", "S3"]}}"#);
        assert!(is_batch_request(&list));
        assert!(!is_batch_request(&format!(
            r#"{{{BASE}, "service_name": "S3"}}"#
        )));
        let parsed = parse_batch_request("r.json", &list).unwrap();
        assert_eq!(
            parsed.services,
            Services::Named(vec!["S3".into(), "RDS".into()])
        );
        assert_eq!(parsed.service_name(), "S3, RDS");
        let all =
            parse_batch_request("r.json", &format!(r#"{{{BASE}, "services": "*"}}"#)).unwrap();
        assert_eq!(all.services, Services::All("*".into()));
        for (services, path) in [
            (r#""all""#, "$.services"),
            ("[]", "$.services"),
            (r#"["S3", 7]"#, "$.services[1]"),
            (r#"["S3", " "]"#, "$.services[1]"),
        ] {
            let err =
                parse_batch_request("r.json", &format!(r#"{{{BASE}, "services": {services}}}"#))
                    .unwrap_err();
            assert_eq!(err.path, path, "{services}: {err}");
        }
        let both = format!(r#"{{{BASE}, "service_name": "S3", "services": ["S3"]}}"#);
        assert_eq!(
            parse_batch_request("r.json", &both).unwrap_err().path,
            "$.service_name"
        );
        let bad_time =
            r#"{"request_id": "REQ-B", "requester": "a", "timestamp": "today", "services": "*"}"#;
        assert_eq!(
            parse_batch_request("r.json", bad_time).unwrap_err().path,
            "$.timestamp"
        );
    }

    #[test]
    fn child_execution_arns_follow_the_state_machine_arn() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:123456789012:stateMachine:Pipeline",
                "REQ.s3"
            ),
            "arn:aws:states:us-east-1:123456789012:execution:Pipeline:REQ.s3"
        );
    }

    #[test]
    fn long_name_lists_are_shortened_for_tracking() {
        let names: Vec<String> = (0..100).map(|i| format!("service number {i}")).collect();
        let request = BatchRequest {
            request_id: "R".into(),
            requester: "r".into(),
            timestamp: Utc::now(),
            services: Services::Named(names),
            profile_id: None,
        };
        let name = request.service_name();
        assert!(name.len() <= NAME_MAX, "{}", name.len());
        assert!(name.starts_with("100 services: service number 0, "));
    }
}
