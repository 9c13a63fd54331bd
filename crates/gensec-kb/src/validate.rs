//! Validators: the checks every emitted name and value passes. Each returns
//! the reason an item is refused, worded for the validation report.

use crate::Kb;
use crate::model::{IamAction, JsonType, Property, ResourceTypeSchema};
use crate::paths::key_matches;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex, PoisonError};

/// The property at `path` of `type_name`, or why it cannot be used.
pub fn property<'a>(
    kb: &'a Kb,
    type_name: &str,
    path: &str,
) -> Result<(&'a ResourceTypeSchema, &'a Property), String> {
    let schema = kb
        .resource_type(type_name)
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("unknown resource type {type_name}"))?;
    let property = schema
        .resolve(path)
        .ok_or_else(|| format!("unknown property {path} of {type_name}"))?;
    if schema.read_only.iter().any(|read_only| read_only == path) {
        return Err(format!(
            "{path} of {type_name} is read-only and cannot be set"
        ));
    }
    Ok((schema, property))
}

/// Like [`property`], but a path may continue into a free-form JSON property
/// (a policy document); the flag says whether it did, in which case values
/// below that point cannot be type-checked.
pub fn document_path<'a>(
    kb: &'a Kb,
    type_name: &str,
    path: &str,
) -> Result<(&'a ResourceTypeSchema, &'a Property, bool), String> {
    match property(kb, type_name, path) {
        Ok((schema, property)) => Ok((schema, property, false)),
        Err(err) if err.starts_with("unknown property") => {
            let schema = kb
                .resource_type(type_name)
                .map_err(|err| err.to_string())?
                .ok_or_else(|| format!("unknown resource type {type_name}"))?;
            let segments: Vec<&str> = path.split('.').collect();
            for end in (1..segments.len()).rev() {
                let prefix = segments[..end].join(".");
                if let Some(found) = schema.resolve(&prefix) {
                    let found = schema.deref(found);
                    let free_form = found.properties.is_empty()
                        && found.alternatives.is_empty()
                        && found.items.is_none()
                        && (found.types.is_empty() || found.types.contains(&JsonType::Object));
                    return if free_form {
                        Ok((schema, found, true))
                    } else {
                        Err(err)
                    };
                }
            }
            Err(err)
        }
        Err(err) => Err(err),
    }
}

/// CloudFormation intrinsic functions stand for values we cannot see statically.
pub fn is_intrinsic(value: &Value) -> bool {
    value.as_object().is_some_and(|object| {
        object.len() == 1
            && object
                .keys()
                .next()
                .is_some_and(|key| key == "Ref" || key.starts_with("Fn::"))
    })
}

fn json_type_of(value: &Value) -> JsonType {
    match value {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Boolean,
        Value::Number(number) if number.is_i64() || number.is_u64() => JsonType::Integer,
        Value::Number(_) => JsonType::Number,
        Value::String(_) => JsonType::String,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Object,
    }
}

/// Does `value` fit the property's type, enum, pattern, length and range?
pub fn value(
    schema: &ResourceTypeSchema,
    property: &Property,
    value: &Value,
) -> Result<(), String> {
    if is_intrinsic(value) {
        return Ok(());
    }
    let property = schema.deref(property);
    if property.types.is_empty()
        && property.alternatives.is_empty()
        && property.enum_values.is_empty()
    {
        return Ok(());
    }
    if !property.alternatives.is_empty() && property.types.is_empty() {
        let fits = property
            .alternatives
            .iter()
            .any(|alternative| self::value(schema, alternative, value).is_ok());
        return if fits {
            Ok(())
        } else {
            Err(format!("{value} fits none of the property's alternatives"))
        };
    }
    let found = json_type_of(value);
    let type_ok = property.types.is_empty()
        || property.types.contains(&found)
        || (found == JsonType::Integer && property.types.contains(&JsonType::Number));
    if !type_ok {
        let expected: Vec<String> = property
            .types
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect();
        return Err(format!(
            "{value} is {}, expected {}",
            format!("{found:?}").to_lowercase(),
            expected.join(" or ")
        ));
    }
    if !property.enum_values.is_empty() && !property.enum_values.contains(&value.to_string()) {
        return Err(format!(
            "value {value} not in enum [{}]",
            property.enum_values.join(", ")
        ));
    }
    within_limits(property, value)
}

