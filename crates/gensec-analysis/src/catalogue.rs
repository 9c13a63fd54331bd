//! The analysis stage's view of the control catalogue (kept as data in
//! `gensec-kb/controls`): each requirement of a configuration control,
//! flattened with its control into one [`CatalogueEntry`], the unit the
//! recommendation builder validates. Schema inference and a language model
//! propose entries of the same shape.
//!
//! Values may name a profile setting instead of a literal:
//! `$profile:log_retention_days`, `$profile:secret_rotation_days`,
//! `$profile:kms_key` (the customer-managed key parameter),
//! `$profile:log_bucket`.

use gensec_core::contract::analysis::{Preventive, Priority, SecurityDomain, StrideThreat};
use gensec_core::input::ComplianceFramework;
pub use gensec_kb::controls::{
    Condition, Control, ControlCatalogue, FieldCondition, RawConfigRule, RawExpectation,
    Requirement,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// One requirement of a control, with what the control says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueEntry {
    /// The control it comes from (`inferred-...` or `model-...` for proposals).
    pub control_id: String,
    pub resource_type: String,
    /// Short slug, unique per resource type; part of the configuration id.
    pub key: String,
    pub title: String,
    /// Dotted property path (`A.B[].C`).
    pub property: String,
    pub expect: RawExpectation,
    /// Value the hardened template sets; defaults from `expect`.
    pub value: Option<Value>,
    pub domain: SecurityDomain,
    pub stride: StrideThreat,
    pub priority: Priority,
    pub rationale: String,
    pub config_rule: Option<RawConfigRule>,
    pub security_hub: Vec<String>,
    pub compliance: BTreeMap<ComplianceFramework, Vec<String>>,
    pub preventive: Option<Preventive>,
    pub applies_when: Option<Condition>,
    /// The variant block the requirement belongs to ([`Requirement::when_set`]).
    pub when_set: Option<String>,
}

impl CatalogueEntry {
    /// One requirement of a control as an entry.
    pub fn of(control: &Control, requirement: &Requirement) -> Self {
        Self {
            control_id: control.id.clone(),
            resource_type: requirement.resource_type.clone(),
            key: requirement.key.clone(),
            title: requirement
                .title
                .clone()
                .unwrap_or_else(|| control.title.clone()),
            property: requirement.property.clone(),
            expect: requirement.expect.clone(),
            value: requirement.value.clone(),
            domain: control.domain,
            stride: control.stride,
            priority: control.priority,
            rationale: control.rationale.clone(),
            config_rule: control.config_rule.clone(),
            security_hub: control.security_hub.clone(),
            compliance: control.compliance.clone(),
            preventive: control.preventive.clone(),
            applies_when: control.applies_when,
            when_set: requirement.when_set.clone(),
        }
    }

    /// The requirement part, as the catalogue would hold it.
    pub fn requirement(&self) -> Requirement {
        Requirement {
            resource_type: self.resource_type.clone(),
            key: self.key.clone(),
            property: self.property.clone(),
            expect: self.expect.clone(),
            value: self.value.clone(),
            title: None,
            when_set: self.when_set.clone(),
        }
    }
}

/// The embedded control catalogue.
pub fn controls() -> Result<&'static ControlCatalogue, String> {
    ControlCatalogue::embedded().map_err(|err| err.to_string())
}

/// Every requirement of every configuration control, as entries.
pub fn load() -> Result<Vec<CatalogueEntry>, String> {
    Ok(controls()?
        .controls()
        .iter()
        .flat_map(|control| {
            control
                .requirements
                .iter()
                .map(move |requirement| CatalogueEntry::of(control, requirement))
        })
        .collect())
}
