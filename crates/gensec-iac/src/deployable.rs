//! What a real create needs beyond the schemas' `required` lists
//! (`data/deployable.json`): per resource type the properties a deployment
//! cannot do without, the stateful types' deletion policies, the companion
//! resources the controls need (security groups, subnet and parameter
//! groups, log groups, dead-letter queues, sibling resources), the property
//! that carries the profile's minimum TLS version per type, and the
//! subscription filter that forwards every log group to central logging.
//!
//! Values may hold profile tokens: `$profile:minimum_tls_version`,
//! `$profile:log_retention_days` (snapped to CloudWatch Logs' periods) and
//! `$profile:kms_key` (the organisation's key, replaced by the package key
//! when the profile asks for customer-managed keys).

use gensec_core::SecurityProfile;
use gensec_core::input::KeyManagement;
use gensec_kb::paths::{get_property, set_property};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

use gensec_core::contract::paths::parameters::KMS_KEY as KMS_KEY_PARAMETER;

/// Retention periods CloudWatch Logs accepts (`RetentionInDays`).
const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// `data/deployable.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployable {
    /// Declarations of the Parameters the entries below refer to (allowed
    /// values and safe defaults); they replace the generic declaration.
    pub parameters: BTreeMap<String, Value>,
    pub types: Vec<DeployableType>,
    pub companions: Vec<CompanionResource>,
    pub tls: Vec<TlsSetting>,
    pub subscription_filter: SubscriptionFilter,
}

/// One resource type's needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployableType {
    pub resource_type: String,
    /// `DeletionPolicy` and `UpdateReplacePolicy` of a stateful type.
    #[serde(default)]
    pub deletion_policy: Option<DeletionPolicy>,
    /// For a type whose variants exclude each other (an FSx file system is of
    /// one type, with that type's configuration block alone): the block the
    /// template builds. Settings of the other variants' blocks (a
    /// requirement's `when_set`) are left out of the template; their Guard
    /// rules skip it and still check any resource that sets those blocks.
    #[serde(default)]
    pub variant: Option<Variant>,
    /// For a type the catalogue checks but the package template does not
    /// build (a superseded type such as an Auto Scaling launch
    /// configuration): why not. Its requirements still become Guard rules
    /// with their cases, Config rules and SCPs, which check any template or
    /// account that has such a resource.
    #[serde(default)]
    pub not_built: Option<String>,
    #[serde(default)]
    pub properties: Vec<DeployProperty>,
}

/// The variant a template builds, and why that one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The configuration block's property path (`OpenZFSConfiguration`).
    pub block: String,
    pub why: String,
}

impl DeployableType {
    /// Whether a setting of the variant block `when_set` (none: any
    /// variant) belongs in this type's template.
    pub fn builds(&self, when_set: Option<&str>) -> bool {
        match (when_set, &self.variant) {
            (None, _) => true,
            (Some(block), Some(variant)) => block == variant.block,
            // No variant chosen: a variant's setting is left out rather than
            // opening every variant's block at once.
            (Some(_), None) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DeletionPolicy {
    Retain,
    Snapshot,
    /// Stated explicitly for a stateful type whose state lives elsewhere
    /// (an EMR cluster's data is in S3 and its log URI): a retained cluster
    /// would keep running and billing after the stack is gone.
    Delete,
}

impl DeletionPolicy {
    fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Retain => "Retain",
            DeletionPolicy::Snapshot => "Snapshot",
            DeletionPolicy::Delete => "Delete",
        }
    }
}

/// A property a create needs: set when the recommendations left it unset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployProperty {
    /// Dotted path (`A.B[].C`).
    pub property: String,
    pub value: Value,
    #[serde(default)]
    pub when: Option<ProfileCondition>,
    pub why: String,
}

/// A profile setting an entry depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileCondition {
    CustomerManagedKeys,
    AwsManagedKeys,
    CentralizedLogging,
}

impl ProfileCondition {
    fn holds(self, profile: &SecurityProfile) -> bool {
        match self {
            ProfileCondition::CustomerManagedKeys => {
                profile.data_protection.key_management == KeyManagement::CustomerManaged
            }
            ProfileCondition::AwsManagedKeys => {
                profile.data_protection.key_management == KeyManagement::AwsManaged
            }
            ProfileCondition::CentralizedLogging => {
                profile.security_operations.logging.centralized_logging
                    || profile
                        .security_operations
                        .logging
                        .third_party_integration
                        .is_some()
            }
        }
    }
}

