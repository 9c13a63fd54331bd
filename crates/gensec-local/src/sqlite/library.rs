//! [`ControlLibrary`] on SQLite: `library_entries` keyed by (configuration
//! id, profile id) with the entry as a JSON body, `library_history` with one
//! row per version (its primary key makes a duplicate impossible), and
//! `service_decisions` (see the `decisions` module).

use super::{SqliteDb, now, parse_time};
use async_trait::async_trait;
use gensec_core::library::{
    EntryStatus, LibraryEntry, NewDecision, ServiceDecision, StatusChange, check_decider,
    check_version, no_entry,
};
use gensec_core::ports::ControlLibrary;
use gensec_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

fn parse_status(location: &str, text: &str) -> Result<EntryStatus> {
    EntryStatus::parse(text)
        .ok_or_else(|| Error::Fatal(format!("database {location}: unknown status {text:?}")))
}

impl SqliteDb {
    fn load_entry(
        &self,
        conn: &Connection,
        configuration_id: &str,
        profile_id: &str,
    ) -> Result<Option<LibraryEntry>> {
        // Cached statements here and below: a run stores every control's
        // entry, and preparing each statement anew was most of the work.
        let row = conn
            .prepare_cached(
                "SELECT body, status, version, updated_at FROM library_entries
                 WHERE configuration_id = ?1 AND profile_id = ?2",
            )
            .and_then(|mut statement| {
                statement.query_row([configuration_id, profile_id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, u32>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })
            })
            .optional()
            .map_err(self.err())?;
        let Some((body, status, version, updated_at)) = row else {
            return Ok(None);
        };
        let mut entry: LibraryEntry = serde_json::from_str(&body).map_err(|err| {
            Error::Fatal(format!(
                "library entry {configuration_id} ({profile_id}) in {} is corrupt: {err}",
                self.location
            ))
        })?;
        // The key columns are the truth (bodies stored before profiles were
        // part of the key have none).
        entry.profile_id = profile_id.to_string();
        entry.status = parse_status(&self.location, &status)?;
        entry.version = version;
        entry.updated_at = parse_time(&self.location, &updated_at)?;
        let rows: Vec<(u32, String, String, Option<String>, String)> = conn
            .prepare_cached(
                "SELECT version, status, actor, note, at FROM library_history
                 WHERE configuration_id = ?1 AND profile_id = ?2 ORDER BY version",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([configuration_id, profile_id], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                        ))
                    })?
                    .collect()
            })
            .map_err(self.err())?;
        entry.history = rows
            .into_iter()
            .map(|(version, status, actor, note, at)| {
                Ok(StatusChange {
                    version,
                    status: parse_status(&self.location, &status)?,
                    actor,
                    note,
                    at: parse_time(&self.location, &at)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Some(entry))
    }

    /// Entries whose keys a query returns, loaded in the query's order.
    fn load_entries(
        &self,
        conn: &Connection,
        sql: &str,
        param: Option<&str>,
    ) -> Result<Vec<LibraryEntry>> {
        let keys: Vec<(String, String)> = conn
            .prepare(sql)
            .and_then(|mut statement| {
                statement
                    .query_map([param], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(self.err())?;
        let mut entries = Vec::with_capacity(keys.len());
        for (id, profile) in keys {
            entries.extend(self.load_entry(conn, &id, &profile)?);
        }
        Ok(entries)
    }

    /// Insert a history row; the primary key refuses a second row for a version.
    fn add_history(
        &self,
        tx: &Connection,
        entry: (&str, &str),
        change: (u32, EntryStatus, &str, Option<&str>),
        at: &str,
    ) -> Result<()> {
        let (configuration_id, profile_id) = entry;
        let (version, status, actor, note) = change;
        tx.prepare_cached(
            "INSERT INTO library_history (configuration_id, profile_id, version, status, actor, note, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                configuration_id,
                profile_id,
                version,
                status.as_str(),
                actor,
                note,
                at
            ])
        })
        .map_err(self.err())?;
        Ok(())
    }

    /// Insert or update one entry in the caller's write transaction.
    fn upsert_in(&self, tx: &Connection, entry: &LibraryEntry) -> Result<()> {
        let content = entry.content();
        let (id, profile) = (entry.configuration_id.as_str(), entry.profile_id.as_str());
        let existing = self.load_entry(tx, id, profile)?;
        if existing.as_ref().is_some_and(|e| e.content() == content) {
            return Ok(());
        }
        let version = existing.as_ref().map_or(1, |e| e.version + 1);
        let mut stored = entry.clone();
        stored.history.clear();
        let body = serde_json::to_string(&stored)
            .map_err(|err| Error::Fatal(format!("serialising library entry: {err}")))?;
        let now = now();
        tx.prepare_cached(
            "INSERT INTO library_entries (configuration_id, profile_id, service_id, status, version, body, updated_at)
             VALUES (?1, ?2, ?3, 'PROPOSED', ?4, ?5, ?6)
             ON CONFLICT(configuration_id, profile_id) DO UPDATE SET service_id = excluded.service_id,
                status = 'PROPOSED', version = excluded.version, body = excluded.body,
                updated_at = excluded.updated_at",
        )
        .and_then(|mut statement| {
            statement.execute(params![id, profile, entry.service_id, version, body, now])
        })
        .map_err(self.err())?;
        let note = if existing.is_some() {
            "content changed"
        } else {
            "generated"
        };
        self.add_history(
            tx,
            (id, profile),
            (version, EntryStatus::Proposed, "gensec", Some(note)),
            &now,
        )
    }

    fn reload(&self, configuration_id: &str, profile_id: &str) -> Result<LibraryEntry> {
        let conn = self.conn()?;
        self.load_entry(&conn, configuration_id, profile_id)?
            .ok_or_else(|| no_entry(configuration_id, profile_id))
    }
}

#[async_trait]
impl ControlLibrary for SqliteDb {
    async fn upsert(&self, entry: &LibraryEntry) -> Result<LibraryEntry> {
        // Read and write under one write lock: a concurrent run with the same
        // content finds this one's row and changes nothing.
        self.write(|tx| self.upsert_in(tx, entry))?;
        self.reload(&entry.configuration_id, &entry.profile_id)
    }

    async fn upsert_all(&self, entries: &[LibraryEntry]) -> Result<()> {
        // One transaction (one commit, one sync) for a run's entries.
        self.write(|tx| {
            entries
                .iter()
                .try_for_each(|entry| self.upsert_in(tx, entry))
        })
    }

    async fn entry(
        &self,
        configuration_id: &str,
        profile_id: &str,
    ) -> Result<Option<LibraryEntry>> {
        let conn = self.conn()?;
        self.load_entry(&conn, configuration_id, profile_id)
    }

    async fn entries_with_id(&self, configuration_id: &str) -> Result<Vec<LibraryEntry>> {
        let conn = self.conn()?;
        self.load_entries(
            &conn,
            "SELECT configuration_id, profile_id FROM library_entries
             WHERE configuration_id = ?1 ORDER BY profile_id",
            Some(configuration_id),
        )
    }

    async fn entries(&self, service_id: Option<&str>) -> Result<Vec<LibraryEntry>> {
        let conn = self.conn()?;
        self.load_entries(
            &conn,
            "SELECT configuration_id, profile_id FROM library_entries
             WHERE ?1 IS NULL OR service_id = ?1 ORDER BY configuration_id, profile_id",
            service_id,
        )
    }

    async fn set_status(
        &self,
        configuration_id: &str,
        profile_id: &str,
        status: EntryStatus,
        actor: &str,
        note: Option<&str>,
        expected_version: Option<u32>,
    ) -> Result<LibraryEntry> {
        check_decider(actor, note)?;
        self.write(|tx| {
            let current = self
                .load_entry(tx, configuration_id, profile_id)?
                .ok_or_else(|| no_entry(configuration_id, profile_id))?;
            check_version(&current, expected_version)?;
            let version = current.version + 1;
            let now = now();
            tx.execute(
                "UPDATE library_entries SET status = ?3, version = ?4, updated_at = ?5
                 WHERE configuration_id = ?1 AND profile_id = ?2",
                params![configuration_id, profile_id, status.as_str(), version, now],
            )
            .map_err(self.err())?;
            self.add_history(
                tx,
                (configuration_id, profile_id),
                (version, status, actor, note),
                &now,
            )
        })?;
        self.reload(configuration_id, profile_id)
    }

    async fn decide(&self, decision: NewDecision<'_>) -> Result<ServiceDecision> {
        self.record_decision(decision)
    }

    async fn decision(
        &self,
        service_id: &str,
        profile_id: &str,
    ) -> Result<Option<ServiceDecision>> {
        let conn = self.conn()?;
        Ok(self
            .load_decisions(&conn, Some(service_id))?
            .into_iter()
            .find(|decision| decision.profile_id == profile_id))
    }

    async fn decisions(&self, service_id: Option<&str>) -> Result<Vec<ServiceDecision>> {
        let conn = self.conn()?;
        self.load_decisions(&conn, service_id)
    }
}
