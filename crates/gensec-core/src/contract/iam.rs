//! `iam/iam-model.json`: stage 5's typed output, read by the report.

use crate::contract::controls::ExecutedCase;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why an action needs a reviewer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskCategory {
    PermissionsManagement,
    PrivilegeEscalation,
    DataExfiltration,
    ResourceExposure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskyAction {
    /// `prefix:Action`
    pub action: String,
    pub category: RiskCategory,
    pub reason: String,
    /// Persona ids whose policy grants it.
    pub granted_to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Persona {
    /// `read-only-auditor`, `application-runtime`, `operator`, `administrator`, `cicd-deployer`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Relative path of the persona's policy document.
    pub policy_file: String,
    /// Number of distinct actions the policy allows.
    pub actions: usize,
    /// Condition keys the policy uses.
    pub condition_keys: Vec<String>,
    /// Who must approve granting this persona.
    pub approval: String,
    /// Statements and managed policy documents written.
    #[serde(default)]
    pub statements: usize,
    #[serde(default)]
    pub documents: usize,
    /// The persona's policy executed with `gensec-policy` against the
    /// package's own resources (their ARNs, the template's tags, the
    /// package key) before it was written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<ExecutedCase>,
}

/// A grant a persona case caught: dropped from the persona's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedGrant {
    pub persona: String,
    /// `prefix:Action`
    pub action: String,
    /// The case that failed, with its expected and actual verdicts.
    pub case: ExecutedCase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamModel {
    pub service_id: String,
    pub service_name: String,
    /// Access level -> actions (`prefix:Action`).
    pub actions_by_access_level: BTreeMap<String, Vec<String>>,
    pub personas: Vec<Persona>,
    pub risky_actions: Vec<RiskyAction>,
    /// Grants dropped because a persona case failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedGrant>,
}
