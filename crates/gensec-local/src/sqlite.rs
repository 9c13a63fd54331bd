//! One SQLite file for the Security Control Library and request tracking.
//! Schema changes are numbered migrations (`PRAGMA user_version`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gensec_core::library::{EntryStatus, LibraryEntry, StatusChange, check_version, no_entry};
use gensec_core::ports::{ControlLibrary, RequestTracker};
use gensec_core::tracking::{
    Attempt, AttemptChange, NewAttempt, RequestRecord, RequestState, StatusUpdate, no_attempt,
};
use gensec_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE requests (
        request_id    TEXT PRIMARY KEY,
        service_id    TEXT NOT NULL,
        service_name  TEXT NOT NULL,
        profile_id    TEXT NOT NULL,
        requester     TEXT NOT NULL,
        requested_at  TEXT NOT NULL,
        state         TEXT NOT NULL,
        output_prefix TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE TABLE request_attempts (
        request_id  TEXT NOT NULL REFERENCES requests(request_id),
        attempt     INTEGER NOT NULL,
        state       TEXT NOT NULL,
        stage       TEXT,
        error       TEXT,
        started_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        finished_at TEXT,
        PRIMARY KEY (request_id, attempt)
    );
    CREATE INDEX requests_by_update ON requests(updated_at);
    CREATE TABLE library_entries (
        configuration_id TEXT PRIMARY KEY,
        service_id       TEXT NOT NULL,
        status           TEXT NOT NULL,
        version          INTEGER NOT NULL,
        body             TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX library_by_service ON library_entries(service_id);
    CREATE TABLE library_history (
        configuration_id TEXT NOT NULL REFERENCES library_entries(configuration_id),
        version          INTEGER NOT NULL,
        status           TEXT NOT NULL,
        actor            TEXT NOT NULL,
        note             TEXT,
        at               TEXT NOT NULL
    );",
    ),
    M::up(
        "CREATE TABLE finding_state (
        finding_id         TEXT PRIMARY KEY,
        fingerprint        TEXT NOT NULL,
        state              TEXT NOT NULL,
        finding_updated_at TEXT NOT NULL,
        notified_at        TEXT,
        updated_at         TEXT NOT NULL
    );",
    ),
    // Language model usage of an attempt, as JSON (`LlmUsage`); NULL without a model.
    M::up("ALTER TABLE request_attempts ADD COLUMN llm_usage TEXT;"),
];

/// SQLite-backed [`ControlLibrary`] and [`RequestTracker`].
#[derive(Debug)]
pub struct SqliteDb {
    conn: Mutex<Connection>,
    pub(crate) location: String,
}

