//! The hardened CloudFormation template: one resource per resource type the
//! recommendations cover, every recommended value set, Parameters for what
//! only the user can supply, a customer-managed key when the profile asks for
//! one. Validated against the resource schemas and the run's Guard rules.

use crate::data::Curated;
use crate::deployable;
use crate::key_policy::{self, KeyPolicy};
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{Confidence, Expectation, Recommendation};
use gensec_core::input::{KeyManagement, Tagging};
use gensec_kb::ResourceTypeSchema;
use gensec_kb::model::{JsonType, Property};
use gensec_kb::paths::{get_property, set_property};
use gensec_kb::tags::{TAGGING_CONTROL_ID, TAGS_PROPERTY, merge_tags, tag_pairs, tag_shape};
use gensec_kb::{Kb, validate};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Parameter name the catalogue uses for the organisation's key.
use gensec_core::contract::paths::parameters::KMS_KEY as KMS_KEY_PARAMETER;
/// Logical id of the key created when the profile requires customer-managed keys.
const KMS_KEY_RESOURCE: &str = "EncryptionKey";

/// A property that must point at another resource of the template.
struct Reference {
    resource_type: &'static str,
    property: &'static str,
    target_type: &'static str,
    list: bool,
}

const REFERENCES: &[Reference] = &[
    Reference {
        resource_type: "AWS::S3::BucketPolicy",
        property: "Bucket",
        target_type: "AWS::S3::Bucket",
        list: false,
    },
    Reference {
        resource_type: "AWS::SQS::QueuePolicy",
        property: "Queues",
        target_type: "AWS::SQS::Queue",
        list: true,
    },
    Reference {
        resource_type: "AWS::SNS::TopicPolicy",
        property: "Topics",
        target_type: "AWS::SNS::Topic",
        list: true,
    },
    Reference {
        resource_type: "AWS::Lambda::Permission",
        property: "FunctionName",
        target_type: "AWS::Lambda::Function",
        list: false,
    },
    Reference {
        resource_type: "AWS::ElasticLoadBalancingV2::Listener",
        property: "LoadBalancerArn",
        target_type: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        list: false,
    },
    Reference {
        resource_type: "AWS::ECS::Service",
        property: "TaskDefinition",
        target_type: "AWS::ECS::TaskDefinition",
        list: false,
    },
    Reference {
        resource_type: "AWS::ECS::Service",
        property: "Cluster",
        target_type: "AWS::ECS::Cluster",
        list: false,
    },
    Reference {
        resource_type: "AWS::SecretsManager::RotationSchedule",
        property: "SecretId",
        target_type: "AWS::SecretsManager::Secret",
        list: false,
    },
    Reference {
        resource_type: "AWS::EMR::Cluster",
        property: "SecurityConfiguration",
        target_type: "AWS::EMR::SecurityConfiguration",
        list: false,
    },
    Reference {
        resource_type: "AWS::EFS::AccessPoint",
        property: "FileSystemId",
        target_type: "AWS::EFS::FileSystem",
        list: false,
    },
    Reference {
        resource_type: "AWS::Timestream::Table",
        property: "DatabaseName",
        target_type: "AWS::Timestream::Database",
        list: false,
    },
    Reference {
        resource_type: "AWS::RedshiftServerless::Workgroup",
        property: "NamespaceName",
        target_type: "AWS::RedshiftServerless::Namespace",
        list: false,
    },
];

/// Resource-policy types: the statements they carry apply to these ARNs.
fn policy_resources(resource_type: &str, target: &str) -> Option<Value> {
    match resource_type {
        "AWS::S3::BucketPolicy" => Some(json!([
            {"Fn::GetAtt": [target, "Arn"]},
            {"Fn::Sub": format!("${{{target}.Arn}}/*")}
        ])),
        "AWS::SQS::QueuePolicy" => Some(json!({"Fn::GetAtt": [target, "Arn"]})),
        "AWS::SNS::TopicPolicy" => Some(json!({"Ref": target})),
        _ => None,
    }
}

/// The built template and what the builder had to decide.
#[derive(Debug, Default)]
pub struct Hardened {
    pub template: Value,
    /// Resource type -> logical id.
    pub logical_ids: BTreeMap<String, String>,
    /// Two recommendations wanted different values at one path.
    pub conflicts: Vec<String>,
    /// The package key's policy and its executed cases, when the template
    /// has a key.
    pub key_policy: Option<KeyPolicy>,
}

