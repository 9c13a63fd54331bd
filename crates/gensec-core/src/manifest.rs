//! `manifest.json`: every file of a run with its sha256, the knowledge-base
//! date, the generator version and the validation summary.

use crate::error::{Error, Result};
use crate::pipeline::{RunContext, StageOutcome, ValidationCounts};
use crate::ports::ObjectStore;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Which knowledge base a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbStamp {
    /// Date of the newest source data (YYYY-MM-DD).
    pub data_date: String,
    /// Source packages and versions, e.g. `cfn-lint 1.58.0`.
    pub sources: Vec<String>,
    /// `embedded` or the file the KB was loaded from.
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the run's prefix.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    pub stage: String,
    pub summary: BTreeMap<String, serde_json::Value>,
    pub validation: ValidationCounts,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub service_id: String,
    pub service_name: String,
    pub request_id: String,
    pub profile_id: String,
    pub generator: String,
    pub generator_version: String,
    pub created_at: DateTime<Utc>,
    pub kb: KbStamp,
    /// Totals over all stages.
    pub validation: ValidationCounts,
    pub stages: Vec<StageSummary>,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// Hash every object under the run's prefix (except the manifest itself).
    pub async fn build(
        ctx: &RunContext,
        store: &dyn ObjectStore,
        outcomes: &[StageOutcome],
        manifest_key: &str,
    ) -> Result<Self> {
        let mut files = Vec::new();
        for key in store.list(&ctx.output_prefix).await? {
            if key == manifest_key {
                continue;
            }
            let body = store
                .get(&key)
                .await?
                .ok_or_else(|| Error::Fatal(format!("{key} was listed but could not be read")))?;
            files.push(ManifestFile {
                path: key
                    .strip_prefix(&ctx.output_prefix)
                    .unwrap_or(&key)
                    .to_string(),
                sha256: hex::encode(Sha256::digest(&body)),
                bytes: body.len() as u64,
            });
        }
        let mut validation = ValidationCounts::default();
        for outcome in outcomes {
            validation.checked += outcome.validation.checked;
            validation.accepted += outcome.validation.accepted;
            validation.rejected += outcome.validation.rejected;
        }
        Ok(Self {
            service_id: ctx.service_id.clone(),
            service_name: ctx.service_display_name.clone(),
            request_id: ctx.request.request_id.clone(),
            profile_id: ctx.profile.profile_id.clone(),
            generator: crate::GENERATOR.to_string(),
            generator_version: crate::GENERATOR_VERSION.to_string(),
            created_at: Utc::now(),
            kb: ctx.kb.clone(),
            validation,
            stages: outcomes
                .iter()
                .map(|outcome| StageSummary {
                    stage: outcome.stage.as_str().to_string(),
                    summary: outcome.summary.clone(),
                    validation: outcome.validation.clone(),
                    warnings: outcome.warnings.clone(),
                })
                .collect(),
            files,
        })
    }
}
