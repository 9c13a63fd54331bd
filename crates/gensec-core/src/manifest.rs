//! `manifest.json`: every file of a run with its sha256, the knowledge-base
//! date, the generator version and the validation summary.

use crate::error::{Error, Result};
use crate::llm::{LlmOutcome, LlmStageRecord, LlmUsage};
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
    /// Language model use over the run; absent when no model was configured
    /// (the deterministic default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmRunSummary>,
}

/// What the run spent on the language model and whether it was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmRunSummary {
    pub models: Vec<String>,
    /// Totals over the stages that asked the model.
    pub usage: LlmUsage,
    /// `usage.estimated_cost_micro_usd` in dollars, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    /// True when any stage kept its deterministic result because the model
    /// was unavailable, over budget or unintelligible.
    pub deterministic_fallback: bool,
    /// One line per stage that fell back:
    /// `analysis: LLM unavailable, deterministic result (<reason>)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Items the model proposed and what the validators did with them.
    pub items_proposed: u64,
    pub items_accepted: u64,
    pub items_rejected: u64,
    /// AWS names in the model's answers, and how many do not exist.
    pub names_checked: u64,
    pub names_unknown: u64,
    /// `names_unknown / names_checked`: the published hallucination rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hallucination_rate: Option<f64>,
}

impl LlmRunSummary {
    /// Sum the stages' records (stage summaries under `llm`); `None` when no
    /// stage asked a model.
    pub fn from_outcomes(outcomes: &[StageOutcome]) -> Option<Self> {
        let records: Vec<LlmStageRecord> = outcomes
            .iter()
            .filter_map(|outcome| LlmStageRecord::from_summary(&outcome.summary))
            .collect();
        Self::from_records(&records)
    }

    pub fn from_records(records: &[LlmStageRecord]) -> Option<Self> {
        if records.is_empty() {
            return None;
        }
        let mut summary = Self {
            models: Vec::new(),
            usage: LlmUsage::default(),
            estimated_cost_usd: None,
            deterministic_fallback: false,
            notes: Vec::new(),
            items_proposed: 0,
            items_accepted: 0,
            items_rejected: 0,
            names_checked: 0,
            names_unknown: 0,
            hallucination_rate: None,
        };
        for record in records {
            if !summary.models.contains(&record.model_id) {
                summary.models.push(record.model_id.clone());
            }
            summary.usage.add(&record.usage);
            if record.outcome == LlmOutcome::Deterministic {
                summary.deterministic_fallback = true;
                summary.notes.push(format!(
                    "{}: LLM unavailable, deterministic result ({})",
                    record.stage,
                    record
                        .fallback_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ));
            }
            summary.items_proposed += record.items_proposed;
            summary.items_accepted += record.items_accepted;
            summary.items_rejected += record.items_rejected;
            summary.names_checked += record.names_checked;
            summary.names_unknown += record.names_unknown;
        }
        summary.estimated_cost_usd = summary.usage.estimated_cost_usd();
        summary.hallucination_rate = (summary.names_checked > 0)
            .then(|| summary.names_unknown as f64 / summary.names_checked as f64);
        Some(summary)
    }
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
            llm: LlmRunSummary::from_outcomes(outcomes),
        })
    }
}
