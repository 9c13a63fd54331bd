//! The stage contract: stage ids and the one pipeline order, the run context
//! every stage reads, what a stage returns, and the writer through which it
//! writes its files (so the manifest lists exactly what the run wrote).

use super::figures::StageFigures;
use crate::error::{Error, Result};
use crate::input::{SecurityProfile, ServiceRequest};
use crate::llm::LlmStageRecord;
use crate::manifest::KbStamp;
use crate::ports::{ControlLibrary, ObjectStore};
use crate::tracking::NewAttempt;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Pipeline stages. The order of [`PIPELINE`] is the run order everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageId {
    /// Stage 1: collect the service's documentation from the knowledge base.
    Documentation,
    /// Stage 2: validated recommendations tailored to the profile.
    Analysis,
    /// Stage 3: detective, preventive and proactive controls; library entries.
    Controls,
    /// Stage 4: hardened CloudFormation and Terraform.
    Iac,
    /// Stage 5: IAM model, personas and least-privilege policies.
    Iam,
    /// Stage 6: research profile and HTML report.
    Report,
}

/// The stage order, defined once.
pub const PIPELINE: &[StageId] = &[
    StageId::Documentation,
    StageId::Analysis,
    StageId::Controls,
    StageId::Iac,
    StageId::Iam,
    StageId::Report,
];

impl StageId {
    pub fn as_str(self) -> &'static str {
        match self {
            StageId::Documentation => "documentation",
            StageId::Analysis => "analysis",
            StageId::Controls => "controls",
            StageId::Iac => "iac",
            StageId::Iam => "iam",
            StageId::Report => "report",
        }
    }
}

impl std::fmt::Display for StageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a stage may know about the run it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunContext {
    pub request: ServiceRequest,
    pub profile: SecurityProfile,
    /// Catalogue id of the resolved service (`s3`, `quicksight`).
    pub service_id: String,
    pub service_display_name: String,
    /// Where the published package lives: `<service_id>/<request_id>/`.
    pub package_prefix: String,
    /// Where this attempt writes until it is published (see
    /// [`ObjectStore::staging_prefix`]); the package prefix until an attempt begins.
    pub write_prefix: String,
    pub kb: KbStamp,
}

impl RunContext {
    /// A context for a request; it writes nowhere until [`Self::stage_into`].
    pub fn new(
        request: ServiceRequest,
        profile: SecurityProfile,
        service_id: &str,
        service_display_name: &str,
        kb: KbStamp,
    ) -> Self {
        let package_prefix = package_prefix(service_id, &request.request_id);
        Self {
            request,
            profile,
            service_id: service_id.to_string(),
            service_display_name: service_display_name.to_string(),
            write_prefix: package_prefix.clone(),
            package_prefix,
            kb,
        }
    }

    /// Direct this attempt's writes into its own staging area of `store`.
    pub fn stage_into(&mut self, store: &dyn ObjectStore, attempt: u32) {
        self.write_prefix = store.staging_prefix(&self.package_prefix, &attempt_token(attempt));
    }

    /// The tracking record of a new attempt at this run's request.
    pub fn new_attempt(&self) -> NewAttempt<'_> {
        NewAttempt {
            request_id: &self.request.request_id,
            service_id: &self.service_id,
            service_name: &self.request.service_name,
            profile_id: &self.profile.profile_id,
            requester: &self.request.requester,
            requested_at: self.request.timestamp,
        }
    }

    /// Key of a document of this attempt (`relative` is a layout path).
    pub fn key(&self, relative: &str) -> String {
        format!("{}{}", self.write_prefix, relative)
    }
}

/// Where a service's package for a request is published.
pub fn package_prefix(service_id: &str, request_id: &str) -> String {
    format!("{service_id}/{request_id}/")
}

/// The name of an attempt's staging area (unique per request: attempt
/// numbers are handed out once).
pub fn attempt_token(attempt: u32) -> String {
    format!("attempt-{attempt}")
}

/// How many items a stage checked and what its validators did with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationCounts {
    pub checked: u64,
    pub accepted: u64,
    pub rejected: u64,
}

impl ValidationCounts {
    pub fn add(&mut self, other: ValidationCounts) {
        self.checked += other.checked;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
    }
}

/// One item a validator refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub stage: StageId,
    /// What was refused (`AWS::S3::Bucket.Versioning`, `rule s3_bucket_...`).
    pub item: String,
    pub reason: String,
}

/// A stage's validator verdicts: what it checked, accepted and refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts {
    pub stage: StageId,
    pub checked: u64,
    pub accepted: u64,
    pub rejected: Vec<Rejection>,
}

impl Verdicts {
    pub fn new(stage: StageId) -> Self {
        Self {
            stage,
            checked: 0,
            accepted: 0,
            rejected: Vec::new(),
        }
    }

