//! `analysis/recommendations.json`: stage 2's typed output, read by every
//! stage after it.

use crate::input::ComplianceFramework;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    Critical,
    High,
    Medium,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "Critical",
            Priority::High => "High",
            Priority::Medium => "Medium",
            Priority::Low => "Low",
        }
    }

    /// One step less urgent (Low stays Low).
    pub fn lowered(self) -> Self {
        match self {
            Priority::Critical => Priority::High,
            Priority::High => Priority::Medium,
            Priority::Medium | Priority::Low => Priority::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityDomain {
    DataProtection,
    IdentityAndAccess,
    Network,
    LoggingAndMonitoring,
    Resilience,
    ConfigurationManagement,
}

impl SecurityDomain {
    pub fn label(self) -> &'static str {
        match self {
            SecurityDomain::DataProtection => "Data Protection",
            SecurityDomain::IdentityAndAccess => "Identity and Access",
            SecurityDomain::Network => "Network",
            SecurityDomain::LoggingAndMonitoring => "Logging and Monitoring",
            SecurityDomain::Resilience => "Resilience",
            SecurityDomain::ConfigurationManagement => "Configuration Management",
        }
    }
}

/// STRIDE threat categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrideThreat {
    Spoofing,
    Tampering,
    Repudiation,
    InformationDisclosure,
    DenialOfService,
    ElevationOfPrivilege,
}

impl StrideThreat {
    pub fn label(self) -> &'static str {
        match self {
            StrideThreat::Spoofing => "Spoofing",
            StrideThreat::Tampering => "Tampering",
            StrideThreat::Repudiation => "Repudiation",
            StrideThreat::InformationDisclosure => "Information Disclosure",
            StrideThreat::DenialOfService => "Denial of Service",
            StrideThreat::ElevationOfPrivilege => "Elevation of Privilege",
        }
    }
}

/// What a compliant value of a property looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// Exactly this value.
    Equals(serde_json::Value),
    /// Anything but this value.
    NotEquals(serde_json::Value),
    /// Any of these values.
    OneOf(Vec<serde_json::Value>),
    /// Set and not empty (a key, a log destination, a VPC).
    Present,
    /// Not set at all.
    Absent,
    /// A number at least this large.
    AtLeast(f64),
    /// A number at most this large.
    AtMost(f64),
    /// A string matching this regular expression.
    Matches(String),
    /// A string not matching this regular expression.
    NotMatches(String),
    /// The array at the path has an element with all these fields.
    Contains(serde_json::Value),
    /// No element of the array at the path meets every condition.
    NoElement(Vec<ElementCondition>),
    /// Every element of the array at the path meets every condition.
    EveryElement(Vec<ElementCondition>),
    /// The array at the path, when set, has at least this many elements
    /// (subnets of two Availability Zones); unset meets it, since a type
    /// often takes one of several lists (subnets or subnet mappings).
    MinItems(usize),
    /// The list of values at the path, when set, has no element equal to
    /// this one (no `FTP` among a server's protocols).
    Excludes(serde_json::Value),
}

/// A condition on one field of an array element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElementCondition {
    /// Dotted path inside the element.
    pub field: String,
    /// A scalar expectation (never `contains`, `no_element`, `every_element`,
    /// `min_items`, `excludes`).
    pub expect: Expectation,
}

/// How sure we are that a recommendation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// From the reviewed security property catalogue.
    Curated,
    /// Derived from the resource schema by name and type; needs a reviewer's eye.
    Inferred,
    /// Proposed by a language model from the listed schema properties and
    /// passed every validator; needs a reviewer's eye.
    ModelProposed,
}

/// What a language model changed on a recommendation. Model-written text
/// passed the same name checks as everything else, but is marked as such.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelNote {
    pub model_id: String,
    /// Rationale tailored to the security profile (model-written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// The priority before the model adjusted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_from: Option<Priority>,
    /// Why the model adjusted the priority (model-written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_reason: Option<String>,
}

/// An AWS Config managed rule with its input parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigRuleRef {
    pub identifier: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// A deny statement an SCP can carry for a recommendation, with the
