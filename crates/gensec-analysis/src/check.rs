//! Checks of one catalogue entry against the knowledge base, shared by the
//! catalogue test and the recommendation builder.

use crate::catalogue::{CatalogueEntry, FieldCondition, RawExpectation};
use crate::tailor;
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{ElementCondition, Expectation, Preventive, PreventiveSpec};
use gensec_kb::model::Property;
use gensec_kb::{Kb, ResourceTypeSchema, validate};
use serde_json::Value;
use std::collections::BTreeMap;

/// Config rule parameters as the strings InputParameters carries.
pub fn rule_parameters(
    raw: &BTreeMap<String, Value>,
    profile: &SecurityProfile,
) -> Result<BTreeMap<String, String>, String> {
    raw.iter()
        .map(|(name, value)| {
            let value = tailor::resolve(value, profile, None)?;
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            Ok((name.clone(), text))
        })
        .collect()
}

/// A catalogue expectation with its profile tokens resolved (`resolve`
/// turns `$profile:...` into values).
pub fn expectation(
    raw: &RawExpectation,
    resolve: &dyn Fn(&Value) -> Result<Value, String>,
) -> Result<Expectation, String> {
    let number = |value: &Value| -> Result<f64, String> {
        resolve(value)?
            .as_f64()
            .ok_or_else(|| format!("{value} is not a number"))
    };
    let conditions = |list: &[FieldCondition]| -> Result<Vec<ElementCondition>, String> {
        list.iter()
            .map(|condition| {
                Ok(ElementCondition {
                    field: condition.field.clone(),
                    expect: expectation(&condition.expect, resolve)?,
                })
            })
            .collect()
    };
    Ok(match raw {
        RawExpectation::Equals(value) => Expectation::Equals(resolve(value)?),
        RawExpectation::NotEquals(value) => Expectation::NotEquals(resolve(value)?),
        RawExpectation::OneOf(values) => {
            Expectation::OneOf(values.iter().map(resolve).collect::<Result<_, _>>()?)
        }
        RawExpectation::Present(_) => Expectation::Present,
        RawExpectation::Absent(_) => Expectation::Absent,
        RawExpectation::AtLeast(bound) => Expectation::AtLeast(number(bound)?),
        RawExpectation::AtMost(bound) => Expectation::AtMost(number(bound)?),
        RawExpectation::Matches(pattern) => Expectation::Matches(pattern.clone()),
        RawExpectation::NotMatches(pattern) => Expectation::NotMatches(pattern.clone()),
        RawExpectation::Contains(element) => Expectation::Contains(element.clone()),
        RawExpectation::NoElement(list) => Expectation::NoElement(conditions(list)?),
        RawExpectation::EveryElement(list) => Expectation::EveryElement(conditions(list)?),
        RawExpectation::MinItems(least) => Expectation::MinItems(*least),
        RawExpectation::Excludes(value) => Expectation::Excludes(resolve(value)?),
    })
}

/// Every literal value an expectation names fits the schema: the property's
/// own values, and for element conditions each field of the array's elements.
fn expectation_values_fit(
    schema: &ResourceTypeSchema,
    path: &str,
    property: &Property,
    expectation: &Expectation,
) -> Result<(), String> {
    match expectation {
        Expectation::Equals(value) | Expectation::NotEquals(value) => {
            validate::value(schema, property, value)
        }
        Expectation::OneOf(values) => values
            .iter()
            .try_for_each(|value| validate::value(schema, property, value)),
        Expectation::NoElement(conditions) | Expectation::EveryElement(conditions) => {
            if schema.deref(property).items.is_none() {
                return Err(format!("{path} is not a list; element conditions need one"));
            }
            for condition in conditions {
                let field_path = format!("{path}[].{}", condition.field);
                let field = schema
                    .resolve(&field_path)
                    .ok_or_else(|| format!("unknown element field {field_path}"))?;
                expectation_values_fit(schema, &field_path, field, &condition.expect)?;
            }
            Ok(())
        }
        Expectation::MinItems(_) if schema.deref(property).items.is_none() => {
            Err(format!("{path} is not a list; min_items needs one"))
        }
        Expectation::Excludes(value) => match schema.deref(property).items.as_deref() {
            Some(items) => validate::value(schema, items, value),
            None => Err(format!("{path} is not a list; excludes needs one")),
        },
        _ => Ok(()),
    }
}

/// The value the hardened template sets: the entry's `value`, else the one
/// the expectation implies. `Null` means "leave the property unset".
fn recommended_value(
    entry: &CatalogueEntry,
    expectation: &Expectation,
    resolve: &dyn Fn(&Value) -> Result<Value, String>,
) -> Result<Value, String> {
    if let Some(value) = &entry.value {
        return resolve(value);
    }
    match expectation {
        Expectation::Equals(value) => Ok(value.clone()),
        Expectation::OneOf(values) => Ok(values[0].clone()),
        Expectation::AtLeast(bound) | Expectation::AtMost(bound) => {
            Ok(gensec_core::contract::analysis::bound_value(*bound))
        }
        Expectation::Contains(element) => Ok(element.clone()),
        Expectation::Absent
        | Expectation::NoElement(_)
        | Expectation::EveryElement(_)
        | Expectation::MinItems(_)
        | Expectation::Excludes(_) => Ok(Value::Null),
        Expectation::Present
        | Expectation::NotEquals(_)
        | Expectation::Matches(_)
        | Expectation::NotMatches(_) => Err(format!(
            "a `{}` expectation needs a `value` for the hardened template",
            kind(expectation)
        )),
    }
}

