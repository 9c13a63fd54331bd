//! Stage 6, the report: the Service Research Profile
//! (`research/service-profile.json`, `research/security-research-profile.md`)
//! and one self-contained `report.html` for the reviewer.
//!
//! Everything is derived from what earlier stages wrote (documentation,
//! recommendations, validation report, controls and, when present, IaC and the
//! IAM model) and from the knowledge base's global condition keys. The
//! profile invents no prose facts: each section names its sources, and where
//! the machine-readable sources are silent it says so.
//!
//! Modules: [`load`] reads the run, [`controls`] reads the controls back,
//! [`evidence`] finds schema properties, condition keys and rules by name,
//! [`profile`] builds the profile data, [`view`] turns it into a neutral
//! document, [`markdown`] and [`html`] render it, [`escape`] keeps inputs inert.
//!
//! With a language model ([`ReportStage::with_llm`]), [`model`] adds a
//! narrative overview and checklist answers, checked like everything else and
//! marked model-written; without one the outputs are exactly as before.

pub mod controls;
pub mod decision;
pub mod escape;
pub mod evidence;
pub mod html;
pub mod load;
pub mod markdown;
pub mod model;
pub mod profile;
pub mod summary;
pub mod view;

use async_trait::async_trait;
use gensec_core::contract::analysis::ModelValidation;
use gensec_core::contract::decision::PackageDecision;
use gensec_core::contract::figures::{ReportFigures, StageFigures};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts,
};
use gensec_core::library::ServiceDecision;
use gensec_core::llm::{Llm, LlmStageRecord};
use gensec_core::{Error, Result};
use gensec_kb::Kb;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use load::ReportInputs;
pub use profile::ServiceProfile;

/// The documents of the stage.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub profile: ServiceProfile,
    pub profile_json: String,
    pub markdown: String,
    pub html: String,
    /// The decision the package supports and `summary.md`.
    pub decision: PackageDecision,
    pub summary: String,
}

/// Build the profile and render all outputs (no I/O), with no decision
/// recorded in the library.
pub fn render(kb: &Kb, ctx: &RunContext, inputs: &ReportInputs) -> Result<Rendered> {
    render_with(kb, ctx, inputs, None, None)
}

/// [`render`] with the language model's contribution and the service
/// decision recorded in the library.
pub fn render_with(
    kb: &Kb,
    ctx: &RunContext,
    inputs: &ReportInputs,
    model_written: Option<model::ModelContribution>,
    library_decision: Option<&ServiceDecision>,
) -> Result<Rendered> {
    let mut profile = profile::build(ctx, kb.global_condition_keys(), inputs);
    profile.model_written = model_written;
    let profile_json = serde_json::to_string_pretty(&profile)
        .map_err(|err| Error::Fatal(format!("serialising the service profile: {err}")))?;
    let decision = decision::decide(kb, ctx, inputs, library_decision);
    let markdown = markdown::render(&profile);
    let html = html::render(&profile, inputs, &decision);
    let summary = summary::markdown(&profile, &decision);
    Ok(Rendered {
        profile,
        profile_json,
        markdown,
        html,
        decision,
        summary,
    })
}

/// The pipeline stage.
#[derive(Debug)]
pub struct ReportStage {
    kb: Arc<Kb>,
    llm: Option<Arc<dyn Llm>>,
}

impl ReportStage {
    /// The deterministic stage.
    pub fn new(kb: Arc<Kb>) -> Self {
        Self::with_llm(kb, None)
    }

    /// The stage with an optional language model.
    pub fn with_llm(kb: Arc<Kb>, llm: Option<Arc<dyn Llm>>) -> Self {
        Self { kb, llm }
    }
}

/// Recommendations whose resource type or property is not in the documentation;
/// the report shows them as they are, but the reviewer is told.
fn traceability_warnings(inputs: &ReportInputs) -> Vec<String> {
    let doc = &inputs.documentation;
    let mut warnings = Vec::new();
    // An operational control names no template property.
    for r in inputs
        .recommendations
        .recommendations
        .iter()
        .filter(|r| !r.is_operational())
    {
        match doc
            .resource_types
            .iter()
            .find(|schema| schema.type_name == r.resource_type)
        {
            None => warnings.push(format!(
                "{}: resource type {} is not in the service documentation",
                r.configuration_id, r.resource_type
            )),
            Some(schema) if !evidence::path_in_schema(schema, &r.property) => {
                warnings.push(format!(
                    "{}: property {} is not in the {} schema",
                    r.configuration_id, r.property, r.resource_type
                ))
            }
            Some(_) => {}
        }
    }
    warnings
}