fn logical_id(resource_type: &str, taken: &BTreeSet<String>) -> String {
    let mut parts = resource_type.split("::").skip(1);
    let namespace = parts.next().unwrap_or_default();
    let short = parts.next().unwrap_or_default();
    let plain: String = short.chars().filter(char::is_ascii_alphanumeric).collect();
    if taken.contains(&plain) {
        format!(
            "{}{plain}",
            namespace
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        )
    } else {
        plain
    }
}

/// Replace `{"Ref": from}` everywhere with `to`.
fn replace_ref(value: &mut Value, from: &str, to: &Value) {
    match value {
        Value::Object(object) => {
            if object.len() == 1 && object.get("Ref").and_then(Value::as_str) == Some(from) {
                *value = to.clone();
                return;
            }
            for child in object.values_mut() {
                replace_ref(child, from, to);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_ref(item, from, to)),
        _ => {}
    }
}

/// Every `{"Ref": name}` in a value.
fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            if let (1, Some(name)) = (object.len(), object.get("Ref").and_then(Value::as_str)) {
                out.insert(name.to_string());
            }
            object.values().for_each(|child| refs(child, out));
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// Where a Ref is used: the first (resource type, property path) found.
fn ref_sites(
    resource_type: &str,
    path: &str,
    value: &Value,
    out: &mut BTreeMap<String, (String, String)>,
) {
    match value {
        Value::Object(object) => {
            if let (1, Some(name)) = (object.len(), object.get("Ref").and_then(Value::as_str)) {
                out.entry(name.to_string())
                    .or_insert((resource_type.to_string(), path.to_string()));
                return;
            }
            if let (1, Some(text)) = (object.len(), object.get("Fn::Sub").and_then(Value::as_str)) {
                for variable in sub_variables(text) {
                    out.entry(variable)
                        .or_insert((resource_type.to_string(), path.to_string()));
                }
                return;
            }
            for (key, child) in object {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                ref_sites(resource_type, &child_path, child, out);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| ref_sites(resource_type, &format!("{path}[]"), item, out)),
        _ => {}
    }
}

/// `${Name}` variables of an `Fn::Sub` string (not `${Res.Attr}` nor `${!Literal}`).
fn sub_variables(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.starts_with('!') && !name.contains('.'))
        .map(str::to_string)
        .collect()
}

fn parameter(kb: &Kb, resource_type: &str, path: &str) -> Value {
    // `A.B[]` is one element of the list at `A.B`.
    let element = path.ends_with("[]");
    let property = kb
        .resource_type(resource_type)
        .ok()
        .flatten()
        .and_then(|schema| {
            let property = schema.deref(schema.resolve(path)?);
            let property = match (element, property.items.as_deref()) {
                (true, Some(items)) => schema.deref(items),
                _ => property,
            };
            Some(property.clone())
        });
    let property = property.as_ref();
    let parameter_type = match property.map(|p| p.types.clone()).unwrap_or_default() {
        types if types.contains(&JsonType::Array) => "CommaDelimitedList",
        types if types.contains(&JsonType::Integer) || types.contains(&JsonType::Number) => {
            "Number"
        }
        _ => "String",
    };
    let mut parameter = json!({
        "Type": parameter_type,
        "Description": format!("Supplied by you: {path} of {resource_type}"),
    });
    let allowed: Vec<Value> = property
        .map(|p| {
            p.enum_values
                .iter()
                .filter_map(|v| serde_json::from_str(v).ok())
                .collect()
        })
        .unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    if ["password", "secret", "token"]
        .iter()
        .any(|word| lower.contains(word))
    {
        parameter["NoEcho"] = json!(true);
    }
    if !allowed.is_empty() && parameter_type == "String" {
        parameter["AllowedValues"] = Value::Array(
            allowed
                .iter()
                .map(|v| json!(v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect(),
        );
    }
    parameter
}

/// Apply one recommendation's value to a resource's properties.
fn apply(
    properties: &mut Map<String, Value>,
    recommendation: &Recommendation,
    conflicts: &mut Vec<String>,
) {
    let path = &recommendation.property;
    let value = recommendation.recommended_value.clone();
    // No value is the hardened setting (no ingress rule, no public principal):
    // the template leaves the property unset, which meets the expectation.
    if value.is_null() {
        return;
    }
    if let Expectation::Contains(_) = recommendation.expectation {
        let mut items = get_property(&Value::Object(properties.clone()), path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        items.push(value);
        set_property(properties, path, Value::Array(items));
        return;
    }
    match get_property(&Value::Object(properties.clone()), path) {
        Some(existing) if *existing != value => conflicts.push(format!(
            "{} {path}: kept {existing} (higher priority), not {value} from {}",
            recommendation.resource_type, recommendation.configuration_id
        )),
        Some(_) => {}
        None => set_property(properties, path, value),
    }
}

/// Build the hardened template of a service.
pub fn build(
    kb: &Kb,
    curated: &Curated,
    description: &str,
    recommendations: &[Recommendation],
    profile: &SecurityProfile,
) -> Hardened {
    let mut out = Hardened::default();
    // The tagging recommendation opens no resource of its own: its tags go
    // on every taggable resource the others open (below).
    let tagging = recommendations
        .iter()
        .find(|r| r.control_id == TAGGING_CONTROL_ID);
    let mut by_type = settings_by_type(recommendations);
    // A type the catalogue checks without building it (a superseded type):
    // its Guard rules still check any template that has one.
    by_type.retain(|resource_type, _| curated.deployable.builds_type(resource_type));
    let mut taken = BTreeSet::from([KMS_KEY_RESOURCE.to_string()]);
    for resource_type in by_type.keys() {
        let id = logical_id(resource_type, &taken);
        taken.insert(id.clone());
        out.logical_ids.insert(resource_type.to_string(), id);
    }
    let mut resources = Map::new();
    for (resource_type, recommendations) in &by_type {
        let properties =
            hardened_properties(curated, resource_type, recommendations, &mut out.conflicts);
        let id = &out.logical_ids[*resource_type];
        let mut resource = json!({"Type": resource_type, "Properties": properties});
        deployable::complete_resource(&curated.deployable, &mut resource, profile);
        resources.insert(id.clone(), resource);
    }
    // Companions (security groups, subnet and parameter groups, log groups,
    // siblings) before the links, so their references resolve like any other.
    deployable::add_companions(&curated.deployable, &mut resources, profile);
    deployable::apply_tls(
        &curated.deployable,
        &mut resources,
        &profile.data_protection.minimum_tls_version,
    );
    link_resources(kb, &mut resources, &out.logical_ids);
    deployable::add_subscription_filters(&curated.deployable, &mut resources, profile);
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Parameters": {},
        "Resources": resources,
    });
    if profile.data_protection.key_management == KeyManagement::CustomerManaged {
        add_customer_managed_key(kb, curated, &mut template, &mut out);
    }
    own_keys_policy(kb, curated, &mut template, &mut out);
    if let Some(tagging) = tagging {
        apply_tags(kb, &mut template["Resources"], tagging);
    }
    declare_parameters(kb, &mut template, &curated.deployable.parameters, profile);
    declare_tag_parameters(&mut template, profile);
    out.template = template;
    out
}

/// The settings (no operational or tagging recommendation) by resource
/// type.
fn settings_by_type(recommendations: &[Recommendation]) -> BTreeMap<&str, Vec<&Recommendation>> {
    let mut by_type: BTreeMap<&str, Vec<&Recommendation>> = BTreeMap::new();
    // The service's main resource types are the ones the catalogue covers;
    // for services it does not cover, every type with inferred settings.
    let settings = || {
        recommendations
            .iter()
            .filter(|r| !r.is_operational() && r.control_id != TAGGING_CONTROL_ID)
    };
    let has_curated = settings().any(|r| r.confidence == Confidence::Curated);
    for recommendation in settings().filter(|r| !has_curated || r.confidence == Confidence::Curated)
    {
        by_type
            .entry(recommendation.resource_type.as_str())
            .or_default()
            .push(recommendation);
    }
    by_type
}

/// One resource's properties: its recommendations applied, then the curated
/// companion settings where their parent is open and they are unset. A
/// recommendation the result does not meet is a conflict.
fn hardened_properties(
    curated: &Curated,
    resource_type: &str,
    recommendations: &[&Recommendation],
    conflicts: &mut Vec<String>,
) -> Map<String, Value> {
    // A setting of a variant block the template does not build stays out
    // (an FSx file system has one type's configuration alone).
    let builds = |recommendation: &&&Recommendation| match curated.deployable.of(resource_type) {
        Some(entry) => entry.builds(recommendation.when_set.as_deref()),
        None => recommendation.when_set.is_none(),
    };
    let mut properties = Map::new();
    // Recommendations arrive most urgent first, so a conflict keeps the stronger setting.
    for recommendation in recommendations.iter().filter(builds) {
        apply(&mut properties, recommendation, conflicts);
    }
    for companion in curated
        .companions
        .iter()
        .filter(|c| c.resource_type == resource_type)
    {
        let current = Value::Object(properties.clone());
        let parent_open = companion
            .property
            .rsplit_once('.')
            .is_none_or(|(parent, _)| get_property(&current, parent).is_some());
        if parent_open && get_property(&current, &companion.property).is_none() {
            set_property(
                &mut properties,
                &companion.property,
                companion.value.clone(),
            );
        }
    }
    let current = Value::Object(properties.clone());
    for recommendation in recommendations.iter().filter(builds) {
        let found = get_property(&current, &recommendation.property);
        let intrinsic = found.is_some_and(validate::is_intrinsic);
        if !intrinsic && !recommendation.expectation.is_met_by(found) {
            conflicts.push(format!(
                "{} {}: the template does not meet {} ({:?})",
                recommendation.resource_type,
                recommendation.property,
                recommendation.configuration_id,
                recommendation.expectation
            ));
        }
    }
    properties
}

/// The customer managed key the template's resources use in place of the
/// key parameter, with a key policy for the types that use it.
fn add_customer_managed_key(kb: &Kb, curated: &Curated, template: &mut Value, out: &mut Hardened) {
    let mut used = BTreeSet::new();
    refs(&template["Resources"], &mut used);
    if used.contains(KMS_KEY_PARAMETER) {
        replace_ref(
            &mut template["Resources"],
            KMS_KEY_PARAMETER,
            &json!({"Fn::GetAtt": [KMS_KEY_RESOURCE, "Arn"]}),
        );
        let mut users: Vec<String> = template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, resource)| references(&resource["Properties"], KMS_KEY_RESOURCE))
            .filter_map(|(_, resource)| resource["Type"].as_str().map(str::to_string))
            .collect();
        users.sort();
        users.dedup();
        let policy = key_policy::build(kb, curated, &users);
        template["Resources"][KMS_KEY_RESOURCE] = customer_managed_key(&policy.document);
        out.key_policy = Some(policy);
    }
}

