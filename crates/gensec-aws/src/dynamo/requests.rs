//! [`RequestTracker`] on DynamoDB.
//!
//! Table: partition `request_id`, sort `record` (`request`, or
//! `attempt#<n>`). The request item keeps an attempt counter, so concurrent
//! `begin_attempt`s get distinct numbers, and `item_type`/`updated_at` for the
//! `recent-index` GSI that lists the latest requests. Each attempt item
//! records its runner (the Step Functions execution) and is touched on every
//! change (`updated_at`, the heartbeat); an unfinished attempt silent for
//! longer than a threshold is ABANDONED (`reap_abandoned`, and `begin_attempt`
//! for the request's own earlier attempts).

use super::{Item, get_n, get_s, get_time, n, now, opt_s, opt_time, s};
use crate::error::{aws_error, code};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use gensec_core::input::text::escape_controls;
use gensec_core::ports::RequestTracker;
use gensec_core::tracking::{
    AbandonedAttempt, Attempt, AttemptChange, Liveness, NewAttempt, RequestRecord, RequestState,
    Runner, StatusUpdate, abandonment, no_attempt,
};
use gensec_core::{Error, Result};

/// The `recent-index` GSI name.
pub const RECENT_INDEX: &str = "recent-index";
const REQUEST: &str = "request";

#[derive(Debug, Clone)]
pub struct DynamoRequestTracker {
    client: Client,
    table: String,
    /// How long an unfinished attempt may stay silent before a new attempt
    /// of its request counts it as abandoned.
    stale_after: chrono::Duration,
}

fn attempt_record(attempt: u32) -> String {
    format!("attempt#{attempt:06}")
}

fn state(item: &Item, table: &str) -> Result<RequestState> {
    let text = get_s(item, table, "state")?;
    RequestState::parse(text)
        .ok_or_else(|| Error::Fatal(format!("DynamoDB table {table}: unknown state {text:?}")))
}

