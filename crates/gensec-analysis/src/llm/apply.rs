//! Every item of the model's answer through the validators. What passes is
//! applied (tailored rationale, adjusted priority, an additional
//! recommendation built like a catalogue entry); what fails is listed in the
//! validation report as `model: ...` with the reason. Each AWS name the answer
//! uses is counted, and those that do not exist make the hallucination rate.

use super::answer::{Additional, Adjustment, Answer, Item, RationaleItem};
use super::prompt::{Grounding, MAX_ADDITIONAL};
use crate::catalogue::{CatalogueEntry, RawConfigRule, RawExpectation};
use crate::recommend;
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{
    Confidence, MODEL_ITEM_PREFIX, ModelNote, Preventive, PreventiveSpec, Priority, Recommendation,
    WhenOmitted,
};
use gensec_core::contract::stage::Verdicts;
use gensec_core::llm::names;
use gensec_kb::names::ServiceNames;
use gensec_kb::{Kb, ServiceEntry, validate};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Longest model-written rationale or reason kept, in characters.
pub const MAX_PROSE_CHARS: usize = 700;

/// What the validators made of an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Items checked (and controls of items checked on their own).
    pub proposed: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub names_checked: u64,
    pub names_unknown: u64,
}

struct Checker<'a> {
    names: ServiceNames<'a>,
    tally: Tally,
}

impl Checker<'_> {
    /// Count one structured name; `exists` is whether it does.
    fn name(&mut self, exists: bool) -> bool {
        self.tally.names_checked += 1;
        if !exists {
            self.tally.names_unknown += 1;
        }
        exists
    }

    /// Model-written text: plain, not too long, and every AWS name in it exists.
    fn prose(&mut self, text: &str) -> Result<(), String> {
        let check = names::check_prose(text, MAX_PROSE_CHARS, &self.names);
        self.tally.names_checked += check.names_checked;
        self.tally.names_unknown += check.names_unknown;
        check.verdict
    }
}

struct Context<'a> {
    kb: &'a Kb,
    service: &'a ServiceEntry,
    profile: &'a SecurityProfile,
    model_id: &'a str,
    grounding: &'a Grounding,
}

/// The statement a model proposed. Its request cases follow from the
/// condition only for `Bool` (the insecure value and its opposite); any
/// other proposal has no compliant request, so the controls stage cannot
/// execute it and drops it with that reason.
fn scp_spec(item: &Additional) -> PreventiveSpec {
    let mut spec = PreventiveSpec {
        actions: item.scp_actions.clone(),
        condition: item
            .scp_condition
            .as_ref()
            .map(|c| json!({ c.operator.clone(): { c.key.clone(): c.value.clone() } })),
        resource_type: None,
        not_resource: None,
        insecure: BTreeMap::new(),
        compliant: BTreeMap::new(),
        when_omitted: WhenOmitted::Unstated,
    };
    if let Some(condition) = &item.scp_condition
        && condition.operator == "Bool"
        && let Ok(denied) = condition.value.parse::<bool>()
    {
        spec.insecure.insert(condition.key.clone(), json!(denied));
        spec.compliant.insert(condition.key.clone(), json!(!denied));
    }
    spec
}

fn reject(report: &mut Verdicts, tally: &mut Tally, item: &str, reason: String) {
    tally.rejected += 1;
    report.reject(format!("{MODEL_ITEM_PREFIX}{item}"), reason);
}

fn accept(report: &mut Verdicts, tally: &mut Tally) {
    tally.accepted += 1;
    report.accept();
}

fn note<'r>(recommendation: &'r mut Recommendation, model_id: &str) -> &'r mut ModelNote {
    recommendation.model.get_or_insert_with(|| ModelNote {
        model_id: model_id.to_string(),
        rationale: None,
        priority_from: None,
        priority_reason: None,
    })
}

fn rank(priority: Priority) -> i32 {
    match priority {
        Priority::Critical => 0,
        Priority::High => 1,
        Priority::Medium => 2,
        Priority::Low => 3,
    }
}

