//! Turning catalogue entries and inferred candidates into validated
//! recommendations for one service and profile.

use crate::catalogue::CatalogueEntry;
use crate::{check, infer, operational, tagging, tailor};
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{Confidence, ConfigRuleRef, Preventive, Recommendation};
use gensec_core::contract::stage::{StageId, Verdicts};
use gensec_kb::controls::RawConfigRule;
use gensec_kb::{Kb, ServiceEntry};
use std::collections::BTreeSet;

pub const STAGE: &str = "analysis";

/// Reasons for inferred candidates left out of a package start with this.
pub const INFERRED_CAP_REASON: &str = "inferred cap";

/// Inferred recommendations may be at most 3 in 10 of a package:
/// `inferred / (curated + inferred) <= 3/10`, that is `inferred <= 3 * curated / 7`
/// (which also keeps them from outnumbering curated ones).
pub fn inferred_allowance(curated: usize) -> usize {
    curated * 3 / 7
}

/// Keep the most valuable inferred recommendations the allowance permits
/// (by priority, then the category's curated rank); every one left out is
/// recorded in the validation report with the reason. Only where the
/// catalogue covers the service: the tagging control applies to every
/// service and says nothing service-specific, so it does not count, and a
/// service with no other curated control keeps its inferred items (they are
/// all the package has to say about it).
fn cap_inferred(recommendations: &mut Vec<Recommendation>, report: &mut Verdicts) {
    let curated = recommendations
        .iter()
        .filter(|r| {
            r.confidence == Confidence::Curated
                && r.control_id != tagging::CONTROL_ID
                && !r.is_operational()
        })
        .count();
    if curated == 0 {
        return;
    }
    let allowed = inferred_allowance(curated);
    let rank = |r: &Recommendation| infer::category_of(&r.control_id).map_or(u32::MAX, |c| c.rank);
    let mut inferred: Vec<&Recommendation> = recommendations
        .iter()
        .filter(|r| r.confidence == Confidence::Inferred)
        .collect();
    if inferred.len() <= allowed {
        return;
    }
    inferred.sort_by(|a, b| {
        (a.priority, rank(a), &a.resource_type, &a.configuration_id).cmp(&(
            b.priority,
            rank(b),
            &b.resource_type,
            &b.configuration_id,
        ))
    });
    let dropped: BTreeSet<String> = inferred[allowed..]
        .iter()
        .map(|r| r.configuration_id.clone())
        .collect();
    let total_inferred = inferred.len();
    recommendations.retain(|r| {
        if !dropped.contains(&r.configuration_id) {
            return true;
        }
        // It had been accepted by the validators; it now counts as left out.
        report.accepted = report.accepted.saturating_sub(1);
        report.checked = report.checked.saturating_sub(1);
        report.reject(
            format!("{} {} ({})", r.resource_type, r.property, r.configuration_id),
            format!(
                "{INFERRED_CAP_REASON}: {curated} curated recommendations allow {allowed} of {total_inferred} inferred (at most 30% of the package, never more than the curated ones); {} priority, category {} ranked below those kept",
                r.priority.as_str(),
                r.control_id.strip_prefix(infer::INFERRED_PREFIX).unwrap_or(&r.control_id)
            ),
        );
        false
    });
}

/// `CFG-<SERVICE>-<TYPE>-<KEY>`: stable for the same service, type and property,
/// so a re-run updates the library entry instead of adding one. The namespace
/// is included when it differs from the service (services with several).
pub fn configuration_id(service_id: &str, resource_type: &str, key: &str) -> String {
    let mut parts = resource_type.split("::").skip(1);
    let namespace = parts.next().unwrap_or_default();
    let type_short = parts.next().unwrap_or_default();
    let service = service_id.to_uppercase().replace('-', "");
    let mut id = format!("CFG-{service}-");
    if namespace.to_uppercase() != service {
        id.push_str(&namespace.to_uppercase());
        id.push('-');
    }
    id.push_str(&type_short.to_uppercase());
    id.push('-');
    id.push_str(&key.to_uppercase());
    id
}

/// What a control says beyond its setting: its Config rule, SCP and
/// Security Hub ids, as the catalogue holds them.
#[derive(Debug, Clone, Copy)]
pub struct ControlData<'a> {
    pub config_rule: Option<&'a RawConfigRule>,
    pub preventive: Option<&'a Preventive>,
    pub security_hub: &'a [String],
}

