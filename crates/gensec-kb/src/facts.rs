//! Facts about AWS Config and Security Hub (CSPM): which resource types Config
//! records and under which CloudFormation name, what a configuration item
//! holds per type, and the Security Hub controls. Stored with postcard like
//! the rest of the model: no `skip_serializing_if`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A resource type AWS Config can record, with its CloudFormation name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigTypeAlias {
    /// As Config names it (`AWS::OpenSearch::Domain`).
    pub config_type: String,
    /// As CloudFormation names it (`AWS::OpenSearchService::Domain`); `None`
    /// when CloudFormation has no such resource (compliance records, ...).
    pub cfn_type: Option<String>,
    /// Why the names differ or why there is no CloudFormation type; empty
    /// when the names are the same.
    pub note: String,
}

/// How a configuration item's `configuration` is shaped for a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiShapeKind {
    /// camelCase keys from the service's Describe APIs (`configuration.storageEncrypted`),
    /// sometimes with `supplementaryConfiguration.*` (S3).
    Legacy,
    /// CloudFormation property names (recorded through the CloudFormation registry).
    Registry,
    /// No `configuration.*` paths to decide from.
    Unknown,
}

/// Value types in the configuration-item schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiValueType {
    String,
    Integer,
    Float,
    Boolean,
    Date,
    Ip,
    CidrBlock,
}

impl CiValueType {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => CiValueType::String,
            "integer" => CiValueType::Integer,
            "float" => CiValueType::Float,
            "boolean" => CiValueType::Boolean,
            "date" => CiValueType::Date,
            "ip" => CiValueType::Ip,
            "cidr_block" => CiValueType::CidrBlock,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CiValueType::String => "string",
            CiValueType::Integer => "integer",
            CiValueType::Float => "float",
            CiValueType::Boolean => "boolean",
            CiValueType::Date => "date",
            CiValueType::Ip => "ip",
            CiValueType::CidrBlock => "cidr_block",
        }
    }
}

/// What AWS Config records for one resource type: flat property paths
/// (`configuration.storageEncrypted`, `supplementaryConfiguration.X.y`,
/// `tags.key`, and the item envelope such as `resourceId`). Arrays are
/// flattened, as in the source: a segment may be a list of objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiShape {
    /// The Config resource type.
    pub config_type: String,
    pub shape: CiShapeKind,
    pub paths: BTreeMap<String, CiValueType>,
}

impl CiShape {
    /// The type of one path, if Config records it.
    pub fn path(&self, path: &str) -> Option<CiValueType> {
        self.paths.get(path).copied()
    }

    /// Every recorded path with its type, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, CiValueType)> {
        self.paths.iter().map(|(path, kind)| (path.as_str(), *kind))
    }
}

/// A standard a Security Hub control belongs to, with the control's id there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardMembership {
    /// `AWS Foundational Security Best Practices v1.0.0`, `CIS AWS Foundations Benchmark v1.4.0`, ...
    pub standard: String,
    /// The id within that standard (`S3.5`, `2.1.2`, `PCI.S3.5`).
    pub control_id: String,
}

/// A control parameter and Security Hub's default value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlParameter {
    pub name: String,
    pub default: Option<String>,
}

/// The standard id of AWS Foundational Security Best Practices.
pub const FSBP_STANDARD: &str = "AWS Foundational Security Best Practices v1.0.0";

/// One AWS Security Hub (CSPM) control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityHubControl {
    /// Consolidated security control id (`S3.5`).
    pub id: String,
    pub title: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `INFORMATIONAL`.
    pub severity: String,
    pub standards: Vec<StandardMembership>,
    /// Resource types as Config names them (`AWS::S3::Bucket`).
    pub resource_types: Vec<String>,
    /// The same types as CloudFormation names them, where a type exists.
    pub cfn_resource_types: Vec<String>,
    /// ASFF resource types (`AwsS3Bucket`).
    pub asff_resource_types: Vec<String>,
    /// The AWS Config rule's kebab name (`s3-bucket-ssl-requests-only`).
    pub config_rule: Option<String>,
    /// The managed rule identifier when the rule is a managed rule.
    pub config_rule_identifier: Option<String>,
    /// A rule Security Hub develops itself (service-linked, not a managed rule).
    pub config_rule_custom: bool,
    pub parameters: Vec<ControlParameter>,
    /// `change_triggered` or `periodic`; `None` when not known.
    pub schedule: Option<String>,
    pub retired: bool,
    /// Whether the control accepts custom parameter values.
    pub custom_parameters: bool,
    /// Requirements of third-party frameworks the control maps to.
    pub related_requirements: Vec<String>,
    /// Source id per fact (`title` -> `list-2026`); see the curated file's provenance.
    pub provenance: BTreeMap<String, String>,
    /// Facts the sources did not give (`config_rule`, `resource_types`, ...).
    pub missing: Vec<String>,
}

impl SecurityHubControl {
    pub fn in_standard(&self, standard: &str) -> bool {
        self.standards.iter().any(|s| s.standard == standard)
    }

    pub fn is_fsbp(&self) -> bool {
        self.in_standard(FSBP_STANDARD)
    }
}