/// A key the package itself declares (the KMS package's) gets the same
/// executed key policy in place of KMS's default one (`kms:*` for the
/// account): for the resource types that use it, or, when none does, use
/// left to the account's IAM policies.
fn own_keys_policy(kb: &Kb, curated: &Curated, template: &mut Value, out: &mut Hardened) {
    let own: Vec<String> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(id, resource)| {
            *id != KMS_KEY_RESOURCE
                && resource["Type"] == "AWS::KMS::Key"
                && resource["Properties"].get("KeyPolicy").is_none()
        })
        .map(|(id, _)| id.clone())
        .collect();
    for id in own {
        let mut users: Vec<String> = template["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, resource)| resource["Type"] != "AWS::KMS::Alias")
            .filter(|(_, resource)| references(&resource["Properties"], &id))
            .filter_map(|(_, resource)| resource["Type"].as_str().map(str::to_string))
            .collect();
        users.sort();
        users.dedup();
        let policy = key_policy::build(kb, curated, &users);
        template["Resources"][&id]["Properties"]["KeyPolicy"] = policy.document.clone();
        out.key_policy.get_or_insert(policy);
    }
}

/// The tagging recommendation's tags on every resource of the template whose
/// type can carry tags, in that type's shape; tags a resource already has
/// are kept.
fn apply_tags(kb: &Kb, resources: &mut Value, tagging: &Recommendation) {
    let pairs = tag_pairs(&tagging.recommended_value);
    if pairs.is_empty() {
        return;
    }
    for resource in resources
        .as_object_mut()
        .into_iter()
        .flat_map(|r| r.values_mut())
    {
        let resource_type = resource["Type"].as_str().unwrap_or_default().to_string();
        let Some(schema) = kb.resource_type(&resource_type).ok().flatten() else {
            continue;
        };
        let Some(shape) = tag_shape(schema) else {
            continue;
        };
        if !resource["Properties"].is_object() {
            resource["Properties"] = json!({});
        }
        let properties = &mut resource["Properties"];
        let mut merged = merge_tags(properties.get(TAGS_PROPERTY), shape, &pairs);
        if tags_need_propagation(schema) {
            // An Auto Scaling group's tag also says whether the instances it
            // launches carry it (the schema requires the flag): they do, so
            // the instances are tagged like the group.
            for tag in merged.as_array_mut().into_iter().flatten() {
                if tag.get(PROPAGATE_AT_LAUNCH).is_none() {
                    tag[PROPAGATE_AT_LAUNCH] = json!(true);
                }
            }
        }
        properties[TAGS_PROPERTY] = merged;
    }
}