/// Validate and apply an answer.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    kb: &Kb,
    service: &ServiceEntry,
    profile: &SecurityProfile,
    model_id: &str,
    grounding: &Grounding,
    answer: &Answer,
    recommendations: &mut Vec<Recommendation>,
    report: &mut Verdicts,
) -> Tally {
    let known: Vec<String> = recommendations
        .iter()
        .flat_map(Recommendation::own_names)
        .collect();
    let mut checker = Checker {
        names: ServiceNames::new(kb, service).with_extra(known),
        tally: Tally::default(),
    };
    let cx = Context {
        kb,
        service,
        profile,
        model_id,
        grounding,
    };
    let mut explained = BTreeSet::new();
    for item in &answer.rationales {
        match item {
            Ok(item) => rationale(
                &cx,
                &mut checker,
                item,
                &mut explained,
                recommendations,
                report,
            ),
            Err(reason) => unreadable(&mut checker, report, reason),
        }
    }
    let mut adjusted = BTreeSet::new();
    for item in &answer.adjustments {
        match item {
            Ok(item) => adjustment(
                &cx,
                &mut checker,
                item,
                &mut adjusted,
                recommendations,
                report,
            ),
            Err(reason) => unreadable(&mut checker, report, reason),
        }
    }
    additions(
        &cx,
        &mut checker,
        &answer.additional,
        recommendations,
        report,
    );
    // Items and the controls of items that were checked.
    checker.tally.proposed = checker.tally.accepted + checker.tally.rejected;
    // The same order as the deterministic result, whatever moved.
    recommendations.sort_by(|a, b| {
        (a.priority, &a.resource_type, &a.configuration_id).cmp(&(
            b.priority,
            &b.resource_type,
            &b.configuration_id,
        ))
    });
    checker.tally
}

/// The additional recommendations, each checked; at most [`MAX_ADDITIONAL`]
/// are added, the ones beyond are refused.
fn additions(
    cx: &Context<'_>,
    checker: &mut Checker<'_>,
    items: &[Item<Additional>],
    recommendations: &mut Vec<Recommendation>,
    report: &mut Verdicts,
) {
    let mut added = 0;
    for item in items {
        match item {
            Ok(item) => {
                if added >= MAX_ADDITIONAL {
                    let label = format!("{} {}", item.resource_type, item.property);
                    reject(
                        report,
                        &mut checker.tally,
                        &label,
                        format!("more than {MAX_ADDITIONAL} additional recommendations"),
                    );
                } else if additional(cx, checker, item, recommendations, report) {
                    added += 1;
                }
            }
            Err(reason) => unreadable(checker, report, reason),
        }
    }
}

fn unreadable(checker: &mut Checker<'_>, report: &mut Verdicts, reason: &str) {
    reject(
        report,
        &mut checker.tally,
        "unreadable item",
        reason.to_string(),
    );
}

/// The recommendation a model item refers to; an unknown id is an invented
/// name and rejects the item.
fn locate(
    checker: &mut Checker<'_>,
    recommendations: &[Recommendation],
    configuration_id: &str,
    label: &str,
    report: &mut Verdicts,
) -> Option<usize> {
    let found = recommendations
        .iter()
        .position(|r| r.configuration_id == configuration_id);
    checker.name(found.is_some());
    if found.is_none() {
        let reason = format!("unknown configuration id {configuration_id}");
        reject(report, &mut checker.tally, label, reason);
    }
    found
}

fn rationale(
    cx: &Context<'_>,
    checker: &mut Checker<'_>,
    item: &RationaleItem,
    explained: &mut BTreeSet<String>,
    recommendations: &mut [Recommendation],
    report: &mut Verdicts,
) {
    let label = format!("rationale for {}", item.configuration_id);
    let Some(index) = locate(
        checker,
        recommendations,
        &item.configuration_id,
        &label,
        report,
    ) else {
        return;
    };
    if !explained.insert(item.configuration_id.clone()) {
        let reason = "a second rationale for the same recommendation".to_string();
        return reject(report, &mut checker.tally, &label, reason);
    }
    if let Err(reason) = checker.prose(&item.rationale) {
        return reject(report, &mut checker.tally, &label, reason);
    }
    note(&mut recommendations[index], cx.model_id).rationale = Some(item.rationale.clone());
    accept(report, &mut checker.tally);
}

