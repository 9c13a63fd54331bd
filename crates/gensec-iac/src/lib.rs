//! Stage 4, hardened infrastructure as code: a CloudFormation template (YAML
//! and JSON) with every recommendation applied, validated against the
//! resource provider schemas and required to pass the run's own Guard rules,
//! and its Terraform translation.

pub mod cloudformation;
pub mod data;
pub mod deployable;
pub mod key_policy;
pub mod terraform;

use async_trait::async_trait;
use gensec_core::contract::analysis::{Recommendation, RecommendationSet};
use gensec_core::contract::figures::{IacFigures, StageFigures};
use gensec_core::contract::iac::{
    IacIndex, TemplateGuardResults, TemplateParameter, TemplateResource, TerraformCoverage,
};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts,
};
use gensec_core::ports::read_json;
use gensec_core::{Error, Result};
use gensec_kb::Kb;
use gensec_kb::guard::{Outcome, evaluate_all};
use gensec_kb::tags::{TAGGING_CONTROL_ID, TAGS_PROPERTY, tag_pairs};
use serde_json::Value;
use std::sync::Arc;

/// CloudFormation YAML; the version date quoted so YAML 1.1 parsers keep it a string.
pub fn to_yaml(template: &Value) -> Result<String> {
    gensec_core::yaml::to_string(template)
        .map_err(|err| Error::Fatal(format!("serialising template: {err}")))
}

/// Rules of a Guard file and their result on the template; rules for types
/// the template does not contain are skipped by Guard itself.
pub fn guard_results(
    rules: &str,
    template: &Value,
) -> std::result::Result<Vec<(String, Outcome)>, String> {
    evaluate_all(rules, template)
}

/// The pipeline stage.
#[derive(Debug)]
pub struct IacStage {
    kb: Arc<Kb>,
}

impl IacStage {
    pub fn new(kb: Arc<Kb>) -> Self {
        Self { kb }
    }
}

/// The template's resources, each with the recommendations applied to its type.
fn template_resources(
    template: &Value,
    recommendations: &[Recommendation],
) -> Vec<TemplateResource> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(logical_id, resource)| {
            let resource_type = resource["Type"].as_str().unwrap_or_default().to_string();
            TemplateResource {
                logical_id: logical_id.clone(),
                // The tagging recommendation is on every resource it tagged.
                configuration_ids: recommendations
                    .iter()
                    .filter(|r| {
                        if r.control_id == TAGGING_CONTROL_ID {
                            resource["Properties"].get(TAGS_PROPERTY).is_some()
                        } else {
                            r.resource_type == resource_type
                        }
                    })
                    .map(|r| r.configuration_id.clone())
                    .collect(),
                resource_type,
            }
        })
        .collect()
}

