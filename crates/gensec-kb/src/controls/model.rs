//! The control catalogue's data model: what a control requires of a resource
//! type, why, what answers it (Security Hub controls, a Config rule, an SCP)
//! and how a failing resource is remediated.

use gensec_core::contract::analysis::{Preventive, Priority, SecurityDomain, StrideThreat};
use gensec_core::input::ComplianceFramework;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// When a control applies; absent means always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The profile asks for customer-managed KMS keys.
    CustomerManagedKeys,
    /// The profile accepts AWS managed keys.
    AwsManagedKeys,
    /// The profile asks for MFA.
    Mfa,
    /// The profile centralises logs.
    CentralizedLogging,
    /// Production or staging environments only.
    ProductionLike,
}

/// What a compliant value looks like, as the data states it (numbers and
/// values may be profile tokens such as `$profile:log_retention_days`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawExpectation {
    /// Exactly this value.
    Equals(Value),
    /// Anything but this value (absent counts as compliant only with `value`
    /// set, which the hardened template then writes).
    NotEquals(Value),
    /// One of these values.
    OneOf(Vec<Value>),
    /// Set and not empty (`true` is the only accepted value).
    Present(bool),
    /// Not set at all (`true` is the only accepted value).
    Absent(bool),
    /// A number at least this large.
    AtLeast(Value),
    /// A number at most this large.
    AtMost(Value),
    /// A string matching this regular expression.
    Matches(String),
    /// A string not matching this regular expression.
    NotMatches(String),
    /// The array has an element with all these fields (a policy statement
    /// that denies insecure transport, for example).
    Contains(Value),
    /// No element of the array matches every condition (no ingress rule open
    /// to 0.0.0.0/0 whose port range covers 22, for example).
    NoElement(Vec<FieldCondition>),
    /// Every element of the array matches every condition.
    EveryElement(Vec<FieldCondition>),
    /// The array, when set, has at least this many elements (subnets of two
    /// Availability Zones: 2); unset meets it.
    MinItems(usize),
    /// The list of values has no element equal to this one (no `FTP` among
    /// the protocols); unset meets it.
    Excludes(Value),
}

/// A condition on one field of an array element; the nested expectation is
/// a scalar one (not `contains`, `no_element`, `every_element`, `min_items`
/// or `excludes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldCondition {
    /// Dotted path inside the element (`CidrIp`, `Principal.AWS`).
    pub field: String,
    pub expect: RawExpectation,
}

/// An AWS Config managed rule with its input parameters (values may be
/// profile tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfigRule {
    pub identifier: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
}

/// One requirement of a control: a property of a resource type and what its
/// value must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub resource_type: String,
    /// Short slug, unique per resource type; part of the configuration id.
    pub key: String,
    /// Dotted property path (`A.B[].C`).
    pub property: String,
    pub expect: RawExpectation,
    /// Value the hardened template sets; defaults from `expect`.
    #[serde(default)]
    pub value: Option<Value>,
    /// The requirement's own title, when the control has several.
    #[serde(default)]
    pub title: Option<String>,
    /// For a requirement of one variant of the type (a configuration block
    /// the type's variants choose between, such as an FSx file system's
    /// `OpenZFSConfiguration`): that block's path, a prefix of `property`.
    /// The requirement concerns only resources that set the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_set: Option<String>,
}

/// One `resource "<type>" "<name>"` of a Terraform fix; argument values may
/// hold placeholders (`${resource.name}`, `${account}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub arguments: Map<String, Value>,
    /// The resource already exists: import it before applying.
    #[serde(default)]
    pub import: bool,
    /// The import id Terraform expects for this type, with placeholders
    /// (`${resource.id}` for an ARN); defaults to `${resource.name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
}

/// The Terraform fix of a failing resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    pub resources: Vec<FixResource>,
}