fn adjustment(
    cx: &Context<'_>,
    checker: &mut Checker<'_>,
    item: &Adjustment,
    adjusted: &mut BTreeSet<String>,
    recommendations: &mut [Recommendation],
    report: &mut Verdicts,
) {
    let label = format!("priority of {}", item.configuration_id);
    let Some(index) = locate(
        checker,
        recommendations,
        &item.configuration_id,
        &label,
        report,
    ) else {
        return;
    };
    let from = recommendations[index].priority;
    let steps = (rank(from) - rank(item.priority)).abs();
    let refused = if !adjusted.insert(item.configuration_id.clone()) {
        Some("a second adjustment of the same recommendation".to_string())
    } else if steps == 0 {
        Some(format!("keeps the priority {}", from.as_str()))
    } else if steps > 1 {
        Some(format!(
            "moves the priority from {} to {}, {steps} steps; at most one is allowed",
            from.as_str(),
            item.priority.as_str()
        ))
    } else {
        checker.prose(&item.reason).err()
    };
    if let Some(reason) = refused {
        return reject(report, &mut checker.tally, &label, reason);
    }
    let recommendation = &mut recommendations[index];
    recommendation.priority = item.priority;
    let note = note(recommendation, cx.model_id);
    note.priority_from = Some(from);
    note.priority_reason = Some(item.reason.clone());
    accept(report, &mut checker.tally);
}

/// The value as the property can take it: JSON text is parsed, and a string
/// that is not JSON (or parses to the wrong type) is taken as a string.
fn value_for(kb: &Kb, resource_type: &str, property: &str, raw: &Value) -> Result<Value, String> {
    let (schema, property) = validate::property(kb, resource_type, property)?;
    let mut candidates = Vec::new();
    match raw {
        Value::String(text) => {
            if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                candidates.push(parsed);
            }
            candidates.push(raw.clone());
        }
        other => candidates.push(other.clone()),
    }
    let mut first_error = None;
    for candidate in candidates {
        if !(candidate.is_string() || candidate.is_number() || candidate.is_boolean()) {
            first_error.get_or_insert_with(|| {
                format!("{candidate} is not a literal value; only literals may be proposed")
            });
            continue;
        }
        match validate::value(schema, property, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(reason) => {
                first_error.get_or_insert(reason);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| "no value".to_string()))
}

/// Words of property names that switch a protection on when true.
const PROTECTIONS: &[&str] = &[
    "block",
    "encrypt",
    "enable",
    "protect",
    "restrict",
    "ignore",
    "require",
    "secure",
    "mfa",
    "logging",
    "versioning",
    "rotation",
    "lock",
    "audit",
    "tls",
    "ssl",
    "https",
    "private",
];
/// Words of property names that open something up when true.
const EXPOSURES: &[&str] = &["public", "insecure", "allowall", "anonymous", "unauth"];
/// Values that open access or switch a protection off.
const WEAK_VALUES: &[&str] = &[
    "*",
    "0.0.0.0/0",
    "::/0",
    "disabled",
    "disable",
    "suspended",
    "off",
    "none",
    "false",
    "authenticatedread",
    "allusers",
];

/// A value the model proposes must not weaken the resource: a setting that
/// opens access or switches a protection off is refused, even when the
/// schema allows it (a profile text could try to talk the model into it).
fn weakens(property: &str, value: &Value) -> Option<String> {
    let leaf = property
        .rsplit('.')
        .next()
        .unwrap_or(property)
        .to_ascii_lowercase();
    // `BlockPublicAcls` protects; `MapPublicIpOnLaunch` exposes.
    let protection = PROTECTIONS.iter().any(|word| leaf.contains(word));
    let exposure = !protection && EXPOSURES.iter().any(|word| leaf.contains(word));
    let weak = match value {
        Value::Bool(true) => exposure,
        Value::Bool(false) => protection,
        Value::String(text) => {
            let lower = text.to_ascii_lowercase();
            lower.contains("public") || WEAK_VALUES.contains(&lower.as_str())
        }
        _ => false,
    };
    weak.then(|| {
        format!(
            "{value} would weaken {property}; only values that protect are accepted from the model"
        )
    })
}

