//! Reading the model's answer. Unambiguous slips are repaired (one step
//! where a list was asked, `arguments` as JSON text, a single block where a
//! list was asked); anything else is refused with the reason.

use serde_json::{Map, Value};

/// One Terraform block the model proposed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedBlock {
    pub resource_type: String,
    pub name: Option<String>,
    pub arguments: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub risk: Option<String>,
    pub manual_steps: Vec<String>,
    /// Each proposed block, or why it could not be read.
    pub terraform: Vec<Result<ProposedBlock, String>>,
}

fn text(object: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| match object.get(*name) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_string()),
        _ => None,
    })
}

/// Read an answer; an answer that is not an object is refused whole.
pub fn parse(value: &Value) -> Result<Answer, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    let manual_steps = match ["manual_steps", "steps"]
        .iter()
        .find_map(|name| object.get(*name))
    {
        Some(Value::Array(steps)) => steps
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|step| !step.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::String(step)) if !step.trim().is_empty() => vec![step.trim().to_string()],
        _ => Vec::new(),
    };
    let terraform = match object.get("terraform") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| block(i, item))
            .collect(),
        Some(item @ Value::Object(_)) => vec![block(0, item)],
        Some(Value::String(_)) => vec![Err(
            "terraform was given as text; only {resource_type, arguments} objects are accepted"
                .to_string(),
        )],
        Some(_) => vec![Err("terraform is not a list of blocks".to_string())],
    };
    Ok(Answer {
        risk: text(object, &["risk_explanation", "risk", "explanation"]),
        manual_steps,
        terraform,
    })
}

fn block(index: usize, item: &Value) -> Result<ProposedBlock, String> {
    let position = format!("terraform[{index}]");
    let fields = item
        .as_object()
        .ok_or_else(|| format!("{position} is not an object"))?;
    let resource_type = text(fields, &["resource_type", "type"])
        .ok_or_else(|| format!("{position}: resource_type is missing"))?;
    let arguments = match fields.get("arguments") {
        Some(Value::Object(arguments)) => arguments.clone(),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(arguments)) => arguments,
            _ => return Err(format!("{position}: arguments is not a JSON object")),
        },
        _ => return Err(format!("{position}: arguments is missing")),
    };
    Ok(ProposedBlock {
        resource_type,
        name: text(fields, &["name"]),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn slips_are_repaired_and_text_hcl_refused() {
        let answer = parse(&json!({
            "risk": "r",
            "steps": "one step",
            "terraform": {"resource_type": "aws_kms_key", "arguments": "{\"enable_key_rotation\": true}"}
        }))
        .unwrap();
        assert_eq!(answer.risk.as_deref(), Some("r"));
        assert_eq!(answer.manual_steps, vec!["one step"]);
        let block = answer.terraform[0].as_ref().unwrap();
        assert_eq!(block.arguments["enable_key_rotation"], json!(true));
        let hcl = parse(&json!({"terraform": "resource \"aws_kms_key\" \"x\" {}"})).unwrap();
        assert!(hcl.terraform[0].is_err());
        assert!(parse(&json!([])).is_err());
    }
}
