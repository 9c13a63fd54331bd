//! Checks of one catalogue entry against the knowledge base, shared by the
//! catalogue test and the recommendation builder.

use crate::catalogue::{CatalogueEntry, RawExpectation};
use crate::tailor;
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{Preventive, PreventiveSpec};
use gensec_kb::{Kb, validate};
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

/// The property, the expectation's values and the recommended value.
pub fn property_and_values(
    kb: &Kb,
    entry: &CatalogueEntry,
    profile: &SecurityProfile,
) -> Result<Value, String> {
    let (schema, property, free_form) =
        validate::document_path(kb, &entry.resource_type, &entry.property)?;
    let resolve = |value: &Value| tailor::resolve(value, profile, Some(schema.deref(property)));
    let mut candidates = Vec::new();
    match &entry.expect {
        RawExpectation::Equals(value) => candidates.push(resolve(value)?),
        RawExpectation::OneOf(values) => {
            if values.is_empty() {
                return Err("one_of lists no values".into());
            }
            for value in values {
                candidates.push(resolve(value)?);
            }
        }
        RawExpectation::Present(true) => {}
        RawExpectation::Present(false) => return Err("present must be true".into()),
        RawExpectation::AtLeast(bound) | RawExpectation::AtMost(bound) => {
            if !resolve(bound)?.is_number() {
                return Err(format!("bound {bound} is not a number"));
            }
        }
        RawExpectation::Contains(element) => {
            if element.as_object().is_none_or(|fields| fields.is_empty()) {
                return Err("contains needs an object with at least one field".into());
            }
        }
    }
    if free_form {
        // Inside a policy document: the schema says nothing below this point.
        return Ok(match (&entry.value, &entry.expect) {
            (Some(value), _) => resolve(value)?,
            (None, RawExpectation::Contains(element)) => element.clone(),
            (None, _) => candidates
                .first()
                .cloned()
                .ok_or("a value is needed for the hardened template")?,
        });
    }
    for candidate in &candidates {
        validate::value(schema, property, candidate)?;
    }
    let recommended = match (&entry.value, &entry.expect) {
        (Some(value), _) => resolve(value)?,
        (None, RawExpectation::Equals(_) | RawExpectation::OneOf(_)) => candidates[0].clone(),
        (None, RawExpectation::AtLeast(bound) | RawExpectation::AtMost(bound)) => resolve(bound)?,
        (None, RawExpectation::Contains(element)) => element.clone(),
        (None, RawExpectation::Present(_)) => {
            return Err("a `present` expectation needs a `value` for the hardened template".into());
        }
    };
    let element_schema = match (&entry.expect, schema.deref(property).items.as_deref()) {
        (RawExpectation::Contains(_), Some(items)) => items,
        _ => property,
    };
    validate::value(schema, element_schema, &recommended)?;
    Ok(recommended)
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
    if rule.details_known
        && !rule.resource_types.is_empty()
        && !rule.resource_types.iter().any(|t| t == resource_type)
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

/// The preventive control: actions exist, condition keys exist and apply to every action.
pub fn preventive(kb: &Kb, preventive: &Preventive) -> Result<(), String> {
    let Preventive::Scp(PreventiveSpec { actions, condition }) = preventive else {
        return Ok(());
    };
    if actions.is_empty() {
        return Err("an SCP statement needs at least one action".into());
    }
    let keys = match condition {
        Some(condition) => condition_keys(condition)?,
        None => Vec::new(),
    };
    for action in actions {
        validate::action(kb, action)?;
        for key in &keys {
            validate::condition_key_for_action(kb, action, key)?;
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
