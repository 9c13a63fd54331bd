//! Every path of the output layout, relative to a package's root: the one
//! place they are spelled. Stages write through these, readers read through
//! them, and the README's layout section describes them.

use super::stage::StageId;

/// The run's file list with checksums; written last (the commit point).
pub const MANIFEST: &str = "manifest.json";
/// Every validator verdict of the run, assembled from the stages' outcomes.
pub const VALIDATION_REPORT: &str = "validation-report.json";

/// Stage 1: the service's documented facts.
pub const DOCUMENTATION: &str = "documentation/service-documentation.json";

/// Stage 2: validated recommendations.
pub const RECOMMENDATIONS: &str = "analysis/recommendations.json";

/// Stage 3: the index of every generated control and its executed cases.
pub const CONTROLS_INDEX: &str = "controls/controls.json";
/// Stage 3: AWS Config rules as a CloudFormation template.
pub const CONFIG_RULES: &str = "controls/detective/config-rules.yaml";
/// Stage 3: which recommendation has which SCP statement, or why none.
pub const SCP_COVERAGE: &str = "controls/preventive/coverage.json";

/// Stage 3: a custom AWS Config policy rule (`<rule>.guard`).
pub fn config_custom_policy(file_name: &str) -> String {
    format!("controls/detective/{file_name}")
}

/// Stage 3: the `index`th SCP document, counting from 1.
pub fn scp(index: usize) -> String {
    format!("controls/preventive/scp-{index}.json")
}

/// Stage 3: the proactive Guard rules of a service.
pub fn guard_rules(service_id: &str) -> String {
    format!("controls/proactive/{service_id}.guard")
}

/// Stage 3: the Guard rules' unit tests, in `cfn-guard test` format.
pub fn guard_tests(service_id: &str) -> String {
    format!("controls/proactive/{service_id}_tests.yaml")
}

/// Stage 4: the index of the hardened template's resources, parameters and checks.
pub const IAC_INDEX: &str = "iac/resources.json";
/// Stage 4: the hardened CloudFormation template, YAML.
pub const TEMPLATE_YAML: &str = "iac/cloudformation/template.yaml";
/// Stage 4: the same template, JSON.
pub const TEMPLATE_JSON: &str = "iac/cloudformation/template.json";
/// Stage 4: the Terraform translation.
pub const TERRAFORM: &str = "iac/terraform/main.tf";

/// Stage 5: personas, actions by access level, risky actions.
pub const IAM_MODEL: &str = "iam/iam-model.json";
/// Stage 5: the IAM review module for people.
pub const IAM_REVIEW: &str = "iam/iam-review.md";
/// Stage 5: the directory of persona policy documents.
pub const IAM_POLICIES_DIR: &str = "iam/policies";

/// Stage 5: one persona policy document (`<persona>` or `<persona>-<n>`).
pub fn iam_policy(file_stem: &str) -> String {
    format!("{IAM_POLICIES_DIR}/{file_stem}.json")
}

/// Stage 6: the service research profile as JSON.
pub const RESEARCH_PROFILE_JSON: &str = "research/service-profile.json";
/// Stage 6: the service research profile as Markdown.
pub const RESEARCH_PROFILE_MARKDOWN: &str = "research/security-research-profile.md";
/// Stage 6: the whole package in one self-contained page.
pub const REPORT_HTML: &str = "report.html";
/// Stage 6: the decision the package supports, its reasons, top risks and
/// what the reviewer must supply, in Markdown (the top of `report.html`).
pub const SUMMARY_MARKDOWN: &str = "summary.md";

/// What a stage did with the language model (`llm/<stage>.json`).
pub fn llm_record(stage: StageId) -> String {
    format!("llm/{}.json", stage.as_str())
}

/// Names of CloudFormation parameters that more than one stage refers to.
pub mod parameters {
    /// The customer-managed KMS key the hardened template encrypts with.
    pub const KMS_KEY: &str = "KmsKeyArn";
}