/// How a failing resource is remediated (for the Security Hub controls the
/// control answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    /// The ASFF resource type its findings name (`AwsS3Bucket`, `AwsAccount`),
    /// when the Security Hub facts give none or another one (account-level
    /// settings are reported on `AwsAccount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// What the failing state exposes, for the person who gets the finding.
    pub risk: String,
    #[serde(default)]
    pub fix: Option<Fix>,
    /// Why no fix is safe to apply automatically (required without a fix).
    #[serde(default)]
    pub no_fix_reason: Option<String>,
    /// checkov Terraform checks that examine what the fix sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkov: Vec<String>,
    /// Why no checkov check covers the fix (required when a fix lists none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_checkov_reason: Option<String>,
    pub manual_steps: Vec<String>,
    /// What to check before changing the resource (who depends on the
    /// failing state, what the change interrupts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_before: Vec<String>,
    /// How to confirm the change took effect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
    /// AWS CLI commands that apply the setting to the existing resource, in
    /// order; checked against the API model ([`crate::api_model`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cli: Vec<CliCommand>,
    /// A setting inside a configuration the service only replaces whole:
    /// read it, change the one setting, write it back under the read's
    /// concurrency token (after `cli`, when both are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_modify_write: Option<ReadModifyWrite>,
    /// A statement merged into the resource's policy document, every other
    /// statement kept (after `cli`, when both are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_merge: Option<PolicyMerge>,
    /// An https:// page that documents the setting.
    pub documentation: String,
}

/// One AWS CLI command: `aws <service> <operation> <arguments>`. Argument
/// values may hold the fix placeholders and `${fill:NAME}` for a value the
/// user supplies (shown as `<NAME>`); `true`/`false` on a boolean parameter is
/// `--flag`/`--no-flag`; objects and arrays of objects are JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliCommand {
    /// The CLI's service command (`rds`, `s3api`, `elbv2`).
    pub service: String,
    /// The CLI's operation (`modify-db-instance`).
    pub operation: String,
    /// `--parameter` to value, in the order printed.
    pub arguments: Map<String, Value>,
}

/// A read-modify-write fix: `get` saves the current configuration, a `jq`
/// filter changes exactly the settings of `set` in its `read` member, and
/// `update` writes the result (`write` parameter, `file://`) back, passing
/// the read's concurrency token so that a change made in between makes the
/// update fail instead of being overwritten. Rendered as the exact commands;
/// both operations, their parameters and every `set` path are checked
/// against the API model ([`crate::api_model::ApiModel::check_read_modify_write`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadModifyWrite {
    /// The read (`aws cloudfront get-distribution-config --id ...`).
    pub get: CliCommand,
    /// The member of the read's output that holds the configuration
    /// (`DistributionConfig`).
    pub read: String,
    /// The concurrency token (`ETag` read, passed as `--if-match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<ConcurrencyToken>,
    /// The write, without the token and configuration parameters.
    pub update: CliCommand,
    /// The write's parameter taking the edited configuration
    /// (`--distribution-config`).
    pub write: String,
    /// The settings changed, in order (at least one).
    pub set: Vec<SetSetting>,
    /// The write takes the whole input (`write` is `--cli-input-json`), for
    /// a service that makes a new version of the resource from it (an ECS
    /// task definition revision): registration is atomic and the old
    /// version stays until it is removed, so no concurrency token is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole_input: Option<WholeInput>,
}

/// What a whole-input write keeps of the read (its `read` member, or the
/// whole output when `read` is `.`): the members of the read's
/// configuration copied into the write's input (every other member, such as
/// the read-only ARN, revision and status, is dropped) and the members of
/// the read's output beside the configuration taken as they are (`tags`).
/// The check requires every kept member in both the read and the write, and
/// every write member the read holds kept, so that nothing is reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WholeInput {
    /// Members of the configuration (`read`) passed on, in order.
    pub keep: Vec<String>,
    /// Output members of the read passed on beside them (dropped when
    /// empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beside: Vec<String>,
    /// Write members taken from a path of the configuration where the read
    /// names or nests them differently (`PoolName` from `.Name`; a firewall
    /// policy's `Description` from `.FirewallPolicyResponse.Description`);
    /// left out when the read has no value there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub take: BTreeMap<String, String>,
    /// Paths inside kept members removed before the write: settings the read
    /// reports but the write refuses beside their replacement (Cognito's
    /// deprecated `AdminCreateUserConfig.UnusedAccountValidityDays`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// A statement merged into a resource policy the service keeps as one JSON
