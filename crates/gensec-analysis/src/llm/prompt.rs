//! The grounded prompt: the profile, the service's validated facts and the
//! deterministic recommendations, each in a data block, and instructions that
//! say what may be answered. Facts are listed compactly (one line each) and
//! capped, so a one-service prompt stays well under 15k input tokens.

use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::Recommendation;
use gensec_core::llm::prompt::{DATA_POLICY, data_block};
use gensec_core::llm::{LlmRequest, Message};
use gensec_kb::model::{AccessLevel, JsonType};
use gensec_kb::{Kb, ServiceEntry, validate};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Most candidate properties listed for additional recommendations.
pub const MAX_CANDIDATES: usize = 60;
/// Most IAM actions listed for SCPs.
pub const MAX_ACTIONS: usize = 120;
/// Most condition keys listed.
pub const MAX_CONDITION_KEYS: usize = 80;
/// Output tokens the answer may use; with the report's 1,200 a run writes at
/// most 4,000.
pub const MAX_ANSWER_TOKENS: u32 = 2_800;
/// Most items of each kind the model is asked for.
pub const MAX_RATIONALES: usize = 12;
pub const MAX_ADDITIONAL: usize = 5;

/// Words in property paths that make a property worth a security review.
const SECURITY_WORDS: &[&str] = &[
    "encrypt",
    "kms",
    "sse",
    "public",
    "acl",
    "block",
    "log",
    "audit",
    "trail",
    "trace",
    "version",
    "tls",
    "ssl",
    "https",
    "secure",
    "cipher",
    "protocol",
    "auth",
    "iam",
    "mfa",
    "password",
    "retention",
    "backup",
    "snapshot",
    "deletion",
    "protect",
    "ownership",
    "lock",
    "access",
    "vpc",
    "endpoint",
    "rotation",
    "monitor",
    "insecure",
    "intransit",
    "privat",
    "expos",
    "replica",
    "recovery",
];
/// Words of paths about cost, layout or reporting rather than security.
const NOT_SECURITY: &[&str] = &[
    "tag",
    "tier",
    "storageclass",
    "transition",
    "expiration",
    "inventory",
    "analytics",
    "metrics",
    "website",
    "intelligent",
    "notification",
    "cors",
    "accelerat",
];

/// A property the model may recommend a value for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub resource_type: String,
    pub path: String,
    pub types: String,
    pub allowed: Vec<String>,
}

/// The facts the prompt lists, and so what an answer may use.
#[derive(Debug, Clone, Default)]
pub struct Grounding {
    pub resource_types: Vec<String>,
    pub candidates: Vec<Candidate>,
    pub actions: Vec<String>,
    pub condition_keys: Vec<(String, String)>,
    /// Identifier, resource types, parameter names.
    pub config_rules: Vec<(String, Vec<String>, Vec<String>)>,
}

impl Grounding {
    pub fn is_candidate(&self, resource_type: &str, path: &str) -> bool {
        let plain = path.replace("[]", "");
        self.candidates
            .iter()
            .any(|c| c.resource_type == resource_type && c.path.replace("[]", "") == plain)
    }
}

fn is_security_relevant(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !NOT_SECURITY.iter().any(|word| lower.contains(word))
        && SECURITY_WORDS.iter().any(|word| lower.contains(word))
}

/// Collect the facts for a service, leaving out what is already recommended.
pub fn grounding(kb: &Kb, service: &ServiceEntry, recommendations: &[Recommendation]) -> Grounding {
    let mut grounding = Grounding {
        resource_types: service.resource_types.clone(),
        candidates: candidates(kb, service, recommendations),
        ..Grounding::default()
    };
    for prefix in &service.iam_prefixes {
        let Ok(Some(iam)) = kb.iam_service(prefix) else {
            continue;
        };
        grounding.actions.extend(
            iam.actions
                .iter()
                .filter(|a| {
                    matches!(
                        a.access_level(),
                        AccessLevel::Write | AccessLevel::PermissionsManagement
                    ) && [
                        "Put", "Delete", "Create", "Update", "Modify", "Set", "Disable", "Enable",
                    ]
                    .iter()
                    .any(|verb| a.name.starts_with(verb))
                })
                .map(|a| format!("{prefix}:{}", a.name)),
        );
        grounding.condition_keys.extend(
            iam.condition_keys
                .iter()
                .map(|k| (k.name.clone(), k.value_type.clone())),
        );
    }
    grounding.actions.truncate(MAX_ACTIONS);
    grounding.condition_keys.truncate(MAX_CONDITION_KEYS);
    for identifier in &service.config_rules {
        if let Some(rule) = kb.config_rule(identifier) {
            grounding.config_rules.push((
                rule.identifier.clone(),
                rule.resource_types.clone(),
                rule.parameters.iter().map(|p| p.name.clone()).collect(),
            ));
        }
    }
    grounding
}

