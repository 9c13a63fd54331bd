//! Stage 6, the report: the Service Research Profile
//! (`profile/service-profile.json`, `profile/security-research-profile.md`)
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
pub mod escape;
pub mod evidence;
pub mod html;
pub mod load;
pub mod markdown;
pub mod model;
pub mod profile;
pub mod view;

use async_trait::async_trait;
use gensec_core::analysis::{ModelValidation, VALIDATION_REPORT_PATH, ValidationReport};
use gensec_core::llm::{Llm, LlmOutcome, LlmStageRecord};
use gensec_core::pipeline::{RunContext, Stage, StageId, StageOutcome, StagePorts};
use gensec_core::{Error, Result};
use gensec_kb::Kb;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use load::ReportInputs;
pub use profile::ServiceProfile;

/// `profile/service-profile.json`, relative to the run prefix.
pub const PROFILE_JSON_PATH: &str = "profile/service-profile.json";
/// `profile/security-research-profile.md`, relative to the run prefix.
pub const PROFILE_MARKDOWN_PATH: &str = "profile/security-research-profile.md";
/// `report.html`, relative to the run prefix.
pub const REPORT_HTML_PATH: &str = "report.html";

/// The three documents of the stage.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub profile: ServiceProfile,
    pub profile_json: String,
    pub markdown: String,
    pub html: String,
}

/// Build the profile and render all outputs (no I/O).
pub fn render(kb: &Kb, ctx: &RunContext, inputs: &ReportInputs) -> Result<Rendered> {
    render_with(kb, ctx, inputs, None)
}

/// [`render`] with the language model's contribution.
pub fn render_with(
    kb: &Kb,
    ctx: &RunContext,
    inputs: &ReportInputs,
    model_written: Option<model::ModelContribution>,
) -> Result<Rendered> {
    let mut profile = profile::build(ctx, kb.global_condition_keys(), inputs);
    profile.model_written = model_written;
    let profile_json = serde_json::to_string_pretty(&profile)
        .map_err(|err| Error::Fatal(format!("serialising the service profile: {err}")))?;
    let markdown = markdown::render(&profile);
    let html = html::render(&profile, inputs);
    Ok(Rendered {
        profile,
        profile_json,
        markdown,
        html,
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

/// Add the report's model verdict to the run's (the analysis stage's) one.
fn merge_verdict(report: &mut ValidationReport, record: &LlmStageRecord) {
    let verdict = report.llm.get_or_insert_with(|| ModelValidation {
        model_id: record.model_id.clone(),
        outcome: match record.outcome {
            LlmOutcome::Applied => "applied".into(),
            LlmOutcome::Deterministic => "deterministic".into(),
        },
        fallback_reason: record.fallback_reason.clone(),
        ..ModelValidation::default()
    });
    verdict.items_proposed += record.items_proposed;
    verdict.items_accepted += record.items_accepted;
    verdict.items_rejected += record.items_rejected;
    verdict.names_checked += record.names_checked;
    verdict.names_unknown += record.names_unknown;
    verdict.hallucination_rate = (verdict.names_checked > 0)
        .then(|| verdict.names_unknown as f64 / verdict.names_checked as f64);
}

/// Recommendations whose resource type or property is not in the documentation;
/// the report shows them as they are, but the reviewer is told.
fn traceability_warnings(inputs: &ReportInputs) -> Vec<String> {
    let doc = &inputs.documentation;
    let mut warnings = Vec::new();
    for r in &inputs.recommendations.recommendations {
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

#[async_trait]
impl Stage for ReportStage {
    fn id(&self) -> StageId {
        StageId::Report
    }

    async fn run(&self, ctx: &RunContext, ports: &StagePorts<'_>) -> Result<StageOutcome> {
        let store = ports.store;
        let mut inputs = load::load(ctx, store).await?;
        let mark = inputs.validation.mark();
        let mut model_written = None;
        let mut keys = Vec::new();
        let mut record = None;
        if let Some(llm) = &self.llm {
            let earlier = gensec_core::llm::earlier_records(store, ctx, StageId::Report).await?;
            let mut validation = inputs.validation.clone();
            let (stage_record, contribution) = model::write(
                llm.as_ref(),
                &self.kb,
                ctx,
                &inputs,
                &earlier,
                &mut validation,
            )
            .await;
            merge_verdict(&mut validation, &stage_record);
            // The run's validation report lists the model's rejected text too.
            let body = serde_json::to_vec_pretty(&validation)
                .map_err(|err| Error::Fatal(format!("serialising the validation report: {err}")))?;
            store
                .put(&ctx.key(VALIDATION_REPORT_PATH), body, "application/json")
                .await?;
            inputs.validation = validation;
            keys.push(gensec_core::llm::write_record(store, ctx, &stage_record).await?);
            record = Some(stage_record);
            model_written = Some(contribution);
        }
        let rendered = render_with(&self.kb, ctx, &inputs, model_written)?;
        let mut warnings = inputs.warnings.clone();
        warnings.extend(traceability_warnings(&inputs));

        let outputs = [
            (
                PROFILE_JSON_PATH,
                rendered.profile_json.into_bytes(),
                "application/json",
            ),
            (
                PROFILE_MARKDOWN_PATH,
                rendered.markdown.into_bytes(),
                "text/markdown; charset=utf-8",
            ),
            (
                REPORT_HTML_PATH,
                rendered.html.into_bytes(),
                "text/html; charset=utf-8",
            ),
        ];
        let mut bytes = BTreeMap::new();
        for (path, body, content_type) in outputs {
            let key = ctx.key(path);
            bytes.insert(path.to_string(), serde_json::Value::from(body.len()));
            store.put(&key, body, content_type).await?;
            keys.push(key);
        }

        let sections: Vec<serde_json::Value> = view::sections(&rendered.profile)
            .into_iter()
            .filter(|section| section.level == 2)
            .map(|section| section.title.into())
            .collect();
        let mut summary = BTreeMap::new();
        summary.insert("profile_sections".into(), sections.len().into());
        summary.insert("profile_section_titles".into(), sections.into());
        summary.insert(
            "report_sections".into(),
            html::SECTION_IDS
                .iter()
                .map(|id| serde_json::Value::from(*id))
                .collect::<Vec<_>>()
                .into(),
        );
        summary.insert(
            "recommendations_shown".into(),
            inputs.recommendations.recommendations.len().into(),
        );
        summary.insert(
            "bytes".into(),
            serde_json::to_value(bytes).unwrap_or_default(),
        );
        summary.insert(
            "iac_included".into(),
            (inputs.cloudformation.is_some() || inputs.terraform.is_some()).into(),
        );
        summary.insert("iam_included".into(), inputs.iam_model.is_some().into());
        summary.insert(
            "controls_included".into(),
            (!inputs.controls.is_empty()).into(),
        );
        if let Some(record) = &record {
            summary.insert(
                gensec_core::llm::SUMMARY_KEY.into(),
                serde_json::to_value(record).unwrap_or_default(),
            );
        }
        Ok(StageOutcome {
            stage: StageId::Report,
            keys,
            summary,
            // Zero without a model: the report checks nothing of its own.
            validation: inputs.validation.counts_since(mark),
            warnings,
        })
    }
}
