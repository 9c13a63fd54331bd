//! Detective controls: AWS Config rules as a deployable CloudFormation
//! template. A managed rule (with its InputParameters) when one evaluates the
//! property; otherwise a custom policy rule written in Guard over the
//! configuration item, executed against test items before it is emitted.

use crate::guard::{self, guard_path};
use crate::selftest::{self, Outcome, evaluate, set_path, verdict};
use gensec_core::contract::analysis::{Confidence, ConfigRuleRef, Recommendation};
use gensec_core::contract::controls::{ControlKind, ExecutedCase, GeneratedControl};
use gensec_core::contract::paths;
use gensec_core::contract::stage::Verdicts;
use gensec_kb::{Kb, validate};
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

/// Guard over a Config configuration item. Assumes the item's `configuration`
/// carries the CloudFormation property names, which holds for types Config
/// records through the CloudFormation registry; the file header says so.
fn custom_policy(recommendation: &Recommendation, name: &str) -> Result<String, String> {
    let target = format!("configuration.{}", guard_path(&recommendation.property));
    let message = format!(
        "Violation: [{}] {}",
        recommendation.configuration_id,
        recommendation.title.replace(">>", "> >")
    );
    let lines = guard::with_message(
        guard::clauses(&target, &recommendation.expectation)?,
        &message,
    );
    Ok(format!(
        "rule {name} when resourceType == \"{}\" {{\n    {}\n}}\n",
        recommendation.resource_type,
        lines.join("\n    "),
    ))
}

fn configuration_item(recommendation: &Recommendation, value: Option<Value>) -> Value {
    let mut configuration = Map::new();
    if let Some(value) = value {
        set_path(&mut configuration, &recommendation.property, value);
    }
    json!({"resourceType": recommendation.resource_type, "configuration": configuration})
}

/// Run the custom policy on the configuration items of the Guard self-test's
/// cases (the same values, in a configuration item instead of a template).
fn verify_custom(
    recommendation: &Recommendation,
    rules: &str,
    name: &str,
) -> Result<Vec<ExecutedCase>, String> {
    let mut executed = Vec::new();
    for case in selftest::cases(recommendation, name) {
        let value = gensec_kb::paths::get_property(
            &case.input["Resources"]["Resource"]["Properties"],
            &recommendation.property,
        )
        .cloned();
        let expected = case
            .expectations
            .rules
            .get(name)
            .copied()
            .unwrap_or(Outcome::Skip);
        let found = evaluate(rules, name, &configuration_item(recommendation, value))?;
        if found != expected {
            return Err(format!(
                "custom policy gave {found:?} on configuration item \"{}\", expected {expected:?}",
                case.name
            ));
        }
        executed.push(ExecutedCase {
            name: case.name.replace(name, "configuration item"),
            expected: verdict(expected),
            actual: verdict(found),
        });
    }
    Ok(executed)
}

/// A managed rule, the types it is scoped to and the recommendations it checks.
type ManagedRule<'a> = (&'a ConfigRuleRef, Vec<String>, Vec<String>);

/// Build the detective controls of a service.
pub fn build(
    kb: &Kb,
    service_id: &str,
    recommendations: &[Recommendation],
    report: &mut Verdicts,
) -> Detective {
    let mut out = Detective::default();
    let mut resources = Map::new();
    // One managed rule per identifier and parameter set, scoped to every type
    // that needs it.
    let mut managed: BTreeMap<(String, String), ManagedRule<'_>> = BTreeMap::new();
    for recommendation in recommendations {
        if let Some(rule) = &recommendation.detective {
            let key = (
                rule.identifier.clone(),
                serde_json::to_string(&rule.parameters).unwrap_or_default(),
            );
            let (_, types, ids) = managed
                .entry(key)
                .or_insert_with(|| (rule, Vec::new(), Vec::new()));
            // An operational control's rule evaluates the account: no scope.
            if !recommendation.is_operational() && !types.contains(&recommendation.resource_type) {
                types.push(recommendation.resource_type.clone());
            }
            ids.push(recommendation.configuration_id.clone());
            continue;
        }
        // Inferred recommendations get no custom rule: a reviewer decides first.
        if recommendation.confidence != Confidence::Curated {
            continue;
        }
        let id = recommendation.configuration_id.to_ascii_lowercase();
        let service_prefix = format!("cfg-{}-", service_id.replace('-', ""));
        let name = rule_name(service_id, id.strip_prefix(&service_prefix).unwrap_or(&id));
        let guard_name = name.replace('-', "_");
        if recommendation.is_operational() {
            continue;
        }
        let policy = match custom_policy(recommendation, &guard_name) {
            Ok(policy) => policy,
            Err(reason) => {
                report.reject(format!("custom Config rule {name}"), reason);
                continue;
            }
        };
        let executed = match verify_custom(recommendation, &policy, &guard_name) {
            Ok(executed) => executed,
            Err(reason) => {
                report.reject(format!("custom Config rule {name}"), reason);
                continue;
            }
        };
        let properties = json!({
            "ConfigRuleName": name,
            "Description": format!("{} (custom policy generated by gensec)", recommendation.title),
            "Scope": {"ComplianceResourceTypes": [recommendation.resource_type]},
            "Source": {
                "Owner": "CUSTOM_POLICY",
                "SourceDetails": [
                    {"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
                    {"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"}
                ],
                "CustomPolicyDetails": {"PolicyRuntime": "guard-2.x.x", "PolicyText": policy, "EnableDebugLogDelivery": false}
            }
        });
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
                resource_types: vec![recommendation.resource_type.clone()],
                source_identifier: None,
                actions: Vec::new(),
                conditional: false,
                checks: vec!["the rule's AWS::Config::ConfigRule resource is schema-valid".into()],
                cases: executed,
            });
            out.custom_policies.push((file, policy));
        }
    }
    for (index, (rule, resource_types, configuration_ids)) in managed.values().enumerate() {
        let identifier = &rule.identifier;
        let mut name = rule_name(service_id, identifier);
        if !rule.parameters.is_empty() {
            name = format!("{name}-{index}");
        }
        let mut properties = json!({
            "ConfigRuleName": name,
            "Description": kb.config_rule(identifier).map(|r| r.description.clone()).unwrap_or_default(),
            "Scope": {"ComplianceResourceTypes": resource_types},
            "Source": {"Owner": "AWS", "SourceIdentifier": identifier}
        });
        if !rule.parameters.is_empty() {
            properties["InputParameters"] = json!(rule.parameters);
        }
        if resource_types.is_empty()
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
                configuration_ids: configuration_ids.clone(),
                resource_types: resource_types.clone(),
                source_identifier: Some(identifier.clone()),
                actions: Vec::new(),
                conditional: false,
                checks: vec![
                    format!("{identifier} is an AWS Config managed rule that evaluates the resource types"),
                    "its parameters exist with values of their type".into(),
                    "the rule's AWS::Config::ConfigRule resource is schema-valid".into(),
                ],
                cases: Vec::new(),
            });
        }
    }
    if !resources.is_empty() {
        out.template = Some(json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": format!("AWS Config rules for {service_id}, generated and validated by gensec"),
            "Resources": resources
        }));
    }
    out
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
