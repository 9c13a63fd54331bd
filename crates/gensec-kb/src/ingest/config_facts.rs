//! Config resource types and their CloudFormation names (botocore's `config`
//! service model plus `curated/config-cfn-type-aliases.json`), configuration-item
//! shapes (`curated/config-resource-schema.json`) and Security Hub controls
//! (`curated/security-hub-controls.json`). Every curated entry is checked; an
//! error names the file and the entry.

use super::IngestError;
use crate::facts::{
    CiShape, CiShapeKind, CiValueType, ConfigTypeAlias, ControlParameter, SecurityHubControl,
    StandardMembership,
};
use crate::model::ConfigRule;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `ResourceType` enum of botocore's `config` service model (service-2.json).
pub fn config_resource_types(
    source_name: &str,
    service_json: &str,
) -> Result<Vec<String>, IngestError> {
    let model: serde_json::Value = serde_json::from_str(service_json)
        .map_err(|err| IngestError::new(source_name, err.to_string()))?;
    let values = model
        .pointer("/shapes/ResourceType/enum")
        .and_then(|value| value.as_array())
        .ok_or_else(|| IngestError::new(source_name, "no shapes.ResourceType.enum"))?;
    values
        .iter()
        .map(|value| {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| IngestError::new(source_name, "non-string resource type"))
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedAliases {
    pub provenance: serde_json::Value,
    /// Config name -> CloudFormation name where they differ.
    pub renamed: BTreeMap<String, AliasEntry>,
    /// Config types CloudFormation has no resource for, with why.
    pub config_only: BTreeMap<String, String>,
    /// Types rules and controls name that Config's enum lacks (account-level
    /// pseudo types, ...), with why; kept in the table without a CloudFormation name.
    pub not_in_config_enum: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasEntry {
    pub cfn: String,
    pub note: String,
}

/// One alias row per Config type; every type must map to a CloudFormation type
/// of the same name, a curated rename, or a curated "no CloudFormation type".
pub fn alias_table(
    file: &str,
    config_types: &[String],
    cfn_types: &BTreeSet<&str>,
    curated: &CuratedAliases,
) -> Result<Vec<ConfigTypeAlias>, IngestError> {
    let mut table = Vec::with_capacity(config_types.len());
    for config_type in config_types {
        let fail =
            |message: String| IngestError::new(format!("{file} entry {config_type}"), message);
        let row = if let Some(entry) = curated.renamed.get(config_type) {
            if !cfn_types.contains(entry.cfn.as_str()) {
                return Err(fail(format!("CloudFormation has no type {}", entry.cfn)));
            }
            ConfigTypeAlias {
                config_type: config_type.clone(),
                cfn_type: Some(entry.cfn.clone()),
                note: entry.note.clone(),
            }
        } else if let Some(note) = curated.config_only.get(config_type) {
            if cfn_types.contains(config_type.as_str()) {
                return Err(fail(
                    "listed as Config-only but CloudFormation has it".into(),
                ));
            }
            ConfigTypeAlias {
                config_type: config_type.clone(),
                cfn_type: None,
                note: note.clone(),
            }
        } else if cfn_types.contains(config_type.as_str()) {
            ConfigTypeAlias {
                config_type: config_type.clone(),
                cfn_type: Some(config_type.clone()),
                note: String::new(),
            }
        } else {
            return Err(fail(
                "Config records this type but CloudFormation has no type of that name; add it to `renamed` or `config_only`".into(),
            ));
        };
        table.push(row);
    }
    for (extra, note) in &curated.not_in_config_enum {
        if config_types.contains(extra) || cfn_types.contains(extra.as_str()) {
            return Err(IngestError::new(
                format!("{file} entry {extra}"),
                "listed as not in Config's enum, but Config or CloudFormation has it",
            ));
        }
        table.push(ConfigTypeAlias {
            config_type: extra.clone(),
            cfn_type: None,
            note: note.clone(),
        });
    }
    for listed in curated.renamed.keys().chain(curated.config_only.keys()) {
        if !config_types.contains(listed) {
            return Err(IngestError::new(
                format!("{file} entry {listed}"),
                "not a resource type Config records (botocore's ResourceType enum)",
            ));
        }
    }
    Ok(table)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedShapes {
    pub provenance: serde_json::Value,
    pub envelope: BTreeMap<String, String>,
    pub types: BTreeMap<String, CuratedShape>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedShape {
    pub shape: String,
    pub paths: BTreeMap<String, String>,
}

fn value_type(file: &str, entry: &str, path: &str, text: &str) -> Result<CiValueType, IngestError> {
    CiValueType::parse(text).ok_or_else(|| {
        IngestError::new(
            format!("{file} entry {entry}"),
            format!("path {path} has unknown type {text:?}"),
        )
    })
}

/// Configuration-item shapes with the envelope paths merged into each type.
pub fn ci_shapes(file: &str, curated: &CuratedShapes) -> Result<Vec<CiShape>, IngestError> {
    let mut envelope = BTreeMap::new();
    for (path, text) in &curated.envelope {
        envelope.insert(path.clone(), value_type(file, "envelope", path, text)?);
    }
    let mut shapes = Vec::with_capacity(curated.types.len());
    for (config_type, raw) in &curated.types {
        let shape = match raw.shape.as_str() {
            "legacy" => CiShapeKind::Legacy,
            "registry" => CiShapeKind::Registry,
            "unknown" => CiShapeKind::Unknown,
            other => {
                return Err(IngestError::new(
                    format!("{file} entry {config_type}"),
                    format!("unknown shape {other:?}"),
                ));
            }
        };
        let mut paths = envelope.clone();
        for (path, text) in &raw.paths {
            paths.insert(path.clone(), value_type(file, config_type, path, text)?);
        }
        shapes.push(CiShape {
            config_type: config_type.clone(),
            shape,
            paths,
        });
    }
    Ok(shapes)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedControls {
    pub provenance: Vec<serde_json::Value>,
    pub controls: BTreeMap<String, CuratedControl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedControl {
    pub title: String,
    pub severity: String,
    pub standards: Vec<StandardMembership>,
    pub resource_types: Vec<String>,
    pub asff_resource_types: Vec<String>,
    pub config_rule: Option<String>,
    pub config_rule_custom: bool,
    pub parameters: Vec<ControlParameter>,
    pub schedule: Option<String>,
    pub retired: bool,
    pub custom_parameters: bool,
    pub related_requirements: Vec<String>,
    pub sources: BTreeMap<String, String>,
    pub missing: Vec<String>,
}

const SEVERITIES: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];
const SCHEDULES: &[&str] = &["change_triggered", "periodic"];

/// Security Hub controls, with Config rules resolved to managed rule
/// identifiers and resource types to their CloudFormation names.
pub fn security_hub_controls(
    file: &str,
    curated: &CuratedControls,
    rules: &[ConfigRule],
    aliases: &[ConfigTypeAlias],
    cfn_types: &BTreeSet<&str>,
) -> Result<Vec<SecurityHubControl>, IngestError> {
    let by_name: HashMap<&str, &str> = rules
        .iter()
        .map(|rule| (rule.name.as_str(), rule.identifier.as_str()))
        .collect();
    let cfn_of: HashMap<&str, Option<&str>> = aliases
        .iter()
        .map(|row| (row.config_type.as_str(), row.cfn_type.as_deref()))
        .collect();
    let mut controls = Vec::with_capacity(curated.controls.len());
    for (id, raw) in &curated.controls {
        let fail = |message: String| IngestError::new(format!("{file} entry {id}"), message);
        if !id.contains('.') {
            return Err(fail("control id is not Service.N".into()));
        }
        if !SEVERITIES.contains(&raw.severity.as_str()) {
            return Err(fail(format!("unknown severity {:?}", raw.severity)));
        }
        if let Some(schedule) = &raw.schedule
            && !SCHEDULES.contains(&schedule.as_str())
        {
            return Err(fail(format!("unknown schedule type {schedule:?}")));
        }
        let config_rule_identifier = match &raw.config_rule {
            Some(name) if !raw.config_rule_custom => match by_name.get(name.as_str()) {
                Some(identifier) => Some(identifier.to_string()),
                None => {
                    return Err(fail(format!(
                        "Config rule {name} is neither a known managed rule nor marked custom"
                    )));
                }
            },
            _ => None,
        };
        let mut cfn_resource_types = Vec::new();
        for config_type in &raw.resource_types {
            match cfn_of.get(config_type.as_str()) {
                Some(Some(cfn)) => cfn_resource_types.push(cfn.to_string()),
                Some(None) => {}
                // Security Hub names a few types Config's enum lacks (evaluated
                // through their parent); they keep their CloudFormation name.
                None if cfn_types.contains(config_type.as_str()) => {
                    cfn_resource_types.push(config_type.clone());
                }
                None => {
                    return Err(fail(format!(
                        "resource type {config_type} is neither a Config nor a CloudFormation type"
                    )));
                }
            }
        }
        controls.push(SecurityHubControl {
            id: id.clone(),
            title: raw.title.clone(),
            severity: raw.severity.clone(),
            standards: raw.standards.clone(),
            resource_types: raw.resource_types.clone(),
            cfn_resource_types,
            asff_resource_types: raw.asff_resource_types.clone(),
            config_rule: raw.config_rule.clone(),
            config_rule_identifier,
            config_rule_custom: raw.config_rule_custom,
            parameters: raw.parameters.clone(),
            schedule: raw.schedule.clone(),
            retired: raw.retired,
            custom_parameters: raw.custom_parameters,
            related_requirements: raw.related_requirements.clone(),
            provenance: raw.sources.clone(),
            missing: raw.missing.clone(),
        });
    }
    Ok(controls)
}
