//! Profile tailoring: concrete values from the profile, which entries apply,
//! priorities by environment and compliance mappings in the profile's order.

use crate::catalogue::Condition;
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::Priority;
use gensec_core::input::{ComplianceFramework, EnvironmentType, KeyManagement};
use gensec_kb::model::Property;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// CloudFormation parameter the hardened templates declare for the organisation's key.
pub use gensec_core::contract::paths::parameters::KMS_KEY as KMS_KEY_PARAMETER;
/// CloudFormation parameter for the central log bucket.
pub const LOG_BUCKET_PARAMETER: &str = "LogBucketName";

/// Profile tokens catalogue values may use.
pub const TOKENS: &[&str] = &[
    "$profile:log_retention_days",
    "$profile:secret_rotation_days",
    "$profile:kms_key",
    "$profile:log_bucket",
];

/// Does an entry with this condition apply to the profile?
pub fn applies(condition: Option<Condition>, profile: &SecurityProfile) -> bool {
    match condition {
        None => true,
        Some(Condition::CustomerManagedKeys) => {
            profile.data_protection.key_management == KeyManagement::CustomerManaged
        }
        Some(Condition::AwsManagedKeys) => {
            profile.data_protection.key_management == KeyManagement::AwsManaged
        }
        Some(Condition::Mfa) => profile.security_operations.access_management.mfa_required,
        Some(Condition::CentralizedLogging) => {
            profile.security_operations.logging.centralized_logging
        }
        Some(Condition::ProductionLike) => matches!(
            profile.environment_type,
            EnvironmentType::Production | EnvironmentType::Staging
        ),
    }
}

/// Production keeps catalogue priorities; development and sandbox accounts
/// lower everything but Critical by one step, so reviewers see what matters there.
pub fn priority(base: Priority, profile: &SecurityProfile) -> Priority {
    match profile.environment_type {
        EnvironmentType::Production | EnvironmentType::Staging => base,
        EnvironmentType::Development | EnvironmentType::Sandbox if base == Priority::Critical => {
            base
        }
        EnvironmentType::Development | EnvironmentType::Sandbox => base.lowered(),
    }
}

/// The profile's frameworks, in its order, with the entry's references.
pub fn compliance(
    mapping: &BTreeMap<ComplianceFramework, Vec<String>>,
    profile: &SecurityProfile,
) -> Vec<(ComplianceFramework, Vec<String>)> {
    profile
        .compliance_requirements
        .iter()
        .filter_map(|framework| {
            mapping
                .get(framework)
                .filter(|refs| !refs.is_empty())
                .map(|refs| (*framework, refs.clone()))
        })
        .collect()
}

/// Replace a profile token with its value; literals pass through. Numbers are
/// snapped to the smallest allowed enum value at least as large (CloudWatch
/// Logs accepts only certain retention periods).
pub fn resolve(
    value: &Value,
    profile: &SecurityProfile,
    property: Option<&Property>,
) -> Result<Value, String> {
    let Some(token) = value.as_str().filter(|text| text.starts_with("$profile:")) else {
        return Ok(value.clone());
    };
    let number = |days: u32| snap_to_enum(days, property);
    match token {
        "$profile:log_retention_days" => {
            Ok(number(profile.security_operations.logging.retention_days))
        }
        "$profile:secret_rotation_days" => Ok(number(
            profile
                .security_operations
                .secrets_management
                .rotation_days()
                .unwrap_or(90),
        )),
        "$profile:kms_key" => Ok(json!({"Ref": KMS_KEY_PARAMETER})),
        "$profile:log_bucket" => Ok(json!({"Ref": LOG_BUCKET_PARAMETER})),
        other => Err(format!("unknown profile token {other}")),
    }
}

fn snap_to_enum(days: u32, property: Option<&Property>) -> Value {
    let allowed: Vec<u64> = property
        .map(|p| {
            p.enum_values
                .iter()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    match allowed
        .iter()
        .copied()
        .filter(|v| *v >= u64::from(days))
        .min()
    {
        Some(snapped) => json!(snapped),
        None => match allowed.iter().max() {
            Some(largest) => json!(largest),
            None => json!(days),
        },
    }
}