/// requests it is executed against before it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreventiveSpec {
    pub actions: Vec<String>,
    /// IAM condition block (`{"Bool": {"rds:StorageEncrypted": "false"}}`); none
    /// means the actions are denied outright (protecting a security setting)
    /// to every principal but the profile's exempt ones.
    #[serde(default)]
    pub condition: Option<serde_json::Value>,
    /// The IAM resource type (as the Service Authorization Reference names
    /// it, `instance`) the condition key describes: the statement's
    /// `Resource` is scoped to its ARNs, so the other resources the call is
    /// authorised against (image, subnet...), where the key is absent, are
    /// not denied by a negated operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Resources the statement leaves out (`NotResource`), listed in the
    /// profile: it denies its actions on every other resource. Its cases
    /// call the actions on an unlisted resource (denied) and on each listed
    /// one (allowed). Without the profile's list no statement is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<ProfileResources>,
    /// Request keys of the insecure request the statement must deny.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub insecure: BTreeMap<String, serde_json::Value>,
    /// Request keys of a compliant request (what the hardened template
    /// sends), which must not be denied on any resource the call touches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compliant: BTreeMap<String, serde_json::Value>,
    /// What a request that leaves the condition's keys out gets from the API.
    #[serde(default, skip_serializing_if = "WhenOmitted::is_unstated")]
    pub when_omitted: WhenOmitted,
}

/// A list of resources the security profile names, for a statement's
/// `NotResource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileResources {
    /// `allowed_bedrock_models`, as model ARN patterns
    /// ([`crate::input::SecurityProfile::bedrock_model_arn_patterns`]).
    #[serde(rename = "$profile:allowed_bedrock_models")]
    AllowedBedrockModels,
}

/// What the API does with a request that omits the field a statement's
/// condition key describes, and so what the statement must do with it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenOmitted {
    /// Not stated: the omitted request is not executed (statements that
    /// deny outright, and language-model proposals).
    #[default]
    Unstated,
    /// The default is compliant (or the field is required): must not be denied.
    Compliant,
    /// The default is insecure: must be denied.
    Insecure,
    /// The default is insecure but no condition can deny the omission
    /// without denying compliant requests too; the reason goes into the
    /// coverage file and the detective and proactive controls cover it.
    NotEnforced(String),
}

impl WhenOmitted {
    pub fn is_unstated(&self) -> bool {
        *self == WhenOmitted::Unstated
    }
}

/// Preventive control for a recommendation, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preventive {
    /// One statement per request path (create and update often differ in
    /// what an omitted field means).
    Scp(Vec<PreventiveSpec>),
    /// No action/condition key can express the control.
    NotExpressible(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable across runs: service, resource type and property.
    pub configuration_id: String,
    /// The catalogue control it implements (`inferred` for schema inference,
    /// `model` for a language model's proposal).
    pub control_id: String,
    pub service_id: String,
    pub service_name: String,
    pub resource_type: String,
    pub title: String,
    /// Dotted property path (`A.B[].C`).
    pub property: String,
    pub expectation: Expectation,
    /// Value the hardened IaC sets (`{"Ref": ...}` for values the user supplies).
    pub recommended_value: serde_json::Value,
    pub security_domain: SecurityDomain,
    pub threat_vector: StrideThreat,
    pub priority: Priority,
    pub rationale: String,
    pub confidence: Confidence,
    pub detective: Option<ConfigRuleRef>,
    pub security_hub_controls: Vec<String>,
    pub preventive: Option<Preventive>,
    /// The profile's frameworks, in the profile's order, with control references.
    pub compliance: Vec<(ComplianceFramework, Vec<String>)>,
    /// For an operational control (an account or organisation setting, a
    /// process): what to do. Such a recommendation has no property; it has
    /// no proactive control and no template setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<String>,
    /// What a language model contributed; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelNote>,
    /// Every resource type the setting applies to when it is not only
    /// `resource_type` (the tagging control: each taggable type of the
    /// service); empty for a setting of `resource_type` alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<String>,
    /// For a setting of one variant of a resource type (the configuration
    /// block a type's variants choose between, such as an FSx file system's
    /// `OpenZFSConfiguration`): the block's property path. The setting
    /// concerns only resources that set the block; the Guard rule skips the
    /// others, and a template that builds another variant leaves it unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_set: Option<String>,
}

