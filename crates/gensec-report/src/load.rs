//! Reading what earlier stages wrote: their typed documents and outcomes.
//! Documentation and recommendations are required; controls, IaC and the IAM
//! model are optional (a stage may be switched off by the profile). Only
//! files an earlier stage's outcome says it wrote are read.

use crate::controls::{self, ControlsSummary};
use gensec_core::contract::analysis::RecommendationSet;
use gensec_core::contract::controls::ControlSet;
use gensec_core::contract::iac::IacIndex;
use gensec_core::contract::iam::IamModel;
use gensec_core::contract::paths;
use gensec_core::contract::stage::{RunContext, StageId, StageOutcome, outcome_of};
use gensec_core::contract::validation::ValidationReport;
use gensec_core::ports::{ObjectStore, read_json};
use gensec_core::{Error, Result};
use gensec_kb::ServiceDocumentation;

/// A text document of the run: its path relative to the run prefix and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFile {
    pub path: String,
    pub text: String,
}

/// Everything the report is built from.
#[derive(Debug, Clone)]
pub struct ReportInputs {
    pub documentation: ServiceDocumentation,
    pub recommendations: RecommendationSet,
    /// The verdicts of the stages before the report.
    pub validation: ValidationReport,
    pub controls: ControlsSummary,
    pub control_set: Option<ControlSet>,
    pub iac: Option<IacIndex>,
    pub cloudformation: Option<TextFile>,
    pub terraform: Option<TextFile>,
    pub iam_model: Option<IamModel>,
    /// `iam/policies/*.json`, sorted by path.
    pub iam_policies: Vec<TextFile>,
    /// SCP statements that do not deny a request leaving their key out, from
    /// `controls/preventive/coverage.json`: (configuration id, why).
    pub scp_omissions: Vec<(String, String)>,
    /// Problems with optional inputs (unreadable files); they become warnings.
    pub warnings: Vec<String>,
}

/// Read the run's documents from the store.
pub async fn load(
    ctx: &RunContext,
    store: &dyn ObjectStore,
    earlier: &[StageOutcome],
) -> Result<ReportInputs> {
    let wrote = |stage: StageId, path: &str| {
        outcome_of(earlier, stage).is_some_and(|outcome| outcome.wrote(path))
    };
    let required = |stage: StageId, path: &str| {
        if wrote(stage, path) {
            Ok(ctx.key(path))
        } else {
            Err(Error::Fatal(format!(
                "{path} is missing; the {stage} stage writes it"
            )))
        }
    };
    let documentation = read_json(
        store,
        &required(StageId::Documentation, paths::DOCUMENTATION)?,
    )
    .await?;
    let recommendations =
        read_json(store, &required(StageId::Analysis, paths::RECOMMENDATIONS)?).await?;
    let mut warnings = Vec::new();

    let control_set: Option<ControlSet> = if wrote(StageId::Controls, paths::CONTROLS_INDEX) {
        Some(read_json(store, &ctx.key(paths::CONTROLS_INDEX)).await?)
    } else {
        None
    };
    let controls = control_set
        .as_ref()
        .map(controls::summarise)
        .unwrap_or_default();
    let scp_omissions = if wrote(StageId::Controls, paths::SCP_COVERAGE) {
        let coverage: serde_json::Value = read_json(store, &ctx.key(paths::SCP_COVERAGE)).await?;
        omissions(&coverage)
    } else {
        Vec::new()
    };
    let iac: Option<IacIndex> = if wrote(StageId::Iac, paths::IAC_INDEX) {
        Some(read_json(store, &ctx.key(paths::IAC_INDEX)).await?)
    } else {
        None
    };
    let mut text_of = async |stage: StageId, path: &str| -> Result<Option<TextFile>> {
        if !wrote(stage, path) {
            return Ok(None);
        }
        Ok(text(store, &ctx.key(path), &mut warnings)
            .await?
            .map(|text| TextFile {
                path: path.to_string(),
                text,
            }))
    };
    let cloudformation = text_of(StageId::Iac, paths::TEMPLATE_YAML).await?;
    let terraform = text_of(StageId::Iac, paths::TERRAFORM).await?;
    let iam_model = if wrote(StageId::Iam, paths::IAM_MODEL) {
        Some(read_json::<IamModel>(store, &ctx.key(paths::IAM_MODEL)).await?)
    } else {
        None
    };
    let policy_dir = format!("{}/", paths::IAM_POLICIES_DIR);
    let mut policy_paths: Vec<&str> = outcome_of(earlier, StageId::Iam)
        .map(|outcome| {
            outcome
                .files
                .iter()
                .map(|file| file.path.as_str())
                .filter(|path| path.starts_with(&policy_dir) && path.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    policy_paths.sort_unstable();
    let mut iam_policies = Vec::new();
    for path in policy_paths {
        if let Some(file) = text_of(StageId::Iam, path).await? {
            iam_policies.push(file);
        }
    }

    Ok(ReportInputs {
        documentation,
        recommendations,
        validation: ValidationReport::assemble(earlier),
        controls,
        control_set,
        iac,
        cloudformation,
        terraform,
        iam_model,
        iam_policies,
        scp_omissions,
        warnings,
    })
}

/// The coverage file's `omission_not_enforced` items (under `controls`).
fn omissions(coverage: &serde_json::Value) -> Vec<(String, String)> {
    coverage["controls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["status"] == "omission_not_enforced")
        .filter_map(|item| {
            Some((
                item["configuration_id"].as_str()?.to_string(),
                item["reason"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

async fn text(
    store: &dyn ObjectStore,
    key: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    match store.get(key).await? {
        None => Ok(None),
        Some(body) => match String::from_utf8(body) {
            Ok(text) => Ok(Some(text)),
            Err(_) => {
                warnings.push(format!("{key} is not UTF-8 text; left out of the report"));
                Ok(None)
            }
        },
    }
}
