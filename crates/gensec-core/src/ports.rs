//! Ports: what stages need from the outside world. The embedded adapters live in
//! `gensec-local`, the AWS ones in `gensec-aws`.

use crate::error::Result;
use crate::library::{EntryStatus, LibraryEntry, NewDecision, ServiceDecision};
use crate::tracking::{AbandonedAttempt, NewAttempt, RequestRecord, Runner, StatusUpdate};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A key/value store of output documents (a directory, or an S3 bucket).
/// Keys use `/` separators and never start with `/`.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Write a whole object; readers never see a partial object.
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<()>;
    /// Read an object, `None` when it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Keys under a prefix, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Where a key lives, for people (a path or an `s3://` URI).
    fn locate(&self, key: &str) -> String;
    /// Where an attempt writes before it is published: a prefix no reader of
    /// packages looks at. `token` is unique per request and attempt.
    fn staging_prefix(&self, package_prefix: &str, token: &str) -> String;
    /// Make what was written under `staging_prefix` the package at
    /// `package_prefix`, replacing an earlier package as a whole (readers see
    /// the old package or the new one, never a mix). Returns the prefix the
    /// published package is read from.
    async fn publish(&self, staging_prefix: &str, package_prefix: &str) -> Result<String>;
    /// Remove what an attempt wrote but did not publish.
    async fn discard(&self, staging_prefix: &str) -> Result<()>;
}

/// The Security Control Library. Entries are keyed by (configuration id,
/// profile id); service-level decisions by (service id, profile id).
#[async_trait]
pub trait ControlLibrary: Send + Sync {
    /// Insert or update an entry's content under its profile; returns the
    /// stored entry. An unchanged entry keeps its version; a changed one goes
    /// back to PROPOSED. Concurrent upserts of the same content record one
    /// history row.
    async fn upsert(&self, entry: &LibraryEntry) -> Result<LibraryEntry>;
    /// [`upsert`](Self::upsert) each entry; a store that can does it in one
    /// transaction (a run publishes tens of entries at once).
    async fn upsert_all(&self, entries: &[LibraryEntry]) -> Result<()> {
        for entry in entries {
            self.upsert(entry).await?;
        }
        Ok(())
    }
    /// One profile's entry.
    async fn entry(&self, configuration_id: &str, profile_id: &str)
    -> Result<Option<LibraryEntry>>;
    /// Every profile's entry with this id, ordered by profile.
    async fn entries_with_id(&self, configuration_id: &str) -> Result<Vec<LibraryEntry>>;
    /// All entries, or one service's, ordered by id then profile.
    async fn entries(&self, service_id: Option<&str>) -> Result<Vec<LibraryEntry>>;
    /// Record a decision on one profile's entry; fails if `expected_version`
    /// is stale, or `actor`/`note` are blank or unclean.
    async fn set_status(
        &self,
        configuration_id: &str,
        profile_id: &str,
        status: EntryStatus,
        actor: &str,
        note: Option<&str>,
        expected_version: Option<u32>,
    ) -> Result<LibraryEntry>;
    /// Record a service-level decision (a new version; the earlier ones stay
    /// as history). Fails on a blank or unclean field.
    async fn decide(&self, decision: NewDecision<'_>) -> Result<ServiceDecision>;
    /// The decision on a service under a profile, with its history.
    async fn decision(&self, service_id: &str, profile_id: &str)
    -> Result<Option<ServiceDecision>>;
    /// Every decision, or one service's, ordered by service then profile.
    async fn decisions(&self, service_id: Option<&str>) -> Result<Vec<ServiceDecision>>;
}

/// Service request tracking.
#[async_trait]
pub trait RequestTracker: Send + Sync {
    /// Record a new attempt (RECEIVED); the request row is created once.
    /// Earlier attempts of the request that are dead (see
    /// [`reap_abandoned`](Self::reap_abandoned)) are marked ABANDONED first.
    /// Returns the attempt number, starting at 1.
    async fn begin_attempt(&self, attempt: NewAttempt<'_>) -> Result<u32>;
    async fn update(&self, request_id: &str, attempt: u32, update: StatusUpdate) -> Result<()>;
    async fn request(&self, request_id: &str) -> Result<Option<RequestRecord>>;
    /// Most recently updated first.
    async fn recent_requests(&self, limit: usize) -> Result<Vec<RequestRecord>>;
    /// Record who runs an attempt (the local adapter records the calling
    /// process in `begin_attempt` itself; in AWS the trigger records the
    /// execution it started).
    async fn set_runner(&self, request_id: &str, attempt: u32, runner: &Runner) -> Result<()>;
    /// Touch an unfinished attempt's heartbeat (`updated_at`) without
    /// changing its state: a runner in a long stage calls it now and then.
    async fn heartbeat(&self, request_id: &str, attempt: u32) -> Result<()>;
    /// Mark every unfinished attempt that is dead at `now` ABANDONED, keeping
    /// the stage it reached: its runner is gone (a local process on this
    /// host), or its heartbeat is older than `stale_after`. Returns what it
    /// marked.
    async fn reap_abandoned(
        &self,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
    ) -> Result<Vec<AbandonedAttempt>>;
}

/// What the finding state store remembers about one Security Hub finding, so
/// that each failing finding is notified once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingObservation<'a> {
    /// The ASFF `Id` of the finding.
    pub finding_id: &'a str,
    /// A digest of the failing state (control, resources, severity, compliance);
    /// a re-import with the same fingerprint is not news.
    pub fingerprint: &'a str,
    /// The finding's `UpdatedAt` (RFC 3339); older observations never win.
    pub updated_at: &'a str,
}

/// Once-per-finding memory (SQLite locally, DynamoDB conditional writes in AWS).
#[async_trait]
pub trait FindingStateStore: Send + Sync {
    /// Record a failing observation. Returns `true` when a notification must be
    /// sent: the finding is unknown, was cleared since it was last notified, or
    /// its fingerprint changed. A re-import with a newer `UpdatedAt` and the
    /// same fingerprint, or an observation older than the stored one, returns
    /// `false`.
    async fn record_if_new(&self, observation: FindingObservation<'_>) -> Result<bool>;
    /// The finding stopped failing (resolved, archived, passed, suppressed): a
    /// later failure notifies again. Older observations are ignored.
    async fn mark_cleared(&self, finding_id: &str, updated_at: &str) -> Result<()>;
    /// Undo a `record_if_new` whose notification could not be delivered.
    async fn forget(&self, finding_id: &str) -> Result<()>;
}

/// A rendered e-mail: subject, plain text and HTML alternatives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EmailMessage {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The findings this message reports (one, or several in a digest).
    pub finding_ids: Vec<String>,
}

/// Delivers notifications (an outbox directory, SMTP, or SNS in AWS).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Deliver one message; returns where it went (a file path, a message id).
    async fn send(&self, message: &EmailMessage) -> Result<String>;
}

