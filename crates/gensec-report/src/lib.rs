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

pub mod controls;
pub mod escape;
pub mod evidence;
pub mod html;
pub mod load;
pub mod markdown;
pub mod profile;
pub mod view;

use async_trait::async_trait;
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
    let profile = profile::build(ctx, kb.global_condition_keys(), inputs);
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
}

impl ReportStage {
    pub fn new(kb: Arc<Kb>) -> Self {
        Self { kb }
    }
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
        let inputs = load::load(ctx, store).await?;
        let rendered = render(&self.kb, ctx, &inputs)?;
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
        let mut keys = Vec::new();
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
        Ok(StageOutcome {
            stage: StageId::Report,
            keys,
            summary,
            validation: Default::default(),
            warnings,
        })
    }
}
