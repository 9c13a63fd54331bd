//! Reading the model's answer item by item. Wrong but unambiguous types are
//! repaired (a number where text was asked, `"high"` for `High`, one string
//! where a list was asked); an item that cannot be read is refused with the
//! reason, without affecting the others.

use gensec_core::contract::analysis::{Priority, SecurityDomain, StrideThreat};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct RationaleItem {
    pub configuration_id: String,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    pub configuration_id: String,
    pub priority: Priority,
    pub reason: String,
}

/// An SCP condition as three fields (`Bool`, `aws:SecureTransport`, `false`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScpCondition {
    pub operator: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Additional {
    pub resource_type: String,
    pub property: String,
    /// As the model gave it: JSON text in a string, or a JSON value.
    pub value: Value,
    pub title: String,
    pub rationale: String,
    pub domain: SecurityDomain,
    pub threat: StrideThreat,
    pub priority: Priority,
    pub config_rule: Option<String>,
    pub scp_actions: Vec<String>,
    pub scp_condition: Option<ScpCondition>,
}

/// One item, or why it could not be read (with its position, for the report).
pub type Item<T> = Result<T, String>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub rationales: Vec<Item<RationaleItem>>,
    pub adjustments: Vec<Item<Adjustment>>,
    pub additional: Vec<Item<Additional>>,
}

impl Answer {
    pub fn items(&self) -> usize {
        self.rationales.len() + self.adjustments.len() + self.additional.len()
    }
}

/// Read an answer; an answer that is not an object is refused whole.
pub fn parse(value: &Value) -> Result<Answer, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    Ok(Answer {
        rationales: items(object, &["rationales"], rationale),
        adjustments: items(object, &["priority_adjustments", "adjustments"], adjustment),
        additional: items(
            object,
            &[
                "additional_recommendations",
                "additional",
                "recommendations",
            ],
            additional,
        ),
    })
}

fn items<T>(
    object: &Map<String, Value>,
    names: &[&str],
    read: fn(&Map<String, Value>) -> Result<T, String>,
) -> Vec<Item<T>> {
    let Some(value) = names.iter().find_map(|name| object.get(*name)) else {
        return Vec::new();
    };
    let list: Vec<&Value> = match value {
        Value::Array(list) => list.iter().collect(),
        Value::Null => Vec::new(),
        // One item where a list was asked for.
        other => vec![other],
    };
    list.into_iter()
        .enumerate()
        .map(|(index, item)| {
            let position = format!("{}[{index}]", names[0]);
            item.as_object()
                .ok_or_else(|| format!("{position} is not an object"))
                .and_then(|fields| read(fields).map_err(|reason| format!("{position}: {reason}")))
        })
        .collect()
}

fn text(fields: &Map<String, Value>, names: &[&str]) -> Result<String, String> {
    match names.iter().find_map(|name| fields.get(*name)) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(Value::Bool(flag)) => Ok(flag.to_string()),
        Some(Value::String(_) | Value::Null) | None => Err(format!("{} is missing", names[0])),
        Some(_) => Err(format!("{} is not text", names[0])),
    }
}

fn optional_text(fields: &Map<String, Value>, names: &[&str]) -> Option<String> {
    text(fields, names)
        .ok()
        .filter(|t| !matches!(t.to_ascii_lowercase().as_str(), "none" | "null" | "n/a"))
}

fn list(fields: &Map<String, Value>, name: &str) -> Vec<String> {
    match fields.get(name) {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(|value| match value {
                Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(text)) if !text.trim().is_empty() => vec![text.trim().to_string()],
        _ => Vec::new(),
    }
}

/// `Identity and Access`, `identity-and-access` -> `identity_and_access`.
fn snake(text: &str) -> String {
    text.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

pub fn priority(text: &str) -> Result<Priority, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "critical" => Ok(Priority::Critical),
        "high" => Ok(Priority::High),
        "medium" => Ok(Priority::Medium),
        "low" => Ok(Priority::Low),
        _ => Err(format!("{text:?} is not a priority")),
    }
}

fn from_snake<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(snake(text)))
        .map_err(|_| format!("{text:?} is not a {what}"))
}

fn rationale(fields: &Map<String, Value>) -> Result<RationaleItem, String> {
    Ok(RationaleItem {
        configuration_id: text(fields, &["configuration_id", "id"])?,
        rationale: text(fields, &["rationale", "text"])?,
    })
}

fn adjustment(fields: &Map<String, Value>) -> Result<Adjustment, String> {
    Ok(Adjustment {
        configuration_id: text(fields, &["configuration_id", "id"])?,
        priority: priority(&text(fields, &["priority", "new_priority"])?)?,
        reason: text(fields, &["reason", "rationale"])?,
    })
}

fn additional(fields: &Map<String, Value>) -> Result<Additional, String> {
    let value = fields
        .get("value")
        .filter(|value| !value.is_null())
        .cloned()
        .ok_or("value is missing")?;
    let scp_condition = match (
        optional_text(fields, &["scp_condition_operator"]),
        optional_text(fields, &["scp_condition_key"]),
        optional_text(fields, &["scp_condition_value"]),
    ) {
        (Some(operator), Some(key), Some(value)) => Some(ScpCondition {
            operator,
            key,
            value,
        }),
        (None, None, None) => None,
        _ => return Err("scp_condition needs an operator, a key and a value".into()),
    };
    Ok(Additional {
        resource_type: text(fields, &["resource_type"])?,
        property: text(fields, &["property", "property_path"])?,
        value,
        title: text(fields, &["title"])?,
        rationale: text(fields, &["rationale"])?,
        domain: from_snake(
            &text(fields, &["security_domain", "domain"])?,
            "security domain",
        )?,
        threat: from_snake(
            &text(fields, &["threat", "threat_vector", "stride"])?,
            "STRIDE threat",
        )?,
        priority: priority(&text(fields, &["priority"])?)?,
        config_rule: optional_text(fields, &["config_rule"]),
        scp_actions: list(fields, "scp_actions"),
        scp_condition,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn safe_type_repairs_are_made_and_bad_items_refused_alone() {
        let answer = parse(&json!({
            "rationales": {"configuration_id": "CFG-1", "rationale": 42},
            "priority_adjustments": [
                {"configuration_id": "CFG-1", "priority": "high", "reason": "PCI scope"},
                {"configuration_id": "CFG-2", "priority": "urgent", "reason": "x"},
                "not an object"
            ],
            "additional_recommendations": [{
                "resource_type": "AWS::S3::Bucket", "property": "ObjectLockEnabled",
                "value": true, "title": "t", "rationale": "r",
                "security_domain": "Data Protection", "threat": "Tampering",
                "priority": "MEDIUM", "config_rule": "", "scp_actions": "s3:PutBucketObjectLockConfiguration"
            }]
        }))
        .unwrap();
        assert_eq!(answer.rationales[0].as_ref().unwrap().rationale, "42");
        assert_eq!(
            answer.adjustments[0].as_ref().unwrap().priority,
            Priority::High
        );
        assert_eq!(
            answer.adjustments[1].as_ref().unwrap_err(),
            "priority_adjustments[1]: \"urgent\" is not a priority"
        );
        assert!(answer.adjustments[2].is_err());
        let extra = answer.additional[0].as_ref().unwrap();
        assert_eq!(extra.domain, SecurityDomain::DataProtection);
        assert_eq!(extra.config_rule, None);
        assert_eq!(
            extra.scp_actions,
            vec!["s3:PutBucketObjectLockConfiguration"]
        );
        assert!(parse(&json!([1])).is_err());
    }
}