/// The name of an expectation kind, as the catalogue spells it.
pub fn kind(expectation: &Expectation) -> &'static str {
    match expectation {
        Expectation::Equals(_) => "equals",
        Expectation::NotEquals(_) => "not_equals",
        Expectation::OneOf(_) => "one_of",
        Expectation::Present => "present",
        Expectation::Absent => "absent",
        Expectation::AtLeast(_) => "at_least",
        Expectation::AtMost(_) => "at_most",
        Expectation::Matches(_) => "matches",
        Expectation::NotMatches(_) => "not_matches",
        Expectation::Contains(_) => "contains",
        Expectation::NoElement(_) => "no_element",
        Expectation::EveryElement(_) => "every_element",
        Expectation::MinItems(_) => "min_items",
        Expectation::Excludes(_) => "excludes",
    }
}

/// The property exists, the expectation's values fit its schema, and the
/// value the hardened template sets meets the expectation. Returns the
/// expectation (tokens resolved) and that value.
pub fn property_and_values(
    kb: &Kb,
    entry: &CatalogueEntry,
    profile: &SecurityProfile,
) -> Result<(Expectation, Value), String> {
    gensec_kb::controls::check_expectation(&entry.expect)?;
    let (schema, property, free_form) =
        validate::document_path(kb, &entry.resource_type, &entry.property)?;
    let resolve = |value: &Value| tailor::resolve(value, profile, Some(schema.deref(property)));
    let expectation = expectation(&entry.expect, &resolve)?;
    if !free_form {
        expectation_values_fit(schema, &entry.property, property, &expectation)?;
    }
    let recommended = recommended_value(entry, &expectation, &resolve)?;
    if !free_form && !recommended.is_null() {
        let element_schema = match (&expectation, schema.deref(property).items.as_deref()) {
            (Expectation::Contains(_), Some(items)) => items,
            _ => property,
        };
        validate::value(schema, element_schema, &recommended)?;
    }
    let checked = match &expectation {
        // The hardened template adds the element to the array.
        Expectation::Contains(_) => Value::Array(vec![recommended.clone()]),
        _ => recommended.clone(),
    };
    if !validate::is_intrinsic(&recommended) && !expectation.is_met_by(Some(&checked)) {
        return Err(format!(
            "the value the hardened template sets ({recommended}) does not meet the expectation"
        ));
    }
    Ok((expectation, recommended))
}

/// The detective control: the rule exists, takes these parameters and
/// evaluates this resource type.
pub fn detective(
    kb: &Kb,
    resource_type: &str,
    identifier: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<(), String> {
    validate::config_rule(kb, identifier, parameters)?;
    let rule = kb
        .config_rule(identifier)
        .ok_or_else(|| format!("unknown Config rule {identifier}"))?;
    // Config names some types differently from CloudFormation
    // (`AWS::CertificateManager::Certificate` is recorded as `AWS::ACM::Certificate`).
    let recorded_as = kb
        .config_type_for_cfn(resource_type)
        .unwrap_or(resource_type);
    if rule.details_known
        && !rule.resource_types.is_empty()
        && !rule
            .resource_types
            .iter()
            .any(|t| t == resource_type || t == recorded_as)
    {
        return Err(format!(
            "Config rule {identifier} evaluates {}, not {resource_type}",
            rule.resource_types.join(", ")
        ));
    }
    Ok(())
}

/// Condition keys used in an IAM condition block (`{"Op": {"key": value}}`).
pub fn condition_keys(condition: &Value) -> Result<Vec<String>, String> {
    let operators = condition
        .as_object()
        .ok_or_else(|| format!("condition {condition} is not an object"))?;
    let mut keys = Vec::new();
    for (operator, block) in operators {
        let block = block
            .as_object()
            .ok_or_else(|| format!("condition operator {operator} has no key block"))?;
        keys.extend(block.keys().cloned());
    }
    Ok(keys)
}

/// The preventive control: every statement has actions that exist, and
/// condition keys (in the condition and in its request cases) that exist
/// and apply to every action.
pub fn preventive(kb: &Kb, preventive: &Preventive) -> Result<(), String> {
    let Preventive::Scp(specs) = preventive else {
        return Ok(());
    };
    if specs.is_empty() {
        return Err("an SCP control needs at least one statement".into());
    }
    for PreventiveSpec {
        actions,
        condition,
        insecure,
        compliant,
        ..
    } in specs
    {
        if actions.is_empty() {
            return Err("an SCP statement needs at least one action".into());
        }
        let mut keys = match condition {
            Some(condition) => condition_keys(condition)?,
            None => Vec::new(),
        };
        keys.extend(insecure.keys().chain(compliant.keys()).cloned());
        for action in actions {
            validate::action(kb, action)?;
            for key in &keys {
                validate::condition_key_for_action(kb, action, key)?;
            }
        }
    }
    Ok(())
}

/// Security Hub control ids look like `S3.8`, `EC2.19`, `ELB.4`.
pub fn security_hub_id(id: &str) -> Result<(), String> {
    let valid = id.split_once('.').is_some_and(|(service, number)| {
        !service.is_empty()
            && service.chars().all(|c| c.is_ascii_alphanumeric())
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
    });
    if valid {
        Ok(())
    } else {
        Err(format!("{id:?} is not a Security Hub control id"))
    }
}
