//! Security profile: how an organisation runs its cloud (the GenSEC seed's
//! example, plus `profile_id` and optional data-protection choices).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An organisation's security requirements, captured in interviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityProfile {
    /// Stable id a service request can name (`[a-z0-9][a-z0-9_-]*`).
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub profile_id: String,
    /// The organisation's name (at most 256 bytes, one line).
    #[schemars(length(min = 1, max = 256))]
    pub organization_name: String,
    pub environment_type: EnvironmentType,
    pub security_operations: SecurityOperations,
    pub security_controls: SecurityControls,
    /// Frameworks to map recommendations to, in the order the organisation cares about.
    #[schemars(length(min = 1, max = 64))]
    pub compliance_requirements: Vec<ComplianceFramework>,
    pub threat_modeling: ThreatModel,
    /// Key management and transport encryption choices.
    #[serde(default)]
    pub data_protection: DataProtection,
    /// Regions workloads may use; empty means no restriction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_regions: Vec<String>,
    /// Tags every resource of the package carries; without this section,
    /// [`Tagging::default`] (`owner`, `data-classification`, `workload`).
    #[serde(default)]
    pub tagging: Tagging,
    /// Amazon Bedrock models workloads may invoke: foundation model ids
    /// (`anthropic.claude-3-5-sonnet-20240620-v1:0`) or model ARNs
    /// (`arn:aws:bedrock:*:*:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0`;
    /// `*` only in the partition, region and account). The Bedrock package's
    /// SCP denies invoking any other model. Absent: no model restriction
    /// (the statement is listed as not written); present, it lists 1-64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub allowed_bedrock_models: Option<Vec<String>>,
}

/// Resource types a Bedrock model ARN may name in
/// [`SecurityProfile::allowed_bedrock_models`]: the IAM resource types
/// `bedrock:InvokeModel` is authorised against that identify a model.
pub const BEDROCK_MODEL_RESOURCE_TYPES: [&str; 8] = [
    "foundation-model",
    "inference-profile",
    "application-inference-profile",
    "provisioned-model",
    "custom-model-deployment",
    "imported-model",
    "prompt-router",
    "default-prompt-router",
];

impl SecurityProfile {
    /// The `NotResource` patterns of [`Self::allowed_bedrock_models`]: a
    /// model id becomes the foundation model's ARN in every partition and
    /// region; an ARN stays as written. `None` without the field.
    pub fn bedrock_model_arn_patterns(&self) -> Option<Vec<String>> {
        self.allowed_bedrock_models.as_ref().map(|models| {
            models
                .iter()
                .map(|model| bedrock_model_arn_pattern(model))
                .collect()
        })
    }

    /// The model ids of [`Self::allowed_bedrock_models`] an agent may
    /// orchestrate with: ARNs (inference profiles, possibly with wildcards)
    /// and embedding models (every Bedrock embedding model id has `embed` in
    /// its name) left out.
    pub fn bedrock_generation_model_ids(&self) -> Vec<&str> {
        self.allowed_bedrock_models
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|model| !model.starts_with("arn:") && !model.contains("embed"))
            .collect()
    }
}

/// `anthropic.claude-v2` -> `arn:*:bedrock:*::foundation-model/anthropic.claude-v2`;
/// an ARN is returned unchanged.
pub fn bedrock_model_arn_pattern(model: &str) -> String {
    if model.starts_with("arn:") {
        model.to_string()
    } else {
        format!("arn:*:bedrock:*::foundation-model/{model}")
    }
}

