//! Detective controls: AWS Config rules as a deployable CloudFormation
//! template. Every managed rule that evaluates the package's types and answers
//! one of its controls (its own rule, or its Security Hub controls' rules),
//! with every required parameter set, or none; otherwise a custom policy rule
//! written in Guard over the path Config records (the configuration-item
//! shape), executed against configuration items before it is emitted.

use crate::guard::{self, guard_path};
use crate::selftest::{self, Outcome, evaluate_each, set_path, verdict};
use gensec_core::contract::analysis::{Confidence, Recommendation};
use gensec_core::contract::controls::{
    ControlGap, ControlKind, ExecutedCase, GapCause, GeneratedControl,
};
use gensec_core::contract::paths;
use gensec_core::contract::stage::Verdicts;
use gensec_kb::{CiPath, CiValueType, Kb, validate};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// What the detective step produced.
#[derive(Debug, Default)]
pub struct Detective {
    /// CloudFormation template with one `AWS::Config::ConfigRule` per rule.
    pub template: Option<Value>,
    /// Custom policy rules, as `.guard` files: (file name, text).
    pub custom_policies: Vec<(String, String)>,
    /// One per rule kept.
    pub controls: Vec<GeneratedControl>,
    /// Recommendations left without a rule of a kind, and why.
    pub gaps: Vec<ControlGap>,
}

