//! `analysis/recommendations.json`: stage 2's typed output, read by every
//! stage after it.

use crate::input::ComplianceFramework;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "Critical",
            Priority::High => "High",
            Priority::Medium => "Medium",
            Priority::Low => "Low",
        }
    }

    /// One step less urgent (Low stays Low).
    pub fn lowered(self) -> Self {
        match self {
            Priority::Critical => Priority::High,
            Priority::High => Priority::Medium,
            Priority::Medium | Priority::Low => Priority::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityDomain {
    DataProtection,
    IdentityAndAccess,
    Network,
    LoggingAndMonitoring,
    Resilience,
    ConfigurationManagement,
}

impl SecurityDomain {
    pub fn label(self) -> &'static str {
        match self {
            SecurityDomain::DataProtection => "Data Protection",
            SecurityDomain::IdentityAndAccess => "Identity and Access",
            SecurityDomain::Network => "Network",
            SecurityDomain::LoggingAndMonitoring => "Logging and Monitoring",
            SecurityDomain::Resilience => "Resilience",
            SecurityDomain::ConfigurationManagement => "Configuration Management",
        }
    }
}

/// STRIDE threat categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrideThreat {
    Spoofing,
    Tampering,
    Repudiation,
    InformationDisclosure,
    DenialOfService,
    ElevationOfPrivilege,
}

impl StrideThreat {
    pub fn label(self) -> &'static str {
        match self {
            StrideThreat::Spoofing => "Spoofing",
            StrideThreat::Tampering => "Tampering",
            StrideThreat::Repudiation => "Repudiation",
            StrideThreat::InformationDisclosure => "Information Disclosure",
            StrideThreat::DenialOfService => "Denial of Service",
            StrideThreat::ElevationOfPrivilege => "Elevation of Privilege",
        }
    }
}

/// What a compliant value of a property looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// Exactly this value.
    Equals(serde_json::Value),
    /// Any of these values.
    OneOf(Vec<serde_json::Value>),
    /// Set to something (a key, a log destination, a VPC).
    Present,
    /// A number at least this large.
    AtLeast(f64),
    /// A number at most this large.
    AtMost(f64),
    /// The array at the path has an element with all these fields.
    Contains(serde_json::Value),
}

/// How sure we are that a recommendation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// From the reviewed security property catalogue.
    Curated,
    /// Derived from the resource schema by name and type; needs a reviewer's eye.
    Inferred,
    /// Proposed by a language model from the listed schema properties and
    /// passed every validator; needs a reviewer's eye.
    ModelProposed,
}

/// What a language model changed on a recommendation. Model-written text
/// passed the same name checks as everything else, but is marked as such.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelNote {
    pub model_id: String,
    /// Rationale tailored to the security profile (model-written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// The priority before the model adjusted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_from: Option<Priority>,
    /// Why the model adjusted the priority (model-written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_reason: Option<String>,
}

/// An AWS Config managed rule with its input parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigRuleRef {
    pub identifier: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// A deny statement an SCP can carry for a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreventiveSpec {
    pub actions: Vec<String>,
    /// IAM condition block (`{"Bool": {"rds:StorageEncrypted": "false"}}`); none
    /// means the actions are denied outright (protecting a security setting).
    #[serde(default)]
    pub condition: Option<serde_json::Value>,
}

/// Preventive control for a recommendation, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preventive {
    Scp(PreventiveSpec),
    /// No action/condition key can express the control.
    NotExpressible(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable across runs: service, resource type and property.
    pub configuration_id: String,
    pub service_id: String,
    pub service_name: String,
    pub resource_type: String,
    pub title: String,
    /// Dotted property path (`A.B[].C`).
    pub property: String,
    pub expectation: Expectation,
    /// Value the hardened IaC sets (`{"Ref": ...}` for values the user supplies).
    pub recommended_value: serde_json::Value,
    pub security_domain: SecurityDomain,
    pub threat_vector: StrideThreat,
    pub priority: Priority,
    pub rationale: String,
    pub confidence: Confidence,
    pub detective: Option<ConfigRuleRef>,
    pub security_hub_controls: Vec<String>,
    pub preventive: Option<Preventive>,
    /// The profile's frameworks, in the profile's order, with control references.
    pub compliance: Vec<(ComplianceFramework, Vec<String>)>,
    /// What a language model contributed; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelNote>,
}

/// The validators' verdict on a language model's answer. Its rejections are
/// among the analysis stage's rejections, with items starting `model: `.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelValidation {
    pub model_id: String,
    /// Whether the answer was used (`applied`) or the result is deterministic.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    pub items_proposed: u64,
    pub items_accepted: u64,
    pub items_rejected: u64,
    /// AWS names in the answer (properties, resource types, actions, condition
    /// keys, Config rules, configuration ids, names in prose).
    pub names_checked: u64,
    /// Of those, names that do not exist.
    pub names_unknown: u64,
    /// `names_unknown / names_checked`: the hallucination rate we publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hallucination_rate: Option<f64>,
}

impl ModelValidation {
    /// The verdict over the stages that asked the model; `None` when none did.
    /// The outcome is `applied` only when every stage applied its answer.
    pub fn from_records(records: &[crate::llm::LlmStageRecord]) -> Option<Self> {
        let first = records.first()?;
        let mut verdict = Self {
            model_id: first.model_id.clone(),
            outcome: "applied".into(),
            ..Self::default()
        };
        for record in records {
            if record.outcome == crate::llm::LlmOutcome::Deterministic {
                verdict.outcome = "deterministic".into();
                if verdict.fallback_reason.is_none() {
                    verdict.fallback_reason = record.fallback_reason.clone();
                }
            }
            verdict.items_proposed += record.items_proposed;
            verdict.items_accepted += record.items_accepted;
            verdict.items_rejected += record.items_rejected;
            verdict.names_checked += record.names_checked;
            verdict.names_unknown += record.names_unknown;
        }
        verdict.hallucination_rate = (verdict.names_checked > 0)
            .then(|| verdict.names_unknown as f64 / verdict.names_checked as f64);
        Some(verdict)
    }
}

/// Item prefix of rejections of model-proposed items.
pub const MODEL_ITEM_PREFIX: &str = "model: ";

/// `analysis/recommendations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationSet {
    pub service_id: String,
    pub service_name: String,
    pub request_id: String,
    pub profile_id: String,
    pub recommendations: Vec<Recommendation>,
}

impl Recommendation {
    /// Names a model may quote back when it writes about this recommendation:
    /// its id, its value and its title (they are ours, not AWS names to check).
    pub fn own_names(&self) -> [String; 3] {
        let value = match &self.recommended_value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        [self.configuration_id.clone(), value, self.title.clone()]
    }
}