    pub fn accept(&mut self) {
        self.checked += 1;
        self.accepted += 1;
    }

    pub fn reject(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        self.checked += 1;
        self.rejected.push(Rejection {
            stage: self.stage,
            item: item.into(),
            reason: reason.into(),
        });
    }

    pub fn counts(&self) -> ValidationCounts {
        ValidationCounts {
            checked: self.checked,
            accepted: self.accepted,
            rejected: self.rejected.len() as u64,
        }
    }
}

/// A file a stage wrote, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenFile {
    /// Layout path, relative to the package root.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// What a stage hands to the next ones and to the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutcome {
    pub stage: StageId,
    /// Exactly the files this stage wrote.
    pub files: Vec<WrittenFile>,
    /// The stage's figures, typed per stage.
    pub figures: StageFigures,
    pub verdicts: Verdicts,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What the stage did with the language model; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmStageRecord>,
}

impl StageOutcome {
    pub fn validation(&self) -> ValidationCounts {
        self.verdicts.counts()
    }

    /// Whether this stage wrote a file at a layout path.
    pub fn wrote(&self, path: &str) -> bool {
        self.files.iter().any(|file| file.path == path)
    }
}

/// The outcome of `stage` among earlier outcomes.
pub fn outcome_of(outcomes: &[StageOutcome], stage: StageId) -> Option<&StageOutcome> {
    outcomes.iter().find(|outcome| outcome.stage == stage)
}

/// Writes a stage's files into its attempt's staging area and remembers each
/// one with its checksum, so the manifest lists exactly what was written.
pub struct PackageWriter<'a> {
    store: &'a dyn ObjectStore,
    ctx: &'a RunContext,
    written: Vec<WrittenFile>,
}

impl std::fmt::Debug for PackageWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageWriter")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<'a> PackageWriter<'a> {
    pub fn new(store: &'a dyn ObjectStore, ctx: &'a RunContext) -> Self {
        Self {
            store,
            ctx,
            written: Vec::new(),
        }
    }

    /// Write one file at a layout path.
    pub async fn put(&mut self, path: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
        let file = WrittenFile {
            path: path.to_string(),
            sha256: hex::encode(Sha256::digest(&body)),
            bytes: body.len() as u64,
        };
        self.store
            .put(&self.ctx.key(path), body, content_type)
            .await?;
        self.written.retain(|earlier| earlier.path != path);
        self.written.push(file);
        Ok(())
    }

    /// Write a value as pretty JSON.
    pub async fn put_json<T: Serialize>(&mut self, path: &str, value: &T) -> Result<()> {
        let body = pretty_json(path, value)?;
        self.put(path, body, "application/json").await
    }

    /// [`put_json`](Self::put_json), keeping the value parsed for later
    /// stages of this process ([`crate::kept`]; read with
    /// [`read_json_kept`](crate::ports::read_json_kept)).
    pub async fn put_json_kept<T: Serialize + std::any::Any + Send + Sync>(
        &mut self,
        path: &str,
        value: std::sync::Arc<T>,
    ) -> Result<()> {
        let body = pretty_json(path, &*value)?;
        let kept = body.clone();
        self.put(path, body, "application/json").await?;
        crate::kept::keep(kept, value);
        Ok(())
    }

    /// Write text (YAML, Markdown, HCL, Guard, HTML).
    pub async fn put_text(&mut self, path: &str, text: String, content_type: &str) -> Result<()> {
        self.put(path, text.into_bytes(), content_type).await
    }

    pub fn files(&self) -> &[WrittenFile] {
        &self.written
    }

    /// The files written, for the stage's outcome.
    pub fn finish(self) -> Vec<WrittenFile> {
        self.written
    }
}

/// `value` as the pretty JSON a package file holds.
fn pretty_json<T: Serialize + ?Sized>(path: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value)
        .map_err(|err| Error::Fatal(format!("serialising {path}: {err}")))
}

/// The ports a stage may use. Stages read and write the object store only;
/// the library is written once, when the run is published.
#[derive(Clone, Copy)]
pub struct StagePorts<'a> {
    pub store: &'a dyn ObjectStore,
    pub library: &'a dyn ControlLibrary,
}

impl std::fmt::Debug for StagePorts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagePorts").finish_non_exhaustive()
    }
}

/// One pipeline stage.
#[async_trait]
pub trait Stage: Send + Sync {
    fn id(&self) -> StageId;
    /// Run the stage; `earlier` holds the outcomes of the stages before it,
    /// in pipeline order.
    async fn run(
        &self,
        ctx: &RunContext,
        ports: &StagePorts<'_>,
        earlier: &[StageOutcome],
    ) -> Result<StageOutcome>;
}
