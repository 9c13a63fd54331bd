//! `manifest.json`: every file of a run with its sha256, the knowledge-base
//! date, the generator version and the validation summary.

use crate::contract::decision::PackageDecision;
use crate::contract::figures::StageFigures;
use crate::contract::stage::{RunContext, StageId, StageOutcome, ValidationCounts, WrittenFile};
use crate::llm::{LlmOutcome, LlmStageRecord, LlmUsage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// One stage's figures, verdict counts and warnings, as the manifest records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: StageId,
    pub figures: StageFigures,
    pub validation: ValidationCounts,
    pub warnings: Vec<String>,
    /// What the stage did with the language model; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmStageRecord>,
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
    pub stages: Vec<StageRecord>,
    /// Exactly the files the run wrote (the manifest itself aside), in the
    /// order the stages wrote them.
    pub files: Vec<WrittenFile>,
    /// Language model use over the run; absent when no model was configured
    /// (the deterministic default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmRunSummary>,
    /// The decision the package supports, from the report stage; absent when
    /// the run has no report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<PackageDecision>,
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
    /// Sum the stages' records; `None` when no stage asked a model.
    pub fn from_outcomes(outcomes: &[StageOutcome]) -> Option<Self> {
        let records: Vec<LlmStageRecord> = outcomes
            .iter()
            .filter_map(|outcome| outcome.llm.clone())
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
    /// The manifest of an attempt: every file its stages wrote, plus `extra`
    /// (what publishing adds, such as the validation report).
    pub fn build(ctx: &RunContext, outcomes: &[StageOutcome], extra: Vec<WrittenFile>) -> Self {
        let mut validation = ValidationCounts::default();
        for outcome in outcomes {
            validation.add(outcome.validation());
        }
        let mut files: Vec<WrittenFile> = outcomes
            .iter()
            .flat_map(|outcome| outcome.files.iter().cloned())
            .collect();
        files.extend(extra);
        Self {
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
                .map(|outcome| StageRecord {
                    stage: outcome.stage,
                    figures: outcome.figures.clone(),
                    validation: outcome.validation(),
                    warnings: outcome.warnings.clone(),
                    llm: outcome.llm.clone(),
                })
                .collect(),
            files,
            llm: LlmRunSummary::from_outcomes(outcomes),
            decision: outcomes.iter().find_map(|outcome| match &outcome.figures {
                StageFigures::Report(report) => report.decision.clone(),
                _ => None,
            }),
        }
    }

    /// The figures of one stage, typed (`manifest.figures::<IacFigures>()`).
    pub fn figures<T: crate::contract::figures::FiguresOf>(&self) -> Option<&T> {
        crate::contract::figures::find(self.stages.iter().map(|stage| &stage.figures))
    }
}
