//! The knowledge base's data model. Everything here is stored in the baseline
//! with postcard, which is not self-describing: no `skip_serializing_if`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A CloudFormation resource type, reduced to what validators and generators use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceTypeSchema {
    pub type_name: String,
    pub description: String,
    pub properties: BTreeMap<String, Property>,
    pub definitions: BTreeMap<String, Property>,
    pub required: Vec<String>,
    /// Property paths (`A.B`) that force replacement when changed.
    pub create_only: Vec<String>,
    /// Property paths that are outputs only (attributes).
    pub read_only: Vec<String>,
    /// Property paths that are never returned by reads (secrets).
    pub write_only: Vec<String>,
    pub primary_identifier: Vec<String>,
    pub taggable: bool,
    /// IAM actions CloudFormation needs per handler (create, read, update, delete, list).
    pub handler_permissions: BTreeMap<String, Vec<String>>,
    /// Regions whose CloudFormation registry has this type.
    pub regions: Vec<String>,
}

/// JSON types a property value may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
    Null,
}

impl JsonType {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => JsonType::String,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "boolean" => JsonType::Boolean,
            "object" => JsonType::Object,
            "array" => JsonType::Array,
            "null" => JsonType::Null,
            _ => return None,
        })
    }
}

/// A property or definition of a resource schema.
///
/// In JSON (the documentation document) empty fields are left out and read
/// back as their defaults: QuickSight's three dashboard types carry ~2,000
/// definitions whose properties are mostly empty, and spelling every empty
/// field made its documentation 6 MB. The baseline (postcard) keeps every
/// field, in order, as the format needs; see [`Property::serialize`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Property {
    /// Allowed JSON types; empty when the schema leaves it open (`$ref`, free JSON).
    pub types: Vec<JsonType>,
    /// Name of a definition this property refers to.
    pub reference: Option<String>,
    pub description: String,
    /// Allowed values, JSON-encoded (`"AES256"`, `1`, `true`).
    pub enum_values: Vec<String>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// Default value, JSON-encoded.
    pub default: Option<String>,
    /// Element schema of arrays.
    pub items: Option<Box<Property>>,
    /// Properties of objects defined inline.
    pub properties: BTreeMap<String, Property>,
    pub required: Vec<String>,
    /// Alternatives from `oneOf`/`anyOf`.
    pub alternatives: Vec<Property>,
    /// Object takes arbitrary keys (`patternProperties` or open `additionalProperties`).
    pub open_keys: bool,
}

/// IAM access levels, as in the Service Authorization Reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccessLevel {
    List,
    Read,
    Write,
    #[serde(rename = "Permissions management")]
    PermissionsManagement,
    Tagging,
}

impl AccessLevel {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "List" => AccessLevel::List,
            "Read" => AccessLevel::Read,
            "Write" => AccessLevel::Write,
            "Permissions management" => AccessLevel::PermissionsManagement,
            "Tagging" => AccessLevel::Tagging,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
            AccessLevel::Tagging => "Tagging",
        }
    }
}

/// One IAM service prefix with its actions, resource types and condition keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamService {
    pub prefix: String,
    pub name: String,
    pub actions: Vec<IamAction>,
    pub resource_types: Vec<IamResourceType>,
    pub condition_keys: Vec<ConditionKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamAction {
    pub name: String,
    pub description: String,
    /// Most specific level first (`Permissions management` before `Write`).
    pub access_levels: Vec<AccessLevel>,
    pub resource_types: Vec<ActionResource>,
    /// Condition keys the action supports regardless of resource.
    pub condition_keys: Vec<String>,
    pub dependent_actions: Vec<String>,
}