/// The security-relevant properties of the service's types not yet
/// recommended, at most [`MAX_CANDIDATES`]: short paths on the types the
/// deterministic result covers most first.
fn candidates(
    kb: &Kb,
    service: &ServiceEntry,
    recommendations: &[Recommendation],
) -> Vec<Candidate> {
    let recommended: BTreeSet<(String, String)> = recommendations
        .iter()
        .map(|r| (r.resource_type.clone(), r.property.replace("[]", "")))
        .collect();
    let mut candidates = Vec::new();
    for type_name in &service.resource_types {
        let Ok(Some(schema)) = kb.resource_type(type_name) else {
            continue;
        };
        for path in schema.property_paths() {
            if path.split('.').count() > 5
                || !is_security_relevant(&path)
                || recommended.contains(&(type_name.clone(), path.replace("[]", "")))
            {
                continue;
            }
            candidates.extend(candidate(kb, type_name, path));
        }
    }
    // Short paths on the types the deterministic result covers most first:
    // they are the service's main resources and the settings a reviewer
    // recognises.
    let weight = |resource_type: &str| {
        recommendations
            .iter()
            .filter(|r| r.resource_type == resource_type)
            .count()
    };
    candidates.sort_by_key(|c| {
        (
            std::cmp::Reverse(weight(&c.resource_type)),
            c.path.split('.').count(),
            c.path.clone(),
        )
    });
    candidates.truncate(MAX_CANDIDATES);
    candidates
}

/// The property at `path` as a candidate, when its value is one a reviewer
/// can judge.
fn candidate(kb: &Kb, type_name: &str, path: String) -> Option<Candidate> {
    let (schema, property) = validate::property(kb, type_name, &path).ok()?;
    let property = schema.deref(property);
    // Settings with a value a reviewer can judge: flags, choices and
    // numbers. Free text (names, ARNs, prefixes) is the organisation's own.
    let judged = !property.enum_values.is_empty()
        || property
            .types
            .iter()
            .any(|t| matches!(t, JsonType::Boolean | JsonType::Integer | JsonType::Number));
    if !judged || property.types.contains(&JsonType::Object) {
        return None;
    }
    let types = property
        .types
        .iter()
        .map(|t| format!("{t:?}").to_lowercase())
        .collect::<Vec<_>>()
        .join("|");
    Some(Candidate {
        resource_type: type_name.to_string(),
        path,
        types: if types.is_empty() {
            "string".into()
        } else {
            types
        },
        allowed: property.enum_values.clone(),
    })
}

/// The profile without anything a prompt does not need.
fn profile_text(profile: &SecurityProfile) -> String {
    serde_json::to_string(profile).unwrap_or_default()
}

/// The serde spelling of an enum value (`data_protection`).
pub fn serde_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn value_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn facts_text(grounding: &Grounding) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "resource types: {}",
        grounding.resource_types.join(", ")
    );
    let _ = writeln!(
        out,
        "candidate properties (resource type | property path | type | allowed values):"
    );
    for c in &grounding.candidates {
        let _ = writeln!(
            out,
            "{} | {} | {} | {}",
            c.resource_type,
            c.path,
            c.types,
            c.allowed.join(", ")
        );
    }
    let keys: Vec<String> = grounding
        .condition_keys
        .iter()
        .map(|(name, kind)| format!("{name} ({kind})"))
        .collect();
    let _ = writeln!(out, "IAM condition keys: {}", keys.join(", "));
    let _ = writeln!(
        out,
        "global condition keys: aws:SecureTransport (Bool), aws:SourceVpce (String), aws:SourceVpc (String), aws:PrincipalOrgID (String), aws:RequestedRegion (String)"
    );
    let _ = writeln!(
        out,
        "IAM actions for SCPs: {}",
        grounding.actions.join(", ")
    );
    let _ = writeln!(
        out,
        "AWS Config managed rules (identifier | resource types | parameters):"
    );
    for (identifier, types, parameters) in &grounding.config_rules {
        let _ = writeln!(
            out,
            "{identifier} | {} | {}",
            types.join(", "),
            parameters.join(", ")
        );
    }
    out
}

