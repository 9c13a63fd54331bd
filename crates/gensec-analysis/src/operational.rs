//! Operational controls of the catalogue (account or organisation settings,
//! processes: EBS encryption by default, GuardDuty enabled, key rotation
//! reviewed) as recommendations of the services they belong to. They have no
//! template property, so no Guard rule and no template setting; what they
//! carry is what to do, the managed Config rule that watches it, the SCP
//! where one applies and the Security Hub controls they answer.

use crate::recommend::{self, ControlData};
use crate::{catalogue, tailor};
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{Confidence, Expectation, Recommendation};
use gensec_core::contract::stage::Verdicts;
use gensec_kb::controls::Control;
use gensec_kb::{Kb, ServiceEntry};
use serde_json::Value;

/// `CFG-<SERVICE>-OPS-<CONTROL>`: stable per service and control.
pub fn configuration_id(service_id: &str, control_id: &str) -> String {
    format!(
        "CFG-{}-OPS-{}",
        service_id.to_uppercase().replace('-', ""),
        control_id.to_uppercase()
    )
}

/// The resource the control is about: the first type its Config rule
/// evaluates, else the first type of its Security Hub controls, else the
/// account.
fn resource_type(kb: &Kb, control: &Control) -> String {
    let rule_types = control
        .config_rule
        .as_ref()
        .and_then(|rule| kb.config_rule(&rule.identifier))
        .filter(|rule| rule.details_known)
        .and_then(|rule| rule.resource_types.first().cloned());
    rule_types
        .or_else(|| {
            control
                .security_hub
                .iter()
                .filter_map(|id| kb.security_hub_control(id))
                .find_map(|facts| facts.cfn_resource_types.first().cloned())
        })
        .unwrap_or_else(|| gensec_kb::ACCOUNT_CONFIG_TYPE.to_string())
}

/// One recommendation per operational control of the service that applies
/// under the profile; a Config rule, SCP or Security Hub id the knowledge
/// base refutes is dropped and reported, the recommendation kept.
pub fn recommendations(
    kb: &Kb,
    service: &ServiceEntry,
    profile: &SecurityProfile,
    report: &mut Verdicts,
) -> Vec<Recommendation> {
    let Ok(controls) = catalogue::controls() else {
        return Vec::new();
    };
    controls
        .controls()
        .iter()
        .filter(|control| control.is_operational())
        .filter(|control| control.services.contains(&service.id))
        .filter(|control| tailor::applies(control.applies_when, profile))
        .map(|control| recommendation(kb, service, control, profile, report))
        .collect()
}

fn recommendation(
    kb: &Kb,
    service: &ServiceEntry,
    control: &Control,
    profile: &SecurityProfile,
    report: &mut Verdicts,
) -> Recommendation {
    let resource_type = resource_type(kb, control);
    let item = format!("operational control {}", control.id);
    report.accept();
    let (detective, preventive, security_hub_controls) = recommend::validated_controls(
        kb,
        &item,
        &resource_type,
        ControlData {
            config_rule: control.config_rule.as_ref(),
            preventive: control.preventive.as_ref(),
            security_hub: &control.security_hub,
        },
        profile,
        report,
    );
    Recommendation {
        configuration_id: configuration_id(&service.id, &control.id),
        control_id: control.id.clone(),
        service_id: service.id.clone(),
        service_name: service.display_name.clone(),
        resource_type,
        title: control.title.clone(),
        property: String::new(),
        // Nothing in a template to compare; the operational text says what to do.
        expectation: Expectation::Present,
        recommended_value: Value::Null,
        security_domain: control.domain,
        threat_vector: control.stride,
        priority: tailor::priority(control.priority, profile),
        rationale: control.rationale.clone(),
        confidence: Confidence::Curated,
        detective,
        security_hub_controls,
        preventive,
        compliance: tailor::compliance(&control.compliance, profile),
        operational: control.operational.clone(),
        model: None,
        applies_to: Vec::new(),
        when_set: None,
    }
}
