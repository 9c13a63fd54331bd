//! One SQLite file for the Security Control Library, request tracking and the
//! remediation finding state.
//!
//! Several processes may use one file at once (`gensec run` in parallel,
//! eight `gensec remediate`s from a cron job): the file is in WAL mode, every
//! connection waits up to [`BUSY_TIMEOUT`] for a lock, every transaction that
//! writes takes the write lock when it starts (`BEGIN IMMEDIATE`, so a read
//! never has to be upgraded, which SQLite refuses at once with "database is
//! locked"), and migrations run under that lock, re-reading the schema
//! version once they hold it, so concurrent first opens all succeed.

mod decisions;
mod library;
mod requests;
mod schema;

use chrono::{DateTime, Utc};
use gensec_core::{Error, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a connection waits for another one's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite-backed [`ControlLibrary`](gensec_core::ports::ControlLibrary),
/// [`RequestTracker`](gensec_core::ports::RequestTracker) and
/// [`FindingStateStore`](gensec_core::ports::FindingStateStore).
#[derive(Debug)]
pub struct SqliteDb {
    conn: Mutex<Connection>,
    pub(crate) location: String,
    /// How long an unfinished attempt may stay silent before `begin_attempt`
    /// counts it as abandoned.
    stale_after: chrono::Duration,
    /// The connection's own `synchronous` level, read once at open, that a
    /// progress write restores (it changes nowhere else).
    synchronous: i64,
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

/// A stored time; a value this build cannot read is a corrupt database.
fn parse_time(location: &str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| Error::Fatal(format!("database {location}: bad time {text:?}: {err}")))
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

    /// How long an unfinished attempt may stay silent before a new attempt
    /// of its request counts it as abandoned (default
    /// [`DEFAULT_STALE_AFTER_MINUTES`](gensec_core::tracking::DEFAULT_STALE_AFTER_MINUTES)).
    #[must_use]
    pub fn with_stale_after(mut self, stale_after: chrono::Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    fn init(mut conn: Connection, location: String) -> Result<Self> {
        // The busy timeout first: switching a new file to WAL takes a lock too.
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
            .map_err(|err| db_error(&location, err))?;
        // SQLite answers "busy" at once, without its busy handler, when
        // another connection is switching the same new file to WAL or
        // recovering it; those windows are short, so wait them out here.
        while_busy(|| wal_mode(&conn)).map_err(|err| db_error(&location, err))?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        while_busy(|| migrate(&mut conn, &location))?;
        let synchronous = conn
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .map_err(|err| db_error(&location, err))?;
        Ok(Self {
            conn: Mutex::new(conn),
            location,
            synchronous,
            stale_after: chrono::Duration::minutes(
                gensec_core::tracking::DEFAULT_STALE_AFTER_MINUTES,
            ),
        })
    }

    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Fatal(format!("database {} lock poisoned", self.location)))
    }

    /// Run `work` in one transaction that holds the write lock from its
    /// start; commit when it succeeds, roll back when it fails.
    pub(crate) fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        self.in_transaction(&mut conn, work)
    }

    /// `work` in one immediate transaction on `conn`, committed when it
    /// succeeds (dropping the transaction rolls it back).
    fn in_transaction<T>(
        &self,
        conn: &mut Connection,
        work: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| db_error(&self.location, err))?;
        let out = work(&tx)?;
        tx.commit().map_err(|err| db_error(&self.location, err))?;
        Ok(out)
    }

    /// [`write`](Self::write) for a progress mark that a later write makes
    /// durable (the stage an attempt is at): committed without its own sync
    /// (`synchronous = NORMAL`, which in WAL mode keeps the database
    /// consistent and loses at most such marks on a power cut, never on a
    /// process crash). The next ordinary write syncs the log, this mark
    /// included. Every other write keeps the connection's full sync.
    pub(crate) fn write_progress<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn()?;
        // Cached statements: a run marks progress at every stage.
        let set = |conn: &Connection, sql: &str| {
            conn.prepare_cached(sql)
                .and_then(|mut statement| statement.execute([]))
                .map(|_| ())
                .map_err(|err| db_error(&self.location, err))
        };
        set(&conn, "PRAGMA synchronous = NORMAL")?;
        let out = self.in_transaction(&mut conn, work);
        // Back to the connection's own setting whatever happened.
        let restored = set(&conn, &format!("PRAGMA synchronous = {}", self.synchronous));
        let out = out?;
        restored?;
        Ok(out)
    }

    /// Map a rusqlite error to a storage error naming this database.
    pub(crate) fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        |err| db_error(&self.location, err)
    }
}

/// Switch to WAL unless the file already is (an in-memory database stays
/// in memory).
fn wal_mode(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") {
        return Ok(());
    }
    conn.pragma_update(None, "journal_mode", "WAL")
}

/// Something that may fail because the database is busy.
trait Busy {
    fn is_busy(&self) -> bool;
}

impl Busy for rusqlite::Error {
    fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

impl Busy for Error {
    fn is_busy(&self) -> bool {
        self.kind() == gensec_core::ErrorKind::Retryable
    }
}

/// Run `step` again while it fails because the database is busy, for up to
/// [`BUSY_TIMEOUT`].
fn while_busy<T, E: Busy>(
    mut step: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(5);
    loop {
        match step() {
            Err(err) if err.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Apply the migrations this file lacks. The version is read again under the
/// write lock: a process that waited for another one's migration finds it
/// done instead of creating the tables a second time.
fn migrate(conn: &mut Connection, location: &str) -> Result<()> {
    let fail = |err: rusqlite::Error| {
        let busy = err.is_busy();
        Error::storage(format!("migrating database {location}"), busy, err)
    };
    let latest = schema::MIGRATIONS.len();
    let version = |conn: &Connection| -> rusqlite::Result<usize> {
        conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
            .map(|version| usize::try_from(version).unwrap_or(usize::MAX))
    };
    if version(conn).map_err(fail)? == latest {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let current = version(&tx).map_err(fail)?;
    if current > latest {
        return Err(Error::Fatal(format!(
            "database {location} has schema version {current}; this gensec knows {latest}: upgrade gensec"
        )));
    }
    for sql in &schema::MIGRATIONS[current..] {
        tx.execute_batch(sql).map_err(fail)?;
    }
    tx.pragma_update(None, "user_version", latest as i64)
        .map_err(fail)?;
    tx.commit().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_write_commits_and_restores_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(&dir.path().join("db.sqlite")).unwrap();
        let synchronous = |db: &SqliteDb| -> i64 {
            db.conn()
                .unwrap()
                .query_row("PRAGMA synchronous", [], |row| row.get(0))
                .unwrap()
        };
        let before = synchronous(&db);
        db.write_progress(|tx| {
            tx.execute_batch("CREATE TABLE progress_probe (x INTEGER)")
                .map_err(db.err())
        })
        .unwrap();
        assert_eq!(synchronous(&db), before);
        // A failing progress write restores the setting too.
        let failed = db.write_progress(|tx| {
            tx.execute_batch("INSERT INTO no_such_table VALUES (1)")
                .map_err(db.err())
        });
        assert!(failed.is_err());
        assert_eq!(synchronous(&db), before);
        let found: i64 = db
            .conn()
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'progress_probe'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(found, 1);
    }

    #[test]
    fn a_new_database_reaches_the_latest_version_once() {
        let db = SqliteDb::in_memory().unwrap();
        let conn = db.conn().unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, schema::MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        drop(SqliteDb::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteDb::open(&path).unwrap_err();
        assert!(err.to_string().contains("upgrade gensec"), "{err}");
    }
}