/// Why an entry of `allowed_bedrock_models` is not a model id or model ARN,
/// if it is not.
pub fn bedrock_model_problem(model: &str) -> Option<String> {
    let id_ok = |id: &str| {
        !id.is_empty()
            && id.len() <= 256
            && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:_-/".contains(c))
    };
    if !model.starts_with("arn:") {
        return (!id_ok(model) || model.contains('/')).then(|| {
            "expected a foundation model id such as \"anthropic.claude-3-5-sonnet-20240620-v1:0\" or a Bedrock model ARN".to_string()
        });
    }
    let parts: Vec<&str> = model.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts[..] else {
        return Some("expected arn:<partition>:bedrock:<region>:<account>:<type>/<id>".into());
    };
    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov" | "*") {
        return Some(format!("unknown partition {partition:?}"));
    }
    if service != "bedrock" {
        return Some(format!("expected a bedrock ARN, got service {service:?}"));
    }
    let plain = |text: &str| {
        text.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if region != "*" && (region.is_empty() || !plain(region)) {
        return Some(format!("expected a region code or *, got {region:?}"));
    }
    if account != "*" && !account.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!(
            "expected an account id, * or nothing, got {account:?}"
        ));
    }
    let Some((resource_type, id)) = resource.split_once('/') else {
        return Some(format!(
            "expected <type>/<id> after the account, got {resource:?}"
        ));
    };
    if !BEDROCK_MODEL_RESOURCE_TYPES.contains(&resource_type) {
        return Some(format!(
            "{resource_type:?} is not a model resource type (one of {})",
            BEDROCK_MODEL_RESOURCE_TYPES.join(", ")
        ));
    }
    if (resource_type == "foundation-model") != account.is_empty() {
        return Some(if account.is_empty() {
            format!("a {resource_type} ARN names the account (or *)")
        } else {
            "a foundation-model ARN has no account: arn:aws:bedrock:<region>::foundation-model/<id>"
                .into()
        });
    }
    (!id_ok(id)).then(|| {
        format!("expected a model id (letters, digits, . : _ - /; no wildcards) after {resource_type}/, got {id:?}")
    })
}

/// The organisation's tagging standard: the keys every taggable resource
/// carries (one tagging control), and the key IAM personas scope to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tagging {
    /// Tag keys every taggable resource must carry (AWS tag key rules:
    /// 1-128 characters, not starting with `aws:`), at most 6 (the Config
    /// managed rule `required-tags` takes `tag1Key`..`tag6Key`).
    #[schemars(length(min = 1, max = 6))]
    pub required_tags: Vec<RequiredTag>,
    /// The required key IAM personas' tag-scoped statements use
    /// (`aws:ResourceTag/<key>`); it must be one of `required_tags`.
    #[serde(default = "default_persona_scope_key")]
    #[schemars(length(min = 1, max = 128))]
    pub persona_scope_key: String,
}

/// One required tag key, optionally with the values it may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredTag {
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// Allowed values; empty means any non-empty value (each 0-256 characters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_values: Vec<String>,
}

impl Default for Tagging {
    fn default() -> Self {
        Self {
            required_tags: ["owner", "data-classification", "workload"]
                .into_iter()
                .map(|key| RequiredTag {
                    key: key.to_string(),
                    allowed_values: Vec::new(),
                })
                .collect(),
            persona_scope_key: default_persona_scope_key(),
        }
    }
}

impl Tagging {
    /// The required keys, in the profile's order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.required_tags.iter().map(|tag| tag.key.as_str())
    }

    /// The template parameter that supplies a tag's value (`owner` ->
    /// `TagOwner`, `data-classification` -> `TagDataClassification`).
    pub fn parameter_name(key: &str) -> String {
        let mut name = String::from("Tag");
        let mut upper = true;
        for c in key.chars() {
            if c.is_ascii_alphanumeric() {
                if upper {
                    name.push(c.to_ascii_uppercase());
                } else {
                    name.push(c);
                }
                upper = false;
            } else {
                upper = true;
            }
        }
        name
    }

    /// The condition key IAM personas scope statements with.
    pub fn persona_condition_key(&self) -> String {
        format!("aws:ResourceTag/{}", self.persona_scope_key)
    }

    /// Why a tag key breaks AWS's rules, if it does.
    pub fn key_problem(key: &str) -> Option<String> {
        let length = key.chars().count();
        if !(1..=128).contains(&length) {
            return Some(format!("expected 1-128 characters, got {length}"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Some("the aws: prefix is reserved for AWS's own tags".into());
        }
        tag_character_problem(key)
    }

    /// Why an allowed tag value breaks AWS's rules, if it does. The values also
    /// become the comma-separated `tagNValue` parameter of Config's
    /// `required-tags` rule, so a comma (not a tag character) would split one.
    pub fn value_problem(value: &str) -> Option<String> {
        let length = value.chars().count();
        if length > 256 {
            return Some(format!("expected at most 256 characters, got {length}"));
        }
        tag_character_problem(value)
    }
}

/// Characters AWS accepts in tag keys and values across services.
fn tag_character_problem(text: &str) -> Option<String> {
    let bad = text
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == ' ' || "_.:/=+-@".contains(*c)))?;
    Some(format!(
        "{bad:?} is not allowed (letters, digits, spaces and _ . : / = + - @ are)"
    ))
}