fn logical_id(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule_name(service_id: &str, suffix: &str) -> String {
    let name = format!(
        "gensec-{service_id}-{}",
        suffix.to_ascii_lowercase().replace('_', "-")
    );
    name.chars().take(128).collect()
}

/// The recorded path of a variant setting's block: the property's recorded
/// path without the segments that follow the block in the property.
fn block_ci_path(recommendation: &Recommendation, ci_path: &CiPath) -> Option<String> {
    let block = recommendation.when_set.as_deref()?;
    let rest = recommendation.property.strip_prefix(block)?;
    let inner = rest.split('.').filter(|s| !s.is_empty()).count();
    let segments: Vec<&str> = ci_path.path.split('.').collect();
    (segments.len() > inner).then(|| segments[..segments.len() - inner].join("."))
}

/// Guard over a Config configuration item, reading the path Config records.
fn custom_policy(
    recommendation: &Recommendation,
    ci_path: &CiPath,
    name: &str,
) -> Result<String, String> {
    let target = guard_path(&ci_path.path);
    let message = format!(
        "Violation: [{}] {}",
        recommendation.configuration_id,
        recommendation.title.replace(">>", "> >")
    );
    let mut lines = guard::with_message(
        guard::clauses(&target, &recommendation.expectation)?,
        &message,
    );
    if recommendation.when_set.is_some() {
        // A setting of one variant: items of another variant skip it.
        let block = block_ci_path(recommendation, ci_path)
            .ok_or_else(|| format!("no recorded path for the block of {}", ci_path.path))?;
        let mut within = vec![format!("when {} exists {{", guard_path(&block))];
        within.extend(lines.into_iter().map(|line| format!("    {line}")));
        within.push("}".into());
        lines = within;
    }
    Ok(format!(
        "rule {name} when resourceType == \"{}\" {{\n    {}\n}}\n",
        ci_path.config_type,
        lines.join("\n    "),
    ))
}

/// A configuration item as Config delivers it (configuration item schema
/// 1.3: the envelope, `configuration`, `supplementaryConfiguration`), with
/// the value at the recorded path when there is one.
pub fn configuration_item(ci_path: &CiPath, value: Option<Value>) -> Value {
    let mut item = Map::new();
    for (key, field) in [
        ("version", json!("1.3")),
        ("accountId", json!("123456789012")),
        (
            "configurationItemCaptureTime",
            json!("2026-01-01T00:00:00.000Z"),
        ),
        ("configurationItemStatus", json!("OK")),
        ("configurationStateId", json!("1767225600000")),
        ("awsRegion", json!("us-east-1")),
        ("resourceType", json!(ci_path.config_type)),
        ("resourceId", json!("gensec-self-test")),
        ("resourceName", json!("gensec-self-test")),
        ("tags", json!({})),
        ("relationships", json!([])),
        ("configuration", json!({})),
        ("supplementaryConfiguration", json!({})),
    ] {
        item.insert(key.to_string(), field);
    }
    if let Some(value) = value {
        set_path(&mut item, &ci_path.path, value);
    }
    Value::Object(item)
}

/// Whether a case value has the type Config records at the path; a mismatch
/// (a string where Config records a boolean) means the rule would compare
/// unlike values and never match a real item.
fn value_fits(value: &Value, value_type: Option<CiValueType>) -> bool {
    let Some(value_type) = value_type else {
        return true;
    };
    match value {
        Value::Array(items) => items.iter().all(|item| value_fits(item, Some(value_type))),
        Value::Bool(_) => value_type == CiValueType::Boolean,
        Value::Number(number) => match value_type {
            CiValueType::Integer => {
                number.is_i64()
                    || number.is_u64()
                    || number.as_f64().is_some_and(|n| n.fract() == 0.0)
            }
            CiValueType::Float => true,
            _ => false,
        },
        Value::String(_) => !matches!(
            value_type,
            CiValueType::Boolean | CiValueType::Integer | CiValueType::Float
        ),
        Value::Null | Value::Object(_) => true,
    }
}

/// Run the custom policy on configuration items carrying the values of the
/// Guard self-test's cases at the recorded path.
fn verify_custom(
    recommendation: &Recommendation,
    ci_path: &CiPath,
    rules: &str,
    name: &str,
) -> Result<Vec<ExecutedCase>, String> {
    let mut executed = Vec::new();
    let cases = selftest::cases(recommendation, name);
    let expects = |outcome| {
        cases
            .iter()
            .any(|c| c.expectations.rules.get(name) == Some(&outcome))
    };
    if !expects(Outcome::Pass) || !expects(Outcome::Fail) {
        return Err(
            "the self-test needs a configuration item the rule passes and one it fails".into(),
        );
    }
    // The configuration items of the cases, up to the first whose value
    // Config cannot record (that case is the reason to reject, once every
    // case before it behaved), then one of another type; the rules are
    // parsed once for all of them.
    let mut items = Vec::new();
    let mut unfit = None;
    for case in &cases {
        let value = gensec_kb::paths::get_property(
            &case.input["Resources"]["Resource"]["Properties"],
            &recommendation.property,
        )
        .cloned();
        if let Some(value) = &value
            && value.is_null()
        {
            continue;
        }
        if let Some(value) = &value
            && !value_fits(value, ci_path.value_type)
        {
            unfit = Some(format!(
                "case \"{}\" sets {value}, but Config records {} as {:?}",
                case.name, ci_path.path, ci_path.value_type
            ));
            break;
        }
        let expected = case
            .expectations
            .rules
            .get(name)
            .copied()
            .unwrap_or(Outcome::Skip);
        let mut item = configuration_item(ci_path, value.clone());
        if value.is_none()
            && let Some(block) = &recommendation.when_set
            && gensec_kb::paths::get_property(
                &case.input["Resources"]["Resource"]["Properties"],
                block,
            )
            .is_some()
            && let (Some(path), Some(fields)) =
                (block_ci_path(recommendation, ci_path), item.as_object_mut())
        {
            // The block is recorded without the setting.
            set_path(fields, &path, json!({}));
        }
        items.push((case, expected, item));
    }
    // A rule over another type must not fire.
    let other = CiPath {
        config_type: "AWS::Gensec::Other".into(),
        ..ci_path.clone()
    };
    let other_item = configuration_item(&other, None);
    let mut inputs: Vec<&Value> = items.iter().map(|(_, _, item)| item).collect();
    inputs.push(&other_item);
    let mut outcomes = evaluate_each(rules, name, &inputs)?.into_iter();
    for (case, expected, _) in &items {
        let found = outcomes
            .next()
            .ok_or("cfn-guard gave fewer outcomes than items")?;
        if found != *expected {
            return Err(format!(
                "custom policy gave {found:?} on configuration item \"{}\", expected {expected:?}",
                case.name
            ));
        }
        executed.push(ExecutedCase {
            name: case.name.replace(name, "configuration item"),
            expected: verdict(*expected),
            actual: verdict(found),
        });
    }
    if let Some(reason) = unfit {
        return Err(reason);
    }
    let found = outcomes
        .next()
        .ok_or("cfn-guard gave fewer outcomes than items")?;
    if found != Outcome::Skip {
        return Err(format!(
            "custom policy gave {found:?} on a configuration item of another type, expected Skip"
        ));
    }
    executed.push(ExecutedCase {
        name: "configuration item of another resource type".into(),
        expected: verdict(Outcome::Skip),
        actual: verdict(found),
    });
    Ok(executed)
}

/// A managed rule: its parameters, the Config types it is scoped to, the
/// recommendations it checks and where it came from.
#[derive(Debug)]
struct ManagedRule {
    identifier: String,
    parameters: BTreeMap<String, String>,
    types: Vec<String>,
    configuration_ids: Vec<String>,
    origins: Vec<String>,
}

/// A managed rule that answers a recommendation: the control's own rule
/// (parameters resolved from the profile by the analysis stage) and the rules
/// of the Security Hub controls it lists (no parameters of their own).
fn managed_candidates(kb: &Kb, recommendation: &Recommendation) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    if let Some(rule) = &recommendation.detective {
        out.push(Candidate {
            identifier: rule.identifier.clone(),
            parameters: rule.parameters.clone(),
            origin: format!("the control's Config rule ({})", recommendation.control_id),
            from_security_hub: false,
        });
    }
    for id in &recommendation.security_hub_controls {
        let Some(control) = kb.security_hub_control(id) else {
            continue;
        };
        if control.retired || control.config_rule_custom {
            continue;
        }
        let identifier = control.config_rule_identifier.clone().or_else(|| {
            control
                .config_rule
                .as_deref()
                .and_then(|name| kb.config_rule_by_name(name))
                .map(|rule| rule.identifier.clone())
        });
        if let Some(identifier) = identifier
            && !out.iter().any(|known| known.identifier == identifier)
        {
            out.push(Candidate {
                identifier,
                parameters: BTreeMap::new(),
                origin: format!("Security Hub control {}", control.id),
                from_security_hub: true,
            });
        }
    }
    out
}

