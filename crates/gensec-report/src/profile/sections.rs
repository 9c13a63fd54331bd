//! The four evidence sections of the profile (data protection, network,
//! access controls, logging and monitoring): findings assembled from schema
//! properties, condition keys, Config rules and recommendations.

use super::{Finding, NOT_DETERMINED, RecommendationRef, Section, Sources, recommendations_source};
use crate::evidence::{
    self, ConditionKeyEvidence, PropertyEvidence, RuleEvidence, contains_any, has_word,
};
use gensec_core::contract::analysis::{Recommendation, SecurityDomain};
use gensec_kb::ServiceDocumentation;
use gensec_kb::model::ConditionKey;
use std::collections::BTreeSet;

/// Assemble a finding; sources and the evidence count follow from what was found.
struct FindingBuilder<'a> {
    sources: &'a Sources<'a>,
    finding: Finding,
}

impl<'a> FindingBuilder<'a> {
    fn new(sources: &'a Sources<'a>, id: &str, title: &str) -> Self {
        Self {
            sources,
            finding: Finding {
                id: id.into(),
                title: title.into(),
                determination: String::new(),
                resource_types: Vec::new(),
                properties: Vec::new(),
                condition_keys: Vec::new(),
                config_rules: Vec::new(),
                recommendations: Vec::new(),
                sources: Vec::new(),
            },
        }
    }

    fn properties(mut self, properties: Vec<PropertyEvidence>) -> Self {
        self.finding.properties = properties;
        self
    }

    fn keys(mut self, keys: Vec<ConditionKeyEvidence>) -> Self {
        self.finding.condition_keys.extend(keys);
        self
    }

    fn rules(mut self, rules: Vec<RuleEvidence>) -> Self {
        self.finding.config_rules = rules;
        self
    }