/// `ObjectLockConfiguration.ObjectLockEnabled` -> `model-objectlockconfiguration-objectlockenabled`.
fn key_for(property: &str) -> String {
    let slug: String = property
        .replace("[]", "")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("model-{}", slug.trim_matches('-'))
}

/// Returns whether the recommendation was added.
fn additional(
    cx: &Context<'_>,
    checker: &mut Checker<'_>,
    item: &Additional,
    recommendations: &mut Vec<Recommendation>,
    report: &mut Verdicts,
) -> bool {
    let label = format!("{} {}", item.resource_type, item.property);
    let refused = |checker: &mut Checker<'_>, report: &mut Verdicts, reason: String| {
        reject(report, &mut checker.tally, &label, reason);
        false
    };
    let (config_rule, scp_known) = known_control_names(cx, checker, item, &label, report);
    let value = match checked_value(cx, checker, item, recommendations) {
        Ok(value) => value,
        Err(reason) => return refused(checker, report, reason),
    };
    let entry = model_entry(item, value, config_rule, scp_known);
    // The same checks as a catalogue entry: property and value again, the
    // Config rule (exists, parameters, evaluates this type) and the SCP
    // (actions exist, condition keys exist and apply). A failing control is
    // dropped and listed; the recommendation keeps the rest.
    let before = report.rejected.len();
    let built = recommend::from_entry(
        cx.kb,
        cx.service,
        &entry,
        cx.profile,
        Confidence::ModelProposed,
        report,
    );
    for rejection in &mut report.rejected[before..] {
        rejection.item = format!("{MODEL_ITEM_PREFIX}{}", rejection.item);
        checker.tally.rejected += 1;
    }
    let Some(mut recommendation) = built else {
        return false;
    };
    if recommendations
        .iter()
        .any(|r| r.configuration_id == recommendation.configuration_id)
    {
        let reason = format!(
            "configuration id {} is already taken",
            recommendation.configuration_id
        );
        return refused(checker, report, reason);
    }
    recommendation.model = Some(ModelNote {
        model_id: cx.model_id.to_string(),
        rationale: None,
        priority_from: None,
        priority_reason: None,
    });
    recommendations.push(recommendation);
    checker.tally.accepted += 1;
    true
}

/// The item's Config rule if it exists, and whether every SCP action and
/// condition key exists. Every name counts, and each one that does not exist
/// is listed on its own; a control naming one is dropped, not the item.
fn known_control_names(
    cx: &Context<'_>,
    checker: &mut Checker<'_>,
    item: &Additional,
    label: &str,
    report: &mut Verdicts,
) -> (Option<String>, bool) {
    let mut config_rule = item.config_rule.clone();
    if let Some(rule) = &item.config_rule
        && !checker.name(cx.kb.config_rule(rule).is_some())
    {
        let reason = format!("unknown Config rule {rule}");
        reject(
            report,
            &mut checker.tally,
            &format!("{label}: Config rule {rule}"),
            reason,
        );
        config_rule = None;
    }
    let mut scp_known = true;
    for action in &item.scp_actions {
        if !checker.name(cx.kb.action(action).ok().flatten().is_some()) {
            let reason = format!("unknown action {action}");
            reject(
                report,
                &mut checker.tally,
                &format!("{label}: SCP action {action}"),
                reason,
            );
            scp_known = false;
        }
    }
    if let Some(condition) = &item.scp_condition
        && !checker.name(cx.kb.condition_key(&condition.key).ok().flatten().is_some())
    {
        let reason = format!("unknown condition key {}", condition.key);
        let what = format!("{label}: SCP condition key {}", condition.key);
        reject(report, &mut checker.tally, &what, reason);
        scp_known = false;
    }
    (config_rule, scp_known)
}