/// A managed rule proposed for a recommendation, and where it comes from.
struct Candidate {
    identifier: String,
    parameters: BTreeMap<String, String>,
    /// Said in gaps and in the rule's description.
    origin: String,
    /// Security Hub's rule for a control the recommendation lists, rather
    /// than the control's own.
    from_security_hub: bool,
}

/// The required parameters of a managed rule left unset, when those are its
/// only problem.
fn unset_required(
    kb: &Kb,
    identifier: &str,
    parameters: &BTreeMap<String, String>,
) -> Option<String> {
    let rule = kb.config_rule(identifier)?;
    let missing = required_unset(rule, parameters);
    (rule.details_known && !missing.is_empty() && parameters.is_empty()).then(|| missing.join(", "))
}

/// The rule's required parameters `parameters` leaves out.
fn required_unset<'a>(
    rule: &'a gensec_kb::ConfigRule,
    parameters: &BTreeMap<String, String>,
) -> Vec<&'a str> {
    rule.parameters
        .iter()
        .filter(|p| !p.optional && !parameters.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect()
}

/// Why a managed rule cannot be emitted with these parameters, checked
/// against the rule's parameter list in the KB.
fn managed_problem(
    kb: &Kb,
    identifier: &str,
    parameters: &BTreeMap<String, String>,
) -> Option<String> {
    let Some(rule) = kb.config_rule(identifier) else {
        return Some(format!("{identifier} is not an AWS Config managed rule"));
    };
    if rule.details_known {
        if let Some(unknown) = parameters
            .keys()
            .find(|name| !rule.parameters.iter().any(|p| &p.name == *name))
        {
            return Some(format!("{identifier} has no parameter {unknown}"));
        }
        // A required parameter must be written: CloudFormation does not fill
        // in the console's example value, and the rule then fails to deploy.
        let missing = required_unset(rule, parameters);
        if !missing.is_empty() {
            return Some(format!(
                "{identifier} needs {} and neither the profile nor the control data sets it",
                missing.join(", ")
            ));
        }
    }
    None
}

