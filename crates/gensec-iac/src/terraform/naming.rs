//! Terraform names for CloudFormation ones, and the ECS API's key casing.

use gensec_kb::validate::is_intrinsic;
use serde_json::Value;
use std::collections::BTreeSet;

/// Terraform variable names that the language reserves.
pub(super) const RESERVED_VARIABLES: &[&str] = &[
    "source",
    "version",
    "providers",
    "count",
    "for_each",
    "lifecycle",
    "depends_on",
    "locals",
];

/// Keys of ECS container definitions whose children are user-chosen names.
const FREE_KEYS: &[&str] = &["Options", "DockerLabels", "DriverOpts", "Labels"];

/// `DataBucket` → `data_bucket`, `KMSMasterKeyID` → `kms_master_key_id`.
pub(super) fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (index, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let previous = index.checked_sub(1).and_then(|i| chars.get(i)).copied();
            let next = chars.get(index + 1).copied();
            let boundary = previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        None => "unnamed".to_string(),
        Some(first) if first.is_ascii_digit() => format!("r_{out}"),
        Some(_) => out,
    }
}

/// `name`, or `name_2`, `name_2_2`, ... until it is not in `taken`; the result
/// is added to `taken`.
pub(super) fn unique(mut name: String, taken: &mut BTreeSet<String>) -> String {
    while !taken.insert(name.clone()) {
        name.push_str("_2");
    }
    name
}

/// `Mode` → `mode` (the ECS API's camelCase), leaving user-chosen keys alone.
pub(super) fn camelize(value: &Value, keep_keys: bool) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| camelize(v, false)).collect()),
        Value::Object(object) if !is_intrinsic(value) => Value::Object(
            object
                .iter()
                .map(|(key, child)| {
                    let new_key = if keep_keys {
                        key.clone()
                    } else {
                        let mut chars = key.chars();
                        chars
                            .next()
                            .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
                            .unwrap_or_default()
                    };
                    (new_key, camelize(child, FREE_KEYS.contains(&key.as_str())))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
