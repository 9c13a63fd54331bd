//! Lookups over the Config and Security Hub facts: Config <-> CloudFormation
//! type names, configuration-item shapes (decompressed per namespace on first
//! use), Config rules by kebab name, Security Hub controls by id, rule,
//! resource type and service.

use crate::baseline::{self, KbIndex};
use crate::facts::{CiShape, ConfigTypeAlias, SecurityHubControl};
use crate::ingest::catalogue::namespace_of;
use crate::model::{ConfigRule, ServiceEntry};
use crate::{Cached, Kb, KbError};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Maps built once when the knowledge base is opened.
#[derive(Debug)]
pub(crate) struct ConfigIndex {
    alias_by_config: HashMap<String, usize>,
    alias_by_cfn: HashMap<String, usize>,
    rule_by_name: HashMap<String, usize>,
    control_by_id: HashMap<String, usize>,
    shape_chunk: HashMap<String, usize>,
    shape_cache: Vec<Cached<Vec<CiShape>>>,
}

impl ConfigIndex {
    pub(crate) fn new(index: &KbIndex) -> Self {
        let mut alias_by_cfn = HashMap::new();
        for (position, alias) in index.config_types.iter().enumerate() {
            if let Some(cfn) = &alias.cfn_type {
                // A type Config records under its own name wins over a rename
                // onto the same CloudFormation type (Shield vs ShieldRegional).
                let own_name = cfn == &alias.config_type;
                let entry = alias_by_cfn.entry(cfn.clone()).or_insert(position);
                if own_name {
                    *entry = position;
                }
            }
        }
        Self {
            alias_by_config: index
                .config_types
                .iter()
                .enumerate()
                .map(|(position, alias)| (alias.config_type.clone(), position))
                .collect(),
            alias_by_cfn,
            rule_by_name: index
                .config_rules
                .iter()
                .enumerate()
                .map(|(position, rule)| (rule.name.clone(), position))
                .collect(),
            control_by_id: index
                .security_hub_controls
                .iter()
                .enumerate()
                .map(|(position, control)| (control.id.to_ascii_lowercase(), position))
                .collect(),
            shape_chunk: index
                .ci_chunks
                .iter()
                .enumerate()
                .flat_map(|(position, chunk)| {
                    chunk.names.iter().map(move |name| (name.clone(), position))
                })
                .collect(),
            shape_cache: index.ci_chunks.iter().map(|_| OnceLock::new()).collect(),
        }
    }
}

impl Kb {
    /// Every resource type Config can record, with its CloudFormation name.
    pub fn config_types(&self) -> &[ConfigTypeAlias] {
        &self.base.index.config_types
    }

    /// Config's name for a CloudFormation type (`AWS::OpenSearchService::Domain`
    /// -> `AWS::OpenSearch::Domain`); `None` when Config does not record it.
    pub fn config_type_for_cfn(&self, cfn_type: &str) -> Option<&str> {
        self.base
            .config_lookup
            .alias_by_cfn
            .get(cfn_type)
            .map(|position| self.base.index.config_types[*position].config_type.as_str())
    }

    /// CloudFormation's name for a Config type; `None` when CloudFormation has
    /// no such resource or Config does not know the type.
    pub fn cfn_type_for_config(&self, config_type: &str) -> Option<&str> {
        self.base
            .config_lookup
            .alias_by_config
            .get(config_type)
            .and_then(|position| self.base.index.config_types[*position].cfn_type.as_deref())
    }

    /// Whether AWS Config records resources of this CloudFormation type.
    pub fn config_records(&self, cfn_type: &str) -> bool {
        self.config_type_for_cfn(cfn_type).is_some()
    }

    /// Config's name for a type given in either naming.
    fn as_config_type<'a>(&'a self, type_name: &'a str) -> &'a str {
        if self
            .base
            .config_lookup
            .alias_by_config
            .contains_key(type_name)
        {
            type_name
        } else {
            self.config_type_for_cfn(type_name).unwrap_or(type_name)
        }
    }

    pub(crate) fn ci_chunk(&self, position: usize) -> Result<&[CiShape], KbError> {
        let chunk = &self.base.index.ci_chunks[position];
        self.base.config_lookup.shape_cache[position]
            .get_or_init(|| {
                baseline::decode(self.chunk_bytes(chunk), &chunk.key).map_err(|err| err.to_string())
            })
            .as_deref()
            .map_err(|message| self.corrupt(message))
    }

