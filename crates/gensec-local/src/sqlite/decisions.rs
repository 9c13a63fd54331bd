//! Service-level decisions on SQLite: `service_decisions` holds every
//! decision as a row keyed by (service id, profile id, version); the newest
//! version is the decision, the rows before it its history.

use super::{SqliteDb, now, parse_time};
use gensec_core::library::{DecisionRecord, NewDecision, ServiceDecision, Verdict};
use gensec_core::{Error, Result};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

type Row = (
    String,
    String,
    u32,
    String,
    Option<String>,
    String,
    String,
    String,
);

impl SqliteDb {
    pub(super) fn record_decision(&self, decision: NewDecision<'_>) -> Result<ServiceDecision> {
        decision.check()?;
        self.write(|tx| {
            let version: u32 = tx
                .query_row(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM service_decisions
                     WHERE service_id = ?1 AND profile_id = ?2",
                    [decision.service_id, decision.profile_id],
                    |row| row.get(0),
                )
                .map_err(self.err())?;
            tx.execute(
                "INSERT INTO service_decisions
                    (service_id, profile_id, version, decision, conditions, actor, reason, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    decision.service_id,
                    decision.profile_id,
                    version,
                    decision.decision.as_str(),
                    decision.conditions,
                    decision.actor,
                    decision.reason,
                    now()
                ],
            )
            .map_err(self.err())?;
            Ok(())
        })?;
        let conn = self.conn()?;
        self.load_decisions(&conn, Some(decision.service_id))?
            .into_iter()
            .find(|stored| stored.profile_id == decision.profile_id)
            .ok_or_else(|| {
                Error::Fatal(format!(
                    "decision on {} vanished after it was recorded",
                    decision.service_id
                ))
            })
    }

    /// Every decision (of one service, or all), ordered by service and profile.
    pub(super) fn load_decisions(
        &self,
        conn: &Connection,
        service_id: Option<&str>,
    ) -> Result<Vec<ServiceDecision>> {
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT service_id, profile_id, version, decision, conditions, actor, reason, at
                 FROM service_decisions WHERE ?1 IS NULL OR service_id = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([service_id], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(7)?,
                        ))
                    })?
                    .collect()
            })
            .map_err(self.err())?;
        let mut grouped: BTreeMap<(String, String), Vec<DecisionRecord>> = BTreeMap::new();
        for (service, profile, version, verdict, conditions, actor, reason, at) in rows {
            let decision = Verdict::parse(&verdict).ok_or_else(|| {
                Error::Fatal(format!(
                    "database {}: unknown decision {verdict:?}",
                    self.location
                ))
            })?;
            grouped
                .entry((service, profile))
                .or_default()
                .push(DecisionRecord {
                    decision,
                    conditions,
                    actor,
                    reason,
                    version,
                    at: parse_time(&self.location, &at)?,
                });
        }
        Ok(grouped
            .into_iter()
            .filter_map(|((service, profile), records)| {
                ServiceDecision::from_records(&service, &profile, records)
            })
            .collect())
    }
}
