//! `iac/resources.json`: stage 4's typed output. The hardened template's
//! resources and the recommendations applied to each, the parameters a
//! reviewer must supply, the checks the template passed and what the
//! Terraform translation covers.

use crate::contract::controls::ExecutedCase;
use serde::{Deserialize, Serialize};

/// One resource of the hardened template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateResource {
    pub logical_id: String,
    pub resource_type: String,
    /// Recommendations applied to it.
    pub configuration_ids: Vec<String>,
}

/// A template parameter: a value the deployer supplies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateParameter {
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
}

/// The run's own Guard rules evaluated against the hardened template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateGuardResults {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
}

/// What the Terraform translation covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerraformCoverage {
    /// Whether `main.tf` was written (it parsed back).
    pub written: bool,
    pub mapped_types: Vec<String>,
    pub unmapped_types: Vec<String>,
}

/// `iac/resources.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IacIndex {
    pub resources: Vec<TemplateResource>,
    pub parameters: Vec<TemplateParameter>,
    pub guard: TemplateGuardResults,
    /// Schema problems the template had (it is still written, and each is a rejection).
    pub schema_problems: Vec<String>,
    pub conflicts: Vec<String>,
    pub terraform: TerraformCoverage,
    /// The package key's policy executed before it was written: the
    /// package's services can use the key, nothing else can.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_policy_cases: Vec<ExecutedCase>,
}