/// A schema pattern compiled once per process (`None`: Rust cannot compile
/// it): the same few hundred patterns are checked in every run of a
/// `--service all`, and compiling one costs more than matching it.
fn schema_pattern(pattern: &str) -> Option<regex::Regex> {
    static COMPILED: LazyLock<Mutex<HashMap<String, Option<regex::Regex>>>> =
        LazyLock::new(Mutex::default);
    let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(regex) = compiled.get(pattern) {
        return regex.clone();
    }
    let regex = regex::Regex::new(pattern).ok();
    compiled.insert(pattern.to_string(), regex.clone());
    regex
}

/// Does `value` keep to the property's length and pattern (strings) and
/// range (numbers)?
fn within_limits(property: &Property, value: &Value) -> Result<(), String> {
    if let Value::String(text) = value {
        let length = text.chars().count() as u64;
        if property.min_length.is_some_and(|min| length < min)
            || property.max_length.is_some_and(|max| length > max)
        {
            return Err(format!(
                "{value} has length {length} outside the allowed range"
            ));
        }
        if let Some(pattern) = &property.pattern {
            // Schemas use ECMA regexes; a pattern Rust cannot compile is not held against the value.
            if let Some(regex) = schema_pattern(pattern)
                && !regex.is_match(text)
            {
                return Err(format!("{value} does not match pattern {pattern}"));
            }
        }
    }
    if let Some(number) = value.as_f64() {
        if property.minimum.is_some_and(|min| number < min) {
            return Err(format!(
                "{value} is below the minimum {}",
                property.minimum.unwrap_or_default()
            ));
        }
        if property.maximum.is_some_and(|max| number > max) {
            return Err(format!(
                "{value} is above the maximum {}",
                property.maximum.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// Every problem with a resource's `Properties` object: unknown or read-only
/// properties, values that do not fit, missing required properties. Values
/// behind intrinsic functions are not looked into.
pub fn resource(kb: &Kb, type_name: &str, properties: &Value) -> Result<Vec<String>, String> {
    let schema = kb
        .resource_type(type_name)
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("unknown resource type {type_name}"))?;
    let mut problems = Vec::new();
    let Some(object) = properties.as_object() else {
        return Ok(vec![format!("{type_name} Properties must be an object")]);
    };
    for required in &schema.required {
        if !object.contains_key(required) {
            problems.push(format!(
                "{type_name}: required property {required} is missing"
            ));
        }
    }
    for (name, value) in object {
        let Some(property) = schema.properties.get(name) else {
            problems.push(format!("{type_name}: unknown property {name}"));
            continue;
        };
        if schema.read_only.iter().any(|path| path == name) {
            problems.push(format!("{type_name}: {name} is read-only"));
        }
        check_tree(schema, property, value, name, &mut problems, 0);
    }
    Ok(problems)
}

fn check_tree(
    schema: &ResourceTypeSchema,
    property: &Property,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
    depth: usize,
) {
    if is_intrinsic(value) || depth > 24 {
        return;
    }
    let property = schema.deref(property);
    if let Err(reason) = self::value(schema, property, value) {
        problems.push(format!("{path}: {reason}"));
        return;
    }
    match value {
        Value::Array(items) => {
            if let Some(item_schema) = &property.items {
                for (index, item) in items.iter().enumerate() {
                    check_tree(
                        schema,
                        item_schema,
                        item,
                        &format!("{path}[{index}]"),
                        problems,
                        depth + 1,
                    );
                }
            }
        }
        Value::Object(object) if !property.properties.is_empty() => {
            for required in &property.required {
                if !object.contains_key(required) {
                    problems.push(format!("{path}: required property {required} is missing"));
                }
            }
            for (name, child) in object {
                match property.properties.get(name) {
                    Some(child_schema) => check_tree(
                        schema,
                        child_schema,
                        child,
                        &format!("{path}.{name}"),
                        problems,
                        depth + 1,
                    ),
                    None if property.open_keys => {}
                    None => problems.push(format!("{path}: unknown property {name}")),
                }
            }
        }
        _ => {}
    }
}

/// An IAM action by full name, or why it is refused.
pub fn action<'a>(kb: &'a Kb, full_name: &str) -> Result<&'a IamAction, String> {
    if full_name.contains('*') {
        return Err(format!(
            "wildcard action {full_name} is not allowed in generated policies"
        ));
    }
    kb.action(full_name)
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("unknown action {full_name}"))
}

/// Does condition key `key` exist and apply to `full_action`?
pub fn condition_key_for_action(kb: &Kb, full_action: &str, key: &str) -> Result<(), String> {
    let definition = kb
        .condition_key(key)
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("unknown condition key {key}"))?;
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Ok(());
    }
    let action = action(kb, full_action)?;
    let prefix = full_action.split_once(':').map_or("", |(prefix, _)| prefix);
    let service = kb
        .iam_service(prefix)
        .map_err(|err| err.to_string())?
        .ok_or_else(|| format!("unknown service prefix {prefix}"))?;
    let applies = action.condition_keys.iter().any(|k| key_matches(k, key))
        || action.resource_types.iter().any(|resource| {
            resource.condition_keys.iter().any(|k| key_matches(k, key))
                || service
                    .resource_types
                    .iter()
                    .filter(|r| r.name == resource.name)
                    .flat_map(|r| &r.condition_keys)
                    .any(|k| key_matches(k, key))
        });
    if applies {
        Ok(())
    } else {
        Err(format!(
            "condition key {} does not apply to {full_action}",
            definition.name
        ))
    }
}

