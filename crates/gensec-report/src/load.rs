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
use gensec_core::ports::{ObjectStore, read_json, read_json_kept};
use gensec_core::{Error, Result};
use gensec_kb::ServiceDocumentation;
use serde::de::DeserializeOwned;

/// A text document of the run: its path relative to the run prefix and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFile {
    pub path: String,
    pub text: String,
}

/// Everything the report is built from.
#[derive(Debug, Clone)]
pub struct ReportInputs {
    pub documentation: std::sync::Arc<ServiceDocumentation>,
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
    let run = RunFiles {
        ctx,
        store,
        earlier,
    };
    let documentation = run
        .required_json_kept(StageId::Documentation, paths::DOCUMENTATION)
        .await?;
    let recommendations = run
        .required_json(StageId::Analysis, paths::RECOMMENDATIONS)
        .await?;
    let mut warnings = Vec::new();

    let control_set: Option<ControlSet> = run
        .optional_json(StageId::Controls, paths::CONTROLS_INDEX)
        .await?;
    let controls = control_set
        .as_ref()
        .map(controls::summarise)
        .unwrap_or_default();
    let scp_omissions = run
        .optional_json::<serde_json::Value>(StageId::Controls, paths::SCP_COVERAGE)
        .await?
        .map(|coverage| omissions(&coverage))
        .unwrap_or_default();
    let iac: Option<IacIndex> = run.optional_json(StageId::Iac, paths::IAC_INDEX).await?;
    let cloudformation = run
        .text_file(StageId::Iac, paths::TEMPLATE_YAML, &mut warnings)
        .await?;
    let terraform = run
        .text_file(StageId::Iac, paths::TERRAFORM, &mut warnings)
        .await?;
    let iam_model: Option<IamModel> = run.optional_json(StageId::Iam, paths::IAM_MODEL).await?;
    let mut iam_policies = Vec::new();
    for path in run.iam_policy_paths() {
        if let Some(file) = run.text_file(StageId::Iam, path, &mut warnings).await? {
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

/// The run's files, read only where an earlier stage's outcome says it
/// wrote them.
struct RunFiles<'a> {
    ctx: &'a RunContext,
    store: &'a dyn ObjectStore,
    earlier: &'a [StageOutcome],
}

impl<'a> RunFiles<'a> {
    fn wrote(&self, stage: StageId, path: &str) -> bool {
        outcome_of(self.earlier, stage).is_some_and(|outcome| outcome.wrote(path))
    }

    /// A document the report cannot do without: missing is fatal.
    async fn required_json<T: DeserializeOwned>(&self, stage: StageId, path: &str) -> Result<T> {
        if !self.wrote(stage, path) {
            return Err(Error::Fatal(format!(
                "{path} is missing; the {stage} stage writes it"
            )));
        }
        read_json(self.store, &self.ctx.key(path)).await
    }

    /// [`required_json`](Self::required_json) for a document an earlier
    /// stage of this process may have kept parsed.
    async fn required_json_kept<T>(&self, stage: StageId, path: &str) -> Result<std::sync::Arc<T>>
    where
        T: DeserializeOwned + std::any::Any + Send + Sync,
    {
        if !self.wrote(stage, path) {
            return Err(Error::Fatal(format!(
                "{path} is missing; the {stage} stage writes it"
            )));
        }
        read_json_kept(self.store, &self.ctx.key(path)).await
    }

    /// A document of an optional stage: none when the stage did not write it.
    async fn optional_json<T: DeserializeOwned>(
        &self,
        stage: StageId,
        path: &str,
    ) -> Result<Option<T>> {
        if !self.wrote(stage, path) {
            return Ok(None);
        }
        Ok(Some(read_json(self.store, &self.ctx.key(path)).await?))
    }

    /// A text document, none when not written or not UTF-8 (with a warning).
    async fn text_file(
        &self,
        stage: StageId,
        path: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Option<TextFile>> {
        if !self.wrote(stage, path) {
            return Ok(None);
        }
        Ok(text(self.store, &self.ctx.key(path), warnings)
            .await?
            .map(|text| TextFile {
                path: path.to_string(),
                text,
            }))
    }

    /// `iam/policies/*.json` as the IAM stage wrote them, sorted.
    fn iam_policy_paths(&self) -> Vec<&'a str> {
        let policy_dir = format!("{}/", paths::IAM_POLICIES_DIR);
        let mut policy_paths: Vec<&str> = outcome_of(self.earlier, StageId::Iam)
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
        policy_paths
    }
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
