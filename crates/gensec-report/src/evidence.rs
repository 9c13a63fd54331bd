//! Finding evidence in the service documentation: schema properties, condition
//! keys and Config rules whose names say what they are about. Matching is on
//! names only, so everything found is quoted with where it was found; nothing
//! is inferred beyond the name.

use gensec_kb::ServiceDocumentation;
use gensec_kb::model::{ConditionKey, JsonType, ResourceTypeSchema};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A property of a CloudFormation resource schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyEvidence {
    pub resource_type: String,
    /// Dotted path (`A.B[].C`) as in the schema.
    pub property: String,
    /// JSON types from the schema; empty when the schema leaves it open.
    pub types: Vec<String>,
    /// Allowed values from the schema's enum, JSON-encoded.
    pub allowed_values: Vec<String>,
    /// `CloudFormation schema <type> property <path>`.
    pub source: String,
}

/// An IAM condition key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionKeyEvidence {
    pub name: String,
    pub value_type: String,
    /// `service` (listed by the service's IAM reference) or `global`.
    pub scope: String,
    pub description: String,
}

/// An AWS Config managed rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleEvidence {
    pub identifier: String,
    pub description: String,
}

/// Words of a camel-case name, lower-cased (`KMSMasterKeyID` -> kms, master, key, id).
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (index, c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = index.checked_sub(1).and_then(|i| chars.get(i));
        let next = chars.get(index + 1);
        let boundary = c.is_ascii_uppercase()
            && previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The last segment of a property path, without array markers.
pub fn leaf(path: &str) -> &str {
    path.rsplit('.')
        .next()
        .unwrap_or(path)
        .trim_end_matches("[]")
}

fn normalise(path: &str) -> String {
    path.replace("[]", "")
}

/// Whether `path` is `normalised` once its array markers are dropped,
/// without building the normalised path.
fn same_normalised(path: &str, normalised: &str) -> bool {
    let mut rest = normalised;
    for chunk in path.split("[]") {
        match rest.strip_prefix(chunk) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether a property path exists in a schema: it resolves, or it lies below a
/// property whose content the schema leaves open (a policy document, free JSON).
pub fn path_in_schema(schema: &ResourceTypeSchema, path: &str) -> bool {
    if schema.resolve(path).is_some() {
        return true;
    }
    let segments: Vec<&str> = path.split('.').collect();
    (1..segments.len()).rev().any(|end| {
        schema
            .resolve(&segments[..end].join("."))
            .map(|property| schema.deref(property))
            .is_some_and(|property| {
                property.open_keys
                    || property.types.is_empty()
                    || (property.properties.is_empty()
                        && property.items.is_none()
                        && property.alternatives.is_empty()
                        && property.types.contains(&JsonType::Object))
            })
    })
}

/// Configurable (not read-only) property paths of a schema.
pub fn configurable_paths(schema: &ResourceTypeSchema) -> Vec<String> {
    let paths = schema.property_paths();
    if schema.read_only.is_empty() {
        return paths;
    }
    let read_only: Vec<String> = schema.read_only.iter().map(|p| normalise(p)).collect();
    paths
        .into_iter()
        .filter(|path| !read_only.iter().any(|ro| same_normalised(path, ro)))
        .collect()
}

/// The configurable property paths of every schema of a service, found once
/// and searched by each section (walking large schemas once per section
/// made the report stage several times slower than it needs to be).
#[derive(Debug)]
pub struct ConfigurablePaths<'a> {
    per_schema: Vec<(&'a ResourceTypeSchema, Vec<String>)>,
}

impl<'a> ConfigurablePaths<'a> {
    pub fn new(doc: &'a ServiceDocumentation) -> Self {
        Self {
            per_schema: doc
                .resource_types
                .iter()
                .map(|schema| (schema, configurable_paths(schema)))
                .collect(),
        }
    }

    /// Configurable properties whose leaf name satisfies `matches`, schema
    /// by schema in the documentation's order. Each distinct leaf name is
    /// tested once (large schemas repeat the same names many times).
    pub fn properties(&self, matches: impl Fn(&str) -> bool) -> Vec<PropertyEvidence> {
        let mut tested: HashMap<&str, bool> = HashMap::new();
        let mut out = Vec::new();
        for (schema, paths) in &self.per_schema {
            for path in paths {
                let name = leaf(path);
                if *tested.entry(name).or_insert_with(|| matches(name)) {
                    out.push(property(schema, path));
                }
            }
        }
        out
    }
}

fn type_name(json_type: JsonType) -> String {
    serde_json::to_value(json_type)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Evidence for one property path of a schema.
pub fn property(schema: &ResourceTypeSchema, path: &str) -> PropertyEvidence {
    let resolved = schema.resolve(path);
    PropertyEvidence {
        resource_type: schema.type_name.clone(),
        property: path.to_string(),
        types: resolved
            .map(|p| p.types.iter().copied().map(type_name).collect())
            .unwrap_or_default(),
        allowed_values: resolved.map(|p| p.enum_values.clone()).unwrap_or_default(),
        source: format!("CloudFormation schema {} property {path}", schema.type_name),
    }
}

/// Configurable properties whose leaf name satisfies `matches`.
pub fn properties(
    doc: &ServiceDocumentation,
    matches: impl Fn(&str) -> bool,
) -> Vec<PropertyEvidence> {
    ConfigurablePaths::new(doc).properties(matches)
}

fn key(key: &ConditionKey, scope: &str) -> ConditionKeyEvidence {
    ConditionKeyEvidence {
        name: key.name.clone(),
        value_type: key.value_type.clone(),
        scope: scope.to_string(),
        description: key.description.clone(),
    }
}

/// Condition keys the service's IAM reference lists, filtered by name.
pub fn service_keys(
    doc: &ServiceDocumentation,
    matches: impl Fn(&str) -> bool,
) -> Vec<ConditionKeyEvidence> {
    let mut out: Vec<ConditionKeyEvidence> = Vec::new();
    for service in &doc.iam_services {
        for candidate in &service.condition_keys {
            if matches(&candidate.name) && !out.iter().any(|k| k.name == candidate.name) {
                out.push(key(candidate, "service"));
            }
        }
    }
    out
}

/// Global condition keys from the knowledge base, by exact name, in the order asked.
pub fn global_keys(globals: &[ConditionKey], names: &[&str]) -> Vec<ConditionKeyEvidence> {
    names
        .iter()
        .filter_map(|name| {
            globals
                .iter()
                .find(|candidate| candidate.name.eq_ignore_ascii_case(name))
        })
        .map(|candidate| key(candidate, "global"))
        .collect()
}

/// Config rules of the service whose identifier satisfies `matches`.
pub fn rules(doc: &ServiceDocumentation, matches: impl Fn(&str) -> bool) -> Vec<RuleEvidence> {
    doc.config_rules
        .iter()
        .filter(|rule| matches(&rule.identifier))
        .map(|rule| RuleEvidence {
            identifier: rule.identifier.clone(),
            description: rule.description.clone(),
        })
        .collect()
}

/// Case-insensitive substring test against any of `needles` (lower-case).
pub fn contains_any(text: &str, needles: &[&str]) -> bool {
    let lower = text.to_ascii_lowercase();
    needles.iter().any(|needle| lower.contains(needle))
}

/// Whether a camel-case name has one of `wanted` (lower-case) as a word.
pub fn has_word(name: &str, wanted: &[&str]) -> bool {
    words(name)
        .iter()
        .any(|word| wanted.contains(&word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_words_handle_acronyms() {
        assert_eq!(words("KMSMasterKeyID"), ["kms", "master", "key", "id"]);
        assert_eq!(words("SSEAlgorithm"), ["sse", "algorithm"]);
        assert_eq!(
            words("EnableCloudwatchLogsExports"),
            ["enable", "cloudwatch", "logs", "exports"]
        );
        assert_eq!(words("Catalog"), ["catalog"]);
        assert_eq!(words("s3:TlsVersion"), ["s3", "tls", "version"]);
    }

    #[test]
    fn compares_paths_without_array_markers() {
        assert!(same_normalised("A[].B[]", "A.B"));
        assert!(same_normalised("A.B", "A.B"));
        assert!(!same_normalised("A[].B", "A.BC"));
        assert!(!same_normalised("A[].BC", "A.B"));
    }

    #[test]
    fn leaf_drops_array_markers() {
        assert_eq!(leaf("A.B[].C[]"), "C");
        assert_eq!(leaf("Tags"), "Tags");
    }
}
