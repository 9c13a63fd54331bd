//! Where a resource type keeps its tags, and a tag set in that shape: the
//! tagging control, the hardened templates and their checks share this.

use crate::model::{JsonType, ResourceTypeSchema};
use serde_json::{Map, Value, json};

/// The catalogue control that puts the organisation's required tags on every
/// taggable resource (its recommendation applies to every taggable type of a
/// service, its template setting to every taggable resource of a template).
pub const TAGGING_CONTROL_ID: &str = "tagging-required-keys";

/// The top-level property CloudFormation types keep tags in.
pub const TAGS_PROPERTY: &str = "Tags";

/// How a type writes its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagShape {
    /// `[{"Key": k, "Value": v}]` (most types).
    KeyValueList,
    /// `{k: v}` (types with an open-keyed object, such as SSM parameters).
    Map,
}

/// The tag shape of a type the schema marks taggable and whose `Tags`
/// property can be set; `None` for types that cannot carry tags.
pub fn tag_shape(schema: &ResourceTypeSchema) -> Option<TagShape> {
    if !schema.taggable || schema.read_only.iter().any(|p| p == TAGS_PROPERTY) {
        return None;
    }
    let property = schema.deref(schema.properties.get(TAGS_PROPERTY)?);
    if property.types.contains(&JsonType::Array) {
        let item = schema.deref(property.items.as_deref()?);
        let has = |name: &str| item.properties.contains_key(name);
        return (has("Key") && has("Value")).then_some(TagShape::KeyValueList);
    }
    if property.types.contains(&JsonType::Object) && property.open_keys {
        return Some(TagShape::Map);
    }
    None
}

/// A tag set in a type's shape, keys in the given order.
pub fn tag_value(shape: TagShape, tags: &[(String, Value)]) -> Value {
    match shape {
        TagShape::KeyValueList => Value::Array(
            tags.iter()
                .map(|(key, value)| json!({"Key": key, "Value": value}))
                .collect(),
        ),
        TagShape::Map => Value::Object(
            tags.iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect::<Map<String, Value>>(),
        ),
    }
}

/// The keys a tag value (either shape) carries.
pub fn tag_keys(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.get("Key").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The (key, value) pairs of a tag value (either shape), in order; list items
/// without a literal `Key` are skipped.
pub fn tag_pairs(value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let key = item.get("Key")?.as_str()?;
                Some((
                    key.to_string(),
                    item.get("Value").cloned().unwrap_or(Value::Null),
                ))
            })
            .collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    }
}

/// Add the pairs whose keys a tag value lacks, in the value's own shape
/// (an absent value becomes one in `shape`); existing tags are kept.
pub fn merge_tags(existing: Option<&Value>, shape: TagShape, pairs: &[(String, Value)]) -> Value {
    let present = existing.map(tag_keys).unwrap_or_default();
    let missing: Vec<(String, Value)> = pairs
        .iter()
        .filter(|(key, _)| !present.contains(key))
        .cloned()
        .collect();
    match existing {
        Some(Value::Array(items)) => {
            let mut items = items.clone();
            if let Value::Array(more) = tag_value(TagShape::KeyValueList, &missing) {
                items.extend(more);
            }
            Value::Array(items)
        }
        Some(Value::Object(map)) => {
            let mut map = map.clone();
            map.extend(missing);
            Value::Object(map)
        }
        _ => tag_value(shape, &missing),
    }
}

/// Why a tag value does not carry every required key with a usable value:
/// a missing key, an empty value, or a literal value outside the key's
/// allowed values (template parameters and other intrinsics are accepted;
/// the parameter's own AllowedValues restrict them). Empty when it does.
pub fn tag_problems(value: Option<&Value>, required: &[(String, Vec<String>)]) -> Vec<String> {
    let Some(value) = value else {
        return vec!["no Tags".into()];
    };
    let pairs = tag_pairs(value);
    required
        .iter()
        .filter_map(|(key, allowed)| {
            let Some((_, found)) = pairs.iter().find(|(k, _)| k == key) else {
                return Some(format!("no tag {key}"));
            };
            match found {
                Value::String(text) if text.is_empty() => Some(format!("tag {key} is empty")),
                Value::String(text) if !allowed.is_empty() && !allowed.contains(text) => Some(
                    format!("tag {key} = {text:?} is not one of {}", allowed.join(", ")),
                ),
                Value::Null => Some(format!("tag {key} has no value")),
                _ => None,
            }
        })
        .collect()
}