/// The flag of an Auto Scaling group's tag that copies it to the instances.
const PROPAGATE_AT_LAUNCH: &str = "PropagateAtLaunch";

/// Whether the type's tag elements require [`PROPAGATE_AT_LAUNCH`].
fn tags_need_propagation(schema: &ResourceTypeSchema) -> bool {
    schema
        .properties
        .get(TAGS_PROPERTY)
        .map(|tags| schema.deref(tags))
        .and_then(|tags| tags.items.as_deref())
        .is_some_and(|item| {
            schema
                .deref(item)
                .required
                .iter()
                .any(|field| field == PROPAGATE_AT_LAUNCH)
        })
}

/// The parameters that supply the required tags' values: described as such,
/// never empty, limited to the profile's allowed values where it has them.
fn declare_tag_parameters(template: &mut Value, profile: &SecurityProfile) {
    let Some(parameters) = template
        .get_mut("Parameters")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for tag in &profile.tagging.required_tags {
        let Some(parameter) = parameters.get_mut(&Tagging::parameter_name(&tag.key)) else {
            continue;
        };
        let mut declared = json!({
            "Type": "String",
            "Description": format!(
                "Value of the required tag {} on every taggable resource (security profile tagging.required_tags)",
                tag.key
            ),
            "MinLength": 1,
            "MaxLength": 256,
        });
        if !tag.allowed_values.is_empty() {
            declared["AllowedValues"] = json!(tag.allowed_values);
        }
        *parameter = declared;
    }
}