/// The item's value once its resource type, property, value and prose pass:
/// a type of the service, a property of the schema that is no free-form
/// document, among the candidates and not yet recommended, a value of the
/// property's type that does not weaken it. Otherwise why the item is refused.
fn checked_value(
    cx: &Context<'_>,
    checker: &mut Checker<'_>,
    item: &Additional,
    recommendations: &[Recommendation],
) -> Result<Value, String> {
    if !checker.name(
        cx.kb
            .resource_type(&item.resource_type)
            .ok()
            .flatten()
            .is_some(),
    ) {
        return Err(format!("unknown resource type {}", item.resource_type));
    }
    if !cx.service.resource_types.contains(&item.resource_type) {
        return Err(format!(
            "{} is not a resource type of {}",
            item.resource_type, cx.service.id
        ));
    }
    match validate::document_path(cx.kb, &item.resource_type, &item.property) {
        Err(reason) => {
            checker.name(!reason.starts_with("unknown property"));
            return Err(reason);
        }
        Ok((_, _, true)) => {
            checker.name(true);
            return Err(
                "the property holds a free-form document; values inside it cannot be validated"
                    .to_string(),
            );
        }
        Ok(_) => {
            checker.name(true);
        }
    }
    if !cx
        .grounding
        .is_candidate(&item.resource_type, &item.property)
    {
        return Err("the property was not among the listed candidate properties".to_string());
    }
    let plain = item.property.replace("[]", "");
    if let Some(existing) = recommendations
        .iter()
        .find(|r| r.resource_type == item.resource_type && r.property.replace("[]", "") == plain)
    {
        return Err(format!(
            "already recommended as {}",
            existing.configuration_id
        ));
    }
    let value = value_for(cx.kb, &item.resource_type, &item.property, &item.value)?;
    if let Some(reason) = weakens(&item.property, &value) {
        return Err(reason);
    }
    for text in [&item.title, &item.rationale] {
        checker.prose(text)?;
    }
    Ok(value)
}

/// The item as a catalogue entry of the pseudo-control `model`, so that it
/// goes through the catalogue's own checks; controls with unknown names are
/// left out.
fn model_entry(
    item: &Additional,
    value: Value,
    config_rule: Option<String>,
    scp_known: bool,
) -> CatalogueEntry {
    CatalogueEntry {
        control_id: "model".into(),
        resource_type: item.resource_type.clone(),
        key: key_for(&item.property),
        title: item.title.clone(),
        property: item.property.clone(),
        expect: RawExpectation::Equals(value),
        value: None,
        domain: item.domain,
        stride: item.threat,
        priority: item.priority,
        rationale: item.rationale.clone(),
        config_rule: config_rule.map(|identifier| RawConfigRule {
            identifier,
            parameters: BTreeMap::new(),
        }),
        security_hub: Vec::new(),
        compliance: BTreeMap::new(),
        preventive: (scp_known && !item.scp_actions.is_empty())
            .then(|| Preventive::Scp(vec![scp_spec(item)])),
        applies_when: None,
        when_set: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_open_access_or_switch_protection_off_are_refused() {
        assert!(weakens("AccessControl", &json!("PublicReadWrite")).is_some());
        assert!(
            weakens(
                "PublicAccessBlockConfiguration.BlockPublicAcls",
                &json!(false)
            )
            .is_some()
        );
        assert!(weakens("MapPublicIpOnLaunch", &json!(true)).is_some());
        assert!(weakens("VersioningConfiguration.Status", &json!("Suspended")).is_some());
        assert!(weakens("ObjectLockEnabled", &json!(true)).is_none());
        assert!(weakens("VersioningConfiguration.Status", &json!("Enabled")).is_none());
        assert!(
            weakens(
                "OwnershipControls.Rules[].ObjectOwnership",
                &json!("BucketOwnerEnforced")
            )
            .is_none()
        );
    }

    #[test]
    fn keys_are_slugs_of_the_property() {
        assert_eq!(
            key_for("ObjectLockConfiguration.Rule.DefaultRetention.Mode"),
            "model-objectlockconfiguration-rule-defaultretention-mode"
        );
        assert_eq!(key_for("A[].B"), "model-a-b");
    }
}
