//! CloudFormation Guard rules for recommendations: one named rule each, with
//! a violation message and the fix.

use gensec_core::contract::analysis::{Expectation, Recommendation};
use serde_json::Value;
use std::fmt::Write as _;

/// Rule name: the configuration id in Guard's identifier style.
pub fn rule_name(recommendation: &Recommendation) -> String {
    recommendation
        .configuration_id
        .to_ascii_lowercase()
        .replace('-', "_")
}

/// Variable holding every resource of a type: `aws_s3_bucket_resources`.
pub fn variable(resource_type: &str) -> String {
    format!(
        "{}_resources",
        resource_type.to_ascii_lowercase().replace("::", "_")
    )
}

/// `let` line selecting a type's resources.
pub fn selector(resource_type: &str) -> String {
    format!(
        "let {} = Resources.*[ Type == '{resource_type}' ]",
        variable(resource_type)
    )
}

/// `A.B[].C` -> `A.B[*].C`; keys that are not plain identifiers are quoted.
pub fn guard_path(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let (name, array) = match segment.strip_suffix("[]") {
                Some(name) => (name, "[*]"),
                None => (segment, ""),
            };
            format!("{}{array}", quote_key(name))
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn quote_key(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A JSON scalar as a Guard literal.
pub fn literal(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(format!(
            "\"{}\"",
            text.replace('\\', "\\\\").replace('"', "\\\"")
        )),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(items) => {
            let items = items.iter().map(literal).collect::<Option<Vec<_>>>()?;
            Some(format!("[{}]", items.join(", ")))
        }
        _ => None,
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

/// Clauses checking `fields` (nested objects) relative to the current block.
fn field_clauses(prefix: &str, fields: &Value, out: &mut Vec<String>) -> Result<(), String> {
    let object = fields.as_object().ok_or("contains needs an object")?;
    for (key, value) in object {
        let path = if prefix.is_empty() {
            quote_key(key)
        } else {
            format!("{prefix}.{}", quote_key(key))
        };
        match value {
            Value::Object(_) => field_clauses(&path, value, out)?,
            scalar => {
                let literal =
                    literal(scalar).ok_or_else(|| format!("cannot express {scalar} in Guard"))?;
                out.push(format!("{path} == {literal}"));
            }
        }
    }
    Ok(())
}

fn message(recommendation: &Recommendation) -> String {
    let fix = match &recommendation.expectation {
        Expectation::Equals(value) => format!("set {} to {value}", recommendation.property),
        Expectation::OneOf(values) => format!(
            "set {} to one of {}",
            recommendation.property,
            values
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expectation::Present => format!("set {}", recommendation.property),
        Expectation::AtLeast(bound) => format!(
            "set {} to at least {}",
            recommendation.property,
            number(*bound)
        ),
        Expectation::AtMost(bound) => format!(
            "set {} to at most {}",
            recommendation.property,
            number(*bound)
        ),
        Expectation::Contains(element) => format!("add {element} to {}", recommendation.property),
    };
    // `>>` would end the message block early.
    format!(
        "Violation: [{}] {}\n        Fix: {fix}",
        recommendation.configuration_id,
        recommendation.title.replace(">>", "> >")
    )
    .replace(">>", "> >")
}

/// One named rule for a recommendation, or why it cannot be written.
pub fn rule(recommendation: &Recommendation) -> Result<String, String> {
    let var = variable(&recommendation.resource_type);
    let target = format!("%{var}.Properties.{}", guard_path(&recommendation.property));
    let message = message(recommendation);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "rule {} when %{var} !empty {{",
        rule_name(recommendation)
    );
    match &recommendation.expectation {
        Expectation::Contains(element) => {
            let mut clauses = Vec::new();
            field_clauses("", element, &mut clauses)?;
            let _ = writeln!(text, "    some {target}[*] {{");
            for clause in &clauses {
                let _ = writeln!(text, "        {clause}");
            }
            let _ = writeln!(text, "        <<\n        {message}\n        >>");
            let _ = writeln!(text, "    }}");
        }
        expectation => {
            let clause = match expectation {
                Expectation::Equals(value) => {
                    format!(
                        "{target} == {}",
                        literal(value).ok_or_else(|| format!("cannot compare with {value}"))?
                    )
                }
                Expectation::OneOf(values) => {
                    let literals = values
                        .iter()
                        .map(|v| literal(v).ok_or_else(|| format!("cannot compare with {v}")))
                        .collect::<Result<Vec<_>, _>>()?;
                    format!("{target} IN [{}]", literals.join(", "))
                }
                Expectation::Present => format!("{target} exists"),
                Expectation::AtLeast(bound) => format!("{target} >= {}", number(*bound)),
                Expectation::AtMost(bound) => format!("{target} <= {}", number(*bound)),
                Expectation::Contains(_) => unreachable!("handled above"),
            };
            let _ = writeln!(text, "    {clause}\n    <<\n        {message}\n    >>");
        }
    }
    text.push('}');
    Ok(text)
}

/// A rules file: the selectors, then the rules.
pub fn rules_file(header: &str, resource_types: &[&str], rules: &[String]) -> String {
    let mut text = String::new();
    for line in header.lines() {
        let _ = writeln!(text, "# {line}");
    }
    text.push('\n');
    for resource_type in resource_types {
        let _ = writeln!(text, "{}", selector(resource_type));
    }
    for rule in rules {
        let _ = write!(text, "\n{rule}\n");
    }
    text
}
