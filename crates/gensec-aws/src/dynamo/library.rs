//! [`ControlLibrary`] on DynamoDB.
//!
//! Table: partition `configuration_id`, sort `record` (`entry`, or
//! `history#<version>` for each decision). Every item carries `service_id`, so
//! the `service-index` GSI (partition `service_id`, sort `configuration_id`)
//! returns a service's entries with their history in one query. Writes are
//! transactions conditioned on the version read, so two concurrent decisions
//! cannot both win.

use super::{Item, get_n, get_s, get_time, n, opt_s, s};
use crate::error::{aws_error, code};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use gensec_core::library::{EntryStatus, LibraryEntry, StatusChange, check_version, no_entry};
use gensec_core::ports::ControlLibrary;
use gensec_core::{Error, Result};
use std::collections::BTreeMap;

/// The `service-index` GSI name.
pub const SERVICE_INDEX: &str = "service-index";
const ENTRY: &str = "entry";

#[derive(Debug, Clone)]
pub struct DynamoControlLibrary {
    client: Client,
    table: String,
}

impl DynamoControlLibrary {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn items_of(&self, configuration_id: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("configuration_id = :id")
            .expression_attribute_values(":id", s(configuration_id))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                aws_error(
                    format!("reading {configuration_id} from {}", self.table),
                    err,
                )
            })?;
            items.extend(page.items().iter().cloned());
        }
        Ok(items)
    }

    async fn load(&self, configuration_id: &str) -> Result<Option<LibraryEntry>> {
        let items = self.items_of(configuration_id).await?;
        Ok(assemble(&self.table, items)?.remove(configuration_id))
    }

    /// Write a new state of an entry and its history record in one
    /// transaction, provided the entry is still at `previous_version`.
    async fn write(
        &self,
        entry: &LibraryEntry,
        previous_version: Option<u32>,
        change: &StatusChange,
    ) -> Result<()> {
        let mut stored = entry.clone();
        stored.history.clear();
        let body = serde_json::to_string(&stored)
            .map_err(|err| Error::Fatal(format!("serialising library entry: {err}")))?;
        let entry_put = Put::builder()
            .table_name(&self.table)
            .item("configuration_id", s(&entry.configuration_id))
            .item("record", s(ENTRY))
            .item("service_id", s(&entry.service_id))
            .item("status", s(entry.status.as_str()))
            .item("version", n(entry.version))
            .item("content", s(entry.content()))
            .item("body", s(body))
            .item("updated_at", s(super::timestamp(entry.updated_at)));
        let entry_put = match previous_version {
            Some(version) => entry_put
                .condition_expression("version = :previous")
                .expression_attribute_values(":previous", n(version)),
            None => entry_put.condition_expression("attribute_not_exists(configuration_id)"),
        };
        let mut history_put = Put::builder()
            .table_name(&self.table)
            .item("configuration_id", s(&entry.configuration_id))
            .item("record", s(format!("history#{:010}", change.version)))
            .item("service_id", s(&entry.service_id))
            .item("status", s(change.status.as_str()))
            .item("actor", s(&change.actor))
            .item("version", n(change.version))
            .item("at", s(super::timestamp(change.at)))
            .condition_expression("attribute_not_exists(configuration_id)");
        if let Some(note) = &change.note {
            history_put = history_put.item("note", s(note));
        }
        let build = |put: aws_sdk_dynamodb::types::builders::PutBuilder| {
            put.build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(|err| Error::Fatal(format!("building a DynamoDB write: {err}")))
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(build(entry_put)?)
            .transact_items(build(history_put)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A condition failed: someone else wrote this entry since we read it.
            Err(err) if code(&err) == Some("TransactionCanceledException") => Err(Error::Storage {
                what: format!("control library entry {}", entry.configuration_id),
                message: "changed concurrently; retry".into(),
                retryable: true,
                source: Some(Box::new(err)),
            }),
            Err(err) => Err(aws_error(
                format!("writing {} to {}", entry.configuration_id, self.table),
                err,
            )),
        }
    }
}