fn holds(condition: Option<ProfileCondition>, profile: &SecurityProfile) -> bool {
    condition.is_none_or(|c| c.holds(profile))
}

/// A resource added next to the ones the recommendations open.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanionResource {
    pub logical_id: String,
    /// `Type`, `Properties` and optionally `DeletionPolicy`,
    /// `UpdateReplacePolicy`, `DependsOn`.
    pub resource: Value,
    /// A parameter the companion stands in for: every `Ref` to it becomes `reference`.
    #[serde(default)]
    pub replaces_parameter: Option<String>,
    #[serde(default)]
    pub reference: Option<Value>,
    /// Added whenever this other resource is in the template (a policy
    /// beside its bucket); otherwise added when something refers to it.
    #[serde(default)]
    pub alongside: Option<String>,
    /// Only in templates with a resource of one of these types (empty: any).
    #[serde(default)]
    pub for_types: Vec<String>,
    /// Not added when the template already has a resource of this type
    /// (the service's own resource, governed by its own rules).
    #[serde(default)]
    pub unless_template_has: Option<String>,
    /// Resources of these types wait for the companion (`DependsOn`).
    #[serde(default)]
    pub dependents: Vec<String>,
    /// Properties that depend on the profile.
    #[serde(default)]
    pub properties: Vec<DeployProperty>,
    #[serde(default)]
    pub when: Option<ProfileCondition>,
    pub why: String,
}

/// The property that carries the minimum TLS version of a type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSetting {
    pub resource_type: String,
    pub property: String,
    /// Value per profile minimum (`"1.2"`, `"1.3"`); a minimum without an
    /// entry takes the highest version the type offers below it.
    pub values: BTreeMap<String, Value>,
    /// The value is a policy statement added to the list at `property`
    /// unless a statement with its `Sid` is there already.
    #[serde(default)]
    pub append_statement: bool,
    pub why: String,
}

/// Forwarding of every log group of the template to central logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFilter {
    /// `Type` and `Properties`; `${LogGroup}` in a string is the log group's logical id.
    pub resource: Value,
    pub why: String,
}

impl Deployable {
    /// The entry of a type.
    pub fn of(&self, resource_type: &str) -> Option<&DeployableType> {
        self.types.iter().find(|t| t.resource_type == resource_type)
    }

    /// Whether the package template builds resources of a type (see
    /// [`DeployableType::not_built`]).
    pub fn builds_type(&self, resource_type: &str) -> bool {
        self.of(resource_type).is_none_or(|t| t.not_built.is_none())
    }
}

/// Replace the profile tokens in a value.
pub fn resolve_tokens(value: &Value, profile: &SecurityProfile) -> Value {
    match value {
        Value::String(text) => match text.as_str() {
            "$profile:minimum_tls_version" => json!(profile.data_protection.minimum_tls_version),
            "$profile:log_retention_days" => {
                json!(log_retention(
                    profile.security_operations.logging.retention_days
                ))
            }
            "$profile:kms_key" => json!({"Ref": KMS_KEY_PARAMETER}),
            // Null where no model is left: the caller drops the member
            // rather than allow nothing.
            "$profile:allowed_bedrock_generation_model_ids" => {
                let ids = profile.bedrock_generation_model_ids();
                if ids.is_empty() {
                    Value::Null
                } else {
                    json!(ids)
                }
            }
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_tokens(item, profile))
                .collect(),
        ),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, child)| (key.clone(), resolve_tokens(child, profile)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The shortest CloudWatch Logs retention period that keeps logs at least
/// as long as the profile asks.
pub fn log_retention(days: u32) -> u32 {
    LOG_RETENTION_DAYS
        .iter()
        .copied()
        .find(|allowed| *allowed >= days)
        .unwrap_or(3653)
}

/// Set the deploy-time properties of one resource the recommendations
/// opened, and its deletion policy.
pub fn complete_resource(deployable: &Deployable, resource: &mut Value, profile: &SecurityProfile) {
    let resource_type = resource["Type"].as_str().unwrap_or_default().to_string();
    let Some(entry) = deployable.of(&resource_type) else {
        return;
    };
    if let Some(policy) = entry.deletion_policy {
        resource["DeletionPolicy"] = json!(policy.as_str());
        resource["UpdateReplacePolicy"] = json!(policy.as_str());
    }
    if !resource["Properties"].is_object() {
        resource["Properties"] = json!({});
    }
    let Some(properties) = resource["Properties"].as_object_mut() else {
        return;
    };
    for property in entry.properties.iter().filter(|p| holds(p.when, profile)) {
        let current = Value::Object(properties.clone());
        if get_property(&current, &property.property).is_none() {
            set_property(
                properties,
                &property.property,
                resolve_tokens(&property.value, profile),
            );
        }
    }
}

/// Every logical id a value refers to (`Ref`, `Fn::GetAtt`, `${Id}` and
/// `${Id.Attr}` in `Fn::Sub`).
pub fn referenced_ids(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            if let Some(name) = object.get("Ref").and_then(Value::as_str) {
                out.insert(name.to_string());
            }
            if let Some(target) = object
                .get("Fn::GetAtt")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
            {
                out.insert(target.to_string());
            }
            let sub = object.get("Fn::Sub").and_then(|s| match s {
                Value::String(text) => Some(text.as_str()),
                Value::Array(parts) => parts.first().and_then(Value::as_str),
                _ => None,
            });
            for rest in sub.into_iter().flat_map(|text| text.split("${").skip(1)) {
                if let Some((name, _)) = rest.split_once('}')
                    && !name.starts_with('!')
                {
                    out.insert(name.split('.').next().unwrap_or(name).to_string());
                }
            }
            object.values().for_each(|child| referenced_ids(child, out));
        }
        Value::Array(items) => items.iter().for_each(|item| referenced_ids(item, out)),
        _ => {}
    }
}