/// The validators' verdict on a language model's answer. Its rejections are
/// among the analysis stage's rejections, with items starting `model: `.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelValidation {
    pub model_id: String,
    /// Whether the answer was used (`applied`) or the result is deterministic.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    pub items_proposed: u64,
    pub items_accepted: u64,
    pub items_rejected: u64,
    /// AWS names in the answer (properties, resource types, actions, condition
    /// keys, Config rules, configuration ids, names in prose).
    pub names_checked: u64,
    /// Of those, names that do not exist.
    pub names_unknown: u64,
    /// `names_unknown / names_checked`: the hallucination rate we publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hallucination_rate: Option<f64>,
}

impl ModelValidation {
    /// The verdict over the stages that asked the model; `None` when none did.
    /// The outcome is `applied` only when every stage applied its answer.
    pub fn from_records(records: &[crate::llm::LlmStageRecord]) -> Option<Self> {
        let first = records.first()?;
        let mut verdict = Self {
            model_id: first.model_id.clone(),
            outcome: "applied".into(),
            ..Self::default()
        };
        for record in records {
            if record.outcome == crate::llm::LlmOutcome::Deterministic {
                verdict.outcome = "deterministic".into();
                if verdict.fallback_reason.is_none() {
                    verdict.fallback_reason = record.fallback_reason.clone();
                }
            }
            verdict.items_proposed += record.items_proposed;
            verdict.items_accepted += record.items_accepted;
            verdict.items_rejected += record.items_rejected;
            verdict.names_checked += record.names_checked;
            verdict.names_unknown += record.names_unknown;
        }
        verdict.hallucination_rate = (verdict.names_checked > 0)
            .then(|| verdict.names_unknown as f64 / verdict.names_checked as f64);
        Some(verdict)
    }
}

/// Item prefix of rejections of model-proposed items.
pub const MODEL_ITEM_PREFIX: &str = "model: ";

/// `analysis/recommendations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationSet {
    pub service_id: String,
    pub service_name: String,
    pub request_id: String,
    pub profile_id: String,
    pub recommendations: Vec<Recommendation>,
}

impl Recommendation {
    pub fn is_operational(&self) -> bool {
        self.operational.is_some()
    }

    /// Names a model may quote back when it writes about this recommendation:
    /// its id, its value and its title (they are ours, not AWS names to check).
    pub fn own_names(&self) -> [String; 3] {
        let value = match &self.recommended_value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        [self.configuration_id.clone(), value, self.title.clone()]
    }
}

impl Expectation {
    /// Whether a value meets the expectation; `None` is a property that is
    /// not set. An unset property meets `not_equals`, `not_matches`,
    /// `absent`, `no_element`, `every_element`, `min_items` and `excludes`,
    /// and nothing else.
    pub fn is_met_by(&self, value: Option<&serde_json::Value>) -> bool {
        use serde_json::Value;
        let value = value.filter(|v| !v.is_null());
        match self {
            Expectation::Equals(expected) => value.is_some_and(|v| same(v, expected)),
            Expectation::NotEquals(refused) => value.is_none_or(|v| !same(v, refused)),
            Expectation::OneOf(allowed) => {
                value.is_some_and(|v| allowed.iter().any(|a| same(v, a)))
            }
            Expectation::Present => value.is_some_and(|v| match v {
                Value::String(text) => !text.is_empty(),
                Value::Array(items) => !items.is_empty(),
                Value::Object(fields) => !fields.is_empty(),
                _ => true,
            }),
            Expectation::Absent => value.is_none(),
            Expectation::AtLeast(bound) => number(value).is_some_and(|n| n >= *bound),
            Expectation::AtMost(bound) => number(value).is_some_and(|n| n <= *bound),
            Expectation::Matches(pattern) => {
                text(value).is_some_and(|t| pattern_matches(pattern, t))
            }
            Expectation::NotMatches(pattern) => {
                text(value).is_none_or(|t| !pattern_matches(pattern, t))
            }
            Expectation::Contains(element) => value
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|item| contains(item, element))),
            Expectation::NoElement(conditions) => match value {
                None => true,
                Some(Value::Array(items)) => !items.iter().any(|item| meets(item, conditions)),
                Some(_) => false,
            },
            Expectation::EveryElement(conditions) => match value {
                None => true,
                Some(Value::Array(items)) => items.iter().all(|item| meets(item, conditions)),
                Some(_) => false,
            },
            Expectation::MinItems(least) => match value {
                None => true,
                Some(Value::Array(items)) => items.len() >= *least,
                Some(_) => false,
            },
            Expectation::Excludes(refused) => match value {
                None => true,
                Some(Value::Array(items)) => !items.iter().any(|item| same(item, refused)),
                Some(_) => false,
            },
        }
    }
}