    fn recommendations<'r>(
        mut self,
        recommendations: impl Iterator<Item = &'r Recommendation>,
    ) -> Self {
        self.finding.recommendations = recommendations.map(RecommendationRef::of).collect();
        self
    }

    fn resource_types(mut self, types: Vec<String>) -> Self {
        self.finding.resource_types = types;
        self
    }

    /// `lead` opens the determination when there is evidence; `none` replaces it when not.
    fn finish(mut self, lead: Option<String>, none: Option<&str>) -> Finding {
        let f = &mut self.finding;
        let mut sources = Vec::new();
        if !f.properties.is_empty() || !f.resource_types.is_empty() {
            sources.push(self.sources.schemas());
        }
        if f.condition_keys.iter().any(|k| k.scope == "service") {
            sources.push(self.sources.iam());
        }
        if f.condition_keys.iter().any(|k| k.scope == "global") {
            sources.push(self.sources.globals());
        }
        if !f.config_rules.is_empty() {
            sources.push(self.sources.config());
        }
        if !f.recommendations.is_empty() {
            sources.push(recommendations_source());
        }
        f.sources = sources;
        let mut counted = Vec::new();
        let mut count = |n: usize, one: &str, many: &str| {
            if n > 0 {
                counted.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        count(f.resource_types.len(), "resource type", "resource types");
        count(f.properties.len(), "schema property", "schema properties");
        count(f.condition_keys.len(), "condition key", "condition keys");
        count(f.config_rules.len(), "Config rule", "Config rules");
        count(f.recommendations.len(), "recommendation", "recommendations");
        f.determination = if counted.is_empty() {
            let base = none.map_or_else(|| capitalise(NOT_DETERMINED), str::to_string);
            format!("{base}.")
        } else {
            let found = format!(
                "Found in the sources: {} (listed below).",
                counted.join(", ")
            );
            match lead {
                Some(lead) => format!("{lead} {found}"),
                None => found,
            }
        };
        self.finding
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn types_of(properties: &[PropertyEvidence]) -> Vec<String> {
    properties
        .iter()
        .map(|p| p.resource_type.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The leaf-name filters of the sections' property evidence, numbered as
/// [`crate::evidence::ConfigurablePaths::new`] numbers them.
pub(super) const PROPERTY_FILTERS: [fn(&str) -> bool; 5] = [
    is_encryption_name,
    is_transport_name,
    is_vpc_name,
    is_public_name,
    is_logging_name,
];
const ENCRYPTION_PROPERTIES: usize = 0;
const TRANSPORT_PROPERTIES: usize = 1;
const VPC_PROPERTIES: usize = 2;
const PUBLIC_PROPERTIES: usize = 3;
const LOGGING_PROPERTIES: usize = 4;

fn is_encryption_name(name: &str) -> bool {
    contains_any(name, &["encrypt", "kms"]) || has_word(name, &["sse"])
}

fn is_transport_name(name: &str) -> bool {
    contains_any(name, &["securetransport", "https"]) || has_word(name, &["tls", "ssl"])
}

fn is_vpc_name(name: &str) -> bool {
    contains_any(name, &["vpc", "subnet", "securitygroup"])
}

fn is_public_name(name: &str) -> bool {
    contains_any(name, &["public"]) || matches!(name, "NetworkOrigin" | "AccessControl")
}

fn is_logging_name(name: &str) -> bool {
    has_word(
        name,
        &[
            "log",
            "logs",
            "logging",
            "audit",
            "tracing",
            "trail",
            "monitoring",
        ],
    )
}

/// Top-level properties that hold a policy document.
fn policy_properties(doc: &ServiceDocumentation) -> Vec<PropertyEvidence> {
    let mut out = Vec::new();
    for schema in &doc.resource_types {
        for (name, property) in &schema.properties {
            let read_only = schema.read_only.iter().any(|p| p == name);
            let shaped = property.types.is_empty()
                || property.types.iter().any(|t| {
                    matches!(
                        t,
                        gensec_kb::model::JsonType::Object | gensec_kb::model::JsonType::String
                    )
                });
            let named = name.ends_with("PolicyDocument")
                || name == "Policy"
                || name == "ResourcePolicy"
                || name == "KeyPolicy";
            if named && shaped && !read_only {
                out.push(evidence::property(schema, name));
            }
        }
    }
    out
}

pub(super) fn data_protection(
    doc: &ServiceDocumentation,
    globals: &[ConditionKey],
    recs: &[Recommendation],
    sources: &Sources<'_>,
) -> Section {
    let at_rest_properties = sources.paths.properties(ENCRYPTION_PROPERTIES);
    let at_rest_lead = (!at_rest_properties.is_empty()).then(|| {
        format!(
            "Supported: the schemas of {} expose encryption settings.",
            types_of(&at_rest_properties).join(", ")
        )
    });
    let at_rest = FindingBuilder::new(sources, "encryption-at-rest", "Encryption at rest")
        .properties(at_rest_properties)
        .keys(evidence::service_keys(doc, |name| {
            contains_any(name, &["encryption", "kms"])
        }))
        .rules(evidence::rules(doc, |id| {
            contains_any(id, &["encrypt", "kms"])
        }))
        .recommendations(recs.iter().filter(|r| {
            r.security_domain == SecurityDomain::DataProtection && is_encryption_name(&r.property)
        }))
        .finish(at_rest_lead, None);

    let mut transit_keys = evidence::global_keys(globals, &["aws:SecureTransport"]);
    transit_keys.extend(evidence::service_keys(doc, is_transport_name));
    let in_transit = FindingBuilder::new(sources, "encryption-in-transit", "Encryption in transit")
        .properties(sources.paths.properties(TRANSPORT_PROPERTIES))
        .keys(transit_keys)
        .rules(evidence::rules(doc, |id| {
            contains_any(id, &["ssl", "tls", "https"])
        }))
        .recommendations(recs.iter().filter(|r| {
            is_transport_name(&r.property)
                || contains_any(
                    &r.recommended_value.to_string(),
                    &["securetransport", "tlsversion"],
                )
        }))
        .finish(None, None);
    Section {
        id: "data-protection".into(),
        title: "Data protection".into(),
        findings: vec![at_rest, in_transit],
    }
}

pub(super) fn network(
    doc: &ServiceDocumentation,
    globals: &[ConditionKey],
    recs: &[Recommendation],
    sources: &Sources<'_>,
) -> Section {
    let vpc_properties = sources.paths.properties(VPC_PROPERTIES);
    let vpc_lead = (!vpc_properties.is_empty()).then(|| {
        format!(
            "VPC-related settings exist on {}.",
            types_of(&vpc_properties).join(", ")
        )
    });
    let vpc = FindingBuilder::new(sources, "vpc-support", "VPC support")
        .properties(vpc_properties)
        .recommendations(recs.iter().filter(|r| is_vpc_name(&r.property)))
        .finish(vpc_lead, None);

    let mut endpoint_keys = evidence::global_keys(
        globals,
        &[
            "aws:SourceVpce",
            "aws:SourceVpc",
            "aws:SourceVpcArn",
            "aws:VpcSourceIp",
        ],
    );
    endpoint_keys.extend(evidence::service_keys(doc, |name| {
        contains_any(name, &["vpc", "networkorigin"])
    }));
    let endpoints = FindingBuilder::new(sources, "vpc-endpoints", "VPC endpoints")
        .keys(endpoint_keys)
        .finish(
            Some(format!(
                "Whether AWS offers a VPC endpoint for this service is {NOT_DETERMINED}; policies can filter requests with the condition keys below (global keys are defined by IAM for all services)."
            )),
            Some("Whether AWS offers a VPC endpoint for this service is not determined from the machine-readable sources"),
        );

    let public = FindingBuilder::new(sources, "public-exposure", "Public exposure")
        .properties(sources.paths.properties(PUBLIC_PROPERTIES))
        .rules(evidence::rules(doc, |id| contains_any(id, &["public"])))
        .recommendations(recs.iter().filter(|r| {
            is_public_name(evidence::leaf(&r.property)) || contains_any(&r.property, &["public"])
        }))
        .finish(None, None);
    Section {
        id: "network".into(),
        title: "Network controls".into(),
        findings: vec![vpc, endpoints, public],
    }
}

pub(super) fn access_controls(
    doc: &ServiceDocumentation,
    recs: &[Recommendation],
    sources: &Sources<'_>,
) -> Section {
    let policies = policy_properties(doc);
    let policy_types = types_of(&policies);
    let policy_lead = (!policy_types.is_empty()).then(|| {
        format!(
            "Resource-based policies are set through {}.",
            policy_types.join(", ")
        )
    });
    let resource_policies =
        FindingBuilder::new(sources, "resource-policies", "Resource-based policies")
            .resource_types(policy_types)
            .properties(policies)
            .finish(policy_lead, None);
    let keys = FindingBuilder::new(sources, "condition-keys", "Condition keys")
        .keys(evidence::service_keys(doc, |_| true))
        .finish(None, None);
    let identity = FindingBuilder::new(
        sources,
        "identity-recommendations",
        "Identity and access recommendations",
    )
    .recommendations(
        recs.iter()
            .filter(|r| r.security_domain == SecurityDomain::IdentityAndAccess),
    )
    .finish(
        None,
        Some("No identity and access recommendation in this run"),
    );
    Section {
        id: "access-controls".into(),
        title: "Access controls".into(),
        findings: vec![resource_policies, keys, identity],
    }
}

pub(super) fn logging(
    doc: &ServiceDocumentation,
    recs: &[Recommendation],
    sources: &Sources<'_>,
) -> Section {
    let properties = FindingBuilder::new(sources, "logging-properties", "Logging properties")
        .properties(sources.paths.properties(LOGGING_PROPERTIES))
        .recommendations(
            recs.iter()
                .filter(|r| r.security_domain == SecurityDomain::LoggingAndMonitoring),
        )
        .finish(None, None);
    let rules = FindingBuilder::new(sources, "config-rules", "AWS Config managed rules")
        .rules(evidence::rules(doc, |_| true))
        .finish(
            None,
            Some("No AWS Config managed rule is catalogued for this service"),
        );
    Section {
        id: "logging-monitoring".into(),
        title: "Logging and monitoring".into(),
        findings: vec![properties, rules],
    }
}