/// A Config managed rule with parameters, or why it is refused.
pub fn config_rule(
    kb: &Kb,
    identifier: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<(), String> {
    let rule = kb
        .config_rule(identifier)
        .ok_or_else(|| format!("unknown Config rule {identifier}"))?;
    for name in parameters.keys() {
        if rule.details_known && !rule.parameters.iter().any(|p| &p.name == name) {
            return Err(format!("Config rule {identifier} has no parameter {name}"));
        }
    }
    if rule.details_known {
        for required in rule
            .parameters
            .iter()
            .filter(|p| !p.optional && p.default.is_none())
        {
            if !parameters.contains_key(&required.name) {
                return Err(format!(
                    "Config rule {identifier} needs parameter {}",
                    required.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_paths_values_actions_keys_and_rules() {
        let kb = Kb::embedded().unwrap();
        let (schema, status) =
            property(&kb, "AWS::S3::Bucket", "VersioningConfiguration.Status").unwrap();
        assert!(value(schema, status, &json!("Enabled")).is_ok());
        let err = value(schema, status, &json!("On")).unwrap_err();
        assert!(err.contains("not in enum"), "{err}");
        assert!(value(schema, status, &json!({"Ref": "Mode"})).is_ok());
        assert!(
            property(&kb, "AWS::S3::Bucket", "Versioning")
                .unwrap_err()
                .contains("unknown property")
        );
        assert!(
            property(&kb, "AWS::S3::Bucket", "Arn")
                .unwrap_err()
                .contains("read-only")
        );
        let (schema, encrypted) =
            property(&kb, "AWS::RDS::DBInstance", "StorageEncrypted").unwrap();
        assert!(
            value(schema, encrypted, &json!("yes"))
                .unwrap_err()
                .contains("expected boolean")
        );

        assert!(action(&kb, "s3:GetObject").is_ok());
        assert!(action(&kb, "s3:*").is_err());
        assert!(
            action(&kb, "s3:ReadEverything")
                .unwrap_err()
                .contains("unknown action")
        );

        assert!(
            condition_key_for_action(&kb, "rds:CreateDBInstance", "rds:StorageEncrypted").is_ok()
        );
        assert!(condition_key_for_action(&kb, "s3:GetObject", "aws:SecureTransport").is_ok());
        let err =
            condition_key_for_action(&kb, "s3:GetObject", "rds:StorageEncrypted").unwrap_err();
        assert!(err.contains("does not apply"), "{err}");
        assert!(
            condition_key_for_action(&kb, "s3:GetObject", "s3:MadeUpKey")
                .unwrap_err()
                .contains("unknown condition key")
        );

        assert!(config_rule(&kb, "S3_BUCKET_VERSIONING_ENABLED", &BTreeMap::new()).is_ok());
        let bad = BTreeMap::from([("noSuchParameter".to_string(), "1".to_string())]);
        assert!(
            config_rule(&kb, "S3_BUCKET_VERSIONING_ENABLED", &bad)
                .unwrap_err()
                .contains("no parameter")
        );
        assert!(
            config_rule(&kb, "S3_MADE_UP", &BTreeMap::new())
                .unwrap_err()
                .contains("unknown Config rule")
        );
    }
}
