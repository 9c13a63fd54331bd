//! The curated CloudFormation → Terraform mapping. The mapping is data
//! (`terraform-mapping/<service>.json`, embedded by the build script through
//! `gensec-data`, so a file that is not JSON fails the build); this module
//! holds its model and loads it.
//!
//! A property mapping is keyed by a CloudFormation property path (`A.B`, with
//! `[]` after a segment that is an array, as in recommendations). Its target is
//! a Terraform argument path: dots open nested blocks, and a segment ending in
//! `[]` is a repeated block, one per element of the matching CloudFormation
//! array (the n-th `[]` of the Terraform path follows the n-th `[]` of the
//! CloudFormation path).

use gensec_data::DataError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/terraform_mapping_files.rs"));
}

/// The mapping files (`terraform-mapping/*.json`, embedded by the build
/// script), by name. Each holds one service's resource types.
pub const MAPPING_FILES: &[(&str, &str)] = embedded::FILES;

/// One mapping file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Service id, as in the knowledge base catalogue (`s3`).
    pub service: String,
    pub resources: Vec<ResourceMapping>,
}

/// How one CloudFormation resource type becomes Terraform.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMapping {
    pub cloudformation_type: String,
    pub terraform_type: String,
    /// Terraform attribute that holds what `{"Ref": ...}` returns in CloudFormation.
    #[serde(default = "default_id")]
    pub ref_attribute: String,
    /// `Fn::GetAtt` attribute name → Terraform attribute.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// CloudFormation property path → Terraform argument.
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyMapping>,
    /// Terraform argument path → value, set when its top-level argument is
    /// absent (arguments Terraform requires but CloudFormation does not).
    /// `{label}` in a string stands for the resource's Terraform label
    /// (its logical id in snake case); in a companion, the whole string
    /// `{parent.ATTR}` is a reference to the parent's attribute.
    #[serde(default)]
    pub defaults: BTreeMap<String, Value>,
    /// Terraform argument path → CloudFormation's default for a property
    /// the provider requires, set in every existing block on the path where
    /// the template left it out (no block is created).
    #[serde(default)]
    pub fill: BTreeMap<String, Value>,
    /// Property groups that are separate resources in Terraform.
    #[serde(default)]
    pub companions: Vec<Companion>,
    /// Why the provider has no resource for the type: it is then written as a
    /// one-resource `aws_cloudformation_stack` (its properties translated as
    /// values inside the template body), never left out.
    #[serde(default)]
    pub embed: Option<String>,
}

/// A separate Terraform resource that carries some of the parent's
/// CloudFormation properties and points back at the parent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    pub terraform_type: String,
    /// Argument of the companion that names the parent (`bucket`).
    pub parent_argument: String,
    /// Attribute of the parent it is set to (`id`).
    #[serde(default = "default_id")]
    pub parent_attribute: String,
    pub properties: BTreeMap<String, PropertyMapping>,
    #[serde(default)]
    pub defaults: BTreeMap<String, Value>,
}

/// The target of one CloudFormation property: a bare Terraform argument path,
/// or the detailed form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum PropertyMapping {
    Argument(String),
    Detailed(Detailed),
}

impl PropertyMapping {
    pub fn detailed(&self) -> Detailed {
        match self {
            PropertyMapping::Argument(argument) => Detailed {
                argument: Some(argument.clone()),
                ..Detailed::default()
            },
            PropertyMapping::Detailed(detailed) => detailed.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detailed {
    /// Terraform argument path.
    #[serde(default)]
    pub argument: Option<String>,
    #[serde(default)]
    pub transform: Transform,
    /// Value translation for enums (`"internal"` → `true`), applied first.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    /// Take this field of every element of an array of objects.
    #[serde(default)]
    pub pluck: Option<String>,
    /// More Terraform arguments set (to these constants) whenever the property is present.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Caveat reported as a warning whenever the property is translated.
    #[serde(default)]
    pub note: Option<String>,
    /// The property has no Terraform equivalent; the reason is reported.
    #[serde(default)]
    pub omit: Option<String>,
    /// The property is a list of key/value objects whose keys select arguments.
    #[serde(default)]
    pub keyed: Option<Keyed>,
    /// The property is a map; each entry becomes one repeated block (the
    /// argument ends in `[]`).
    #[serde(default)]
    pub entries: Option<Entries>,
}

/// A map like `{"rds.force_ssl": "1"}` as repeated blocks
/// (`parameter { name = "rds.force_ssl" value = "1" }`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entries {
    /// Block argument that takes the entry's key.
    pub key: String,
    /// Block argument that takes a scalar value; without it the value is an
    /// object whose fields become the block's arguments and nested blocks,
    /// names in snake case (arrays of objects are repeated blocks).
    #[serde(default)]
    pub value: Option<String>,
    /// Field → block argument where snake case is not the provider's name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A list like `[{"Key": "deletion_protection.enabled", "Value": "true"}]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyed {
    /// Field of each element holding the key.
    pub key: String,
    /// Field of each element holding the value.
    pub value: String,
    /// Key → Terraform argument.
    pub entries: BTreeMap<String, PropertyMapping>,
}

/// How a CloudFormation value is reshaped for Terraform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Same value.
    #[default]
    None,
    /// `[{"Key": k, "Value": v}]` → `{ k = v }`.
    Tags,
    /// A JSON document → `jsonencode(...)` (a string is kept as is).
    Jsonencode,
    /// `"true"` → `true`.
    Bool,
    /// `"20"` → `20`.
    Number,
    /// Scalar → one-element list.
    List,
    /// One-element list → its element.
    Single,
    /// A map of one-element lists → a map of their elements (a State Manager
    /// association's `Parameters`).
    SingleValues,
    /// ECS container definitions: keys to the API's camelCase, then `jsonencode`.
    ContainerDefinitions,
}

fn default_id() -> String {
    "id".to_string()
}

/// Every mapping, parsed; the error names the file and JSON path that do not parse.
pub fn load() -> Result<Vec<MappingFile>, DataError> {
    MAPPING_FILES
        .iter()
        .map(|(name, text)| gensec_data::parse::<MappingFile>(name, text))
        .collect()
}

/// [`load`], parsed once per process: every run renders Terraform, and
/// parsing the mappings each time was a fortieth of a `--service all`.
pub fn loaded() -> Result<&'static [MappingFile], &'static str> {
    static LOADED: std::sync::LazyLock<Result<Vec<MappingFile>, String>> =
        std::sync::LazyLock::new(|| load().map_err(|err| err.to_string()));
    LOADED.as_deref().map_err(String::as_str)
}

impl ResourceMapping {
    /// Every CloudFormation property path the mapping names, parent and companions.
    pub fn cloudformation_paths(&self) -> Vec<&str> {
        self.properties
            .keys()
            .chain(self.companions.iter().flat_map(|c| c.properties.keys()))
            .map(String::as_str)
            .collect()
    }
}
