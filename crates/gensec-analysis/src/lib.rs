//! Stage 2, security analysis: reviewed catalogue entries for the service's
//! resource types, inferred candidates for the rest, tailored to the profile
//! and validated against the knowledge base. Writes
//! `analysis/recommendations.json` and `analysis/validation-report.json`.
//!
//! With a language model ([`AnalysisStage::with_llm`]), the validated result
//! is also given to the model ([`llm`]); what it proposes passes the same
//! validators, and the stage records its usage in `llm/analysis.json`.

pub mod catalogue;
pub mod check;
pub mod infer;
pub mod llm;
pub mod recommend;
pub mod tailor;

use async_trait::async_trait;
use gensec_core::analysis::{Confidence, Recommendation, ValidationReport};
use gensec_core::llm::Llm;
use gensec_core::pipeline::{
    RunContext, Stage, StageId, StageOutcome, StagePorts, ValidationCounts,
};
use gensec_core::{Error, Result};
use gensec_kb::Kb;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use gensec_core::analysis::{RECOMMENDATIONS_PATH, RecommendationSet, VALIDATION_REPORT_PATH};

/// Counts by priority, domain and confidence, for summaries.
pub fn summarise(
    recommendations: &[Recommendation],
    report: &ValidationReport,
) -> BTreeMap<String, serde_json::Value> {
    let mut by_priority: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_domain: BTreeMap<&str, u64> = BTreeMap::new();
    let mut inferred = 0u64;
    for recommendation in recommendations {
        *by_priority
            .entry(recommendation.priority.as_str())
            .or_default() += 1;
        *by_domain
            .entry(recommendation.security_domain.label())
            .or_default() += 1;
        if recommendation.confidence == Confidence::Inferred {
            inferred += 1;
        }
    }
    let mut summary = BTreeMap::new();
    summary.insert("recommendations".into(), recommendations.len().into());
    summary.insert("inferred".into(), inferred.into());
    summary.insert("rejected".into(), report.rejected.len().into());
    summary.insert(
        "by_priority".into(),
        serde_json::to_value(by_priority).unwrap_or_default(),
    );
    summary.insert(
        "by_domain".into(),
        serde_json::to_value(by_domain).unwrap_or_default(),
    );
    summary
}

/// The pipeline stage.
#[derive(Debug)]
pub struct AnalysisStage {
    kb: Arc<Kb>,
    catalogue: Vec<catalogue::CatalogueEntry>,
    llm: Option<Arc<dyn Llm>>,
}

impl AnalysisStage {
    /// The deterministic stage.
    pub fn new(kb: Arc<Kb>) -> Result<Self> {
        Self::with_llm(kb, None)
    }

    /// The stage with an optional language model.
    pub fn with_llm(kb: Arc<Kb>, llm: Option<Arc<dyn Llm>>) -> Result<Self> {
        let catalogue = catalogue::load()
            .map_err(|err| Error::Fatal(format!("security property catalogue: {err}")))?;
        Ok(Self { kb, catalogue, llm })
    }
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value)
        .map_err(|err| Error::Fatal(format!("serialising {what}: {err}")))
}

#[async_trait]
impl Stage for AnalysisStage {
    fn id(&self) -> StageId {
        StageId::Analysis
    }

    async fn run(&self, ctx: &RunContext, ports: &StagePorts<'_>) -> Result<StageOutcome> {
        let service = self
            .kb
            .service(&ctx.service_id)
            .ok_or_else(|| Error::UnknownService {
                name: ctx.service_id.clone(),
                suggestions: Vec::new(),
            })?;
        let (mut recommendations, mut report) =
            recommend::recommend(&self.kb, service, &self.catalogue, &ctx.profile);
        let mut record_key = None;
        let mut record = None;
        if let Some(model) = &self.llm {
            let earlier =
                gensec_core::llm::earlier_records(ports.store, ctx, StageId::Analysis).await?;
            let stage_record = llm::enrich(
                model.as_ref(),
                &self.kb,
                service,
                &ctx.profile,
                &earlier,
                &mut recommendations,
                &mut report,
            )
            .await;
            record_key =
                Some(gensec_core::llm::write_record(ports.store, ctx, &stage_record).await?);
            record = Some(stage_record);
        }
        let mut summary = summarise(&recommendations, &report);
        if let Some(record) = &record {
            summary.insert(
                gensec_core::llm::SUMMARY_KEY.into(),
                serde_json::to_value(record).unwrap_or_default(),
            );
        }
        let set = RecommendationSet {
            service_id: ctx.service_id.clone(),
            service_name: ctx.service_display_name.clone(),
            request_id: ctx.request.request_id.clone(),
            profile_id: ctx.profile.profile_id.clone(),
            recommendations,
        };
        let recommendations_key = ctx.key(RECOMMENDATIONS_PATH);
        let report_key = ctx.key(VALIDATION_REPORT_PATH);
        ports
            .store
            .put(
                &recommendations_key,
                to_json(&set, "recommendations")?,
                "application/json",
            )
            .await?;
        ports
            .store
            .put(
                &report_key,
                to_json(&report, "validation report")?,
                "application/json",
            )
            .await?;
        let warnings = if set.recommendations.is_empty() {
            vec![format!(
                "no recommendation for {}: its schemas expose no property the catalogue or the inference rules recognise",
                ctx.service_id
            )]
        } else {
            Vec::new()
        };
        let mut keys = vec![recommendations_key, report_key];
        keys.extend(record_key);
        Ok(StageOutcome {
            stage: StageId::Analysis,
            keys,
            summary,
            validation: ValidationCounts {
                checked: report.proposed,
                accepted: report.accepted,
                rejected: report.rejected.len() as u64,
            },
            warnings,
        })
    }
}