/// The language model's overview and checklist answers. Its verdicts join
/// the run's validation so the report shows the model's rejected text with
/// the rest, and its record is written to the package.
async fn model_contribution(
    llm: &dyn Llm,
    kb: &Kb,
    ctx: &RunContext,
    inputs: &mut ReportInputs,
    earlier: &[StageOutcome],
    verdicts: &mut Verdicts,
    writer: &mut PackageWriter<'_>,
) -> Result<(LlmStageRecord, model::ModelContribution)> {
    let earlier_records = gensec_core::llm::earlier_records(earlier);
    let (stage_record, contribution) =
        model::write(llm, kb, ctx, inputs, &earlier_records, verdicts).await;
    // The report shows the model's rejected text with the rest.
    inputs
        .validation
        .rejected
        .extend(verdicts.rejected.iter().cloned());
    inputs.validation.totals.add(verdicts.counts());
    let mut records = earlier_records.clone();
    records.push(stage_record.clone());
    inputs.validation.llm = ModelValidation::from_records(&records);
    gensec_core::llm::write_record(writer, StageId::Report, &stage_record).await?;
    Ok((stage_record, contribution))
}

/// Write the four documents; their sizes in bytes by path.
async fn write_outputs(
    writer: &mut PackageWriter<'_>,
    profile_json: String,
    markdown: String,
    html: String,
    summary: String,
) -> Result<BTreeMap<String, u64>> {
    let outputs = [
        (
            paths::RESEARCH_PROFILE_JSON,
            profile_json,
            "application/json",
        ),
        (
            paths::RESEARCH_PROFILE_MARKDOWN,
            markdown,
            "text/markdown; charset=utf-8",
        ),
        (paths::REPORT_HTML, html, "text/html; charset=utf-8"),
        (
            paths::SUMMARY_MARKDOWN,
            summary,
            "text/markdown; charset=utf-8",
        ),
    ];
    let mut bytes = BTreeMap::new();
    for (path, text, content_type) in outputs {
        bytes.insert(path.to_string(), text.len() as u64);
        writer.put_text(path, text, content_type).await?;
    }
    Ok(bytes)
}

/// The stage's figures: what the report holds and how large it is.
fn figures(
    inputs: &ReportInputs,
    research_profile_sections: Vec<String>,
    bytes: BTreeMap<String, u64>,
    decision: PackageDecision,
) -> ReportFigures {
    ReportFigures {
        research_profile_sections,
        report_sections: html::SECTION_IDS
            .iter()
            .map(|id| (*id).to_string())
            .collect(),
        recommendations_shown: inputs.recommendations.recommendations.len() as u64,
        bytes,
        controls_included: !inputs.controls.is_empty(),
        iac_included: inputs.cloudformation.is_some() || inputs.terraform.is_some(),
        iam_included: inputs.iam_model.is_some(),
        decision: Some(decision),
    }
}

#[async_trait]
impl Stage for ReportStage {
    fn id(&self) -> StageId {
        StageId::Report
    }

    async fn run(
        &self,
        ctx: &RunContext,
        ports: &StagePorts<'_>,
        earlier: &[StageOutcome],
    ) -> Result<StageOutcome> {
        // The run's documentation (refreshed facts) over the baseline.
        let kb = gensec_kb::run_kb(&self.kb, ports.store, ctx, earlier).await?;
        let store = ports.store;
        let mut inputs = load::load(ctx, store, earlier).await?;
        let mut verdicts = Verdicts::new(StageId::Report);
        let mut writer = PackageWriter::new(store, ctx);
        let (record, model_written) = match &self.llm {
            Some(llm) => {
                let (stage_record, contribution) = model_contribution(
                    llm.as_ref(),
                    &kb,
                    ctx,
                    &mut inputs,
                    earlier,
                    &mut verdicts,
                    &mut writer,
                )
                .await?;
                (Some(stage_record), Some(contribution))
            }
            None => (None, None),
        };
        let library_decision = ports
            .library
            .decision(&ctx.service_id, &ctx.profile.profile_id)
            .await?;
        let rendered = render_with(&kb, ctx, &inputs, model_written, library_decision.as_ref())?;
        let mut warnings = inputs.warnings.clone();
        warnings.extend(traceability_warnings(&inputs));
        let research_profile_sections: Vec<String> = view::sections(&rendered.profile)
            .into_iter()
            .filter(|section| section.level == 2)
            .map(|section| section.title)
            .collect();
        let bytes = write_outputs(
            &mut writer,
            rendered.profile_json,
            rendered.markdown,
            rendered.html,
            rendered.summary,
        )
        .await?;
        let figures = figures(&inputs, research_profile_sections, bytes, rendered.decision);
        Ok(StageOutcome {
            stage: StageId::Report,
            files: writer.finish(),
            figures: StageFigures::Report(figures),
            // Empty without a model: the report checks nothing of its own.
            verdicts,
            warnings,
            llm: record,
        })
    }
}