fn default_persona_scope_key() -> String {
    "workload".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentType {
    Production,
    Staging,
    Development,
    Sandbox,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityOperations {
    pub logging: Logging,
    pub monitoring: Monitoring,
    pub secrets_management: SecretsManagement,
    pub access_management: AccessManagement,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    pub centralized_logging: bool,
    pub log_protection: bool,
    /// Days logs are kept (1..=3653).
    #[schemars(range(min = 1, max = 3653))]
    pub retention_days: u32,
    pub cloudwatch_enabled: bool,
    /// SIEM or log platform logs are forwarded to, if any (at most 256 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub third_party_integration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    pub security_monitoring: bool,
    pub automated_response: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsManagement {
    pub rotation_enabled: bool,
    /// Rotation period as `<days>_days`, for example `90_days`.
    #[schemars(regex(pattern = r"^[1-9][0-9]*_days$"))]
    pub rotation_frequency: String,
}

impl SecretsManagement {
    /// Rotation period in days, when `rotation_frequency` is well formed.
    pub fn rotation_days(&self) -> Option<u32> {
        self.rotation_frequency
            .strip_suffix("_days")
            .and_then(|days| days.parse().ok())
            .filter(|days| *days > 0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessManagement {
    pub mfa_required: bool,
    /// At most 4096 bytes, one line.
    #[schemars(length(max = 4096))]
    pub password_policy: String,
}

/// Which kind of control implements each control type; `none` turns a type off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityControls {
    pub detective: DetectiveControl,
    pub preventive: PreventiveControl,
    pub proactive: ProactiveControl,
    /// Principals the generated SCPs do not deny.
    #[serde(default, skip_serializing_if = "ScpExemptions::is_empty")]
    pub scp_exemptions: ScpExemptions,
}

/// IAM principal ARN patterns (`arn:aws:iam::*:role/SecurityBreakGlass`)
/// the generated SCPs exempt. Without any, a statement that protects a
/// setting outright would also deny the pipeline that deploys the package's
/// own template, and is dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScpExemptions {
    /// Emergency roles: exempt from every statement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub break_glass_principal_arns: Vec<String>,
    /// The role(s) that deploy reviewed templates (the `cicd-deployer`
    /// persona): exempt from statements that protect a setting outright,
    /// never from those that deny an insecure value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployer_principal_arns: Vec<String>,
}

impl ScpExemptions {
    pub fn is_empty(&self) -> bool {
        self.break_glass_principal_arns.is_empty() && self.deployer_principal_arns.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DetectiveControl {
    #[serde(rename = "AWS_Config")]
    AwsConfig,
    #[serde(rename = "none")]
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PreventiveControl {
    #[serde(rename = "SCPs_IAM")]
    ScpsAndIam,
    #[serde(rename = "SCPs")]
    Scps,
    #[serde(rename = "IAM")]
    Iam,
    #[serde(rename = "none")]
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProactiveControl {
    #[serde(rename = "CFN_Guard")]
    CfnGuard,
    #[serde(rename = "none")]
    None,
}

/// Compliance frameworks recommendations can be mapped to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum ComplianceFramework {
    #[serde(rename = "SOC2")]
    Soc2,
    #[serde(rename = "PCI_DSS")]
    PciDss,
    #[serde(rename = "GDPR")]
    Gdpr,
    #[serde(rename = "HIPAA")]
    Hipaa,
    #[serde(rename = "NIST_800_53")]
    Nist80053,
    #[serde(rename = "ISO_27001")]
    Iso27001,
    #[serde(rename = "CIS_AWS")]
    CisAws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ThreatModel {
    #[serde(rename = "STRIDE")]
    Stride,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataProtection {
    #[serde(default = "default_key_management")]
    pub key_management: KeyManagement,
    /// Lowest TLS version clients may use: `1.2` or `1.3`.
    #[serde(default = "default_min_tls")]
    #[schemars(regex(pattern = r"^1\.[23]$"))]
    pub minimum_tls_version: String,
}

impl Default for DataProtection {
    fn default() -> Self {
        Self {
            key_management: default_key_management(),
            minimum_tls_version: default_min_tls(),
        }
    }
}

fn default_key_management() -> KeyManagement {
    KeyManagement::CustomerManaged
}

fn default_min_tls() -> String {
    "1.2".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyManagement {
    /// Customer-managed AWS KMS keys for data at rest.
    CustomerManaged,
    /// AWS managed keys are acceptable.
    AwsManaged,
}