/// A bound as JSON: an integer when it is whole (schemas type most counts,
/// ports and periods as integers).
pub fn bound_value(bound: f64) -> serde_json::Value {
    if bound.fract() == 0.0 && bound.abs() < 1e15 {
        serde_json::json!(bound as i64)
    } else {
        serde_json::json!(bound)
    }
}

/// The value at a dotted path inside a JSON value (`A.B`).
pub fn field<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.')
        .filter(|part| !part.is_empty())
        .try_fold(value, |current, part| current.get(part))
}

/// Whether an array element meets every condition.
pub fn meets(element: &serde_json::Value, conditions: &[ElementCondition]) -> bool {
    conditions
        .iter()
        .all(|condition| condition.expect.is_met_by(field(element, &condition.field)))
}

/// Equal as JSON, with numbers compared by value and numeric strings equal
/// to their numbers (CloudFormation passes ports as either).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    a == b || matches!((number(Some(a)), number(Some(b))), (Some(x), Some(y)) if x == y)
}

fn number(value: Option<&serde_json::Value>) -> Option<f64> {
    match value? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: Option<&serde_json::Value>) -> Option<&str> {
    value.and_then(serde_json::Value::as_str)
}

fn pattern_matches(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text))
}

/// Every field of `wanted` is in `item` with the same value (recursively).
fn contains(item: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (item, wanted) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(key, value)| have.get(key).is_some_and(|found| contains(found, value))),
        // A nested list of objects (a feature's additional configuration):
        // each wanted element is contained in some element of the list.
        (Value::Array(have), Value::Array(want)) if want.iter().all(Value::is_object) => want
            .iter()
            .all(|value| have.iter().any(|found| contains(found, value))),
        _ => same(item, wanted),
    }
}

