//! [`ControlLibrary`] on DynamoDB.
//!
//! Table (keys unchanged, see `tables.json`): partition `configuration_id`,
//! sort `record`. An entry is identified by (configuration id, profile id),
//! so one partition holds every profile's entry of an id:
//!
//! - `entry#<profile_id>`: the entry (JSON `body`, `status`, `version`);
//! - `history#<profile_id>#<version>`: one item per version (a conditional
//!   put, so a version cannot be recorded twice).
//!
//! Items written before profiles were part of the key (`entry`,
//! `history#<version>`) are read as the profile in their body, else
//! `unknown`; they are not rewritten. Every item carries `service_id`, so the
//! `service-index` GSI (partition `service_id`, sort `configuration_id`)
//! returns a service's entries with their history in one query. Service
//! decisions live in the same table (see the `decisions` module). Writes are
//! transactions conditioned on the version read, so two concurrent decisions
//! cannot both win; an upsert that loses a race re-reads and retries.

use super::decisions::{DECISION_PREFIX, assemble_decisions};
use super::{Item, get_n, get_s, get_time, n, opt_s, s};
use crate::error::{aws_error, code};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use gensec_core::library::{
    EntryStatus, LibraryEntry, NewDecision, ServiceDecision, StatusChange, check_decider,
    check_version, no_entry,
};
use gensec_core::ports::ControlLibrary;
use gensec_core::{Error, ErrorKind, Result};
use std::collections::BTreeMap;

/// The `service-index` GSI name.
pub const SERVICE_INDEX: &str = "service-index";
/// The entry item written before profiles were part of the key.
const LEGACY_ENTRY: &str = "entry";
/// How often an upsert that lost a race re-reads and tries again.
const UPSERT_ATTEMPTS: usize = 5;

fn entry_record(profile_id: &str) -> String {
    format!("entry#{profile_id}")
}

fn history_record(profile_id: &str, version: u32) -> String {
    format!("history#{profile_id}#{version:010}")
}

#[derive(Debug, Clone)]
pub struct DynamoControlLibrary {
    pub(super) client: Client,
    pub(super) table: String,
}

impl DynamoControlLibrary {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Every item of one partition (consistent read).
    pub(super) async fn partition(&self, key: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("configuration_id = :id")
            .expression_attribute_values(":id", s(key))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|err| aws_error(format!("reading {key} from {}", self.table), err))?;
            items.extend(page.items().iter().cloned());
        }
        Ok(items)
    }

    /// Every item of the table, or of one service (`service-index`).
    pub(super) async fn items(&self, service_id: Option<&str>) -> Result<Vec<Item>> {
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
        Ok(items)
    }

    async fn load_all(&self, configuration_id: &str) -> Result<Vec<LibraryEntry>> {
        let items = self.partition(configuration_id).await?;
        Ok(assemble(&self.table, items)?.into_values().collect())
    }

    async fn load(&self, configuration_id: &str, profile_id: &str) -> Result<Option<LibraryEntry>> {
        Ok(self
            .load_all(configuration_id)
            .await?
            .into_iter()
            .find(|entry| entry.profile_id == profile_id))
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
            .item("record", s(entry_record(&entry.profile_id)))
            .item("profile_id", s(&entry.profile_id))
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
            .item(
                "record",
                s(history_record(&entry.profile_id, change.version)),
            )
            .item("profile_id", s(&entry.profile_id))
            .item("service_id", s(&entry.service_id))
            .item("status", s(change.status.as_str()))
            .item("actor", s(&change.actor))
            .item("version", n(change.version))
            .item("at", s(super::timestamp(change.at)))
            .condition_expression("attribute_not_exists(configuration_id)");
        if let Some(note) = &change.note {
            history_put = history_put.item("note", s(note));
        }
        let what = format!(
            "control library entry {} ({})",
            entry.configuration_id, entry.profile_id
        );
        self.transact(&what, [entry_put, history_put]).await
    }

    /// Write puts in one transaction; a failed condition is a retryable
    /// "changed concurrently".
    pub(super) async fn transact(
        &self,
        what: &str,
        puts: impl IntoIterator<Item = aws_sdk_dynamodb::types::builders::PutBuilder>,
    ) -> Result<()> {
        let mut request = self.client.transact_write_items();
        for put in puts {
            let put = put
                .build()
                .map_err(|err| Error::Fatal(format!("building a DynamoDB write: {err}")))?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        match request.send().await {
            Ok(_) => Ok(()),
            // A condition failed: someone else wrote this item since we read it.
            Err(err) if code(&err) == Some("TransactionCanceledException") => Err(Error::Storage {
                what: what.to_string(),
                message: "changed concurrently; retry".into(),
                retryable: true,
                source: Some(Box::new(err)),
            }),
            Err(err) => Err(aws_error(format!("writing {what} to {}", self.table), err)),
        }
    }

    /// One upsert try: `Ok(None)` when it lost a race and should re-read.
    async fn try_upsert(&self, entry: &LibraryEntry) -> Result<Option<LibraryEntry>> {
        let (id, profile) = (&entry.configuration_id, &entry.profile_id);
        let existing = self.load(id, profile).await?;
        if let Some(existing) = &existing
            && existing.content() == entry.content()
        {
            return Ok(Some(existing.clone()));
        }
        let version = existing.as_ref().map_or(1, |e| e.version + 1);
        let at = chrono::Utc::now();
        let mut stored = entry.clone();
        stored.status = EntryStatus::Proposed;
        stored.version = version;
        stored.updated_at = at;
        let note = if existing.is_some() {
            "content changed"
        } else {
            "generated"
        };
        let change = StatusChange {
            status: EntryStatus::Proposed,
            actor: "gensec".into(),
            note: Some(note.into()),
            version,
            at,
        };
        match self
            .write(&stored, existing.map(|e| e.version), &change)
            .await
        {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::Retryable => return Ok(None),
            Err(err) => return Err(err),
        }
        let written = self.load(id, profile).await?;
        written
            .ok_or_else(|| Error::Fatal(format!("{id} ({profile}) vanished after upsert")))
            .map(Some)
    }
}