/// Replace every `{"Ref": from}` with `to`.
fn replace_ref(value: &mut Value, from: &str, to: &Value) {
    match value {
        Value::Object(object) => {
            if object.len() == 1 && object.get("Ref").and_then(Value::as_str) == Some(from) {
                *value = to.clone();
                return;
            }
            object
                .values_mut()
                .for_each(|child| replace_ref(child, from, to));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_ref(item, from, to)),
        _ => {}
    }
}

/// Add the companions the resources refer to (or stand beside), until
/// nothing more is needed; companions are completed like any resource.
pub fn add_companions(
    deployable: &Deployable,
    resources: &mut Map<String, Value>,
    profile: &SecurityProfile,
) {
    let main_types: BTreeSet<String> = resources
        .values()
        .filter_map(|r| r["Type"].as_str().map(str::to_string))
        .collect();
    loop {
        let mut referenced = BTreeSet::new();
        resources
            .values()
            .for_each(|resource| referenced_ids(resource, &mut referenced));
        let next = deployable.companions.iter().find(|companion| {
            !resources.contains_key(&companion.logical_id)
                && holds(companion.when, profile)
                && (companion.for_types.is_empty()
                    || companion.for_types.iter().any(|t| main_types.contains(t)))
                && companion
                    .unless_template_has
                    .as_ref()
                    .is_none_or(|t| !main_types.contains(t))
                && (referenced.contains(&companion.logical_id)
                    || companion
                        .replaces_parameter
                        .as_ref()
                        .is_some_and(|p| referenced.contains(p))
                    || companion
                        .alongside
                        .as_ref()
                        .is_some_and(|id| resources.contains_key(id)))
        });
        let Some(companion) = next else {
            break;
        };
        if let (Some(parameter), Some(reference)) =
            (&companion.replaces_parameter, &companion.reference)
        {
            for resource in resources.values_mut() {
                replace_ref(resource, parameter, reference);
            }
        }
        let mut resource = resolve_tokens(&companion.resource, profile);
        if let Some(properties) = resource["Properties"].as_object_mut() {
            for property in companion
                .properties
                .iter()
                .filter(|p| holds(p.when, profile))
            {
                set_property(
                    properties,
                    &property.property,
                    resolve_tokens(&property.value, profile),
                );
            }
        }
        complete_resource(deployable, &mut resource, profile);
        for dependent in resources
            .values_mut()
            .filter(|r| companion.dependents.iter().any(|t| r["Type"] == t.as_str()))
        {
            let mut depends_on = match dependent.get("DependsOn") {
                Some(Value::String(one)) => vec![json!(one)],
                Some(Value::Array(many)) => many.clone(),
                _ => Vec::new(),
            };
            depends_on.push(json!(companion.logical_id));
            dependent["DependsOn"] = Value::Array(depends_on);
        }
        resources.insert(companion.logical_id.clone(), resource);
    }
}