impl IamAction {
    /// The level used for grouping: the most specific one.
    pub fn access_level(&self) -> AccessLevel {
        self.access_levels
            .first()
            .copied()
            .unwrap_or(AccessLevel::Write)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResource {
    pub name: String,
    pub required: bool,
    pub condition_keys: Vec<String>,
    pub dependent_actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamResourceType {
    pub name: String,
    /// ARN formats with `${Partition}`, `${Region}`, `${Account}` and name placeholders.
    pub arn_formats: Vec<String>,
    pub condition_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionKey {
    pub name: String,
    pub description: String,
    /// `String`, `ARN`, `Bool`, `Numeric`, `Date`, `IPAddress`, `ArrayOfString`, ...
    pub value_type: String,
}

/// An AWS Config managed rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigRule {
    pub identifier: String,
    /// Kebab name of the rule's documentation page (`s3-bucket-ssl-requests-only`);
    /// not always the identifier in lower case (`restricted-common-ports`).
    pub name: String,
    pub description: String,
    pub documentation_url: String,
    /// Resource types the rule evaluates; empty for account-level rules.
    pub resource_types: Vec<String>,
    /// `configuration_changes` and/or `periodic`.
    pub triggers: Vec<String>,
    pub parameters: Vec<ConfigRuleParameter>,
    /// Whether resource types and parameter names are known from the sources.
    pub details_known: bool,
    /// Source id per fact (`resource_types` -> `niaid`); see `config-rules.json`'s provenance.
    pub provenance: BTreeMap<String, String>,
    /// Facts no source gave (`triggers`, `parameter_optional_flags`, ...).
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigRuleParameter {
    pub name: String,
    pub value_type: String,
    /// Treated as required (`false`) when the sources do not say.
    pub optional: bool,
    /// Whether a source said if the parameter is optional.
    pub optional_known: bool,
    pub default: Option<String>,
}

/// A catalogue entry: how people name a service and where its facts live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// Lower-case id used in output paths (`s3`, `quicksight`).
    pub id: String,
    pub display_name: String,
    pub aliases: Vec<String>,
    pub cfn_namespaces: Vec<String>,
    pub resource_types: Vec<String>,
    pub iam_prefixes: Vec<String>,
    pub config_rules: Vec<String>,
}

/// Where the data came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub name: String,
    pub version: String,
    /// Date of the data (YYYY-MM-DD).
    pub date: String,
    pub licence: String,
    pub used_for: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbCounts {
    pub services: u64,
    pub cfn_namespaces: u64,
    pub resource_types: u64,
    pub properties: u64,
    pub iam_services: u64,
    pub iam_actions: u64,
    pub iam_resource_types: u64,
    pub condition_keys: u64,
    pub global_condition_keys: u64,
    pub config_rules: u64,
    pub config_rules_with_details: u64,
    pub config_rules_with_parameters: u64,
    pub config_rules_with_resource_types: u64,
    pub config_rules_with_triggers: u64,
    pub config_rules_complete: u64,
    pub security_hub_controls: u64,
    pub security_hub_active: u64,
    pub security_hub_fsbp: u64,
    /// Active controls per standard.
    pub security_hub_per_standard: BTreeMap<String, u64>,
    pub config_types: u64,
    pub config_types_renamed: u64,
    pub config_types_without_cfn: u64,
    pub ci_shape_types: u64,
    pub ci_shape_paths: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbMeta {
    pub format_version: u32,
    /// Newest source date (YYYY-MM-DD).
    pub data_date: String,
    pub built_at: String,
    pub sources: Vec<SourceInfo>,
    pub counts: KbCounts,
}

impl Serialize for Property {
    /// Every field, in declaration order, for binary formats; only the
    /// non-empty ones for human-readable formats (JSON), which read the
    /// missing ones back as defaults (`#[serde(default)]`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let compact = serializer.is_human_readable();
        let mut out = serializer.serialize_struct("Property", 15)?;
        macro_rules! field {
            ($name:ident, $empty:expr) => {
                if compact && $empty {
                    out.skip_field(stringify!($name))?;
                } else {
                    out.serialize_field(stringify!($name), &self.$name)?;
                }
            };
        }
        field!(types, self.types.is_empty());
        field!(reference, self.reference.is_none());
        field!(description, self.description.is_empty());
        field!(enum_values, self.enum_values.is_empty());
        field!(pattern, self.pattern.is_none());
        field!(min_length, self.min_length.is_none());
        field!(max_length, self.max_length.is_none());
        field!(minimum, self.minimum.is_none());
        field!(maximum, self.maximum.is_none());
        field!(default, self.default.is_none());
        field!(items, self.items.is_none());
        field!(properties, self.properties.is_empty());
        field!(required, self.required.is_empty());
        field!(alternatives, self.alternatives.is_empty());
        field!(open_keys, !self.open_keys);
        out.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Property {
        Property {
            types: vec![JsonType::Array],
            description: "Rules".into(),
            items: Some(Box::new(Property {
                reference: Some("Rule".into()),
                ..Property::default()
            })),
            open_keys: true,
            ..Property::default()
        }
    }

    #[test]
    fn json_leaves_empty_fields_out_and_reads_them_back() {
        let text = serde_json::to_string(&sample()).unwrap();
        assert_eq!(
            text,
            r#"{"types":["array"],"description":"Rules","items":{"reference":"Rule"},"open_keys":true}"#
        );
        assert_eq!(serde_json::from_str::<Property>(&text).unwrap(), sample());
    }

    #[test]
    fn postcard_keeps_every_field() {
        let bytes = postcard::to_allocvec(&sample()).unwrap();
        assert_eq!(postcard::from_bytes::<Property>(&bytes).unwrap(), sample());
        let empty = postcard::to_allocvec(&Property::default()).unwrap();
        // One byte per field: empty sequences, `None`s and `false`.
        assert_eq!(empty.len(), 15);
    }
}