/// References between resources of the template, required properties the
/// recommendations did not set, and resource-policy statement targets.
fn link_resources(
    kb: &Kb,
    resources: &mut Map<String, Value>,
    logical_ids: &BTreeMap<String, String>,
) {
    for (resource_type, id) in logical_ids {
        let Some(resource) = resources.get_mut(id) else {
            continue;
        };
        let properties = resource["Properties"].as_object_mut();
        let Some(properties) = properties else {
            continue;
        };
        for reference in REFERENCES
            .iter()
            .filter(|r| r.resource_type == resource_type)
        {
            let target = logical_ids
                .get(reference.target_type)
                .map(|target| json!({"Ref": target}))
                .unwrap_or_else(|| json!({"Ref": format!("{id}{}", reference.property)}));
            let value = if reference.list {
                json!([target])
            } else {
                target
            };
            properties.insert(reference.property.to_string(), value);
        }
        // Resource policies: target every statement at the policy's resource.
        let target = REFERENCES
            .iter()
            .find(|r| r.resource_type == resource_type)
            .and_then(|r| logical_ids.get(r.target_type));
        if let (Some(target), Some(document)) = (target, properties.get_mut("PolicyDocument"))
            && let Some(resource_arns) = policy_resources(resource_type, target)
        {
            document["Version"] = json!("2012-10-17");
            for statement in document["Statement"].as_array_mut().into_iter().flatten() {
                if statement.get("Resource").is_none() {
                    statement["Resource"] = resource_arns.clone();
                }
            }
        }
        // Required properties nobody set become Parameters, at every level
        // the recommendations opened.
        if let Ok(Some(schema)) = kb.resource_type(resource_type) {
            for required in &schema.required {
                if !properties.contains_key(required)
                    && let Some(property) = schema.properties.get(required)
                {
                    properties.insert(
                        required.clone(),
                        placeholder(schema, property, &format!("{id}{required}")),
                    );
                }
            }
            for (name, value) in properties.iter_mut() {
                if let Some(property) = schema.properties.get(name) {
                    fill_required(schema, property, value, &format!("{id}{name}"), 0);
                }
            }
        }
    }
}

