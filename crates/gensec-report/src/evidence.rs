//! Finding evidence in the service documentation: schema properties, condition
//! keys and Config rules whose names say what they are about. Matching is on
//! names only, so everything found is quoted with where it was found; nothing
//! is inferred beyond the name.

use gensec_kb::ServiceDocumentation;
use gensec_kb::model::{ConditionKey, JsonType, ResourceTypeSchema};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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

/// The configurable property paths of every schema of a service whose leaf
/// name passes one of a fixed list of filters (the profile's sections), all
/// found in one walk per schema (walking large schemas once per section made
/// the report stage several times slower than it needs to be).
///
/// QuickSight's schemas have 82,655 paths: each distinct leaf name is tested
/// once against every filter, and only a path some filter accepts is copied
/// and checked against the read-only paths.
#[derive(Debug)]
pub struct ConfigurablePaths<'a> {
    /// Per filter, the accepted paths in order: schema by schema in the
    /// documentation's order, each schema's paths in walk order.
    found: Vec<Vec<(&'a ResourceTypeSchema, usize)>>,
    /// The accepted paths' text, indexed by `found`.
    paths: Vec<String>,
}

impl<'a> ConfigurablePaths<'a> {
    /// For each of `filters`, the paths [`configurable_paths`] returns whose
    /// [`leaf`] it accepts, in the same order.
    pub fn new(doc: &'a ServiceDocumentation, filters: &[fn(&str) -> bool]) -> Self {
        assert!(filters.len() <= 64, "one bit per filter");
        let mut found = vec![Vec::new(); filters.len()];
        let mut paths = Vec::new();
        // leaf name -> which filters accept it, one bit each
        let mut accepted_by: HashMap<&'a str, u64> = HashMap::new();
        let mut normalised = String::new();
        for schema in &doc.resource_types {
            let read_only: HashSet<String> =
                schema.read_only.iter().map(|p| normalise(p)).collect();
            schema.for_each_property_path(usize::MAX, |path, name| {
                // A path's leaf is its last name's (the name ends the path).
                let leaf_name = leaf(name);
                let mask = *accepted_by.entry(leaf_name).or_insert_with(|| {
                    filters
                        .iter()
                        .enumerate()
                        .filter(|(_, filter)| filter(leaf_name))
                        .fold(0, |mask, (index, _)| mask | (1 << index))
                });
                if mask == 0 {
                    return;
                }
                if !read_only.is_empty() {
                    normalised.clear();
                    path.split("[]")
                        .for_each(|chunk| normalised.push_str(chunk));
                    if read_only.contains(normalised.as_str()) {
                        return;
                    }
                }
                for (index, list) in found.iter_mut().enumerate() {
                    if mask & (1 << index) != 0 {
                        list.push((schema, paths.len()));
                    }
                }
                paths.push(path.to_string());
            });
        }
        Self { found, paths }
    }

    /// The configurable properties whose leaf name the `filter`th filter
    /// given to [`Self::new`] accepts.
    pub fn properties(&self, filter: usize) -> Vec<PropertyEvidence> {
        self.found
            .get(filter)
            .into_iter()
            .flatten()
            .map(|(schema, path)| property(schema, &self.paths[*path]))
            .collect()
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

/// Configurable properties whose leaf name satisfies `matches`, schema by
/// schema (the plain form of [`ConfigurablePaths`], for one filter).
pub fn properties(
    doc: &ServiceDocumentation,
    matches: impl Fn(&str) -> bool,
) -> Vec<PropertyEvidence> {
    doc.resource_types
        .iter()
        .flat_map(|schema| {
            configurable_paths(schema)
                .into_iter()
                .filter(|path| matches(leaf(path)))
                .map(move |path| property(schema, &path))
        })
        .collect()
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

    /// The one-walk index finds exactly what the plain walk and filter
    /// find, in order, for services with large, recursive and
    /// read-only-heavy schemas, for each of several filters at once.
    #[test]
    fn configurable_paths_index_matches_the_plain_walk() {
        fn everything(_: &str) -> bool {
            true
        }
        fn kms(name: &str) -> bool {
            name.contains("Kms")
        }
        fn nothing(_: &str) -> bool {
            false
        }
        fn id(name: &str) -> bool {
            name.ends_with("Id")
        }
        let filters: [fn(&str) -> bool; 4] = [everything, kms, nothing, id];
        let kb = gensec_kb::Kb::embedded().unwrap();
        for service in ["quicksight", "sagemaker", "ec2", "s3", "rds"] {
            let entry = kb.resolve_service(service).unwrap();
            let doc = kb.service_documentation(entry).unwrap();
            assert!(
                doc.resource_types
                    .iter()
                    .any(|schema| !schema.read_only.is_empty()),
                "{service}: no read-only paths to filter"
            );
            let index = ConfigurablePaths::new(&doc, &filters);
            for (number, filter) in filters.iter().enumerate() {
                assert_eq!(
                    index.properties(number),
                    properties(&doc, filter),
                    "{service}, filter {number}"
                );
            }
            let all = index.properties(0).len();
            let expected: usize = doc
                .resource_types
                .iter()
                .map(|schema| configurable_paths(schema).len())
                .sum();
            assert_eq!(all, expected, "{service}");
            assert!(index.properties(1).len() < all, "{service}");
            assert!(index.properties(2).is_empty());
            assert!(index.properties(filters.len()).is_empty());
        }
    }

    #[test]
    fn leaf_drops_array_markers() {
        assert_eq!(leaf("A.B[].C[]"), "C");
        assert_eq!(leaf("Tags"), "Tags");
    }
}
