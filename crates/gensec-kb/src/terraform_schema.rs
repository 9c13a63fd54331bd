//! The AWS Terraform provider's resource schema, for the resource types the
//! curated Terraform mapping uses (`terraform-schema/aws-provider.json`,
//! reduced from the provider bindings published on npm by
//! `scripts/kb-reduce-terraform-schema`; the file's `provenance` names the
//! package, provider version and licence). Generated Terraform is checked
//! against it: every argument and nested block must exist for its type.

use gensec_data::DataError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/terraform_schema_files.rs"));
}

/// The reduced provider schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSchema {
    pub provenance: BTreeMap<String, String>,
    pub provider: Provider,
    /// Terraform resource type (`aws_instance`) → its schema.
    pub resources: BTreeMap<String, Body>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// `registry.terraform.io/hashicorp/aws`.
    pub name: String,
    pub version: String,
}

/// A resource or nested block: its arguments and blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub arguments: BTreeMap<String, Argument>,
    #[serde(default)]
    pub blocks: BTreeMap<String, Body>,
    /// For a nested block: `single` (at most one) or `list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nesting: Option<String>,
    /// For a nested block: the resource needs it.
    #[serde(default)]
    pub required: bool,
    /// For a resource: read-only attributes (computed, not arguments).
    #[serde(default)]
    pub attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argument {
    /// `string`, `number`, `boolean`, `array`, `map`, `any`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
}

impl Body {
    /// Whether `name` can be read as `resource.label.name`: an argument, a
    /// block or a read-only attribute.
    pub fn readable(&self, name: &str) -> bool {
        self.arguments.contains_key(name)
            || self.blocks.contains_key(name)
            || self.attributes.iter().any(|a| a == name)
    }
}

impl ProviderSchema {
    /// The embedded schema, parsed once.
    pub fn embedded() -> Result<&'static Self, DataError> {
        static SCHEMA: OnceLock<Result<ProviderSchema, DataError>> = OnceLock::new();
        SCHEMA
            .get_or_init(|| {
                let (name, text) = embedded::FILES
                    .iter()
                    .find(|(name, _)| name.ends_with("aws-provider.json"))
                    .copied()
                    .unwrap_or(("terraform-schema/aws-provider.json", ""));
                gensec_data::parse(name, text)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn resource(&self, terraform_type: &str) -> Option<&Body> {
        self.resources.get(terraform_type)
    }
}