/// The template's parameters: what a deployer supplies.
fn template_parameters(template: &Value) -> Vec<TemplateParameter> {
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    template["Parameters"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, parameter)| TemplateParameter {
            name: name.clone(),
            description: parameter["Description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            default: parameter.get("Default").map(text),
            allowed_values: parameter["AllowedValues"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
        })
        .collect()
}

/// Evaluate the run's own Guard rules against the template; a failing rule
/// is a rejection of the template.
fn check_guard(rules: &str, template: &Value, verdicts: &mut Verdicts) -> TemplateGuardResults {
    let mut guard = TemplateGuardResults::default();
    match guard_results(rules, template) {
        Ok(results) => {
            for (rule, outcome) in results {
                match outcome {
                    Outcome::Pass => guard.passed.push(rule),
                    Outcome::Skip => guard.skipped.push(rule),
                    Outcome::Fail => {
                        verdicts.reject(
                            format!("CloudFormation template vs Guard rule {rule}"),
                            "the hardened template fails its own rule",
                        );
                        guard.failed.push(rule);
                    }
                }
            }
        }
        Err(err) => verdicts.reject("CloudFormation template vs Guard rules", err),
    }
    guard
}

#[async_trait]
impl Stage for IacStage {
    fn id(&self) -> StageId {
        StageId::Iac
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
        let set: RecommendationSet = read_json(store, &ctx.key(paths::RECOMMENDATIONS)).await?;
        let mut verdicts = Verdicts::new(StageId::Iac);
        let mut writer = PackageWriter::new(store, ctx);
        let description = format!(
            "Hardened {} resources for {} ({}), generated by gensec {} from request {}; knowledge base {}",
            ctx.service_display_name,
            ctx.profile.organization_name,
            ctx.profile.profile_id,
            gensec_core::GENERATOR_VERSION,
            ctx.request.request_id,
            ctx.kb.data_date
        );
        let mut warnings = Vec::new();
        let curated = data::curated().map_err(|err| Error::Fatal(format!("IaC data: {err}")))?;
        let hardened = cloudformation::build(
            &kb,
            curated,
            &description,
            &set.recommendations,
            &ctx.profile,
        );
        warnings.extend(
            hardened
                .conflicts
                .iter()
                .map(|c| format!("conflicting recommendations: {c}")),
        );
        let mut index = IacIndex {
            resources: template_resources(&hardened.template, &set.recommendations),
            parameters: template_parameters(&hardened.template),
            conflicts: hardened.conflicts.clone(),
            ..IacIndex::default()
        };
        if let Some(key_policy) = &hardened.key_policy {
            for problem in &key_policy.problems {
                verdicts.reject("KMS key policy", problem.clone());
            }
            if key_policy.problems.is_empty() {
                verdicts.accept();
            }
            index.key_policy_cases = key_policy.cases.clone();
        }
        if index.resources.is_empty() {
            warnings.push("no resource to harden: the analysis produced no recommendation".into());
        } else {
            index.schema_problems = cloudformation::schema_problems(&kb, &hardened.template);
            for problem in &index.schema_problems {
                verdicts.reject("CloudFormation template", problem.clone());
            }
            if index.schema_problems.is_empty() {
                verdicts.accept();
            }
            if let Some(rules) = store
                .get(&ctx.key(&paths::guard_rules(&ctx.service_id)))
                .await?
            {
                index.guard = check_guard(
                    &String::from_utf8_lossy(&rules),
                    &hardened.template,
                    &mut verdicts,
                );
            }
            let yaml = format!("# {description}\n{}", to_yaml(&hardened.template)?);
            writer
                .put_text(paths::TEMPLATE_YAML, yaml, "application/yaml")
                .await?;
            writer
                .put_json(paths::TEMPLATE_JSON, &hardened.template)
                .await?;
            // The required tags go in the provider's default_tags.
            let default_tags = set
                .recommendations
                .iter()
                .find(|r| r.control_id == TAGGING_CONTROL_ID)
                .map(|r| tag_pairs(&r.recommended_value))
                .unwrap_or_default();
            let rendered = terraform::render_with_default_tags(
                &hardened.template,
                &description,
                &default_tags,
            );
            // Terraform is checked by parsing it back; a file that does not parse is not written.
            match hcl::from_str::<hcl::Body>(&rendered.main_tf) {
                Ok(_) => {
                    verdicts.accept();
                    writer
                        .put_text(paths::TERRAFORM, rendered.main_tf, "text/plain")
                        .await?;
                    index.terraform.written = true;
                }
                Err(err) => verdicts.reject("Terraform main.tf", format!("does not parse: {err}")),
            }
            warnings.extend(rendered.warnings.iter().map(|w| format!("terraform: {w}")));
            index.terraform = TerraformCoverage {
                mapped_types: rendered.mapped,
                unmapped_types: rendered.unmapped,
                ..index.terraform
            };
        }
        let figures = IacFigures {
            resources: index.resources.len() as u64,
            parameters: index.parameters.len() as u64,
            schema_problems: index.schema_problems.len() as u64,
            guard_rules_passed: index.guard.passed.len() as u64,
            guard_rules_failed: index.guard.failed.len() as u64,
            guard_rules_skipped: index.guard.skipped.len() as u64,
            conflicts: index.conflicts.len() as u64,
            terraform_written: index.terraform.written,
            terraform_mapped_types: index.terraform.mapped_types.len() as u64,
            terraform_unmapped_types: index.terraform.unmapped_types.len() as u64,
        };
        writer.put_json(paths::IAC_INDEX, &index).await?;
        Ok(StageOutcome {
            stage: StageId::Iac,
            files: writer.finish(),
            figures: StageFigures::Iac(figures),
            verdicts,
            warnings,
            llm: None,
        })
    }
}