/// Read and parse a JSON document an earlier stage wrote.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<T> {
    parse_json(key, &written_earlier(store, key).await?)
}

/// The bytes an earlier stage wrote at `key`; missing is fatal.
async fn written_earlier(store: &dyn ObjectStore, key: &str) -> Result<Vec<u8>> {
    store
        .get(key)
        .await?
        .ok_or_else(|| crate::Error::Fatal(format!("{key} is missing; an earlier stage writes it")))
}

fn parse_json<T: serde::de::DeserializeOwned>(key: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|err| crate::Error::Fatal(format!("{key} is not valid: {err}")))
}

/// [`read_json`] for a document a stage of this process may have kept
/// parsed ([`crate::kept`]): the kept value when the stored bytes are the
/// ones it was kept with, else the bytes parsed.
pub async fn read_json_kept<T>(store: &dyn ObjectStore, key: &str) -> Result<std::sync::Arc<T>>
where
    T: serde::de::DeserializeOwned + std::any::Any + Send + Sync,
{
    let body = written_earlier(store, key).await?;
    if let Some(value) = crate::kept::kept::<T>(&body) {
        return Ok(value);
    }
    let value = std::sync::Arc::new(parse_json::<T>(key, &body)?);
    crate::kept::keep(body, value.clone());
    Ok(value)
}

/// A Security Hub finding as `BatchUpdateFindings` identifies it
/// (`FindingIdentifiers`: the ASFF `Id` and `ProductArn`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct FindingRef {
    pub id: String,
    pub product_arn: String,
}

/// Updates findings' workflow in their source (Security Hub
/// `BatchUpdateFindings` in AWS). Optional and off by default: remediation
/// works without it.
#[async_trait]
pub trait FindingWorkflow: Send + Sync {
    /// Set `Workflow.Status` to `NOTIFIED` for findings whose notification was
    /// delivered. The adapter splits the list into API-sized requests; findings
    /// it could not update make the whole call an error that names them.
    async fn mark_notified(&self, findings: &[FindingRef]) -> Result<()>;
}