/// Group entry and history items into entries, ordered by id.
fn assemble(table: &str, items: Vec<Item>) -> Result<BTreeMap<String, LibraryEntry>> {
    let mut entries = BTreeMap::new();
    let mut histories: BTreeMap<String, Vec<(String, StatusChange)>> = BTreeMap::new();
    for item in items {
        let id = get_s(&item, table, "configuration_id")?.to_string();
        let record = get_s(&item, table, "record")?;
        if record == ENTRY {
            let entry: LibraryEntry =
                serde_json::from_str(get_s(&item, table, "body")?).map_err(|err| {
                    Error::Fatal(format!(
                        "DynamoDB table {table}: entry {id} is not valid: {err}"
                    ))
                })?;
            entries.insert(id, entry);
        } else {
            let status = get_s(&item, table, "status")?;
            let change = StatusChange {
                status: parse_status(status).ok_or_else(|| {
                    Error::Fatal(format!("DynamoDB table {table}: unknown status {status:?}"))
                })?,
                actor: get_s(&item, table, "actor")?.to_string(),
                note: opt_s(&item, "note").map(str::to_string),
                version: get_n(&item, table, "version")?,
                at: get_time(&item, table, "at")?,
            };
            histories
                .entry(id)
                .or_default()
                .push((record.to_string(), change));
        }
    }
    for (id, entry) in &mut entries {
        let mut history = histories.remove(id).unwrap_or_default();
        history.sort_by(|a, b| a.0.cmp(&b.0));
        entry.history = history.into_iter().map(|(_, change)| change).collect();
    }
    Ok(entries)
}

fn parse_status(text: &str) -> Option<EntryStatus> {
    [
        EntryStatus::Proposed,
        EntryStatus::Approved,
        EntryStatus::Rejected,
        EntryStatus::Deprecated,
    ]
    .into_iter()
    .find(|status| status.as_str() == text)
}

#[async_trait]
impl ControlLibrary for DynamoControlLibrary {
    async fn upsert(&self, entry: &LibraryEntry) -> Result<LibraryEntry> {
        let existing = self.load(&entry.configuration_id).await?;
        if let Some(existing) = &existing
            && existing.content() == entry.content()
        {
            return Ok(existing.clone());
        }
        let version = existing.as_ref().map_or(1, |e| e.version + 1);
        let at = chrono::Utc::now();
        let mut stored = entry.clone();
        stored.status = EntryStatus::Proposed;
        stored.version = version;
        stored.updated_at = at;
        let change = StatusChange {
            status: EntryStatus::Proposed,
            actor: "gensec".into(),
            note: Some(
                if existing.is_some() {
                    "content changed"
                } else {
                    "generated"
                }
                .into(),
            ),
            version,
            at,
        };
        self.write(&stored, existing.map(|e| e.version), &change)
            .await?;
        self.load(&entry.configuration_id).await?.ok_or_else(|| {
            Error::Fatal(format!("{} vanished after upsert", entry.configuration_id))
        })
    }

    async fn entry(&self, configuration_id: &str) -> Result<Option<LibraryEntry>> {
        self.load(configuration_id).await
    }

    async fn entries(&self, service_id: Option<&str>) -> Result<Vec<LibraryEntry>> {
        let mut items = Vec::new();
        match service_id {
            Some(service_id) => {
                let mut pages = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(SERVICE_INDEX)
                    .key_condition_expression("service_id = :service")
                    .expression_attribute_values(":service", s(service_id))
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|err| {
                        aws_error(format!("querying {} for {service_id}", self.table), err)
                    })?;
                    items.extend(page.items().iter().cloned());
                }
            }
            None => {
                let mut pages = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|err| aws_error(format!("scanning {}", self.table), err))?;
                    items.extend(page.items().iter().cloned());
                }
            }
        }
        Ok(assemble(&self.table, items)?.into_values().collect())
    }

    async fn set_status(
        &self,
        configuration_id: &str,
        status: EntryStatus,
        actor: &str,
        note: Option<&str>,
        expected_version: Option<u32>,
    ) -> Result<LibraryEntry> {
        let current = self
            .load(configuration_id)
            .await?
            .ok_or_else(|| no_entry(configuration_id))?;
        check_version(&current, expected_version)?;
        let at = chrono::Utc::now();
        let mut next = current.clone();
        next.status = status;
        next.version = current.version + 1;
        next.updated_at = at;
        let change = StatusChange {
            status,
            actor: actor.to_string(),
            note: note.map(str::to_string),
            version: next.version,
            at,
        };
        self.write(&next, Some(current.version), &change).await?;
        self.load(configuration_id)
            .await?
            .ok_or_else(|| no_entry(configuration_id))
    }
}
