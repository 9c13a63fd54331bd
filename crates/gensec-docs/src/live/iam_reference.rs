//! `iam-service-reference`: AWS's machine-readable Service Authorization
//! Reference. The index (`https://servicereference.us-east-1.amazonaws.com/`)
//! lists `{"service", "url"}`; each service document has `Name`, `Actions`
//! (`Name`, `ActionConditionKeys`, `Resources[].Name`,
//! `Annotations.Properties.{IsList, IsPermissionManagement, IsTaggingOnly,
//! IsWrite}`), `Resources` (`Name`, `ARNFormats`) and `ConditionKeys`
//! (`Name`, `Types`).
//!
//! The reference has no descriptions, dependent actions or "required" marks
//! on an action's resources; those come from the baseline where it knows the
//! action.

use super::http_cache::{HttpCache, Stamp};
use super::{LiveConfig, LiveError, Refreshed};
use gensec_kb::{
    AccessLevel, ActionResource, ConditionKey, IamAction, IamResourceType, IamService,
    ServiceDocumentation,
};
use reqwest::Url;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Deserialize)]
struct IndexEntry {
    service: String,
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawService {
    name: String,
    #[serde(default)]
    actions: Vec<RawAction>,
    #[serde(default)]
    resources: Vec<RawResource>,
    #[serde(default)]
    condition_keys: Vec<RawConditionKey>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAction {
    name: String,
    /// Omitted when the action has none.
    #[serde(default)]
    action_condition_keys: Vec<String>,
    annotations: Option<RawAnnotations>,
    /// Omitted for actions that only work on `*`.
    #[serde(default)]
    resources: Vec<RawName>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAnnotations {
    properties: Option<RawProperties>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawProperties {
    #[serde(default)]
    is_list: bool,
    #[serde(default)]
    is_permission_management: bool,
    #[serde(default)]
    is_tagging_only: bool,
    #[serde(default)]
    is_write: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawName {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawResource {
    name: String,
    #[serde(default, rename = "ARNFormats")]
    arn_formats: Vec<String>,
    /// Not in every version of the reference; the baseline fills in.
    condition_keys: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawConditionKey {
    name: String,
    #[serde(default)]
    types: Vec<String>,
}

pub(crate) async fn refresh(
    cache: &HttpCache<'_>,
    config: &LiveConfig,
    doc: &ServiceDocumentation,
) -> Refreshed<Vec<IamService>> {
    if doc.iam_prefixes.is_empty() {
        return Refreshed::nothing();
    }
    let index_url = &config.iam_reference_url;
    let index = match cache.get(index_url).await {
        Ok(index) => index,
        Err(err) => return Refreshed::failed(&err),
    };
    let urls = match index.text().and_then(|text| parse_index(index_url, text)) {
        Ok(urls) => urls,
        Err(err) => return Refreshed::failed(&err),
    };
    cache.keep(&index).await;
    let mut stamps = vec![index.stamp()];
    let mut problems = Vec::new();
    let mut live: BTreeMap<String, IamService> = BTreeMap::new();
    for prefix in &doc.iam_prefixes {
        let Some(url) = urls.get(prefix) else {
            problems.push(format!(
                "{prefix} is not listed in {index_url}; keeping the baseline for {prefix}"
            ));
            continue;
        };
        let baseline = doc.iam_services.iter().find(|s| &s.prefix == prefix);
        match fetch_service(cache, index_url, url, prefix, baseline).await {
            Ok((service, stamp)) => {
                stamps.push(stamp);
                live.insert(prefix.clone(), service);
            }
            Err(err) => problems.push(format!(
                "{}; keeping the baseline for {prefix}",
                err.describe()
            )),
        }
    }
    if live.is_empty() {
        return Refreshed {
            data: None,
            stamps: Vec::new(),
            problems,
        };
    }
    // Keep the document's order of prefixes; a failed prefix keeps its baseline.
    let services = doc
        .iam_prefixes
        .iter()
        .filter_map(|prefix| {
            live.remove(prefix).or_else(|| {
                doc.iam_services
                    .iter()
                    .find(|s| &s.prefix == prefix)
                    .cloned()
            })
        })
        .collect();
    Refreshed {
        data: Some(services),
        stamps,
        problems,
    }
}

async fn fetch_service(
    cache: &HttpCache<'_>,
    index_url: &str,
    url: &str,
    prefix: &str,
    baseline: Option<&IamService>,
) -> Result<(IamService, Stamp), LiveError> {
    // Only follow the index to its own host: it decides what we fetch.
    if !same_origin(index_url, url) {
        return Err(LiveError::Unparsable {
            url: index_url.to_string(),
            message: format!("the index sends {prefix} to another host ({url})"),
        });
    }
    let fetched = cache.get(url).await?;
    let service = parse_service(url, fetched.text()?, prefix, baseline)?;
    cache.keep(&fetched).await;
    Ok((service, fetched.stamp()))
}

fn same_origin(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Service prefix -> URL of its document.
fn parse_index(url: &str, text: &str) -> Result<HashMap<String, String>, LiveError> {
    let entries: Vec<IndexEntry> =
        serde_json::from_str(text).map_err(|source| LiveError::Json {
            url: url.to_string(),
            source,
        })?;
    if entries.is_empty() {
        return Err(LiveError::Unparsable {
            url: url.to_string(),
            message: "the index lists no services".into(),
        });
    }
    Ok(entries
        .into_iter()
        .map(|entry| (entry.service, entry.url))
        .collect())
}

/// Access levels from the annotation flags, most specific first, as the
/// baseline orders them (`[Permissions management, Write]`). The flags are
/// not exclusive: permissions-management and tagging actions are also
/// `IsWrite`. No flag means Read.
fn access_levels(properties: RawProperties) -> Vec<AccessLevel> {
    let mut levels = Vec::new();
    if properties.is_permission_management {
        levels.push(AccessLevel::PermissionsManagement);
    }
    if properties.is_tagging_only {
        levels.push(AccessLevel::Tagging);
    }
    if properties.is_write {
        levels.push(AccessLevel::Write);
    }
    if properties.is_list {
        levels.push(AccessLevel::List);
    }
    if levels.is_empty() {
        levels.push(AccessLevel::Read);
    }
    levels
}

fn parse_service(
    url: &str,
    text: &str,
    prefix: &str,
    baseline: Option<&IamService>,
) -> Result<IamService, LiveError> {
    let raw: RawService = serde_json::from_str(text).map_err(|source| LiveError::Json {
        url: url.to_string(),
        source,
    })?;
    let unparsable = |message: String| LiveError::Unparsable {
        url: url.to_string(),
        message,
    };
    if !raw.name.eq_ignore_ascii_case(prefix) {
        return Err(unparsable(format!(
            "document is for {:?}, not {prefix:?}",
            raw.name
        )));
    }
    if raw.actions.is_empty() {
        return Err(unparsable("document lists no actions".into()));
    }
    let actions = merge_actions(raw.actions, baseline);
    let resource_types = merge_resource_types(raw.resources, baseline);
    let condition_keys = merge_condition_keys(raw.condition_keys, baseline);
    Ok(IamService {
        prefix: prefix.to_string(),
        // The reference's Name is the prefix; the baseline has the display name.
        name: baseline.map_or(raw.name, |service| service.name.clone()),
        actions,
        resource_types,
        condition_keys,
    })
}

/// The reference's actions, sorted by name, each completed from the
/// baseline's action of the same name (names compared without case).
fn merge_actions(raw: Vec<RawAction>, baseline: Option<&IamService>) -> Vec<IamAction> {
    let base_actions: HashMap<String, &IamAction> = baseline
        .map(|service| {
            service
                .actions
                .iter()
                .map(|action| (action.name.to_lowercase(), action))
                .collect()
        })
        .unwrap_or_default();
    let mut actions: Vec<IamAction> = raw
        .into_iter()
        .map(|action| {
            let base = base_actions.get(&action.name.to_lowercase()).copied();
            build_action(action, base)
        })
        .collect();
    actions.sort_by(|a, b| a.name.cmp(&b.name));
    actions
}

/// The reference's resource types, sorted by name; ARN formats and
/// condition keys the reference leaves out come from the baseline.
fn merge_resource_types(
    raw: Vec<RawResource>,
    baseline: Option<&IamService>,
) -> Vec<IamResourceType> {
    let base_resources: HashMap<&str, &IamResourceType> = baseline
        .map(|service| {
            service
                .resource_types
                .iter()
                .map(|resource| (resource.name.as_str(), resource))
                .collect()
        })
        .unwrap_or_default();
    let mut resource_types: Vec<IamResourceType> = raw
        .into_iter()
        .map(|resource| {
            let base = base_resources.get(resource.name.as_str());
            IamResourceType {
                arn_formats: if resource.arn_formats.is_empty() {
                    base.map(|b| b.arn_formats.clone()).unwrap_or_default()
                } else {
                    resource.arn_formats
                },
                condition_keys: resource
                    .condition_keys
                    .or_else(|| base.map(|b| b.condition_keys.clone()))
                    .unwrap_or_default(),
                name: resource.name,
            }
        })
        .collect();
    resource_types.sort_by(|a, b| a.name.cmp(&b.name));
    resource_types
}

/// The reference's condition keys, sorted by name, with the baseline's
/// description (the reference has none) and one value type.
fn merge_condition_keys(
    raw: Vec<RawConditionKey>,
    baseline: Option<&IamService>,
) -> Vec<ConditionKey> {
    let base_keys: HashMap<&str, &ConditionKey> = baseline
        .map(|service| {
            service
                .condition_keys
                .iter()
                .map(|key| (key.name.as_str(), key))
                .collect()
        })
        .unwrap_or_default();
    let mut condition_keys: Vec<ConditionKey> = raw
        .into_iter()
        .map(|key| {
            let base = base_keys.get(key.name.as_str());
            // One type is the norm; prefer the baseline's when the reference agrees.
            let value_type = match base {
                Some(base) if key.types.contains(&base.value_type) => base.value_type.clone(),
                _ => key
                    .types
                    .first()
                    .cloned()
                    .or_else(|| base.map(|b| b.value_type.clone()))
                    .unwrap_or_else(|| "String".into()),
            };
            ConditionKey {
                description: base.map(|b| b.description.clone()).unwrap_or_default(),
                value_type,
                name: key.name,
            }
        })
        .collect();
    condition_keys.sort_by(|a, b| a.name.cmp(&b.name));
    condition_keys
}

fn build_action(action: RawAction, base: Option<&IamAction>) -> IamAction {
    let properties = action.annotations.and_then(|a| a.properties);
    let access_levels = match (properties, base) {
        (Some(properties), _) => access_levels(properties),
        (None, Some(base)) => base.access_levels.clone(),
        // Unknown level: Write is the cautious guess, as in `IamAction::access_level`.
        (None, None) => vec![AccessLevel::Write],
    };
    let resource_types: Vec<ActionResource> = action
        .resources
        .into_iter()
        .map(|resource| {
            let known = base.and_then(|base| {
                base.resource_types
                    .iter()
                    .find(|known| known.name == resource.name)
            });
            ActionResource {
                required: known.is_some_and(|known| known.required),
                condition_keys: known.map(|k| k.condition_keys.clone()).unwrap_or_default(),
                dependent_actions: known
                    .map(|k| k.dependent_actions.clone())
                    .unwrap_or_default(),
                name: resource.name,
            }
        })
        .collect();
    // The reference lists every key of the action; the model keeps keys tied
    // to one resource on that resource.
    let per_resource: BTreeSet<&str> = resource_types
        .iter()
        .flat_map(|resource| resource.condition_keys.iter().map(String::as_str))
        .collect();
    let condition_keys = action
        .action_condition_keys
        .iter()
        .filter(|key| !per_resource.contains(key.as_str()))
        .cloned()
        .collect();
    IamAction {
        description: base.map(|b| b.description.clone()).unwrap_or_default(),
        dependent_actions: base
            .map(|b| b.dependent_actions.clone())
            .unwrap_or_default(),
        name: action.name,
        access_levels,
        resource_types,
        condition_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pm: bool, tagging: bool, write: bool, list: bool) -> RawProperties {
        RawProperties {
            is_list: list,
            is_permission_management: pm,
            is_tagging_only: tagging,
            is_write: write,
        }
    }

    #[test]
    fn access_levels_follow_the_flags() {
        use AccessLevel::*;
        assert_eq!(access_levels(props(false, false, false, false)), [Read]);
        assert_eq!(access_levels(props(false, false, false, true)), [List]);
        assert_eq!(access_levels(props(false, false, true, false)), [Write]);
        assert_eq!(
            access_levels(props(true, false, true, false)),
            [PermissionsManagement, Write]
        );
        assert_eq!(
            access_levels(props(false, true, true, false)),
            [Tagging, Write]
        );
    }

    #[test]
    fn keeps_baseline_facts_the_reference_lacks() {
        let baseline = IamService {
            prefix: "x".into(),
            name: "Service X".into(),
            actions: vec![IamAction {
                name: "PutThing".into(),
                description: "Grants permission to put a thing".into(),
                access_levels: vec![AccessLevel::Write],
                resource_types: vec![ActionResource {
                    name: "thing".into(),
                    required: true,
                    condition_keys: vec!["x:ThingTag".into()],
                    dependent_actions: vec!["x:GetThing".into()],
                }],
                condition_keys: Vec::new(),
                dependent_actions: vec!["iam:PassRole".into()],
            }],
            resource_types: Vec::new(),
            condition_keys: vec![ConditionKey {
                name: "x:ThingTag".into(),
                description: "Filters by tag".into(),
                value_type: "String".into(),
            }],
        };
        let text = r#"{"Name":"x","Actions":[
            {"Name":"PutThing","ActionConditionKeys":["x:ThingTag","x:Other"],
             "Annotations":{"Properties":{"IsList":false,"IsPermissionManagement":true,"IsTaggingOnly":false,"IsWrite":true}},
             "Resources":[{"Name":"thing"}]},
            {"Name":"ListThings"}],
          "Resources":[{"Name":"thing","ARNFormats":["arn:${Partition}:x:::thing/${Name}"]}],
          "ConditionKeys":[{"Name":"x:ThingTag","Types":["String"]},{"Name":"x:Other","Types":["Bool"]}],
          "Version":"v1.4"}"#;
        let service = parse_service("u", text, "x", Some(&baseline)).unwrap();
        assert_eq!(service.name, "Service X");
        let put = &service.actions[1];
        assert_eq!(put.name, "PutThing");
        assert_eq!(put.description, "Grants permission to put a thing");
        assert_eq!(
            put.access_levels,
            [AccessLevel::PermissionsManagement, AccessLevel::Write]
        );
        assert!(put.resource_types[0].required);
        assert_eq!(put.resource_types[0].dependent_actions, ["x:GetThing"]);
        assert_eq!(put.condition_keys, ["x:Other"]);
        assert_eq!(put.dependent_actions, ["iam:PassRole"]);
        // No annotations and no baseline: the cautious level.
        assert_eq!(service.actions[0].access_levels, [AccessLevel::Write]);
        assert_eq!(service.condition_keys[0].value_type, "Bool");
        assert_eq!(service.condition_keys[1].description, "Filters by tag");
    }

    #[test]
    fn rejects_other_services_and_garbage() {
        assert!(parse_service("u", r#"{"Name":"y","Actions":[{"Name":"A"}]}"#, "x", None).is_err());
        assert!(parse_service("u", r#"{"Name":"x","Actions":[]}"#, "x", None).is_err());
        assert!(parse_service("u", "<html>", "x", None).is_err());
        assert!(parse_index("u", "[]").is_err());
        let index = parse_index(
            "u",
            r#"[{"service":"s3","url":"https://h/v1/s3/s3.json","modified":1}]"#,
        )
        .unwrap();
        assert_eq!(index["s3"], "https://h/v1/s3/s3.json");
    }

    #[test]
    fn follows_the_index_only_to_its_host() {
        assert!(same_origin("https://h/", "https://h/v1/s3/s3.json"));
        assert!(!same_origin("https://h/", "https://evil/v1/s3/s3.json"));
        assert!(!same_origin("http://127.0.0.1:1/", "http://127.0.0.1:2/x"));
    }
}
