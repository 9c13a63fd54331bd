//! CloudFormation resource provider schemas (the registry's JSON format, as
//! published by AWS and shipped by cfn-lint).

use super::{IngestError, short_description};
use crate::model::{JsonType, Property, ResourceTypeSchema};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const DESCRIPTION_CHARS: usize = 240;

/// Parse one resource provider schema document.
pub fn parse_schema(
    source_name: &str,
    document: &Value,
) -> Result<ResourceTypeSchema, IngestError> {
    let object = document
        .as_object()
        .ok_or_else(|| IngestError::new(source_name, "schema is not a JSON object"))?;
    let type_name = object
        .get("typeName")
        .and_then(Value::as_str)
        .ok_or_else(|| IngestError::new(source_name, "schema has no typeName"))?
        .to_string();
    let properties = object
        .get("properties")
        .and_then(Value::as_object)
        .map(parse_properties)
        .unwrap_or_default();
    let definitions = object
        .get("definitions")
        .and_then(Value::as_object)
        .map(parse_properties)
        .unwrap_or_default();
    let handler_permissions = object
        .get("handlers")
        .and_then(Value::as_object)
        .map(|handlers| {
            handlers
                .iter()
                .map(|(name, handler)| (name.clone(), strings(handler.get("permissions"))))
                .collect()
        })
        .unwrap_or_default();
    let taggable = object
        .get("tagging")
        .and_then(|tagging| tagging.get("taggable"))
        .and_then(Value::as_bool)
        .unwrap_or_else(|| properties.contains_key("Tags"));
    Ok(ResourceTypeSchema {
        description: short_description(
            object
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(""),
            DESCRIPTION_CHARS,
        ),
        required: strings(object.get("required")),
        create_only: pointers(object.get("createOnlyProperties")),
        read_only: pointers(object.get("readOnlyProperties")),
        write_only: pointers(object.get("writeOnlyProperties")),
        primary_identifier: pointers(object.get("primaryIdentifier")),
        type_name,
        properties,
        definitions,
        taggable,
        handler_permissions,
        regions: Vec::new(),
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `/properties/A/B` -> `A.B`; array markers (`/*`) become `[]`.
fn pointers(value: Option<&Value>) -> Vec<String> {
    strings(value)
        .into_iter()
        .map(|pointer| {
            pointer
                .trim_start_matches("/properties/")
                .split('/')
                .map(|segment| if segment == "*" { "[]" } else { segment })
                .collect::<Vec<_>>()
                .join(".")
                .replace(".[]", "[]")
        })
        .collect()
}

fn parse_properties(map: &Map<String, Value>) -> BTreeMap<String, Property> {
    map.iter()
        .map(|(name, value)| (name.clone(), parse_property(value)))
        .collect()
}

fn parse_property(value: &Value) -> Property {
    let Some(object) = value.as_object() else {
        return Property::default();
    };
    let types = match object.get("type") {
        Some(Value::String(name)) => JsonType::parse(name).into_iter().collect(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .filter_map(JsonType::parse)
            .collect(),
        _ => Vec::new(),
    };
    let reference = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|pointer| pointer.strip_prefix("#/definitions/"))
        .map(str::to_string);
    let alternatives = ["oneOf", "anyOf"]
        .iter()
        .filter_map(|key| object.get(*key).and_then(Value::as_array))
        .flatten()
        .map(parse_property)
        .collect();
    let open_keys = object.contains_key("patternProperties")
        || matches!(
            object.get("additionalProperties"),
            Some(Value::Bool(true)) | Some(Value::Object(_))
        );
    Property {
        types,
        reference,
        description: short_description(
            object
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(""),
            DESCRIPTION_CHARS,
        ),
        enum_values: object
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| values.iter().map(Value::to_string).collect())
            .unwrap_or_default(),
        pattern: object
            .get("pattern")
            .and_then(Value::as_str)
            .map(str::to_string),
        min_length: object.get("minLength").and_then(Value::as_u64),
        max_length: object.get("maxLength").and_then(Value::as_u64),
        minimum: object.get("minimum").and_then(Value::as_f64),
        maximum: object.get("maximum").and_then(Value::as_f64),
        default: object.get("default").map(Value::to_string),
        items: object
            .get("items")
            .map(|items| Box::new(parse_property(items))),
        properties: object
            .get("properties")
            .and_then(Value::as_object)
            .map(parse_properties)
            .unwrap_or_default(),
        required: strings(object.get("required")),
        alternatives,
        open_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties_definitions_and_pointers() {
        let document = serde_json::json!({
            "typeName": "AWS::Test::Thing",
            "description": "A thing that is tested here. It has a second sentence.",
            "properties": {
                "Name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 63},
                "Mode": {"type": "string", "enum": ["A", "B"]},
                "Rules": {"type": "array", "items": {"$ref": "#/definitions/Rule"}},
                "Arn": {"type": "string"}
            },
            "definitions": {
                "Rule": {"type": "object", "properties": {"Enabled": {"type": "boolean"}}, "required": ["Enabled"]}
            },
            "required": ["Name"],
            "createOnlyProperties": ["/properties/Name"],
            "readOnlyProperties": ["/properties/Arn"],
            "writeOnlyProperties": ["/properties/Rules/*/Enabled"],
            "primaryIdentifier": ["/properties/Name"],
            "handlers": {"create": {"permissions": ["test:CreateThing"]}}
        });
        let schema = parse_schema("t.json", &document).unwrap();
        assert_eq!(schema.type_name, "AWS::Test::Thing");
        assert_eq!(schema.description, "A thing that is tested here.");
        assert_eq!(
            schema.properties["Mode"].enum_values,
            vec!["\"A\"", "\"B\""]
        );
        assert_eq!(
            schema.properties["Rules"]
                .items
                .as_ref()
                .unwrap()
                .reference
                .as_deref(),
            Some("Rule")
        );
        assert_eq!(schema.create_only, vec!["Name"]);
        assert_eq!(schema.read_only, vec!["Arn"]);
        assert_eq!(schema.write_only, vec!["Rules[].Enabled"]);
        assert_eq!(
            schema.handler_permissions["create"],
            vec!["test:CreateThing"]
        );
        assert!(!schema.taggable);
    }

    #[test]
    fn rejects_documents_without_type_name() {
        assert!(parse_schema("x.json", &serde_json::json!({"properties": {}})).is_err());
    }
}
