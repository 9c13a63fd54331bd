//! [`RequestTracker`] on SQLite: a `requests` row per request id and a
//! `request_attempts` row per run, with the runner (this process) and the
//! heartbeat (`updated_at`) that tell a dead attempt from a live one.

use super::{SqliteDb, now, parse_time};
use crate::process::{liveness, this_process};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gensec_core::input::text::escape_controls;
use gensec_core::ports::RequestTracker;
use gensec_core::tracking::{
    AbandonedAttempt, Attempt, AttemptChange, NewAttempt, RequestRecord, RequestState, Runner,
    StatusUpdate, abandonment, no_attempt,
};
use gensec_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Row, params};

const ATTEMPT_COLUMNS: &str = "request_id, attempt, state, stage, error, started_at, updated_at, \
                               finished_at, llm_usage, runner";

/// One attempt row (selected with [`ATTEMPT_COLUMNS`]) and its request id.
fn attempt_row(location: &str, row: &Row<'_>) -> rusqlite::Result<Result<(String, Attempt)>> {
    let request_id: String = row.get(0)?;
    let state: String = row.get(2)?;
    let started_at: String = row.get(5)?;
    let updated_at: String = row.get(6)?;
    let finished_at: Option<String> = row.get(7)?;
    let llm_usage: Option<String> = row.get(8)?;
    let runner: Option<String> = row.get(9)?;
    let (attempt, stage, error) = (row.get(1)?, row.get(3)?, row.get(4)?);
    let build = || -> Result<Attempt> {
        Ok(Attempt {
            attempt,
            state: RequestState::parse(&state).ok_or_else(|| {
                Error::Fatal(format!("database {location}: unknown state {state:?}"))
            })?,
            stage,
            error,
            started_at: parse_time(location, &started_at)?,
            updated_at: parse_time(location, &updated_at)?,
            finished_at: finished_at
                .as_deref()
                .map(|t| parse_time(location, t))
                .transpose()?,
            // A record this build cannot read is left out rather than failing the listing.
            llm_usage: llm_usage.and_then(|json| serde_json::from_str(&json).ok()),
            runner: runner.and_then(|json| serde_json::from_str(&json).ok()),
        })
    };
    Ok(build().map(|attempt| (request_id, attempt)))
}

