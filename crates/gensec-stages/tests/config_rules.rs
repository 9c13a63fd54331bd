//! Config detective controls over every service with a template or a
//! catalogue requirement (one KB load per test): every custom Guard
//! policy reads only paths AWS Config records for its type (checked against
//! the configuration-item shape, independently of how the path was mapped)
//! and passes and fails its configuration-item cases; every managed rule has
//! every parameter in its parameter list, every required one set, and is
//! scoped to Config types it evaluates; every rule is schema-valid.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_controls::{detective, proactive, tagging};
use gensec_core::contract::analysis::Confidence;
use gensec_core::contract::controls::{ControlKind, GapCause, Verdict};
use gensec_core::contract::stage::{StageId, Verdicts};
use gensec_kb::{CiShape, Kb, validate};
use gensec_testkit::{MANAGEMENT_OPERATIONAL_SERVICES, example_profile, services_with_templates};
use serde_json::Value;
use std::collections::BTreeSet;

/// Configuration-item paths a Guard policy reads, as recorded paths without
/// list markers or quotes (`configuration.storageEncrypted`).
fn paths_read(policy: &str) -> Vec<String> {
    let mut found = Vec::new();
    for token in policy.split(|c: char| c.is_whitespace() || c == '{' || c == '}') {
        let token = token.trim_matches(|c| c == '(' || c == ')');
        if token.starts_with("configuration.") || token.starts_with("supplementaryConfiguration.") {
            found.push(token.replace("[*]", "").replace('"', ""));
        }
    }
    found
}

fn recorded(shape: &CiShape, path: &str) -> bool {
    shape
        .paths
        .keys()
        .any(|p| p == path || p.starts_with(&format!("{path}.")))
}

