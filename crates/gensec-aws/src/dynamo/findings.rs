//! [`FindingStateStore`] on DynamoDB: one item per finding id. The decision
//! "is this news?" is a single conditional write, so two Lambdas handling the
//! same finding at once send one e-mail. Items expire (TTL attribute
//! `expires_at`) some days after their last change; a finding that fails
//! again after that is notified again, which is the safe direction.

use super::{n, s};
use crate::error::{aws_error, code};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use gensec_core::Result;
use gensec_core::ports::{FindingObservation, FindingStateStore};

const NOTIFIED: &str = "notified";
const CLEARED: &str = "cleared";
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

#[derive(Debug, Clone)]
pub struct DynamoFindingState {
    client: Client,
    table: String,
    ttl: chrono::Duration,
}

/// Finding times in one fixed-width UTC form; unparsable times sort first.
fn finding_time(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(
        |_| "0000-01-01T00:00:00.000000Z".to_string(),
        |time| super::timestamp(time.with_timezone(&Utc)),
    )
}

impl DynamoFindingState {
    /// `ttl_days`: how long an item outlives its last change.
    pub fn new(client: Client, table: impl Into<String>, ttl_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: chrono::Duration::days(i64::from(ttl_days)),
        }
    }

    fn expires_at(&self) -> i64 {
        (Utc::now() + self.ttl).timestamp()
    }
}

#[async_trait]
impl FindingStateStore for DynamoFindingState {
    async fn record_if_new(&self, observation: FindingObservation<'_>) -> Result<bool> {
        let at = finding_time(observation.updated_at);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("finding_id", s(observation.finding_id))
            .item("fingerprint", s(observation.fingerprint))
            .item("state", s(NOTIFIED))
            .item("finding_updated_at", s(&at))
            .item("notified_at", s(super::now()))
            .item("expires_at", n(self.expires_at()))
            // News: unknown, or not older than what we hold and either cleared
            // since, or failing in a different way.
            .condition_expression(
                "attribute_not_exists(finding_id) OR (finding_updated_at <= :at AND \
                 (#state <> :notified OR fingerprint <> :fingerprint))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":at", s(&at))
            .expression_attribute_values(":notified", s(NOTIFIED))
            .expression_attribute_values(":fingerprint", s(observation.fingerprint))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(true),
            Err(err) if code(&err) == Some(CONDITION_FAILED) => {}
            Err(err) => {
                return Err(aws_error(
                    format!("recording finding {}", observation.finding_id),
                    err,
                ));
            }
        }
        // Not news; remember the newer import time so older ones stay ignored.
        let touch = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("finding_id", s(observation.finding_id))
            .update_expression("SET finding_updated_at = :at, expires_at = :expires")
            .condition_expression("finding_updated_at < :at")
            .expression_attribute_values(":at", s(&at))
            .expression_attribute_values(":expires", n(self.expires_at()))
            .send()
            .await;
        match touch {
            Ok(_) => Ok(false),
            Err(err) if code(&err) == Some(CONDITION_FAILED) => Ok(false),
            Err(err) => Err(aws_error(
                format!("recording finding {}", observation.finding_id),
                err,
            )),
        }
    }

    async fn mark_cleared(&self, finding_id: &str, updated_at: &str) -> Result<()> {
        let at = finding_time(updated_at);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("finding_id", s(finding_id))
            .update_expression(
                "SET #state = :cleared, finding_updated_at = :at, expires_at = :expires",
            )
            .condition_expression("attribute_exists(finding_id) AND finding_updated_at <= :at")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":cleared", s(CLEARED))
            .expression_attribute_values(":at", s(&at))
            .expression_attribute_values(":expires", n(self.expires_at()))
            .send()
            .await;
        match result {
            // Unknown findings and older observations change nothing.
            Ok(_) => Ok(()),
            Err(err) if code(&err) == Some(CONDITION_FAILED) => Ok(()),
            Err(err) => Err(aws_error(format!("clearing finding {finding_id}"), err)),
        }
    }

    async fn forget(&self, finding_id: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("finding_id", s(finding_id))
            .send()
            .await
            .map_err(|err| aws_error(format!("forgetting finding {finding_id}"), err))?;
        Ok(())
    }
}
