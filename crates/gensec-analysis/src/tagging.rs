//! Tags are one control (`tagging-required-keys` in the catalogue): one
//! recommendation per service, naming the taggable resource types it applies
//! to, with the profile's required keys as the template setting and the
//! Config managed rule REQUIRED_TAGS parameterised from the profile.

use crate::catalogue;
use crate::check;
use crate::recommend::configuration_id;
use crate::tailor;
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{Confidence, ConfigRuleRef, Expectation, Recommendation};
use gensec_core::contract::stage::Verdicts;
use gensec_core::input::Tagging;
use gensec_kb::tags::{TAGS_PROPERTY, TagShape, tag_shape, tag_value};
use gensec_kb::{Kb, ServiceEntry};
use serde_json::json;
use std::collections::BTreeMap;

/// The catalogue control every service's tagging recommendation implements.
pub use gensec_kb::tags::TAGGING_CONTROL_ID as CONTROL_ID;
/// The AWS Config managed rule that checks required tags (`tag1Key` is mandatory).
pub const REQUIRED_TAGS_RULE: &str = "REQUIRED_TAGS";
/// Requirement key of the tagging recommendation (part of its configuration id).
pub const KEY: &str = "required-tags";

/// The service's resource types that can carry tags, with their tag shape.
pub fn taggable_types(kb: &Kb, service: &ServiceEntry) -> Vec<(String, TagShape)> {
    service
        .resource_types
        .iter()
        .filter_map(|type_name| {
            let schema = kb.resource_type(type_name).ok().flatten()?;
            Some((type_name.clone(), tag_shape(schema)?))
        })
        .collect()
}

/// REQUIRED_TAGS parameters: `tagNKey` for every required key and
/// `tagNValue` (comma-separated) where the profile limits its values.
pub fn required_tags_parameters(tagging: &Tagging) -> BTreeMap<String, String> {
    let mut parameters = BTreeMap::new();
    for (index, tag) in tagging.required_tags.iter().enumerate() {
        let n = index + 1;
        parameters.insert(format!("tag{n}Key"), tag.key.clone());
        if !tag.allowed_values.is_empty() {
            parameters.insert(format!("tag{n}Value"), tag.allowed_values.join(","));
        }
    }
    parameters
}

/// The managed rule `REQUIRED_TAGS` with the profile's tags: it evaluates a
/// fixed list of types, so it is the detective control only where it
/// evaluates one of this service's `types` (and the profile requires a tag).
fn required_tags_rule(
    kb: &Kb,
    types: &[(String, TagShape)],
    parameters: BTreeMap<String, String>,
    report: &mut Verdicts,
) -> Option<ConfigRuleRef> {
    let rule_type = kb.config_rule(REQUIRED_TAGS_RULE).and_then(|rule| {
        types
            .iter()
            .map(|(t, _)| t)
            .find(|t| rule.resource_types.iter().any(|r| r == *t))
            .cloned()
    });
    match rule_type {
        Some(rule_type) if parameters.contains_key("tag1Key") => {
            match check::detective(kb, &rule_type, REQUIRED_TAGS_RULE, &parameters) {
                Ok(()) => Some(ConfigRuleRef {
                    identifier: REQUIRED_TAGS_RULE.into(),
                    parameters,
                }),
                Err(reason) => {
                    report.reject(
                        format!("{rule_type} {TAGS_PROPERTY}: Config rule {REQUIRED_TAGS_RULE}"),
                        reason,
                    );
                    None
                }
            }
        }
        _ => None,
    }
}

/// The service's one tagging recommendation, on `anchor_type` (the type the
/// package's most urgent curated recommendation is on, when taggable), or
/// `None` when nothing in the service can carry tags.
pub fn recommendation(
    kb: &Kb,
    service: &ServiceEntry,
    anchor_type: Option<&str>,
    profile: &SecurityProfile,
    report: &mut Verdicts,
) -> Option<Recommendation> {
    let types = taggable_types(kb, service);
    let (resource_type, shape) = anchor_type
        .and_then(|anchor| types.iter().find(|(t, _)| t == anchor))
        .or_else(|| types.first())?
        .clone();
    let control = match catalogue::controls()
        .ok()
        .and_then(|catalogue| catalogue.control(CONTROL_ID))
    {
        Some(control) => control,
        None => {
            report.reject(
                format!("{} tagging", service.id),
                format!("the catalogue has no control {CONTROL_ID}"),
            );
            return None;
        }
    };
    let tagging = &profile.tagging;
    let keys: Vec<&str> = tagging.keys().collect();
    let value = tag_value(
        shape,
        &keys
            .iter()
            .map(|key| {
                (
                    key.to_string(),
                    json!({"Ref": Tagging::parameter_name(key)}),
                )
            })
            .collect::<Vec<_>>(),
    );
    let detective = required_tags_rule(kb, &types, required_tags_parameters(tagging), report);
    report.accept();
    let type_names: Vec<&str> = types.iter().map(|(t, _)| t.as_str()).collect();
    Some(Recommendation {
        configuration_id: configuration_id(&service.id, &resource_type, KEY),
        control_id: control.id.clone(),
        service_id: service.id.clone(),
        service_name: service.display_name.clone(),
        resource_type: resource_type.clone(),
        title: format!(
            "{} ({}) on all {} taggable resource types",
            control.title,
            keys.join(", "),
            types.len()
        ),
        property: TAGS_PROPERTY.into(),
        expectation: Expectation::Present,
        recommended_value: value,
        security_domain: control.domain,
        threat_vector: control.stride,
        priority: tailor::priority(control.priority, profile),
        rationale: format!(
            "{} Applies to: {}.",
            control.rationale,
            type_names.join(", ")
        ),
        confidence: Confidence::Curated,
        detective,
        security_hub_controls: control.security_hub.clone(),
        preventive: control.preventive.clone(),
        compliance: tailor::compliance(&control.compliance, profile),
        operational: None,
        model: None,
        applies_to: type_names.iter().map(|t| t.to_string()).collect(),
        when_set: None,
    })
}