/// The profile's minimum TLS version on every resource whose type carries one.
pub fn apply_tls(deployable: &Deployable, resources: &mut Map<String, Value>, minimum: &str) {
    for resource in resources.values_mut() {
        let resource_type = resource["Type"].as_str().unwrap_or_default().to_string();
        for setting in deployable
            .tls
            .iter()
            .filter(|s| s.resource_type == resource_type)
        {
            let value = setting.values.get(minimum).or_else(|| {
                setting
                    .values
                    .range(..minimum.to_string())
                    .next_back()
                    .map(|(_, v)| v)
            });
            let (Some(value), Some(properties)) = (value, resource["Properties"].as_object_mut())
            else {
                continue;
            };
            if !setting.append_statement {
                set_property(properties, &setting.property, value.clone());
                continue;
            }
            let current = Value::Object(properties.clone());
            let mut statements = match get_property(&current, &setting.property) {
                Some(Value::Array(items)) => items.clone(),
                Some(one) if one.is_object() => vec![one.clone()],
                _ => Vec::new(),
            };
            if !statements.iter().any(|s| s["Sid"] == value["Sid"]) {
                statements.push(value.clone());
                set_property(properties, &setting.property, Value::Array(statements));
            }
        }
    }
}

/// A subscription filter to the central destination on every log group.
pub fn add_subscription_filters(
    deployable: &Deployable,
    resources: &mut Map<String, Value>,
    profile: &SecurityProfile,
) {
    if !ProfileCondition::CentralizedLogging.holds(profile) {
        return;
    }
    let log_groups: Vec<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Logs::LogGroup")
        .map(|(id, _)| id.clone())
        .collect();
    for log_group in log_groups {
        let text = deployable
            .subscription_filter
            .resource
            .to_string()
            .replace("${LogGroup}", &log_group);
        if let Ok(filter) = serde_json::from_str::<Value>(&text) {
            resources.insert(
                format!("{log_group}Subscription"),
                resolve_tokens(&filter, profile),
            );
        }
    }
}

/// Deploy-time properties a resource of a listed type lacks (for the
/// profile's conditions): `logical id: property`.
pub fn missing_properties(
    deployable: &Deployable,
    template: &Value,
    profile: &SecurityProfile,
) -> Vec<String> {
    let mut missing = Vec::new();
    for (id, resource) in template["Resources"].as_object().into_iter().flatten() {
        let Some(entry) = resource["Type"].as_str().and_then(|t| deployable.of(t)) else {
            continue;
        };
        if let Some(policy) = entry.deletion_policy {
            for attribute in ["DeletionPolicy", "UpdateReplacePolicy"] {
                if resource[attribute] != policy.as_str() {
                    missing.push(format!("{id}: {attribute} {}", policy.as_str()));
                }
            }
        }
        for property in entry.properties.iter().filter(|p| holds(p.when, profile)) {
            let found = get_property(&resource["Properties"], &property.property);
            if found.is_none_or(Value::is_null) {
                missing.push(format!("{id}: {}", property.property));
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_agent_may_use_only_the_approved_text_models() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config-example/security-profile/example-corp.json"
        );
        let mut profile: SecurityProfile =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let token = json!("$profile:allowed_bedrock_generation_model_ids");
        profile.allowed_bedrock_models = Some(vec![
            "anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
            "amazon.titan-embed-text-v2:0".into(),
            "cohere.embed-english-v3".into(),
            "arn:aws:bedrock:eu-west-1:*:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
        ]);
        assert_eq!(
            resolve_tokens(&token, &profile),
            json!(["anthropic.claude-3-5-sonnet-20240620-v1:0"])
        );
        // Nothing left to allow: null, which the caller drops.
        profile.allowed_bedrock_models = Some(vec!["amazon.titan-embed-text-v2:0".into()]);
        assert_eq!(resolve_tokens(&token, &profile), Value::Null);
        profile.allowed_bedrock_models = None;
        assert_eq!(resolve_tokens(&token, &profile), Value::Null);
    }

    #[test]
    fn retention_snaps_up_to_an_allowed_period() {
        assert_eq!(log_retention(365), 365);
        assert_eq!(log_retention(366), 400);
        assert_eq!(log_retention(2), 3);
        assert_eq!(log_retention(9999), 3653);
    }

    #[test]
    fn references_include_sub_variables_and_get_att() {
        let mut found = BTreeSet::new();
        referenced_ids(
            &json!([{"Fn::Sub": "${Bucket.Arn}/*${!Literal}${Param}"}, {"Fn::GetAtt": ["Group", "Arn"]}]),
            &mut found,
        );
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["Bucket", "Group", "Param"]
        );
    }
}
