//! Reading what earlier stages wrote. Documentation, recommendations and the
//! validation report are required; controls, IaC and the IAM model are optional
//! (a stage may be switched off by the profile or not part of this build).

use crate::controls::{self, ControlsSummary};
use gensec_core::analysis::{
    RECOMMENDATIONS_PATH, RecommendationSet, VALIDATION_REPORT_PATH, ValidationReport,
};
use gensec_core::iam::{IAM_MODEL_PATH, IAM_POLICIES_DIR, IamModel};
use gensec_core::pipeline::RunContext;
use gensec_core::ports::ObjectStore;
use gensec_core::{Error, Result};
use gensec_kb::ServiceDocumentation;

/// Stage 1's document, relative to the run prefix.
pub const DOCUMENTATION_PATH: &str = "documentation/service-documentation.json";
/// Stage 4's CloudFormation template, relative to the run prefix.
pub const CLOUDFORMATION_PATH: &str = "iac/cloudformation/template.yaml";
/// Stage 4's Terraform configuration, relative to the run prefix.
pub const TERRAFORM_PATH: &str = "iac/terraform/main.tf";

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
    pub validation: ValidationReport,
    pub controls: ControlsSummary,
    pub cloudformation: Option<TextFile>,
    pub terraform: Option<TextFile>,
    pub iam_model: Option<IamModel>,
    /// `iam/policies/*.json`, sorted by path.
    pub iam_policies: Vec<TextFile>,
    /// Problems with optional inputs (unreadable files); they become warnings.
    pub warnings: Vec<String>,
}

/// Read the run's documents from the store.
pub async fn load(ctx: &RunContext, store: &dyn ObjectStore) -> Result<ReportInputs> {
    let documentation = required_json(ctx, store, DOCUMENTATION_PATH, "documentation").await?;
    let recommendations = required_json(ctx, store, RECOMMENDATIONS_PATH, "analysis").await?;
    let validation = required_json(ctx, store, VALIDATION_REPORT_PATH, "analysis").await?;
    let mut warnings = Vec::new();

    let mut controls_files = Vec::new();
    for key in store.list(&ctx.key("controls/")).await? {
        if let Some(text) = optional_text(store, &key, &mut warnings).await? {
            let path = relative(ctx, &key);
            controls_files.push(TextFile { path, text });
        }
    }
    let controls = controls::summarise(&controls_files, &mut warnings);

    let cloudformation = optional_file(ctx, store, CLOUDFORMATION_PATH, &mut warnings).await?;
    let terraform = optional_file(ctx, store, TERRAFORM_PATH, &mut warnings).await?;
    let iam_model = match optional_file(ctx, store, IAM_MODEL_PATH, &mut warnings).await? {
        Some(file) => match serde_json::from_str::<IamModel>(&file.text) {
            Ok(model) => Some(model),
            Err(err) => {
                warnings.push(format!("{IAM_MODEL_PATH} is not a valid IAM model: {err}"));
                None
            }
        },
        None => None,
    };
    let mut iam_policies = Vec::new();
    for key in store
        .list(&ctx.key(&format!("{IAM_POLICIES_DIR}/")))
        .await?
    {
        if !key.ends_with(".json") {
            continue;
        }
        if let Some(text) = optional_text(store, &key, &mut warnings).await? {
            let path = relative(ctx, &key);
            iam_policies.push(TextFile { path, text });
        }
    }
    iam_policies.sort_by(|a, b| a.path.cmp(&b.path));

    Ok(ReportInputs {
        documentation,
        recommendations,
        validation,
        controls,
        cloudformation,
        terraform,
        iam_model,
        iam_policies,
        warnings,
    })
}

fn relative(ctx: &RunContext, key: &str) -> String {
    key.strip_prefix(&ctx.output_prefix)
        .unwrap_or(key)
        .to_string()
}

async fn required_json<T: serde::de::DeserializeOwned>(
    ctx: &RunContext,
    store: &dyn ObjectStore,
    path: &str,
    writer: &str,
) -> Result<T> {
    let key = ctx.key(path);
    let body = store
        .get(&key)
        .await?
        .ok_or_else(|| Error::Fatal(format!("{key} is missing; the {writer} stage writes it")))?;
    serde_json::from_slice(&body).map_err(|err| Error::Fatal(format!("{key} is not valid: {err}")))
}

async fn optional_file(
    ctx: &RunContext,
    store: &dyn ObjectStore,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<TextFile>> {
    Ok(optional_text(store, &ctx.key(path), warnings)
        .await?
        .map(|text| TextFile {
            path: path.to_string(),
            text,
        }))
}

async fn optional_text(
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