fn recommendations_text(recommendations: &[Recommendation]) -> String {
    let mut out = String::from(
        "configuration id | resource type | property | value | priority | domain | threat | title\n",
    );
    for r in recommendations {
        let _ = writeln!(
            out,
            "{} | {} | {} | {} | {} | {} | {} | {}",
            r.configuration_id,
            r.resource_type,
            r.property,
            value_text(&r.recommended_value),
            r.priority.as_str(),
            serde_name(&r.security_domain),
            serde_name(&r.threat_vector),
            r.title
        );
    }
    out
}

/// The instructions: what to answer and what may be used.
pub fn system_prompt() -> String {
    format!(
        "You are a cloud security architect tailoring a security package for one AWS service to one organisation.\n\
{DATA_POLICY}\n\
Answer with one JSON object only, no prose, following the JSON schema you were given:\n\
- \"rationales\": for at most {MAX_RATIONALES} recommendations where the organisation's profile changes why the setting matters, a rationale of at most 45 words that says why for this organisation.\n\
- \"priority_adjustments\": only where the profile justifies it, a new priority (Critical, High, Medium or Low) at most one step from the current one, with the reason.\n\
- \"additional_recommendations\": at most {MAX_ADDITIONAL}, only for candidate properties listed in the facts and not already recommended, with a value allowed by the property's type and allowed values (the value as JSON text, e.g. true, 90 or \"Enabled\"); config_rule only from the listed AWS Config rules or \"\"; scp_actions only from the listed IAM actions, scp_condition_key only from the listed condition keys, or empty.\n\
Use only configuration ids, resource types, property paths, values, IAM actions, condition keys and Config rule identifiers that appear in the data; never invent one. Write every AWS name in backticks. Empty arrays are a good answer when nothing applies."
    )
}

/// JSON Schema of the answer (strict-mode friendly: closed objects, no unions).
pub fn answer_schema() -> Value {
    let priority = json!({"type": "string", "enum": ["Critical", "High", "Medium", "Low"]});
    let domain = json!({"type": "string", "enum": [
        "data_protection", "identity_and_access", "network", "logging_and_monitoring",
        "resilience", "configuration_management"]});
    let threat = json!({"type": "string", "enum": [
        "spoofing", "tampering", "repudiation", "information_disclosure",
        "denial_of_service", "elevation_of_privilege"]});
    let string = json!({"type": "string"});
    let object = |fields: Vec<(&str, Value)>| {
        let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        let properties: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(name, schema)| (name.to_string(), schema))
            .collect();
        json!({"type": "object", "additionalProperties": false,
               "required": required, "properties": properties})
    };
    let array = |items: Value| json!({"type": "array", "items": items});
    object(vec![
        (
            "rationales",
            array(object(vec![
                ("configuration_id", string.clone()),
                ("rationale", string.clone()),
            ])),
        ),
        (
            "priority_adjustments",
            array(object(vec![
                ("configuration_id", string.clone()),
                ("priority", priority.clone()),
                ("reason", string.clone()),
            ])),
        ),
        (
            "additional_recommendations",
            array(object(vec![
                ("resource_type", string.clone()),
                ("property", string.clone()),
                ("value", string.clone()),
                ("title", string.clone()),
                ("rationale", string.clone()),
                ("security_domain", domain),
                ("threat", threat),
                ("priority", priority),
                ("config_rule", string.clone()),
                ("scp_actions", array(string.clone())),
                ("scp_condition_operator", string.clone()),
                ("scp_condition_key", string.clone()),
                ("scp_condition_value", string),
            ])),
        ),
    ])
}

/// The whole request for one service.
pub fn request(
    profile: &SecurityProfile,
    service: &ServiceEntry,
    grounding: &Grounding,
    recommendations: &[Recommendation],
) -> LlmRequest {
    let mut user = format!(
        "Service: {} ({}). Tailor its security package to the organisation in the profile.\n\n",
        service.display_name, service.id
    );
    user.push_str(&data_block("security-profile", &profile_text(profile)));
    user.push('\n');
    user.push_str(&data_block("facts", &facts_text(grounding)));
    user.push('\n');
    user.push_str(&data_block(
        "recommendations",
        &recommendations_text(recommendations),
    ));
    LlmRequest {
        system: system_prompt(),
        messages: vec![Message::user(user)],
        response_schema: Some(answer_schema()),
        max_tokens: MAX_ANSWER_TOKENS,
        temperature: 0.0,
    }
}