/// The Config types a managed rule is scoped to for a recommendation: its own
/// type when the rule evaluates it, otherwise the package's types the rule
/// evaluates (a bucket-policy control answered by a rule over buckets); none
/// for a rule that evaluates the account. An error when it evaluates none.
fn managed_scope(
    kb: &Kb,
    identifier: &str,
    config_type: &str,
    package_types: &[String],
) -> Result<Vec<String>, String> {
    let Some(rule) = kb.config_rule(identifier) else {
        return Err(format!("{identifier} is not an AWS Config managed rule"));
    };
    if !rule.details_known || rule.resource_types.is_empty() {
        return Ok(Vec::new());
    }
    let evaluates = |t: &str| {
        rule.resource_types
            .iter()
            .any(|r| r == t || kb.config_type_for_cfn(r) == Some(t))
    };
    // ComplianceResourceTypes takes only recorded types: a rule that
    // evaluates the account itself (AWS::::Account) runs unscoped.
    let known = |t: &str| {
        t != gensec_kb::ACCOUNT_CONFIG_TYPE && kb.config_types().iter().any(|a| a.config_type == t)
    };
    if evaluates(config_type) && known(config_type) {
        return Ok(vec![config_type.to_string()]);
    }
    let mut scope: Vec<String> = Vec::new();
    for t in package_types {
        if evaluates(t) && known(t) && !scope.contains(t) {
            scope.push(t.clone());
        }
    }
    let evaluates_unrecorded = evaluates(config_type) || package_types.iter().any(|t| evaluates(t));
    // A periodic rule reads the service's API, not recorded items: unscoped.
    // So is a rule whose triggers the knowledge base does not know: Config
    // records no item of the types it evaluates, so no change can trigger it
    // and it can only be periodic (DAX_TLS_ENDPOINT_ENCRYPTION).
    let periodic = rule.triggers.iter().any(|t| t == "periodic") || rule.triggers.is_empty();
    if scope.is_empty() && evaluates_unrecorded && periodic {
        return Ok(Vec::new());
    }
    if scope.is_empty() && evaluates_unrecorded {
        Err(format!(
            "{identifier} evaluates {}, which is not in Config's resource-type list, so the rule cannot be scoped to it",
            rule.resource_types.join(", ")
        ))
    } else if scope.is_empty() {
        Err(format!(
            "{identifier} evaluates {}, none of the package's types",
            rule.resource_types.join(", ")
        ))
    } else {
        Ok(scope)
    }
}

/// Build the detective controls of a service.
pub fn build(
    kb: &Kb,
    service_id: &str,
    recommendations: &[Recommendation],
    report: &mut Verdicts,
) -> Detective {
    let mut out = Detective::default();
    let mut resources = Map::new();
    let (managed, answered) = managed_rules(kb, service_id, recommendations, &mut out, report);
    for recommendation in recommendations {
        if answered.contains(&recommendation.configuration_id) {
            continue;
        }
        add_custom_rule(
            kb,
            service_id,
            recommendation,
            &mut out,
            &mut resources,
            report,
        );
    }
    add_managed_rules(kb, service_id, &managed, &mut out, &mut resources, report);
    if !resources.is_empty() {
        out.template = Some(json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": format!("AWS Config rules for {service_id}, generated and validated by gensec"),
            "Resources": resources
        }));
    }
    out
}