    /// What Config records for a type named either way (`AWS::RDS::DBInstance`,
    /// `AWS::OpenSearchService::Domain`); decompresses its namespace once.
    pub fn configuration_item_shape(&self, type_name: &str) -> Result<Option<&CiShape>, KbError> {
        let config_type = self.as_config_type(type_name);
        let Some(position) = self.base.config_lookup.shape_chunk.get(config_type) else {
            return Ok(None);
        };
        Ok(self
            .ci_chunk(*position)?
            .iter()
            .find(|shape| shape.config_type == config_type))
    }

    /// Types with a configuration-item shape, without decompressing anything.
    pub fn configuration_item_types(&self) -> impl Iterator<Item = &str> {
        self.base
            .index
            .ci_chunks
            .iter()
            .flat_map(|chunk| chunk.names.iter().map(String::as_str))
    }

    /// A managed rule by its kebab name (`s3-bucket-ssl-requests-only`).
    pub fn config_rule_by_name(&self, name: &str) -> Option<&ConfigRule> {
        if let Some(rule) = self
            .overlay
            .as_ref()
            .and_then(|o| o.config_rule_by_name(name))
        {
            return Some(rule);
        }
        self.base
            .config_lookup
            .rule_by_name
            .get(name)
            .map(|position| &self.base.index.config_rules[*position])
    }

    /// Every Security Hub control, retired ones included (see `retired`).
    pub fn security_hub_controls(&self) -> &[SecurityHubControl] {
        &self.base.index.security_hub_controls
    }

    /// A control by its consolidated id (`S3.5`), ignoring case.
    pub fn security_hub_control(&self, id: &str) -> Option<&SecurityHubControl> {
        self.base
            .config_lookup
            .control_by_id
            .get(&id.to_ascii_lowercase())
            .map(|position| &self.base.index.security_hub_controls[*position])
    }

    /// Controls that use a Config rule, given by kebab name or managed identifier.
    pub fn security_hub_controls_for_rule(&self, rule: &str) -> Vec<&SecurityHubControl> {
        self.base
            .index
            .security_hub_controls
            .iter()
            .filter(|control| {
                control.config_rule.as_deref() == Some(rule)
                    || control.config_rule_identifier.as_deref() == Some(rule)
            })
            .collect()
    }

    /// Controls that evaluate a resource type named the Config or the
    /// CloudFormation way, or by its ASFF name (`AwsS3Bucket`).
    pub fn security_hub_controls_for_resource_type(
        &self,
        type_name: &str,
    ) -> Vec<&SecurityHubControl> {
        let config_type = self.as_config_type(type_name);
        self.base
            .index
            .security_hub_controls
            .iter()
            .filter(|control| {
                control.resource_types.iter().any(|t| t == config_type)
                    || control.cfn_resource_types.iter().any(|t| t == type_name)
                    || control.asff_resource_types.iter().any(|t| t == type_name)
            })
            .collect()
    }

    /// Active FSBP controls for a service: those whose resource types fall in
    /// the service's CloudFormation namespaces, or whose id prefix is one of
    /// its IAM prefixes or its id (`S3.*` for s3, account-level controls).
    pub fn fsbp_controls_for_service(&self, entry: &ServiceEntry) -> Vec<&SecurityHubControl> {
        let in_namespaces = |types: &[String]| {
            types.iter().any(|t| {
                entry
                    .cfn_namespaces
                    .iter()
                    .any(|namespace| namespace_of(t) == namespace)
            })
        };
        self.base
            .index
            .security_hub_controls
            .iter()
            .filter(|control| control.is_fsbp() && !control.retired)
            .filter(|control| {
                let prefix = control
                    .id
                    .split_once('.')
                    .map(|(prefix, _)| prefix.to_ascii_lowercase())
                    .unwrap_or_default();
                in_namespaces(&control.cfn_resource_types)
                    || in_namespaces(&control.resource_types)
                    || prefix == entry.id
                    || entry.iam_prefixes.contains(&prefix)
            })
            .collect()
    }
}

/// A curated exception to the case-insensitive path match: a CloudFormation
/// property path that Config records under another name or outside
/// `configuration` (S3's supplementary configuration items).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiPathException {
    /// The Config resource type.
    pub config_type: String,
    /// CloudFormation property path (`A.B[]`), a prefix of the mapped paths.
    pub cfn_path: String,
    /// Where Config records it (`supplementaryConfiguration.X.rules[]`).
    pub ci_path: String,
    /// Where the fact comes from.
    pub source: String,
}

const CI_PATH_EXCEPTIONS_FILE: &str = "config-ci-path-exceptions.json";