#[cfg(test)]
mod expectation_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn ssh_open_to_the_world() -> Vec<ElementCondition> {
        vec![
            ElementCondition {
                field: "CidrIp".into(),
                expect: Expectation::Equals(json!("0.0.0.0/0")),
            },
            ElementCondition {
                field: "FromPort".into(),
                expect: Expectation::AtMost(22.0),
            },
            ElementCondition {
                field: "ToPort".into(),
                expect: Expectation::AtLeast(22.0),
            },
        ]
    }

    #[test]
    fn no_element_refuses_a_list_with_a_matching_element_only() {
        let rule = Expectation::NoElement(ssh_open_to_the_world());
        let open =
            json!([{"CidrIp": "0.0.0.0/0", "FromPort": 0, "ToPort": 65535, "IpProtocol": "tcp"}]);
        let office = json!([{"CidrIp": "10.0.0.0/8", "FromPort": 22, "ToPort": 22}]);
        let https = json!([{"CidrIp": "0.0.0.0/0", "FromPort": "443", "ToPort": "443"}]);
        assert!(!rule.is_met_by(Some(&open)));
        assert!(rule.is_met_by(Some(&office)));
        assert!(rule.is_met_by(Some(&https)));
        assert!(rule.is_met_by(None));
        assert!(rule.is_met_by(Some(&json!([]))));
        assert!(!rule.is_met_by(Some(&json!("not a list"))));
    }

    #[test]
    fn contains_finds_nested_list_elements_in_any_order() {
        let rule = Expectation::Contains(json!({
            "Name": "RUNTIME_MONITORING",
            "Status": "ENABLED",
            "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]
        }));
        let on = json!([{"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}, {
            "Name": "RUNTIME_MONITORING",
            "Status": "ENABLED",
            "AdditionalConfiguration": [
                {"Name": "EKS_ADDON_MANAGEMENT", "Status": "DISABLED"},
                {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}
            ]
        }]);
        let agent_off = json!([{
            "Name": "RUNTIME_MONITORING",
            "Status": "ENABLED",
            "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "DISABLED"}]
        }]);
        let no_agent_setting = json!([{"Name": "RUNTIME_MONITORING", "Status": "ENABLED"}]);
        assert!(rule.is_met_by(Some(&on)));
        assert!(!rule.is_met_by(Some(&agent_off)));
        assert!(!rule.is_met_by(Some(&no_agent_setting)));
        assert!(!rule.is_met_by(None));
    }

    #[test]
    fn excludes_refuses_a_list_holding_the_value() {
        let rule = Expectation::Excludes(json!("FTP"));
        assert!(rule.is_met_by(Some(&json!(["SFTP", "FTPS"]))));
        assert!(!rule.is_met_by(Some(&json!(["SFTP", "FTP"]))));
        assert!(rule.is_met_by(Some(&json!([]))));
        assert!(rule.is_met_by(None));
        assert!(!rule.is_met_by(Some(&json!("FTP"))));
    }

    #[test]
    fn min_items_counts_a_set_list_and_accepts_an_unset_one() {
        let rule = Expectation::MinItems(2);
        assert!(rule.is_met_by(Some(&json!(["subnet-a", "subnet-b"]))));
        assert!(rule.is_met_by(Some(&json!(["subnet-a", "subnet-b", "subnet-c"]))));
        assert!(!rule.is_met_by(Some(&json!(["subnet-a"]))));
        assert!(!rule.is_met_by(Some(&json!([]))));
        // Another list may place the resource (subnet mappings, zones).
        assert!(rule.is_met_by(None));
        // A list parameter's reference cannot be counted.
        assert!(!rule.is_met_by(Some(&json!({"Ref": "SubnetIds"}))));
        assert!(!rule.is_met_by(Some(&json!("subnet-a,subnet-b"))));
    }

    #[test]
    fn every_kind_has_a_compliant_and_a_non_compliant_value() {
        let cases = [
            (
                Expectation::Equals(json!(true)),
                json!(true),
                Some(json!(false)),
            ),
            (
                Expectation::NotEquals(json!("*")),
                json!("arn:aws:iam::1:root"),
                Some(json!("*")),
            ),
            (
                Expectation::OneOf(vec![json!("a"), json!("b")]),
                json!("b"),
                Some(json!("c")),
            ),
            (Expectation::Present, json!("key"), Some(json!(""))),
            (Expectation::Absent, json!(null), Some(json!("x"))),
            (Expectation::AtLeast(7.0), json!(30), Some(json!(1))),
            (Expectation::AtMost(1.0), json!(1), Some(json!(2))),
            (
                Expectation::Matches("^TLS_1_[23]".into()),
                json!("TLS_1_2_2019"),
                Some(json!("TLS_1_0")),
            ),
            (
                Expectation::NotMatches("^python2".into()),
                json!("python3.12"),
                Some(json!("python2.7")),
            ),
            (
                Expectation::Contains(json!({"Effect": "Deny"})),
                json!([{"Effect": "Deny", "Sid": "x"}]),
                Some(json!([{"Effect": "Allow"}])),
            ),
            (
                Expectation::EveryElement(vec![ElementCondition {
                    field: "Protocol".into(),
                    expect: Expectation::OneOf(vec![json!("HTTPS"), json!("SSL")]),
                }]),
                json!([{"Protocol": "HTTPS"}]),
                Some(json!([{"Protocol": "HTTPS"}, {"Protocol": "HTTP"}])),
            ),
            (
                Expectation::MinItems(2),
                json!(["subnet-a", "subnet-b"]),
                Some(json!(["subnet-a"])),
            ),
        ];
        for (expectation, good, bad) in cases {
            assert!(expectation.is_met_by(Some(&good)), "{expectation:?} {good}");
            if let Some(bad) = bad {
                assert!(!expectation.is_met_by(Some(&bad)), "{expectation:?} {bad}");
            }
        }
        assert!(!Expectation::Equals(json!(1)).is_met_by(None));
        assert!(Expectation::NotEquals(json!("*")).is_met_by(None));
    }
}