impl SqliteDb {
    fn attempts(&self, conn: &Connection, request_id: &str) -> Result<Vec<Attempt>> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM request_attempts WHERE request_id = ?1 ORDER BY attempt"
        );
        let rows: Vec<Result<(String, Attempt)>> = conn
            .prepare(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map([request_id], |row| attempt_row(&self.location, row))?
                    .collect()
            })
            .map_err(self.err())?;
        rows.into_iter()
            .map(|row| row.map(|(_, attempt)| attempt))
            .collect()
    }

    fn record(&self, conn: &Connection, request_id: &str) -> Result<Option<RequestRecord>> {
        let row = conn
            .query_row(
                "SELECT service_id, service_name, profile_id, requester, requested_at, state, output_prefix
                 FROM requests WHERE request_id = ?1",
                [request_id],
                |row| {
                    Ok((
                        [
                            row.get::<_, String>(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                        ],
                        row.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(self.err())?;
        let Some((
            [
                service_id,
                service_name,
                profile_id,
                requester,
                requested_at,
                state,
            ],
            output_prefix,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(RequestRecord {
            request_id: request_id.to_string(),
            service_id,
            service_name,
            profile_id,
            requester,
            requested_at: parse_time(&self.location, &requested_at)?,
            state: RequestState::parse(&state).ok_or_else(|| {
                Error::Fatal(format!(
                    "database {}: unknown state {state:?}",
                    self.location
                ))
            })?,
            output_prefix,
            attempts: self.attempts(conn, request_id)?,
        }))
    }

    /// Unfinished attempts (of one request, or all) that are dead at `now`,
    /// marked ABANDONED in the caller's transaction. An attempt whose
    /// heartbeat moved since it was read is left alone.
    fn reap(
        &self,
        tx: &Connection,
        request_id: Option<&str>,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<Vec<AbandonedAttempt>> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM request_attempts
             WHERE state IN ('RECEIVED', 'RUNNING') AND (?1 IS NULL OR request_id = ?1)
             ORDER BY request_id, attempt"
        );
        let rows: Vec<Result<(String, Attempt)>> = tx
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map([request_id], |row| attempt_row(&self.location, row))?
                    .collect()
            })
            .map_err(self.err())?;
        let mut reaped = Vec::new();
        let at = now.to_rfc3339();
        for row in rows {
            let (request_id, attempt) = row?;
            let Some(reason) = abandonment(&attempt, now, stale_after, liveness) else {
                continue;
            };
            tx.execute(
                "UPDATE request_attempts SET state = 'ABANDONED', error = ?3, updated_at = ?4,
                        finished_at = ?4
                 WHERE request_id = ?1 AND attempt = ?2 AND state IN ('RECEIVED', 'RUNNING')",
                params![request_id, attempt.attempt, reason, at],
            )
            .map_err(self.err())?;
            // The request shows its newest attempt's state.
            tx.execute(
                "UPDATE requests SET state = 'ABANDONED', updated_at = ?3
                 WHERE request_id = ?1
                   AND ?2 = (SELECT MAX(attempt) FROM request_attempts WHERE request_id = ?1)",
                params![request_id, attempt.attempt, at],
            )
            .map_err(self.err())?;
            reaped.push(AbandonedAttempt {
                request_id,
                attempt: attempt.attempt,
                stage: attempt.stage,
                reason,
            });
        }
        Ok(reaped)
    }

    fn record_llm_usage(
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
            "UPDATE request_attempts SET llm_usage = ?3, updated_at = ?4
             WHERE request_id = ?1 AND attempt = ?2",
            &json,
        )
    }

    /// Run an update of one attempt (`?1` request, `?2` attempt, `?3` value,
    /// `?4` now); no such attempt is an input error.
    fn touch_attempt(&self, request_id: &str, attempt: u32, sql: &str, value: &str) -> Result<()> {
        let changed = self.write(|tx| {
            tx.execute(sql, params![request_id, attempt, value, now()])
                .map_err(self.err())
        })?;
        if changed == 0 {
            return Err(no_attempt(request_id, attempt));
        }
        Ok(())
    }
}

#[async_trait]
impl RequestTracker for SqliteDb {
    async fn begin_attempt(&self, new: NewAttempt<'_>) -> Result<u32> {
        new.check()?;
        let runner = serde_json::to_string(&this_process())
            .map_err(|err| Error::Fatal(format!("serialising the runner: {err}")))?;
        self.write(|tx| {
            let now_time = Utc::now();
            // A retry after a crash: the earlier attempt's process is gone.
            self.reap(tx, Some(new.request_id), now_time, self.stale_after)?;
            let now = now_time.to_rfc3339();
            tx.execute(
                "INSERT INTO requests (request_id, service_id, service_name, profile_id, requester,
                                       requested_at, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'RECEIVED', ?7, ?7)
                 ON CONFLICT(request_id) DO UPDATE SET
                    service_id = excluded.service_id, service_name = excluded.service_name,
                    profile_id = excluded.profile_id, state = 'RECEIVED', updated_at = excluded.updated_at",
                params![
                    new.request_id,
                    new.service_id,
                    new.service_name,
                    new.profile_id,
                    new.requester,
                    new.requested_at.to_rfc3339(),
                    now
                ],
            )
            .map_err(self.err())?;
            let attempt: u32 = tx
                .query_row(
                    "SELECT COALESCE(MAX(attempt), 0) + 1 FROM request_attempts WHERE request_id = ?1",
                    [new.request_id],
                    |row| row.get(0),
                )
                .map_err(self.err())?;
            tx.execute(
                "INSERT INTO request_attempts (request_id, attempt, state, started_at, updated_at, runner)
                 VALUES (?1, ?2, 'RECEIVED', ?3, ?3, ?4)",
                params![new.request_id, attempt, now, runner],
            )
            .map_err(self.err())?;
            Ok(attempt)
        })
    }

    async fn update(&self, request_id: &str, attempt: u32, update: StatusUpdate) -> Result<()> {
        let change = match (&update, update.attempt_change()) {
            (StatusUpdate::LlmUsage { usage }, _) => {
                return self.record_llm_usage(request_id, attempt, usage);
            }
            (_, Some(change)) => change,
            (_, None) => return Ok(()),
        };
        let AttemptChange {
            state,
            stage,
            error,
            finished,
            output_prefix: prefix,
        } = change;
        let error = error.map(escape_controls);
        let now = now();
        let finished = finished.then_some(now.as_str());
        // Entering a stage is a progress mark; every state an attempt ends in
        // (and its start, in begin_attempt) is synced as it is written.
        let progress = matches!(update, StatusUpdate::Running { .. });
        let write = |tx: &rusqlite::Transaction<'_>| {
            // Cached: a run updates its attempt at every stage.
            let changed = tx
                .prepare_cached(
                    "UPDATE request_attempts SET state = ?3, stage = COALESCE(?4, stage), error = ?5,
                            updated_at = ?6, finished_at = ?7
                     WHERE request_id = ?1 AND attempt = ?2",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        request_id,
                        attempt,
                        state.as_str(),
                        stage,
                        error.as_deref(),
                        now,
                        finished
                    ])
                })
                .map_err(self.err())?;
            if changed == 0 {
                return Err(no_attempt(request_id, attempt));
            }
            tx.prepare_cached(
                "UPDATE requests SET state = ?2, updated_at = ?3, output_prefix = COALESCE(?4, output_prefix)
                 WHERE request_id = ?1",
            )
            .and_then(|mut statement| {
                statement.execute(params![request_id, state.as_str(), now, prefix])
            })
            .map_err(self.err())?;
            Ok(())
        };
        if progress {
            self.write_progress(write)
        } else {
            self.write(write)
        }
    }

    async fn request(&self, request_id: &str) -> Result<Option<RequestRecord>> {
        let conn = self.conn()?;
        self.record(&conn, request_id)
    }

    async fn recent_requests(&self, limit: usize) -> Result<Vec<RequestRecord>> {
        let conn = self.conn()?;
        let ids: Vec<String> = conn
            .prepare(
                "SELECT request_id FROM requests ORDER BY updated_at DESC, request_id LIMIT ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| row.get(0))?
                    .collect()
            })
            .map_err(self.err())?;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(self.record(&conn, &id)?);
        }
        Ok(records)
    }

    async fn set_runner(&self, request_id: &str, attempt: u32, runner: &Runner) -> Result<()> {
        let json = serde_json::to_string(runner)
            .map_err(|err| Error::Fatal(format!("serialising the runner: {err}")))?;
        self.touch_attempt(
            request_id,
            attempt,
            "UPDATE request_attempts SET runner = ?3, updated_at = ?4
             WHERE request_id = ?1 AND attempt = ?2",
            &json,
        )
    }

    async fn heartbeat(&self, request_id: &str, attempt: u32) -> Result<()> {
        let changed = self.write(|tx| {
            tx.execute(
                "UPDATE request_attempts SET updated_at = ?3 WHERE request_id = ?1 AND attempt = ?2",
                params![request_id, attempt, now()],
            )
            .map_err(self.err())
        })?;
        if changed == 0 {
            return Err(no_attempt(request_id, attempt));
        }
        Ok(())
    }

    async fn reap_abandoned(
        &self,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<Vec<AbandonedAttempt>> {
        self.write(|tx| self.reap(tx, None, now, stale_after))
    }
}
