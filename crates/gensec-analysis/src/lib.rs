//! Stage 2, security analysis: reviewed catalogue entries for the service's
//! resource types, inferred candidates for the rest, tailored to the profile
//! and validated against the knowledge base. Writes
//! `analysis/recommendations.json`; its verdicts go into the run's validation report.
//!
//! With a language model ([`AnalysisStage::with_llm`]), the validated result
//! is also given to the model ([`llm`]); what it proposes passes the same
//! validators, and the stage records its usage in `llm/analysis.json`.

pub mod catalogue;
pub mod check;
pub mod infer;
pub mod llm;
pub mod operational;
pub mod recommend;
pub mod tagging;
pub mod tailor;

use async_trait::async_trait;
use gensec_core::contract::analysis::{Confidence, Recommendation, RecommendationSet};
use gensec_core::contract::figures::{AnalysisFigures, StageFigures};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts,
};
use gensec_core::llm::Llm;
use gensec_core::{Error, Result};
use gensec_kb::Kb;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Counts by priority, domain and confidence.
pub fn figures(recommendations: &[Recommendation]) -> AnalysisFigures {
    let mut figures = AnalysisFigures {
        recommendations: recommendations.len() as u64,
        ..AnalysisFigures::default()
    };
    let mut by_priority: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_domain: BTreeMap<String, u64> = BTreeMap::new();
    for recommendation in recommendations {
        *by_priority
            .entry(recommendation.priority.as_str().to_string())
            .or_default() += 1;
        *by_domain
            .entry(recommendation.security_domain.label().to_string())
            .or_default() += 1;
        match recommendation.confidence {
            Confidence::Curated => figures.curated += 1,
            Confidence::Inferred => figures.inferred += 1,
            Confidence::ModelProposed => figures.model_proposed += 1,
        }
    }
    figures.by_priority = by_priority;
    figures.by_domain = by_domain;
    figures
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

#[async_trait]
impl Stage for AnalysisStage {
    fn id(&self) -> StageId {
        StageId::Analysis
    }

    async fn run(
        &self,
        ctx: &RunContext,
        ports: &StagePorts<'_>,
        earlier: &[StageOutcome],
    ) -> Result<StageOutcome> {
        // The run's documentation (refreshed facts) over the baseline.
        let kb = gensec_kb::run_kb(&self.kb, ports.store, ctx, earlier).await?;
        let service = kb
            .service(&ctx.service_id)
            .ok_or_else(|| Error::UnknownService {
                name: ctx.service_id.clone(),
                suggestions: Vec::new(),
            })?;
        let (mut recommendations, mut verdicts) =
            recommend::recommend(&kb, service, &self.catalogue, &ctx.profile);
        let mut writer = PackageWriter::new(ports.store, ctx);
        let mut record = None;
        let mut model = None;
        if let Some(llm) = &self.llm {
            let earlier = gensec_core::llm::earlier_records(earlier);
            let stage_record = llm::enrich(
                llm.as_ref(),
                &kb,
                service,
                &ctx.profile,
                &earlier,
                &mut recommendations,
                &mut verdicts,
            )
            .await;
            gensec_core::llm::write_record(&mut writer, StageId::Analysis, &stage_record).await?;
            model = Some(llm::model_validation(&stage_record));
            record = Some(stage_record);
        }
        let mut figures = figures(&recommendations);
        figures.model = model;
        let warnings = if recommendations.is_empty() {
            vec![format!(
                "no recommendation for {}: its schemas expose no property the catalogue or the inference rules recognise",
                ctx.service_id
            )]
        } else {
            Vec::new()
        };
        let set = RecommendationSet {
            service_id: ctx.service_id.clone(),
            service_name: ctx.service_display_name.clone(),
            request_id: ctx.request.request_id.clone(),
            profile_id: ctx.profile.profile_id.clone(),
            recommendations,
        };
        writer.put_json(paths::RECOMMENDATIONS, &set).await?;
        Ok(StageOutcome {
            stage: StageId::Analysis,
            files: writer.finish(),
            figures: StageFigures::Analysis(figures),
            verdicts,
            warnings,
            llm: record,
        })
    }
}