/// The managed rules answering the recommendations, one per identifier and
/// parameter set, and the configuration ids they answer. A candidate the
/// knowledge base refuses becomes a gap (and one rejection per reason).
fn managed_rules(
    kb: &Kb,
    service_id: &str,
    recommendations: &[Recommendation],
    out: &mut Detective,
    report: &mut Verdicts,
) -> (
    BTreeMap<(String, String), ManagedRule>,
    std::collections::BTreeSet<String>,
) {
    // One managed rule per identifier and parameter set, scoped to every type
    // that needs it.
    let mut managed: BTreeMap<(String, String), ManagedRule> = BTreeMap::new();
    let mut answered = std::collections::BTreeSet::new();
    // The package's types in Config naming: a rule answering a control is
    // scoped to those of them it evaluates.
    let package_types: Vec<String> = kb
        .service(service_id)
        .map(|entry| entry.resource_types.as_slice())
        .unwrap_or_default()
        .iter()
        .chain(recommendations.iter().map(|r| &r.resource_type))
        .map(|t| kb.config_type_for_cfn(t).unwrap_or(t).to_string())
        .collect();
    let mut refused = std::collections::BTreeSet::new();
    for recommendation in recommendations {
        let cfn_type = recommendation.resource_type.as_str();
        let config_type = kb.config_type_for_cfn(cfn_type).unwrap_or(cfn_type);
        for Candidate {
            identifier,
            parameters,
            origin,
            from_security_hub,
        } in managed_candidates(kb, recommendation)
        {
            let scope = managed_scope(kb, &identifier, config_type, &package_types);
            let problem = match &scope {
                Err(reason) => Some(reason.clone()),
                Ok(_) => managed_problem(kb, &identifier, &parameters),
            };
            if from_security_hub
                && scope.is_ok()
                && let Some(missing) = unset_required(kb, &identifier, &parameters)
            {
                // Security Hub's own rule with a value only the organisation
                // can choose (Lambda.2's supported runtimes): nothing was
                // generated wrong, so it is a gap, not a rejection.
                out.gaps.push(ControlGap {
                    configuration_id: recommendation.configuration_id.clone(),
                    kind: ControlKind::ConfigManagedRule,
                    cause: GapCause::NotDefined,
                    reason: format!(
                        "{identifier} needs {missing}, which the organisation chooses when it deploys the rule (from {origin})"
                    ),
                });
                continue;
            }
            if let Some(reason) = problem {
                out.gaps.push(ControlGap {
                    configuration_id: recommendation.configuration_id.clone(),
                    kind: ControlKind::ConfigManagedRule,
                    cause: GapCause::Rejected,
                    reason: format!("{reason} (from {origin})"),
                });
                if refused.insert((identifier.clone(), reason.clone())) {
                    report.reject(format!("Config rule {identifier}"), reason);
                }
                continue;
            }
            let scope = scope.unwrap_or_default();
            let key = (
                identifier.clone(),
                serde_json::to_string(&parameters).unwrap_or_default(),
            );
            let entry = managed.entry(key).or_insert_with(|| ManagedRule {
                identifier: identifier.clone(),
                parameters: parameters.clone(),
                types: Vec::new(),
                configuration_ids: Vec::new(),
                origins: Vec::new(),
            });
            for config_type in scope {
                if !entry.types.contains(&config_type) {
                    entry.types.push(config_type);
                }
            }
            if !entry
                .configuration_ids
                .contains(&recommendation.configuration_id)
            {
                entry
                    .configuration_ids
                    .push(recommendation.configuration_id.clone());
            }
            if !entry.origins.contains(&origin) {
                entry.origins.push(origin);
            }
            answered.insert(recommendation.configuration_id.clone());
        }
    }
    (managed, answered)
}

