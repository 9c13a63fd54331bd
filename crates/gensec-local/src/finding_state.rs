//! [`FindingStateStore`] on SQLite: one row per Security Hub finding id with
//! the fingerprint last notified and whether the finding has since cleared.

use crate::sqlite::{SqliteDb, db_error, now};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gensec_core::Result;
use gensec_core::ports::{FindingObservation, FindingStateStore};
use rusqlite::{OptionalExtension, params};

const NOTIFIED: &str = "notified";
const CLEARED: &str = "cleared";

/// Normalises an RFC 3339 time for comparison; unparsable times sort first.
fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
}

#[async_trait]
impl FindingStateStore for SqliteDb {
    async fn record_if_new(&self, observation: FindingObservation<'_>) -> Result<bool> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(|err| db_error(&self.location, err))?;
        let stored = tx
            .query_row(
                "SELECT fingerprint, state, finding_updated_at FROM finding_state WHERE finding_id = ?1",
                [observation.finding_id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(|err| db_error(&self.location, err))?;
        let incoming = instant(observation.updated_at);
        let send = match &stored {
            None => true,
            Some((_, _, updated)) if instant(updated) > incoming => false,
            Some((fingerprint, state, _)) => {
                state != NOTIFIED || fingerprint != observation.fingerprint
            }
        };
        let at = now();
        if send {
            tx.execute(
                "INSERT INTO finding_state (finding_id, fingerprint, state, finding_updated_at, notified_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(finding_id) DO UPDATE SET fingerprint = ?2, state = ?3,
                    finding_updated_at = ?4, notified_at = ?5, updated_at = ?5",
                params![
                    observation.finding_id,
                    observation.fingerprint,
                    NOTIFIED,
                    incoming.to_rfc3339(),
                    at
                ],
            )
            .map_err(|err| db_error(&self.location, err))?;
        } else if stored
            .as_ref()
            .is_some_and(|(_, _, updated)| instant(updated) < incoming)
        {
            tx.execute(
                "UPDATE finding_state SET finding_updated_at = ?2, updated_at = ?3 WHERE finding_id = ?1",
                params![observation.finding_id, incoming.to_rfc3339(), at],
            )
            .map_err(|err| db_error(&self.location, err))?;
        }
        tx.commit().map_err(|err| db_error(&self.location, err))?;
        Ok(send)
    }

    async fn mark_cleared(&self, finding_id: &str, updated_at: &str) -> Result<()> {
        let conn = self.conn()?;
        let stored: Option<String> = conn
            .query_row(
                "SELECT finding_updated_at FROM finding_state WHERE finding_id = ?1",
                [finding_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(|err| db_error(&self.location, err))?;
        let incoming = instant(updated_at);
        if stored.is_some_and(|stored| instant(&stored) <= incoming) {
            conn.execute(
                "UPDATE finding_state SET state = ?2, finding_updated_at = ?3, updated_at = ?4
                 WHERE finding_id = ?1",
                params![finding_id, CLEARED, incoming.to_rfc3339(), now()],
            )
            .map_err(|err| db_error(&self.location, err))?;
        }
        Ok(())
    }

    async fn forget(&self, finding_id: &str) -> Result<()> {
        let conn = self.conn()?;
        conn.execute(
            "DELETE FROM finding_state WHERE finding_id = ?1",
            [finding_id],
        )
        .map_err(|err| db_error(&self.location, err))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn keeps_the_port_contract() {
        gensec_core::conformance::finding_state(&SqliteDb::in_memory().unwrap()).await;
    }
}