/// The control's Config rule (parameters resolved from the profile), SCP
/// and Security Hub ids that the knowledge base confirms for `resource_type`;
/// each one it refutes is dropped and reported under `item`.
pub fn validated_controls(
    kb: &Kb,
    item: &str,
    resource_type: &str,
    data: ControlData<'_>,
    profile: &SecurityProfile,
    report: &mut Verdicts,
) -> (Option<ConfigRuleRef>, Option<Preventive>, Vec<String>) {
    let detective = data.config_rule.and_then(|rule| {
        let checked = check::rule_parameters(&rule.parameters, profile).and_then(|parameters| {
            check::detective(kb, resource_type, &rule.identifier, &parameters)?;
            Ok(parameters)
        });
        match checked {
            Ok(parameters) => Some(ConfigRuleRef {
                identifier: rule.identifier.clone(),
                parameters,
            }),
            Err(reason) => {
                report.reject(format!("{item}: Config rule {}", rule.identifier), reason);
                None
            }
        }
    });
    let preventive =
        data.preventive
            .and_then(|preventive| match check::preventive(kb, preventive) {
                Ok(()) => Some(preventive.clone()),
                Err(reason) => {
                    report.reject(format!("{item}: SCP"), reason);
                    None
                }
            });
    let security_hub_controls = data
        .security_hub
        .iter()
        .filter(|id| match check::security_hub_id(id) {
            Ok(()) => true,
            Err(reason) => {
                report.reject(format!("{item}: Security Hub {id}"), reason);
                false
            }
        })
        .cloned()
        .collect();
    (detective, preventive, security_hub_controls)
}

/// Validate one entry; a failing detective or preventive control is dropped
/// (and reported) without dropping the recommendation itself.
pub fn from_entry(
    kb: &Kb,
    service: &ServiceEntry,
    entry: &CatalogueEntry,
    profile: &SecurityProfile,
    confidence: Confidence,
    report: &mut Verdicts,
) -> Option<Recommendation> {
    let item = format!("{} {}", entry.resource_type, entry.property);
    let (expectation, recommended_value) = match check::property_and_values(kb, entry, profile) {
        Ok(found) => found,
        Err(reason) => {
            report.reject(item, reason);
            return None;
        }
    };
    report.accept();
    let (detective, preventive, security_hub_controls) = validated_controls(
        kb,
        &item,
        &entry.resource_type,
        ControlData {
            config_rule: entry.config_rule.as_ref(),
            preventive: entry.preventive.as_ref(),
            security_hub: &entry.security_hub,
        },
        profile,
        report,
    );
    Some(Recommendation {
        configuration_id: configuration_id(&service.id, &entry.resource_type, &entry.key),
        control_id: entry.control_id.clone(),
        service_id: service.id.clone(),
        service_name: service.display_name.clone(),
        resource_type: entry.resource_type.clone(),
        title: entry.title.clone(),
        property: entry.property.clone(),
        expectation,
        recommended_value,
        security_domain: entry.domain,
        threat_vector: entry.stride,
        priority: tailor::priority(entry.priority, profile),
        rationale: entry.rationale.clone(),
        confidence,
        detective,
        security_hub_controls,
        preventive,
        compliance: tailor::compliance(&entry.compliance, profile),
        operational: None,
        model: None,
        applies_to: Vec::new(),
        when_set: entry.when_set.clone(),
    })
}

/// Everything recommended for a service: catalogue entries for the types the
/// catalogue covers, inferred candidates for the rest.
pub fn recommend(
    kb: &Kb,
    service: &ServiceEntry,
    catalogue: &[CatalogueEntry],
    profile: &SecurityProfile,
) -> (Vec<Recommendation>, Verdicts) {
    let mut report = Verdicts::new(StageId::Analysis);
    let mut recommendations = Vec::new();
    let types: BTreeSet<&str> = service.resource_types.iter().map(String::as_str).collect();
    let mut covered = BTreeSet::new();
    for entry in catalogue
        .iter()
        .filter(|entry| types.contains(entry.resource_type.as_str()))
    {
        covered.insert(entry.resource_type.as_str());
        if !tailor::applies(entry.applies_when, profile) {
            continue;
        }
        recommendations.extend(from_entry(
            kb,
            service,
            entry,
            profile,
            Confidence::Curated,
            &mut report,
        ));
    }
    for type_name in types.difference(&covered) {
        let Ok(Some(schema)) = kb.resource_type(type_name) else {
            continue;
        };
        for entry in infer::candidates(kb, schema) {
            if !tailor::applies(entry.applies_when, profile) {
                continue;
            }
            recommendations.extend(from_entry(
                kb,
                service,
                &entry,
                profile,
                Confidence::Inferred,
                &mut report,
            ));
        }
    }
    recommendations.extend(operational::recommendations(
        kb,
        service,
        profile,
        &mut report,
    ));
    // Same configuration id twice means two rules for one property: keep the first.
    let mut seen = BTreeSet::new();
    recommendations.retain(|r: &Recommendation| seen.insert(r.configuration_id.clone()));
    // One tagging recommendation for the whole service, on the type most of
    // its curated recommendations are on (the service's main resource).
    let mut per_type: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in recommendations
        .iter()
        .filter(|r| r.confidence == Confidence::Curated && !r.is_operational())
    {
        *per_type.entry(r.resource_type.as_str()).or_default() += 1;
    }
    let anchor = per_type
        .iter()
        .max_by_key(|(_, count)| **count)
        .map(|(t, _)| t.to_string());
    recommendations.extend(tagging::recommendation(
        kb,
        service,
        anchor.as_deref(),
        profile,
        &mut report,
    ));
    cap_inferred(&mut recommendations, &mut report);
    recommendations.sort_by(|a, b| {
        (a.priority, &a.resource_type, &a.configuration_id).cmp(&(
            b.priority,
            &b.resource_type,
            &b.configuration_id,
        ))
    });
    (recommendations, report)
}