/// A custom-policy rule for a curated recommendation no managed rule
/// answers, when its configuration item path is known and its policy passes
/// its own cases; otherwise a gap.
fn add_custom_rule(
    kb: &Kb,
    service_id: &str,
    recommendation: &Recommendation,
    out: &mut Detective,
    resources: &mut Map<String, Value>,
    report: &mut Verdicts,
) {
    // Inferred recommendations get no custom rule: a reviewer decides first.
    if recommendation.confidence != Confidence::Curated || recommendation.is_operational() {
        return;
    }
    let id = recommendation.configuration_id.to_ascii_lowercase();
    let service_prefix = format!("cfg-{}-", service_id.replace('-', ""));
    let name = rule_name(service_id, id.strip_prefix(&service_prefix).unwrap_or(&id));
    let guard_name = name.replace('-', "_");
    let gap = |cause, reason: String| ControlGap {
        configuration_id: recommendation.configuration_id.clone(),
        kind: ControlKind::ConfigCustomRule,
        cause,
        reason,
    };
    let ci_path =
        match kb.configuration_item_path(&recommendation.resource_type, &recommendation.property) {
            Ok(ci_path) => ci_path,
            Err(reason) => {
                out.gaps.push(gap(GapCause::NotExpressible, reason));
                return;
            }
        };
    let checked = custom_policy(recommendation, &ci_path, &guard_name).and_then(|policy| {
        let executed = verify_custom(recommendation, &ci_path, &policy, &guard_name)?;
        Ok((policy, executed))
    });
    let (policy, executed) = match checked {
        Ok(found) => found,
        Err(reason) => {
            report.reject(format!("custom Config rule {name}"), reason.clone());
            out.gaps.push(gap(GapCause::Rejected, reason));
            return;
        }
    };
    let properties = custom_rule_properties(&name, recommendation, &ci_path, &policy);
    if accept_rule(kb, &name, &properties, report) {
        resources.insert(
            logical_id(&name),
            json!({"Type": "AWS::Config::ConfigRule", "Properties": properties}),
        );
        let file = format!("{name}.guard");
        out.controls.push(GeneratedControl {
            kind: ControlKind::ConfigCustomRule,
            name,
            file: paths::config_custom_policy(&file),
            description: properties["Description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            configuration_ids: vec![recommendation.configuration_id.clone()],
            resource_types: vec![ci_path.config_type.clone()],
            source_identifier: None,
            actions: Vec::new(),
            conditional: false,
            checks: vec![
                format!(
                    "reads {}, which AWS Config records for {} (configuration item schema)",
                    ci_path.path, ci_path.config_type
                ),
                "the rule's AWS::Config::ConfigRule resource is schema-valid".into(),
            ],
            cases: executed,
        });
        out.custom_policies.push((file, policy));
    }
}

/// The `AWS::Config::ConfigRule` properties of a custom-policy rule.
fn custom_rule_properties(
    name: &str,
    recommendation: &Recommendation,
    ci_path: &CiPath,
    policy: &str,
) -> Value {
    json!({
        "ConfigRuleName": name,
        "Description": format!("{} (custom policy generated by gensec)", recommendation.title),
        "Scope": {"ComplianceResourceTypes": [ci_path.config_type]},
        "Source": {
            "Owner": "CUSTOM_POLICY",
            "SourceDetails": [
                {"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
                {"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"}
            ],
            "CustomPolicyDetails": {"PolicyRuntime": "guard-2.x.x", "PolicyText": policy, "EnableDebugLogDelivery": false}
        }
    })
}

/// One `AWS::Config::ConfigRule` per managed rule the schema accepts.
fn add_managed_rules(
    kb: &Kb,
    service_id: &str,
    managed: &BTreeMap<(String, String), ManagedRule>,
    out: &mut Detective,
    resources: &mut Map<String, Value>,
    report: &mut Verdicts,
) {
    for (index, rule) in managed.values().enumerate() {
        let identifier = &rule.identifier;
        let mut name = rule_name(service_id, identifier);
        if !rule.parameters.is_empty() {
            name = format!("{name}-{index}");
        }
        let mut properties = json!({
            "ConfigRuleName": name,
            "Description": kb.config_rule(identifier).map(|r| r.description.clone()).unwrap_or_default(),
            "Scope": {"ComplianceResourceTypes": rule.types},
            "Source": {"Owner": "AWS", "SourceIdentifier": identifier}
        });
        if !rule.parameters.is_empty() {
            properties["InputParameters"] = json!(rule.parameters);
        }
        if rule.types.is_empty()
            && let Some(fields) = properties.as_object_mut()
        {
            fields.remove("Scope");
        }
        if accept_rule(kb, &name, &properties, report) {
            resources.insert(
                logical_id(&name),
                json!({"Type": "AWS::Config::ConfigRule", "Properties": properties}),
            );
            out.controls.push(GeneratedControl {
                kind: ControlKind::ConfigManagedRule,
                name: name.clone(),
                file: paths::CONFIG_RULES.to_string(),
                description: properties["Description"].as_str().unwrap_or_default().to_string(),
                configuration_ids: rule.configuration_ids.clone(),
                resource_types: rule.types.clone(),
                source_identifier: Some(identifier.clone()),
                actions: Vec::new(),
                conditional: false,
                checks: vec![
                    format!("{identifier} is an AWS Config managed rule that evaluates the resource types"),
                    format!("answers {}", rule.origins.join(", ")),
                    "every parameter is in the rule's parameter list and every required one is set".into(),
                    "the rule's AWS::Config::ConfigRule resource is schema-valid".into(),
                ],
                cases: Vec::new(),
            });
        }
    }
}

fn accept_rule(kb: &Kb, name: &str, properties: &Value, report: &mut Verdicts) -> bool {
    match validate::resource(kb, "AWS::Config::ConfigRule", properties) {
        Ok(problems) if problems.is_empty() => {
            report.accept();
            true
        }
        Ok(problems) => {
            report.reject(format!("Config rule {name}"), problems.join("; "));
            false
        }
        Err(reason) => {
            report.reject(format!("Config rule {name}"), reason);
            false
        }
    }
}