impl DynamoRequestTracker {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            stale_after: chrono::Duration::minutes(
                gensec_core::tracking::DEFAULT_STALE_AFTER_MINUTES,
            ),
        }
    }

    /// How long an unfinished attempt may stay silent before a new attempt of
    /// its request counts it as abandoned (default
    /// [`DEFAULT_STALE_AFTER_MINUTES`](gensec_core::tracking::DEFAULT_STALE_AFTER_MINUTES)).
    #[must_use]
    pub fn with_stale_after(mut self, stale_after: chrono::Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    /// Every item of one request (consistent read).
    async fn items(&self, request_id: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("request_id = :id")
            .expression_attribute_values(":id", s(request_id))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|err| aws_error(format!("reading request {request_id}"), err))?;
            items.extend(page.items().iter().cloned());
        }
        Ok(items)
    }

    /// Mark the dead unfinished attempts of one request ABANDONED. Only a
    /// stale heartbeat counts here: no process of this machine runs them. An
    /// attempt whose heartbeat moved since it was read is left alone.
    async fn reap_request(
        &self,
        request_id: &str,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<Vec<AbandonedAttempt>> {
        let Some(record) = self.record(&self.items(request_id).await?)? else {
            return Ok(Vec::new());
        };
        let newest = record.latest().map(|a| a.attempt);
        let mut reaped = Vec::new();
        for attempt in &record.attempts {
            let Some(reason) = abandonment(attempt, now, stale_after, |_| Liveness::Unknown) else {
                continue;
            };
            if self
                .abandon(
                    request_id,
                    attempt,
                    &reason,
                    newest == Some(attempt.attempt),
                )
                .await?
            {
                reaped.push(AbandonedAttempt {
                    request_id: request_id.to_string(),
                    attempt: attempt.attempt,
                    stage: attempt.stage.clone(),
                    reason,
                });
            }
        }
        Ok(reaped)
    }

    /// Mark one attempt ABANDONED if it is as it was read; `false` when it
    /// moved meanwhile.
    async fn abandon(
        &self,
        request_id: &str,
        attempt: &Attempt,
        reason: &str,
        newest: bool,
    ) -> Result<bool> {
        let at = now();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("request_id", s(request_id))
            .key("record", s(attempt_record(attempt.attempt)))
            .update_expression(
                "SET #state = :abandoned, #error = :reason, updated_at = :at, finished_at = :at",
            )
            .condition_expression("#state = :state AND updated_at = :seen")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":abandoned", s(RequestState::Abandoned.as_str()))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":at", s(&at))
            .expression_attribute_values(":state", s(attempt.state.as_str()))
            .expression_attribute_values(":seen", s(super::timestamp(attempt.updated_at)))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err) if code(&err) == Some("ConditionalCheckFailedException") => return Ok(false),
            Err(err) => {
                return Err(aws_error(
                    format!("abandoning attempt {} of {request_id}", attempt.attempt),
                    err,
                ));
            }
        }
        if newest {
            // Only while no newer attempt has started meanwhile.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("request_id", s(request_id))
                .key("record", s(REQUEST))
                .update_expression("SET #state = :abandoned, updated_at = :at")
                .condition_expression("attempts = :attempt")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":abandoned", s(RequestState::Abandoned.as_str()))
                .expression_attribute_values(":at", s(&at))
                .expression_attribute_values(":attempt", n(attempt.attempt))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(err) if code(&err) == Some("ConditionalCheckFailedException") => {}
                Err(err) => {
                    return Err(aws_error(format!("updating request {request_id}"), err));
                }
            }
        }
        Ok(true)
    }

    /// Set attributes of an existing attempt (`:at` is now); no such attempt
    /// is an input error.
    async fn touch_attempt(
        &self,
        request_id: &str,
        attempt: u32,
        expression: &str,
        values: &[(&str, String)],
    ) -> Result<()> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("request_id", s(request_id))
            .key("record", s(attempt_record(attempt)))
            .update_expression(expression)
            .condition_expression("attribute_exists(request_id)")
            .expression_attribute_values(":at", s(now()));
        for (name, value) in values {
            request = request.expression_attribute_values(*name, s(value));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) if code(&err) == Some("ConditionalCheckFailedException") => {
                Err(no_attempt(request_id, attempt))
            }
            Err(err) => Err(aws_error(
                format!("updating attempt {attempt} of {request_id}"),
                err,
            )),
        }
    }

    /// The request record follows its attempt: the state, when, and where
    /// the output went (when the update says).
    async fn set_request_state(
        &self,
        request_id: &str,
        state: RequestState,
        at: &str,
        prefix: Option<&str>,
    ) -> Result<()> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("request_id", s(request_id))
            .key("record", s(REQUEST))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":state", s(state.as_str()))
            .expression_attribute_values(":at", s(at));
        let mut expression = String::from("SET #state = :state, updated_at = :at");
        if let Some(prefix) = prefix {
            expression.push_str(", output_prefix = :prefix");
            request = request.expression_attribute_values(":prefix", s(prefix));
        }
        request
            .update_expression(expression)
            .send()
            .await
            .map_err(|err| aws_error(format!("updating request {request_id}"), err))?;
        Ok(())
    }

    /// Usage is kept on the attempt; the request's state does not change.
    async fn record_llm_usage(
        &self,
        request_id: &str,
        attempt: u32,
        usage: &gensec_core::llm::LlmUsage,
    ) -> Result<()> {
        let json = serde_json::to_string(usage)
            .map_err(|err| Error::Fatal(format!("serialising LLM usage: {err}")))?;
        self.touch_attempt(
            request_id,
            attempt,
            "SET llm_usage = :usage, updated_at = :at",
            &[(":usage", json)],
        )
        .await
    }

    fn record(&self, items: &[Item]) -> Result<Option<RequestRecord>> {
        let table = self.table.as_str();
        let Some(request) = items
            .iter()
            .find(|item| opt_s(item, "record") == Some(REQUEST))
        else {
            return Ok(None);
        };
        let mut attempts = items
            .iter()
            .filter(|item| opt_s(item, "record").is_some_and(|r| r.starts_with("attempt#")))
            .map(|item| {
                Ok(Attempt {
                    attempt: get_n(item, table, "attempt")?,
                    state: state(item, table)?,
                    stage: opt_s(item, "stage").map(str::to_string),
                    error: opt_s(item, "error").map(str::to_string),
                    started_at: get_time(item, table, "started_at")?,
                    updated_at: get_time(item, table, "updated_at")?,
                    finished_at: opt_time(item, "finished_at"),
                    llm_usage: opt_s(item, "llm_usage")
                        .and_then(|json| serde_json::from_str(json).ok()),
                    runner: opt_s(item, "runner").and_then(|json| serde_json::from_str(json).ok()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        attempts.sort_by_key(|attempt| attempt.attempt);
        Ok(Some(RequestRecord {
            request_id: get_s(request, table, "request_id")?.to_string(),
            service_id: get_s(request, table, "service_id")?.to_string(),
            service_name: get_s(request, table, "service_name")?.to_string(),
            profile_id: get_s(request, table, "profile_id")?.to_string(),
            requester: get_s(request, table, "requester")?.to_string(),
            requested_at: get_time(request, table, "requested_at")?,
            state: state(request, table)?,
            output_prefix: opt_s(request, "output_prefix").map(str::to_string),
            attempts,
        }))
    }
}

#[async_trait]
impl RequestTracker for DynamoRequestTracker {
    async fn begin_attempt(&self, new: NewAttempt<'_>) -> Result<u32> {
        new.check()?;
        // A retry after a crash: the earlier attempt fell silent.
        self.reap_request(new.request_id, Utc::now(), self.stale_after)
            .await?;
        let at = now();
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("request_id", s(new.request_id))
            .key("record", s(REQUEST))
            .update_expression(
                "SET service_id = :service_id, service_name = :service_name, \
                 profile_id = :profile_id, requester = if_not_exists(requester, :requester), \
                 requested_at = if_not_exists(requested_at, :requested_at), #state = :received, \
                 item_type = :item_type, created_at = if_not_exists(created_at, :at), \
                 updated_at = :at ADD attempts :one",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":service_id", s(new.service_id))
            .expression_attribute_values(":service_name", s(new.service_name))
            .expression_attribute_values(":profile_id", s(new.profile_id))
            .expression_attribute_values(":requester", s(new.requester))
            .expression_attribute_values(":requested_at", s(super::timestamp(new.requested_at)))
            .expression_attribute_values(":received", s(RequestState::Received.as_str()))
            .expression_attribute_values(":item_type", s(REQUEST))
            .expression_attribute_values(":at", s(&at))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| aws_error(format!("recording request {}", new.request_id), err))?;
        let attempt: u32 = output
            .attributes()
            .map(|item| get_n(item, &self.table, "attempts"))
            .transpose()?
            .ok_or_else(|| Error::Fatal("DynamoDB returned no attempt counter".into()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("request_id", s(new.request_id))
            .item("record", s(attempt_record(attempt)))
            .item("attempt", n(attempt))
            .item("state", s(RequestState::Received.as_str()))
            .item("started_at", s(&at))
            .item("updated_at", s(&at))
            .condition_expression("attribute_not_exists(request_id)")
            .send()
            .await
            .map_err(|err| {
                aws_error(
                    format!("recording attempt {attempt} of {}", new.request_id),
                    err,
                )
            })?;
        Ok(attempt)
    }

    async fn update(&self, request_id: &str, attempt: u32, update: StatusUpdate) -> Result<()> {
        let at = now();
        let AttemptChange {
            state,
            stage,
            error,
            finished,
            output_prefix: prefix,
        } = match (&update, update.attempt_change()) {
            (StatusUpdate::LlmUsage { usage }, _) => {
                return self.record_llm_usage(request_id, attempt, usage).await;
            }
            (_, Some(change)) => change,
            (_, None) => return Ok(()),
        };
        let mut sets = vec!["#state = :state", "updated_at = :at"];
        let mut removes = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("request_id", s(request_id))
            .key("record", s(attempt_record(attempt)))
            .condition_expression("attribute_exists(request_id)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":state", s(state.as_str()))
            .expression_attribute_values(":at", s(&at));
        if let Some(stage) = stage {
            sets.push("stage = :stage");
            request = request.expression_attribute_values(":stage", s(stage));
        }
        match error {
            Some(error) => {
                sets.push("#error = :error");
                request = request
                    .expression_attribute_names("#error", "error")
                    .expression_attribute_values(":error", s(escape_controls(error)));
            }
            None => {
                removes.push("#error");
                request = request.expression_attribute_names("#error", "error");
            }
        }
        if finished {
            sets.push("finished_at = :at");
        } else {
            removes.push("finished_at");
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match request.update_expression(expression).send().await {
            Ok(_) => {}
            Err(err) if code(&err) == Some("ConditionalCheckFailedException") => {
                return Err(no_attempt(request_id, attempt));
            }
            Err(err) => {
                return Err(aws_error(
                    format!("updating attempt {attempt} of {request_id}"),
                    err,
                ));
            }
        }
        self.set_request_state(request_id, state, &at, prefix).await
    }

    async fn request(&self, request_id: &str) -> Result<Option<RequestRecord>> {
        self.record(&self.items(request_id).await?)
    }

    async fn recent_requests(&self, limit: usize) -> Result<Vec<RequestRecord>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(RECENT_INDEX)
            .key_condition_expression("item_type = :request")
            .expression_attribute_values(":request", s(REQUEST))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
            .send()
            .await
            .map_err(|err| aws_error(format!("listing recent requests in {}", self.table), err))?;
        let mut records = Vec::new();
        for item in output.items().iter().take(limit) {
            if let Some(record) = self
                .request(get_s(item, &self.table, "request_id")?)
                .await?
            {
                records.push(record);
            }
        }
        Ok(records)
    }

    async fn set_runner(&self, request_id: &str, attempt: u32, runner: &Runner) -> Result<()> {
        let json = serde_json::to_string(runner)
            .map_err(|err| Error::Fatal(format!("serialising the runner: {err}")))?;
        self.touch_attempt(
            request_id,
            attempt,
            "SET runner = :runner, updated_at = :at",
            &[(":runner", json)],
        )
        .await
    }

    async fn heartbeat(&self, request_id: &str, attempt: u32) -> Result<()> {
        self.touch_attempt(request_id, attempt, "SET updated_at = :at", &[])
            .await
    }

    /// Requests whose item is older than the threshold and unfinished are
    /// read from `recent-index` (its sort key is the request's `updated_at`);
    /// each one's attempts are then checked.
    async fn reap_abandoned(
        &self,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<Vec<AbandonedAttempt>> {
        let cutoff = super::timestamp(now - stale_after);
        let mut ids = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(RECENT_INDEX)
            .key_condition_expression("item_type = :request AND updated_at < :cutoff")
            .filter_expression("#state IN (:received, :running)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":request", s(REQUEST))
            .expression_attribute_values(":cutoff", s(cutoff))
            .expression_attribute_values(":received", s(RequestState::Received.as_str()))
            .expression_attribute_values(":running", s(RequestState::Running.as_str()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                aws_error(format!("listing silent requests in {}", self.table), err)
            })?;
            for item in page.items() {
                ids.push(get_s(item, &self.table, "request_id")?.to_string());
            }
        }
        let mut reaped = Vec::new();
        for id in ids {
            reaped.extend(self.reap_request(&id, now, stale_after).await?);
        }
        Ok(reaped)
    }
}