pub(crate) fn db_error(location: &str, err: rusqlite::Error) -> Error {
    let retryable = matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    Error::storage(format!("database {location}"), retryable, err)
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339()
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map_or_else(|_| DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
}

fn parse_status(text: &str) -> EntryStatus {
    [
        EntryStatus::Proposed,
        EntryStatus::Approved,
        EntryStatus::Rejected,
        EntryStatus::Deprecated,
    ]
    .into_iter()
    .find(|status| status.as_str() == text)
    .unwrap_or(EntryStatus::Proposed)
}

impl SqliteDb {
    /// Open (creating if needed) and migrate a database file.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| {
                Error::storage(format!("creating {}", parent.display()), false, err)
            })?;
        }
        let location = path.display().to_string();
        let conn = Connection::open(path).map_err(|err| db_error(&location, err))?;
        Self::init(conn, location)
    }

    /// A private in-memory database (tests, dry runs).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|err| db_error(":memory:", err))?;
        Self::init(conn, ":memory:".into())
    }

    fn init(mut conn: Connection, location: String) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
            .and_then(|()| conn.busy_timeout(std::time::Duration::from_secs(5)))
            .map_err(|err| db_error(&location, err))?;
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .map_err(|err| Error::storage(format!("migrating database {location}"), false, err))?;
        Ok(Self {
            conn: Mutex::new(conn),
            location,
        })
    }

    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Fatal(format!("database {} lock poisoned", self.location)))
    }

    fn attempts(&self, conn: &Connection, request_id: &str) -> Result<Vec<Attempt>> {
        let mut statement = conn
            .prepare(
                "SELECT attempt, state, stage, error, started_at, updated_at, finished_at, llm_usage
                 FROM request_attempts WHERE request_id = ?1 ORDER BY attempt",
            )
            .map_err(|err| db_error(&self.location, err))?;
        let rows = statement
            .query_map([request_id], |row| {
                Ok(Attempt {
                    attempt: row.get(0)?,
                    state: RequestState::parse(&row.get::<_, String>(1)?)
                        .unwrap_or(RequestState::Failed),
                    stage: row.get(2)?,
                    error: row.get(3)?,
                    started_at: parse_time(&row.get::<_, String>(4)?),
                    updated_at: parse_time(&row.get::<_, String>(5)?),
                    finished_at: row.get::<_, Option<String>>(6)?.map(|t| parse_time(&t)),
                    // A record this build cannot read is left out rather than failing the listing.
                    llm_usage: row
                        .get::<_, Option<String>>(7)?
                        .and_then(|json| serde_json::from_str(&json).ok()),
                })
            })
            .map_err(|err| db_error(&self.location, err))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|err| db_error(&self.location, err))
    }

    fn record(&self, conn: &Connection, request_id: &str) -> Result<Option<RequestRecord>> {
        let row = conn
            .query_row(
                "SELECT service_id, service_name, profile_id, requester, requested_at, state, output_prefix
                 FROM requests WHERE request_id = ?1",
                [request_id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(|err| db_error(&self.location, err))?;
        let Some((
            service_id,
            service_name,
            profile_id,
            requester,
            requested_at,
            state,
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
            requested_at: parse_time(&requested_at),
            state: RequestState::parse(&state).unwrap_or(RequestState::Failed),
            output_prefix,
            attempts: self.attempts(conn, request_id)?,
        }))
    }

    fn load_entry(
        &self,
        conn: &Connection,
        configuration_id: &str,
    ) -> Result<Option<LibraryEntry>> {
        let row = conn
            .query_row(
                "SELECT body, status, version, updated_at FROM library_entries WHERE configuration_id = ?1",
                [configuration_id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, u32>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|err| db_error(&self.location, err))?;
        let Some((body, status, version, updated_at)) = row else {
            return Ok(None);
        };
        let mut entry: LibraryEntry = serde_json::from_str(&body).map_err(|err| {
            Error::Fatal(format!(
                "library entry {configuration_id} in {} is corrupt: {err}",
                self.location
            ))
        })?;
        entry.status = parse_status(&status);
        entry.version = version;
        entry.updated_at = parse_time(&updated_at);
        let mut statement = conn
            .prepare(
                "SELECT version, status, actor, note, at FROM library_history
                 WHERE configuration_id = ?1 ORDER BY version, rowid",
            )
            .map_err(|err| db_error(&self.location, err))?;
        entry.history = statement
            .query_map([configuration_id], |row| {
                Ok(StatusChange {
                    version: row.get(0)?,
                    status: parse_status(&row.get::<_, String>(1)?),
                    actor: row.get(2)?,
                    note: row.get(3)?,
                    at: parse_time(&row.get::<_, String>(4)?),
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(|err| db_error(&self.location, err))?;
        Ok(Some(entry))
    }
}

impl SqliteDb {
    fn record_llm_usage(
        &self,
        request_id: &str,
        attempt: u32,
        usage: &gensec_core::llm::LlmUsage,
    ) -> Result<()> {
        let json = serde_json::to_string(usage)
            .map_err(|err| Error::Fatal(format!("serialising LLM usage: {err}")))?;
        let conn = self.conn()?;
        let changed = conn
            .execute(
                "UPDATE request_attempts SET llm_usage = ?3, updated_at = ?4
                 WHERE request_id = ?1 AND attempt = ?2",
                params![request_id, attempt, json, now()],
            )
            .map_err(|err| db_error(&self.location, err))?;
        if changed == 0 {
            return Err(no_attempt(request_id, attempt));
        }
        Ok(())
    }
}

#[async_trait]
impl RequestTracker for SqliteDb {
    async fn begin_attempt(&self, new: NewAttempt<'_>) -> Result<u32> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(|err| db_error(&self.location, err))?;
        let now = now();
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
        .map_err(|err| db_error(&self.location, err))?;
        let attempt: u32 = tx
            .query_row(
                "SELECT COALESCE(MAX(attempt), 0) + 1 FROM request_attempts WHERE request_id = ?1",
                [new.request_id],
                |row| row.get(0),
            )
            .map_err(|err| db_error(&self.location, err))?;
        tx.execute(
            "INSERT INTO request_attempts (request_id, attempt, state, started_at, updated_at)
             VALUES (?1, ?2, 'RECEIVED', ?3, ?3)",
            params![new.request_id, attempt, now],
        )
        .map_err(|err| db_error(&self.location, err))?;
        tx.commit().map_err(|err| db_error(&self.location, err))?;
        Ok(attempt)
    }

    async fn update(&self, request_id: &str, attempt: u32, update: StatusUpdate) -> Result<()> {
        let change = match (&update, update.attempt_change()) {
            (StatusUpdate::LlmUsage { usage }, _) => {
                return self.record_llm_usage(request_id, attempt, usage);
            }
            (_, Some(change)) => change,
            (_, None) => return Ok(()),
        };
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(|err| db_error(&self.location, err))?;
        let now = now();
        let AttemptChange {
            state,
            stage,
            error,
            finished,
            output_prefix: prefix,
        } = change;
        let finished = finished.then_some(now.as_str());
        let changed = tx
            .execute(
                "UPDATE request_attempts SET state = ?3, stage = COALESCE(?4, stage), error = ?5,
                        updated_at = ?6, finished_at = ?7
                 WHERE request_id = ?1 AND attempt = ?2",
                params![
                    request_id,
                    attempt,
                    state.as_str(),
                    stage,
                    error,
                    now,
                    finished
                ],
            )
            .map_err(|err| db_error(&self.location, err))?;
        if changed == 0 {
            return Err(no_attempt(request_id, attempt));
        }
        tx.execute(
            "UPDATE requests SET state = ?2, updated_at = ?3, output_prefix = COALESCE(?4, output_prefix)
             WHERE request_id = ?1",
            params![request_id, state.as_str(), now, prefix],
        )
        .map_err(|err| db_error(&self.location, err))?;
        tx.commit().map_err(|err| db_error(&self.location, err))
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
                    .query_map([limit as i64], |row| row.get(0))?
                    .collect()
            })
            .map_err(|err| db_error(&self.location, err))?;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(self.record(&conn, &id)?);
        }
        Ok(records)
    }
}

#[async_trait]
impl ControlLibrary for SqliteDb {
    async fn upsert(&self, entry: &LibraryEntry) -> Result<LibraryEntry> {
        let content = entry.content();
        {
            let mut conn = self.conn()?;
            let existing = self.load_entry(&conn, &entry.configuration_id)?;
            if let Some(existing) = &existing
                && existing.content() == content
            {
                return Ok(existing.clone());
            }
            let version = existing.as_ref().map_or(1, |e| e.version + 1);
            let mut stored = entry.clone();
            stored.history.clear();
            let body = serde_json::to_string(&stored)
                .map_err(|err| Error::Fatal(format!("serialising library entry: {err}")))?;
            let now = now();
            let tx = conn
                .transaction()
                .map_err(|err| db_error(&self.location, err))?;
            tx.execute(
                "INSERT INTO library_entries (configuration_id, service_id, status, version, body, updated_at)
                 VALUES (?1, ?2, 'PROPOSED', ?3, ?4, ?5)
                 ON CONFLICT(configuration_id) DO UPDATE SET service_id = excluded.service_id,
                    status = 'PROPOSED', version = excluded.version, body = excluded.body,
                    updated_at = excluded.updated_at",
                params![entry.configuration_id, entry.service_id, version, body, now],
            )
            .map_err(|err| db_error(&self.location, err))?;
            let note = if existing.is_some() {
                "content changed"
            } else {
                "generated"
            };
            tx.execute(
                "INSERT INTO library_history (configuration_id, version, status, actor, note, at)
                 VALUES (?1, ?2, 'PROPOSED', 'gensec', ?3, ?4)",
                params![entry.configuration_id, version, note, now],
            )
            .map_err(|err| db_error(&self.location, err))?;
            tx.commit().map_err(|err| db_error(&self.location, err))?;
        }
        let conn = self.conn()?;
        self.load_entry(&conn, &entry.configuration_id)?
            .ok_or_else(|| {
                Error::Fatal(format!("{} vanished after upsert", entry.configuration_id))
            })
    }

    async fn entry(&self, configuration_id: &str) -> Result<Option<LibraryEntry>> {
        let conn = self.conn()?;
        self.load_entry(&conn, configuration_id)
    }

    async fn entries(&self, service_id: Option<&str>) -> Result<Vec<LibraryEntry>> {
        let conn = self.conn()?;
        let ids: Vec<String> = conn
            .prepare(
                "SELECT configuration_id FROM library_entries
                 WHERE ?1 IS NULL OR service_id = ?1 ORDER BY configuration_id",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([service_id], |row| row.get(0))?
                    .collect()
            })
            .map_err(|err| db_error(&self.location, err))?;
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            entries.extend(self.load_entry(&conn, &id)?);
        }
        Ok(entries)
    }

    async fn set_status(
        &self,
        configuration_id: &str,
        status: EntryStatus,
        actor: &str,
        note: Option<&str>,
        expected_version: Option<u32>,
    ) -> Result<LibraryEntry> {
        {
            let mut conn = self.conn()?;
            let current = self
                .load_entry(&conn, configuration_id)?
                .ok_or_else(|| no_entry(configuration_id))?;
            check_version(&current, expected_version)?;
            let version = current.version + 1;
            let now = now();
            let tx = conn
                .transaction()
                .map_err(|err| db_error(&self.location, err))?;
            // The version guard makes a concurrent decision fail instead of overwriting.
            let changed = tx
                .execute(
                    "UPDATE library_entries SET status = ?2, version = ?3, updated_at = ?4
                     WHERE configuration_id = ?1 AND version = ?5",
                    params![
                        configuration_id,
                        status.as_str(),
                        version,
                        now,
                        current.version
                    ],
                )
                .map_err(|err| db_error(&self.location, err))?;
            if changed == 0 {
                return Err(Error::Storage {
                    what: format!("control library entry {configuration_id}"),
                    message: "changed concurrently; retry".into(),
                    retryable: true,
                    source: None,
                });
            }
            tx.execute(
                "INSERT INTO library_history (configuration_id, version, status, actor, note, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![configuration_id, version, status.as_str(), actor, note, now],
            )
            .map_err(|err| db_error(&self.location, err))?;
            tx.commit().map_err(|err| db_error(&self.location, err))?;
        }
        let conn = self.conn()?;
        self.load_entry(&conn, configuration_id)?
            .ok_or_else(|| Error::Fatal(format!("{configuration_id} vanished after status change")))
    }
}