fn parameter_name(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// A value for a required property nobody recommended: a Parameter reference
/// for scalars and lists, an object filled the same way for objects.
fn placeholder(schema: &ResourceTypeSchema, property: &Property, name: &str) -> Value {
    let resolved = schema.deref(property);
    let is_object = resolved.types.contains(&JsonType::Object)
        || (!resolved.properties.is_empty() && resolved.types.is_empty());
    if is_object && !resolved.properties.is_empty() {
        let mut value = json!({});
        fill_required(schema, property, &mut value, name, 0);
        return value;
    }
    if resolved.types.contains(&JsonType::Array)
        && let Some(items) = resolved.items.as_deref()
    {
        let item = schema.deref(items);
        if !item.properties.is_empty() {
            let mut value = json!({});
            fill_required(schema, items, &mut value, name, 0);
            return json!([value]);
        }
    }
    json!({"Ref": parameter_name(name)})
}

/// Add missing required children to the objects a template already has.
fn fill_required(
    schema: &ResourceTypeSchema,
    property: &Property,
    value: &mut Value,
    name: &str,
    depth: usize,
) {
    if depth > 8 || validate::is_intrinsic(value) {
        return;
    }
    let resolved = schema.deref(property);
    match value {
        Value::Object(object) => {
            for required in &resolved.required {
                if !object.contains_key(required)
                    && let Some(child) = resolved.properties.get(required)
                {
                    object.insert(
                        required.clone(),
                        placeholder(schema, child, &format!("{name}{required}")),
                    );
                }
            }
            for (key, child_value) in object.iter_mut() {
                if let Some(child) = resolved.properties.get(key) {
                    fill_required(
                        schema,
                        child,
                        child_value,
                        &format!("{name}{key}"),
                        depth + 1,
                    );
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = resolved.items.as_deref() {
                for item in items {
                    fill_required(schema, item_schema, item, name, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Whether `value` names resource `id` (`Ref` or `Fn::GetAtt`).
fn references(value: &Value, id: &str) -> bool {
    match value {
        Value::Object(object) => {
            object.get("Ref").and_then(Value::as_str) == Some(id)
                || object
                    .get("Fn::GetAtt")
                    .and_then(|target| target.get(0))
                    .and_then(Value::as_str)
                    == Some(id)
                || object.values().any(|child| references(child, id))
        }
        Value::Array(items) => items.iter().any(|item| references(item, id)),
        _ => false,
    }
}

/// A key with rotation, a deletion window and its executed policy, for
/// `$profile:kms_key`.
fn customer_managed_key(policy: &Value) -> Value {
    json!({
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "Customer-managed key for this service's data (gensec)",
            "EnableKeyRotation": true,
            "PendingWindowInDays": 30,
            "KeyPolicy": policy
        }
    })
}

/// Every Parameter the resources refer to: the curated declaration when
/// the deployable data has one (allowed values, safe default; profile
/// tokens resolved), else one derived from the property's schema.
fn declare_parameters(
    kb: &Kb,
    template: &mut Value,
    curated: &BTreeMap<String, Value>,
    profile: &SecurityProfile,
) {
    let resource_ids: BTreeSet<String> = template["Resources"]
        .as_object()
        .map(|resources| resources.keys().cloned().collect())
        .unwrap_or_default();
    let mut sites = BTreeMap::new();
    for resource in template["Resources"]
        .as_object()
        .into_iter()
        .flat_map(|r| r.values())
    {
        let resource_type = resource["Type"].as_str().unwrap_or_default();
        ref_sites(resource_type, "", &resource["Properties"], &mut sites);
    }
    let mut parameters = Map::new();
    for (name, (resource_type, path)) in sites {
        if resource_ids.contains(&name) || name.starts_with("AWS::") {
            continue;
        }
        let mut declared = match curated.get(&name) {
            Some(curated) => deployable::resolve_tokens(curated, profile),
            None => parameter(kb, &resource_type, &path),
        };
        if let Some(members) = declared.as_object_mut() {
            members.retain(|_, value| !value.is_null());
        }
        parameters.insert(name, declared);
    }
    template["Parameters"] = Value::Object(parameters);
    if template["Parameters"]
        .as_object()
        .is_some_and(Map::is_empty)
    {
        template.as_object_mut().map(|t| t.remove("Parameters"));
    }
}

/// Schema problems of every resource of a template.
pub fn schema_problems(kb: &Kb, template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, resource) in template["Resources"].as_object().into_iter().flatten() {
        let resource_type = resource["Type"].as_str().unwrap_or_default();
        match validate::resource(kb, resource_type, &resource["Properties"]) {
            Ok(found) => problems.extend(found.into_iter().map(|p| format!("{id}: {p}"))),
            Err(err) => problems.push(format!("{id}: {err}")),
        }
    }
    problems
}