/// Which profile an entry or history item belongs to; `None` for an item
/// written before profiles were part of the key.
fn item_profile(record: &str) -> Option<Option<&str>> {
    if record == LEGACY_ENTRY {
        return Some(None);
    }
    if let Some(profile) = record.strip_prefix("entry#") {
        return Some(Some(profile));
    }
    let rest = record.strip_prefix("history#")?;
    Some(rest.rsplit_once('#').map(|(profile, _)| profile))
}

/// (configuration id, profile id; `None` for items written before profiles
/// were part of the key).
type ItemKey = (String, Option<String>);

/// Group entry and history items into entries keyed by (id, profile); other
/// items (service decisions) are left out.
fn assemble(table: &str, items: Vec<Item>) -> Result<BTreeMap<(String, String), LibraryEntry>> {
    let mut entries: BTreeMap<ItemKey, LibraryEntry> = BTreeMap::new();
    let mut histories: BTreeMap<ItemKey, Vec<(u32, StatusChange)>> = BTreeMap::new();
    for item in items {
        let id = get_s(&item, table, "configuration_id")?.to_string();
        let record = get_s(&item, table, "record")?;
        if record.starts_with(DECISION_PREFIX) {
            continue;
        }
        let Some(profile) = item_profile(record) else {
            return Err(Error::Fatal(format!(
                "DynamoDB table {table}: unknown record {record:?} under {id}"
            )));
        };
        let key = (id.clone(), profile.map(str::to_string));
        if record == LEGACY_ENTRY || record.starts_with("entry#") {
            let entry: LibraryEntry =
                serde_json::from_str(get_s(&item, table, "body")?).map_err(|err| {
                    Error::Fatal(format!(
                        "DynamoDB table {table}: entry {id} is not valid: {err}"
                    ))
                })?;
            entries.insert(key, entry);
        } else {
            let status = get_s(&item, table, "status")?;
            let change = StatusChange {
                status: EntryStatus::parse(status).ok_or_else(|| {
                    Error::Fatal(format!("DynamoDB table {table}: unknown status {status:?}"))
                })?,
                actor: get_s(&item, table, "actor")?.to_string(),
                note: opt_s(&item, "note").map(str::to_string),
                version: get_n(&item, table, "version")?,
                at: get_time(&item, table, "at")?,
            };
            histories
                .entry(key)
                .or_default()
                .push((change.version, change));
        }
    }
    let mut out = BTreeMap::new();
    for (key, mut entry) in entries {
        let mut history = histories.remove(&key).unwrap_or_default();
        history.sort_by_key(|(version, _)| *version);
        entry.history = history.into_iter().map(|(_, change)| change).collect();
        // The key is the truth; a legacy entry keeps the profile of its body.
        if let Some(profile) = key.1 {
            entry.profile_id = profile;
        }
        out.insert((key.0, entry.profile_id.clone()), entry);
    }
    Ok(out)
}

#[async_trait]
impl ControlLibrary for DynamoControlLibrary {
    async fn upsert(&self, entry: &LibraryEntry) -> Result<LibraryEntry> {
        for _ in 0..UPSERT_ATTEMPTS {
            if let Some(stored) = self.try_upsert(entry).await? {
                return Ok(stored);
            }
        }
        Err(Error::Storage {
            what: format!(
                "control library entry {} ({})",
                entry.configuration_id, entry.profile_id
            ),
            message: format!("changed concurrently {UPSERT_ATTEMPTS} times; retry"),
            retryable: true,
            source: None,
        })
    }

    async fn entry(
        &self,
        configuration_id: &str,
        profile_id: &str,
    ) -> Result<Option<LibraryEntry>> {
        self.load(configuration_id, profile_id).await
    }

    async fn entries_with_id(&self, configuration_id: &str) -> Result<Vec<LibraryEntry>> {
        self.load_all(configuration_id).await
    }

    async fn entries(&self, service_id: Option<&str>) -> Result<Vec<LibraryEntry>> {
        let items = self.items(service_id).await?;
        Ok(assemble(&self.table, items)?.into_values().collect())
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
        let current = self
            .load(configuration_id, profile_id)
            .await?
            .ok_or_else(|| no_entry(configuration_id, profile_id))?;
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
        self.load(configuration_id, profile_id)
            .await?
            .ok_or_else(|| no_entry(configuration_id, profile_id))
    }

    async fn decide(&self, decision: NewDecision<'_>) -> Result<ServiceDecision> {
        self.record_decision(decision).await
    }

    async fn decision(
        &self,
        service_id: &str,
        profile_id: &str,
    ) -> Result<Option<ServiceDecision>> {
        Ok(self
            .service_decisions(service_id)
            .await?
            .into_iter()
            .find(|decision| decision.profile_id == profile_id))
    }

    async fn decisions(&self, service_id: Option<&str>) -> Result<Vec<ServiceDecision>> {
        match service_id {
            Some(service_id) => self.service_decisions(service_id).await,
            None => assemble_decisions(&self.table, self.items(None).await?),
        }
    }
}
