//! [`FindingStateStore`] on SQLite: one row per Security Hub finding id with
//! the fingerprint last notified and whether the finding has since cleared.
//! Each decision reads and writes under one write lock, so parallel
//! `gensec remediate` processes notify a finding once.

use crate::sqlite::{SqliteDb, now};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gensec_core::ports::{FindingObservation, FindingStateStore};
use gensec_core::{InputError, Result};
use rusqlite::{OptionalExtension, params};

const NOTIFIED: &str = "notified";
const CLEARED: &str = "cleared";

/// An RFC 3339 time from a finding; anything else is refused (never stored
/// as a made-up date).
fn instant(finding_id: &str, text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| {
            InputError::new(
                format!("finding {finding_id}"),
                "$.UpdatedAt",
                format!("expected an RFC 3339 timestamp such as \"2024-05-01T10:00:00Z\", got {text:?} ({err})"),
            )
            .into()
        })
}

/// A stored time (written by [`instant`], so always readable).
fn stored_instant(finding_id: &str, text: &str) -> Result<DateTime<Utc>> {
    instant(finding_id, text).map_err(|err| {
        gensec_core::Error::Fatal(format!("finding state of {finding_id} is corrupt: {err}"))
    })
}

#[async_trait]
impl FindingStateStore for SqliteDb {
    async fn record_if_new(&self, observation: FindingObservation<'_>) -> Result<bool> {
        let id = observation.finding_id;
        let incoming = instant(id, observation.updated_at)?;
        self.write(|tx| {
            let stored = tx
                .query_row(
                    "SELECT fingerprint, state, finding_updated_at FROM finding_state WHERE finding_id = ?1",
                    [id],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    },
                )
                .optional()
                .map_err(self.err())?;
            let stored_at = stored
                .as_ref()
                .map(|(_, _, at)| stored_instant(id, at))
                .transpose()?;
            let send = match (&stored, stored_at) {
                (None, _) => true,
                (_, Some(at)) if at > incoming => false,
                (Some((fingerprint, state, _)), _) => {
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
                    params![id, observation.fingerprint, NOTIFIED, incoming.to_rfc3339(), at],
                )
                .map_err(self.err())?;
            } else if stored_at.is_some_and(|stored| stored < incoming) {
                tx.execute(
                    "UPDATE finding_state SET finding_updated_at = ?2, updated_at = ?3 WHERE finding_id = ?1",
                    params![id, incoming.to_rfc3339(), at],
                )
                .map_err(self.err())?;
            }
            Ok(send)
        })
    }

    async fn mark_cleared(&self, finding_id: &str, updated_at: &str) -> Result<()> {
        let incoming = instant(finding_id, updated_at)?;
        self.write(|tx| {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT finding_updated_at FROM finding_state WHERE finding_id = ?1",
                    [finding_id],
                    |row| row.get(0),
                )
                .optional()
                .map_err(self.err())?;
            let Some(stored) = stored else {
                return Ok(());
            };
            if stored_instant(finding_id, &stored)? <= incoming {
                tx.execute(
                    "UPDATE finding_state SET state = ?2, finding_updated_at = ?3, updated_at = ?4
                     WHERE finding_id = ?1",
                    params![finding_id, CLEARED, incoming.to_rfc3339(), now()],
                )
                .map_err(self.err())?;
            }
            Ok(())
        })
    }

    async fn forget(&self, finding_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM finding_state WHERE finding_id = ?1",
                [finding_id],
            )
            .map_err(self.err())?;
            Ok(())
        })
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

    #[tokio::test]
    async fn a_bad_timestamp_is_refused_not_stored_as_a_made_up_date() {
        let db = SqliteDb::in_memory().unwrap();
        let observation = FindingObservation {
            finding_id: "f1",
            fingerprint: "a",
            updated_at: "not-a-date",
        };
        let err = db.record_if_new(observation).await.unwrap_err();
        assert_eq!(err.kind(), gensec_core::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("RFC 3339"), "{err}");
        let rows: i64 = db
            .conn()
            .unwrap()
            .query_row("SELECT COUNT(*) FROM finding_state", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 0);
        assert!(db.mark_cleared("f1", "yesterday").await.is_err());
    }
}