/// document (a bucket, key, topic or queue policy) and only replaces whole:
/// `get` reads the current document, held as a JSON string in the read's
/// output member `read`; a `jq` filter drops any statement with the same
/// `Sid` and appends `statement`, keeping every other statement and member;
/// `update` writes the result back through its string parameter `write`
/// (`file://`). When the resource has no policy yet the read fails with the
/// error code `absent` and the merge starts from an empty document; any other
/// failure of the read leaves nothing to write, and the write is skipped.
/// Rendered as the exact commands; both operations, their parameters, the
/// read member and the write parameter are checked against the API model,
/// and the statement against the policy grammar
/// ([`crate::api_model::ApiModel::check_policy_merge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMerge {
    /// The read (`aws s3api get-bucket-policy --bucket ...`).
    pub get: CliCommand,
    /// The read's output member holding the policy as a JSON string
    /// (`Policy`).
    pub read: String,
    /// The error code of the read when the resource has no policy yet
    /// (`NoSuchBucketPolicy`); absent when every resource has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<String>,
    /// The write, without the policy parameter.
    pub update: CliCommand,
    /// The write's string parameter taking the merged policy (`--policy`).
    pub write: String,
    /// The statement merged in, with a `Sid` that names it as gensec's
    /// (placeholders allowed, as in CLI arguments).
    pub statement: Value,
}

/// Where the read gives the concurrency token and which write parameter
/// takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyToken {
    /// Output member of the read (`ETag`).
    pub read: String,
    /// Parameter of the write (`--if-match`).
    pub flag: String,
}

/// One setting changed by a read-modify-write fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetSetting {
    /// Path inside the configuration: `.Member` steps; `Member[]` for every
    /// element of a list, `Member?` for only where the member is present
    /// (`.Origins.Items[].CustomOriginConfig?.OriginProtocolPolicy`).
    pub path: String,
    /// The new value (placeholders allowed, as in CLI arguments).
    pub value: Value,
    /// Change only settings that currently hold this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if: Option<Value>,
    /// Change only where the setting is absent (null), keeping every value
    /// already set; not with `only_if`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_if_absent: bool,
}

/// One control of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Stable id (`s3-bucket-versioning`).
    pub id: String,
    pub title: String,
    /// What a resource must look like; empty for an operational control
    /// (account or organisation settings, processes), which says what to do
    /// in `operational`.
    #[serde(default)]
    pub requirements: Vec<Requirement>,
    /// What to do, for an operational control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<String>,
    /// The catalogue services an operational control belongs to (a
    /// configuration control belongs to the services of its resource types).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    pub domain: SecurityDomain,
    pub stride: StrideThreat,
    pub priority: Priority,
    pub rationale: String,
    #[serde(default)]
    pub config_rule: Option<RawConfigRule>,
    /// Security Hub control ids it answers (consolidated ids: `S3.8`).
    #[serde(default)]
    pub security_hub: Vec<String>,
    /// Compliance references, curated per control.
    #[serde(default)]
    pub compliance: BTreeMap<ComplianceFramework, Vec<String>>,
    #[serde(default)]
    pub preventive: Option<Preventive>,
    #[serde(default)]
    pub applies_when: Option<Condition>,
    /// How a failing resource is remediated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

impl Control {
    pub fn is_operational(&self) -> bool {
        self.requirements.is_empty()
    }
}