#[test]
fn config_rules_evaluate_real_configuration_items() {
    let kb = Kb::embedded().unwrap();
    let profile = example_profile();
    let catalogue = gensec_analysis::catalogue::load().unwrap();
    let mut problems = Vec::new();
    let (mut custom, mut managed, mut unrecorded, mut refused) = (0, 0, 0, 0);
    let mut unrecorded_types = 0;
    // S3 Glacier has no CloudFormation type: its Config rules are managed ones only.
    // Issue 18's services without a template, and every other service the
    // catalogue covers (GuardDuty, whose detector no template builds): their
    // Config rules too.
    let mut services: BTreeSet<String> = services_with_templates()
        .chain(["Glacier"])
        .chain(MANAGEMENT_OPERATIONAL_SERVICES)
        .map(|name| kb.resolve_service(name).unwrap().id.clone())
        .collect();
    services.extend(catalogue_services(&kb, &catalogue));
    for id in &services {
        let service = kb.resolve_service(id).unwrap();
        let (recommendations, _) =
            gensec_analysis::recommend::recommend(&kb, service, &catalogue, &profile);
        let mut report = Verdicts::new(StageId::Controls);
        let out = detective::build(&kb, &service.id, &recommendations, &mut report);
        for reject in &report.rejected {
            if reject.item.starts_with("custom Config rule") {
                problems.push(format!(
                    "{}: {} rejected: {}",
                    service.id, reject.item, reject.reason
                ));
            }
        }
        for gap in &out.gaps {
            match (gap.kind, gap.cause) {
                (ControlKind::ConfigCustomRule, GapCause::NotExpressible) => {
                    assert!(gap.reason.contains("Config does not record"), "{gap:?}");
                    unrecorded += 1;
                    // "Config does not record AWS::T" (the type) or "... P for AWS::T" (a path).
                    if gap.reason.starts_with("Config does not record AWS::") {
                        unrecorded_types += 1;
                    }
                }
                (ControlKind::ConfigManagedRule, _) => refused += 1,
                _ => {}
            }
        }
        let template = out.template.clone().unwrap_or(Value::Null);
        let resources = template["Resources"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(resources.len(), out.controls.len(), "{}", service.id);
        for control in &out.controls {
            let resource = resources
                .values()
                .find(|r| r["Properties"]["ConfigRuleName"] == control.name.as_str())
                .unwrap();
            let properties = &resource["Properties"];
            problems.extend(
                validate::resource(&kb, "AWS::Config::ConfigRule", properties)
                    .unwrap()
                    .into_iter()
                    .map(|p| format!("{}: {p}", control.name)),
            );
            let scope: Vec<&str> = properties["Scope"]["ComplianceResourceTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for config_type in &scope {
                if !kb
                    .config_types()
                    .iter()
                    .any(|a| a.config_type == *config_type)
                {
                    problems.push(format!(
                        "{}: {config_type} is not a Config type",
                        control.name
                    ));
                }
            }
            match control.kind {
                ControlKind::ConfigCustomRule => {
                    custom += 1;
                    let policy = properties["Source"]["CustomPolicyDetails"]["PolicyText"]
                        .as_str()
                        .unwrap();
                    let [config_type] = scope.as_slice() else {
                        panic!("{}: custom rule scoped to {scope:?}", control.name)
                    };
                    assert!(policy.contains(&format!("resourceType == \"{config_type}\"")));
                    let shape = kb.configuration_item_shape(config_type).unwrap().unwrap();
                    let read = paths_read(policy);
                    assert!(
                        !read.is_empty(),
                        "{}: reads nothing\n{policy}",
                        control.name
                    );
                    for path in read {
                        if !recorded(shape, &path) {
                            problems.push(format!(
                                "{}: reads {path}, which Config does not record for {config_type}",
                                control.name
                            ));
                        }
                    }
                    let verdicts: Vec<Verdict> = control.cases.iter().map(|c| c.actual).collect();
                    if !control.cases.iter().all(|c| c.passed())
                        || !verdicts.contains(&Verdict::Pass)
                        || !verdicts.contains(&Verdict::Fail)
                    {
                        problems.push(format!("{}: cases {:?}", control.name, control.cases));
                    }
                }
                ControlKind::ConfigManagedRule => {
                    managed += 1;
                    let identifier = properties["Source"]["SourceIdentifier"].as_str().unwrap();
                    let rule = kb.config_rule(identifier).unwrap();
                    let parameters = properties["InputParameters"].as_object();
                    for parameter in parameters.into_iter().flatten() {
                        if !rule.parameters.iter().any(|p| &p.name == parameter.0) {
                            problems
                                .push(format!("{}: no parameter {}", control.name, parameter.0));
                        }
                    }
                    for required in rule.parameters.iter().filter(|p| !p.optional) {
                        if !parameters.is_some_and(|p| p.contains_key(&required.name)) {
                            problems.push(format!(
                                "{}: {identifier} lacks required parameter {}",
                                control.name, required.name
                            ));
                        }
                    }
                    for config_type in &scope {
                        if rule.details_known
                            && !rule.resource_types.iter().any(|t| t == config_type)
                        {
                            problems.push(format!(
                                "{}: {identifier} does not evaluate {config_type}",
                                control.name
                            ));
                        }
                    }
                }
                _ => problems.push(format!("{}: not a Config rule", control.name)),
            }
        }
    }
    eprintln!(
        "Config rules over {} services: {custom} custom, {managed} managed; {unrecorded} requirements Config does not record ({unrecorded_types} of an unrecorded type, {} a path the item lacks); {refused} managed rules refused",
        services.len(),
        unrecorded - unrecorded_types
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(custom >= 40, "{custom} custom rules");
    assert!(managed >= 80, "{managed} managed rules");
}

/// The services of the catalogue's requirements' resource types.
fn catalogue_services(
    kb: &Kb,
    catalogue: &[gensec_analysis::catalogue::CatalogueEntry],
) -> BTreeSet<String> {
    catalogue
        .iter()
        .filter_map(|entry| {
            let (namespace, _) = entry.resource_type.rsplit_once("::")?;
            kb.resolve_service(namespace).ok().map(|s| s.id.clone())
        })
        .collect()
}

/// Every service the control catalogue covers, not only the test services:
/// each curated requirement's Guard rule is written and passes and fails
/// its own cases, as the controls stage demands. A rule form Guard does not
/// parse, or a case that misbehaves, fails here whichever service has it
/// (the tagging rule, the same for every service, is run by the package
/// tests).
#[test]
fn every_catalogue_service_keeps_every_curated_guard_rule() {
    let kb = Kb::embedded().unwrap();
    let profile = example_profile();
    let catalogue = gensec_analysis::catalogue::load().unwrap();
    let services = catalogue_services(&kb, &catalogue);
    let (mut rules, mut problems) = (0, Vec::new());
    for id in &services {
        let service = kb.resolve_service(id).unwrap();
        let (recommendations, _) =
            gensec_analysis::recommend::recommend(&kb, service, &catalogue, &profile);
        let curated: Vec<_> = recommendations
            .into_iter()
            .filter(|r| r.confidence == Confidence::Curated && !tagging::is_tagging(r))
            .collect();
        let mut report = Verdicts::new(StageId::Controls);
        let out = proactive::build(&service.id, "catalogue test", &curated, None, &mut report);
        rules += out.controls.len();
        problems.extend(
            report
                .rejected
                .iter()
                .map(|r| format!("{}: {}: {}", service.id, r.item, r.reason)),
        );
    }
    eprintln!(
        "{} services, {rules} curated Guard rules kept",
        services.len()
    );
    assert!(
        services.len() >= 60 && rules >= 400,
        "{} services, {rules} rules",
        services.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
