//! Service-level decisions in the control library's table: partition
//! `configuration_id` = `service#<service_id>` (no configuration id has a
//! `#`), sort `record` = `decision#<profile_id>#<version>`, one item per
//! decision. The newest version is the decision; a conditional put makes two
//! decisions with one version impossible (the loser retries).

use super::library::DynamoControlLibrary;
use super::{Item, get_n, get_s, get_time, opt_s, s};
use gensec_core::library::{
    DecisionRecord, NewDecision, ServiceDecision, Verdict, decision_conflict,
};
use gensec_core::{Error, ErrorKind, Result};
use std::collections::BTreeMap;

/// The sort key prefix of decision items.
pub(super) const DECISION_PREFIX: &str = "decision#";
/// How often a decision that lost a race re-reads and tries again.
const DECIDE_ATTEMPTS: usize = 5;

fn partition(service_id: &str) -> String {
    format!("service#{service_id}")
}

fn record(profile_id: &str, version: u32) -> String {
    format!("{DECISION_PREFIX}{profile_id}#{version:010}")
}

/// Group decision items (others are left out) by (service, profile).
pub(super) fn assemble_decisions(table: &str, items: Vec<Item>) -> Result<Vec<ServiceDecision>> {
    let mut grouped: BTreeMap<(String, String), Vec<DecisionRecord>> = BTreeMap::new();
    for item in items {
        let record = get_s(&item, table, "record")?;
        if !record.starts_with(DECISION_PREFIX) {
            continue;
        }
        let verdict = get_s(&item, table, "decision")?;
        let decision = Verdict::parse(verdict).ok_or_else(|| {
            Error::Fatal(format!(
                "DynamoDB table {table}: unknown decision {verdict:?}"
            ))
        })?;
        let key = (
            get_s(&item, table, "service_id")?.to_string(),
            get_s(&item, table, "profile_id")?.to_string(),
        );
        grouped.entry(key).or_default().push(DecisionRecord {
            decision,
            conditions: opt_s(&item, "conditions").map(str::to_string),
            actor: get_s(&item, table, "actor")?.to_string(),
            reason: get_s(&item, table, "reason")?.to_string(),
            version: get_n(&item, table, "version")?,
            at: get_time(&item, table, "at")?,
        });
    }
    Ok(grouped
        .into_iter()
        .filter_map(|((service, profile), records)| {
            ServiceDecision::from_records(&service, &profile, records)
        })
        .collect())
}

impl DynamoControlLibrary {
    /// Every profile's decision on one service.
    pub(super) async fn service_decisions(&self, service_id: &str) -> Result<Vec<ServiceDecision>> {
        let items = self.partition(&partition(service_id)).await?;
        assemble_decisions(&self.table, items)
    }

    pub(super) async fn record_decision(
        &self,
        decision: NewDecision<'_>,
    ) -> Result<ServiceDecision> {
        decision.check()?;
        let current = |decisions: Vec<ServiceDecision>| {
            decisions
                .into_iter()
                .find(|stored| stored.profile_id == decision.profile_id)
        };
        for _ in 0..DECIDE_ATTEMPTS {
            let existing = current(self.service_decisions(decision.service_id).await?);
            let version = existing.map_or(1, |d| d.current.version + 1);
            let new = decision.record(version, chrono::Utc::now());
            let mut put = aws_sdk_dynamodb::types::Put::builder()
                .table_name(&self.table)
                .item("configuration_id", s(partition(decision.service_id)))
                .item("record", s(record(decision.profile_id, version)))
                .item("service_id", s(decision.service_id))
                .item("profile_id", s(decision.profile_id))
                .item("decision", s(new.decision.as_str()))
                .item("actor", s(&new.actor))
                .item("reason", s(&new.reason))
                .item("version", super::n(version))
                .item("at", s(super::timestamp(new.at)))
                .condition_expression("attribute_not_exists(configuration_id)");
            if let Some(conditions) = &new.conditions {
                put = put.item("conditions", s(conditions));
            }
            let what = format!(
                "service decision {} ({})",
                decision.service_id, decision.profile_id
            );
            match self.transact(&what, [put]).await {
                Ok(()) => {
                    return current(self.service_decisions(decision.service_id).await?).ok_or_else(
                        || Error::Fatal(format!("{what} vanished after it was written")),
                    );
                }
                Err(err) if err.kind() == ErrorKind::Retryable => {}
                Err(err) => return Err(err),
            }
        }
        Err(decision_conflict(decision.service_id, decision.profile_id))
    }
}
