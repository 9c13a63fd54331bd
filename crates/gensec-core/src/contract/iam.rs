//! `iam/iam-model.json`: stage 5's typed output, read by the report.

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamModel {
    pub service_id: String,
    pub service_name: String,
    /// Access level -> actions (`prefix:Action`).
    pub actions_by_access_level: BTreeMap<String, Vec<String>>,
    pub personas: Vec<Persona>,
    pub risky_actions: Vec<RiskyAction>,
}