/// The curated exceptions; a malformed file fails naming the file and JSON path.
pub fn ci_path_exceptions() -> Result<&'static [CiPathException], gensec_data::DataError> {
    static PARSED: OnceLock<Result<Vec<CiPathException>, gensec_data::DataError>> = OnceLock::new();
    PARSED
        .get_or_init(|| gensec_data::parse_named(crate::data::FILES, CI_PATH_EXCEPTIONS_FILE))
        .as_deref()
        .map_err(Clone::clone)
}

/// Where Config records a CloudFormation property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiPath {
    /// The Config resource type (`AWS::OpenSearch::Domain`).
    pub config_type: String,
    /// Path in the configuration item, `[]` after list segments
    /// (`supplementaryConfiguration.ServerSideEncryptionConfiguration.rules[].bucketKeyEnabled`).
    pub path: String,
    /// The recorded value type; `None` when the path holds an object.
    pub value_type: Option<crate::facts::CiValueType>,
}

/// `A.B[].C` -> [("A", false), ("B", true), ("C", false)].
fn segments(path: &str) -> Vec<(&str, bool)> {
    path.split('.')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        })
        .collect()
}

/// The spelling of the segment after `prefix` (array markers stripped) that
/// matches `name` case-insensitively in one of the shape's paths.
fn recorded_segment<'a>(shape: &'a CiShape, prefix: &str, name: &str) -> Option<&'a str> {
    let wanted = format!("{prefix}.{name}").to_ascii_lowercase();
    shape.paths.keys().find_map(|path| {
        let lower = path.to_ascii_lowercase();
        let rest = lower.strip_prefix(&wanted)?;
        if !(rest.is_empty() || rest.starts_with('.')) {
            return None;
        }
        let start = prefix.len() + 1;
        Some(&path[start..start + name.len()])
    })
}

/// Map a CloudFormation property path onto the recorded shape: each segment
/// matched case-insensitively (Config records camelCase names from the
/// Describe APIs), after the longest curated exception that applies.
pub fn map_ci_path(shape: &CiShape, cfn_type: &str, property: &str) -> Result<CiPath, String> {
    let exceptions = ci_path_exceptions().map_err(|err| err.to_string())?;
    let matches_prefix = |prefix: &str| {
        property == prefix
            || property
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let exception = exceptions
        .iter()
        .filter(|e| e.config_type == shape.config_type && matches_prefix(&e.cfn_path))
        .max_by_key(|e| e.cfn_path.len());
    let (mut mapped, mut stripped, rest) = match exception {
        Some(e) => (
            e.ci_path.clone(),
            e.ci_path.replace("[]", ""),
            &property[e.cfn_path.len()..],
        ),
        None => (
            "configuration".to_string(),
            "configuration".to_string(),
            property,
        ),
    };
    for (name, array) in segments(rest) {
        let spelled = recorded_segment(shape, &stripped, name).ok_or_else(|| {
            format!(
                "Config does not record {property} for {} ({cfn_type}): no {stripped}.{name} in its configuration item",
                shape.config_type
            )
        })?;
        stripped = format!("{stripped}.{spelled}");
        mapped = format!("{mapped}.{spelled}{}", if array { "[]" } else { "" });
    }
    if exception.is_some()
        && !shape
            .paths
            .keys()
            .any(|p| p == &stripped || p.starts_with(&format!("{stripped}.")))
    {
        return Err(format!(
            "the curated path {stripped} is not in the configuration item of {}",
            shape.config_type
        ));
    }
    Ok(CiPath {
        config_type: shape.config_type.clone(),
        value_type: shape.path(&stripped),
        path: mapped,
    })
}

impl Kb {
    /// Where Config records a CloudFormation property of a type, or why it
    /// does not (the type is not recorded, or the item lacks the setting).
    pub fn configuration_item_path(
        &self,
        cfn_type: &str,
        property: &str,
    ) -> Result<CiPath, String> {
        // "Recorded" is decided by Config's resource-type list (botocore's
        // ResourceType enum through the alias table), not by the presence of a
        // shape: aws-config-resource-schema also ships shapes for types the
        // recorder does not accept (AWS::SageMaker::NotebookInstance), and a
        // rule scoped to such a type never receives an item.
        let config_type = self
            .config_type_for_cfn(cfn_type)
            .ok_or_else(|| format!("Config does not record {cfn_type}"))?;
        let shape = self
            .configuration_item_shape(config_type)
            .map_err(|err| err.to_string())?
            .ok_or_else(|| {
                format!("Config does not record {cfn_type}: no configuration item shape for {config_type}")
            })?;
        map_ci_path(shape, cfn_type, property)
    }
}
