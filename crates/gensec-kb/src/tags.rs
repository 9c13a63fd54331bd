//! Where a resource type keeps its tags, and a tag set in that shape: the
//! tagging control, the hardened templates and their checks share this.

use crate::model::{JsonType, ResourceTypeSchema};
use serde_json::{Map, Value, json};

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
