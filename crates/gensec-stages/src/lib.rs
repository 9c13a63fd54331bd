//! The six pipeline stages, built once from one knowledge base, and a service
//! request resolved into the [`RunContext`] every stage reads. The `gensec`
//! CLI runs them in-process; each stage Lambda runs one of them.

use gensec_analysis::AnalysisStage;
use gensec_controls::ControlsStage;
use gensec_core::contract::stage::{PIPELINE, RunContext, Stage, StageId};
use gensec_core::llm::Llm;
use gensec_core::{SecurityProfile, ServiceRequest};
use gensec_docs::DocumentationStage;
use gensec_iac::IacStage;
use gensec_iam::IamStage;
use gensec_kb::Kb;
use gensec_report::ReportStage;
use std::sync::Arc;

/// Every stage of the pipeline.
#[derive(Debug)]
pub struct Stages {
    documentation: DocumentationStage,
    analysis: AnalysisStage,
    controls: ControlsStage,
    iac: IacStage,
    iam: IamStage,
    report: ReportStage,
}

impl Stages {
    /// The deterministic stages (no language model).
    pub fn new(kb: &Arc<Kb>) -> gensec_core::Result<Self> {
        Self::with_llm(kb, None)
    }

    /// The stages with an optional language model: the analysis stage asks it
    /// to tailor and extend the validated recommendations, the report stage
    /// for a narrative overview and checklist answers. Everything it proposes
    /// is validated; when it is unavailable the result is deterministic.
    pub fn with_llm(kb: &Arc<Kb>, llm: Option<Arc<dyn Llm>>) -> gensec_core::Result<Self> {
        Ok(Self {
            documentation: DocumentationStage::new(kb.clone()),
            analysis: AnalysisStage::with_llm(kb.clone(), llm.clone())?,
            controls: ControlsStage::new(kb.clone()),
            iac: IacStage::new(kb.clone()),
            iam: IamStage::new(kb.clone()),
            report: ReportStage::with_llm(kb.clone(), llm),
        })
    }

    /// The documentation stage first refreshes the service's facts from
    /// AWS's live sources; later stages validate against the refreshed facts
    /// (`gensec_kb::run_kb`). A failing source keeps the baseline with a warning.
    pub fn with_live(self, live: gensec_docs::live::LiveCollector) -> Self {
        Self {
            documentation: self.documentation.with_live(live),
            ..self
        }
    }

    /// All stages, for `run_pipeline` (which orders them).
    pub fn all(&self) -> Vec<&dyn Stage> {
        PIPELINE.iter().map(|id| self.get(*id)).collect()
    }

    /// One stage.
    pub fn get(&self, id: StageId) -> &dyn Stage {
        match id {
            StageId::Documentation => &self.documentation,
            StageId::Analysis => &self.analysis,
            StageId::Controls => &self.controls,
            StageId::Iac => &self.iac,
            StageId::Iam => &self.iam,
            StageId::Report => &self.report,
        }
    }
}

/// Resolve the request's service and build the run context.
pub fn run_context(
    kb: &Kb,
    request: ServiceRequest,
    profile: SecurityProfile,
) -> gensec_core::Result<RunContext> {
    let service = kb.resolve_service(&request.service_name)?;
    Ok(RunContext::new(
        request,
        profile,
        &service.id,
        &service.display_name,
        kb.stamp(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_stage_answers_to_its_own_id() {
        let kb = Arc::new(Kb::embedded().unwrap());
        let stages = Stages::new(&kb).unwrap();
        for id in PIPELINE {
            assert_eq!(stages.get(*id).id(), *id);
        }
        assert_eq!(stages.all().len(), PIPELINE.len());
    }
}
