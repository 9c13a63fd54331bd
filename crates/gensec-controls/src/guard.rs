//! CloudFormation Guard rules for recommendations: one named rule each, with
//! a violation message and the fix.

use gensec_core::contract::analysis::{ElementCondition, Expectation, Recommendation};
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

/// A property name as a Guard path segment, quoted unless a plain identifier.
pub fn quote_key(name: &str) -> String {
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

/// Clauses checking `fields` (nested objects) relative to the current block:
/// the nested list blocks first, then the scalar comparisons, so a block
/// ends with a clause a violation message can follow.
fn field_clauses(prefix: &str, fields: &Value, out: &mut Vec<String>) -> Result<(), String> {
    let mut blocks = Vec::new();
    let mut scalars = Vec::new();
    collect_field_clauses(prefix, fields, &mut blocks, &mut scalars)?;
    out.extend(blocks);
    out.extend(scalars);
    Ok(())
}

fn collect_field_clauses(
    prefix: &str,
    fields: &Value,
    blocks: &mut Vec<String>,
    scalars: &mut Vec<String>,
) -> Result<(), String> {
    let object = fields.as_object().ok_or("contains needs an object")?;
    for (key, value) in object {
        let path = if prefix.is_empty() {
            quote_key(key)
        } else {
            format!("{prefix}.{}", quote_key(key))
        };
        match value {
            Value::Object(_) => collect_field_clauses(&path, value, blocks, scalars)?,
            // Each wanted element of a nested list of objects is in some
            // element of the list (as `Expectation::is_met_by` reads it).
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                for item in items {
                    let mut inner = Vec::new();
                    field_clauses("", item, &mut inner)?;
                    blocks.push(format!("some {path}[*] {{"));
                    blocks.extend(inner.into_iter().map(|line| format!("    {line}")));
                    blocks.push("}".into());
                }
            }
            scalar => {
                let literal =
                    literal(scalar).ok_or_else(|| format!("cannot express {scalar} in Guard"))?;
                scalars.push(format!("{path} == {literal}"));
            }
        }
    }
    Ok(())
}

fn message(recommendation: &Recommendation) -> String {
    let fix = fix_text(&recommendation.property, &recommendation.expectation);
    // `>>` would end the message block early.
    format!(
        "Violation: [{}] {}\n        Fix: {fix}",
        recommendation.configuration_id,
        recommendation.title.replace(">>", "> >")
    )
    .replace(">>", "> >")
}

/// What to do about a violation, in a few words.
fn fix_text(property: &str, expectation: &Expectation) -> String {
    let joined = |values: &[Value]| {
        values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let conditions = |conditions: &[ElementCondition]| {
        conditions
            .iter()
            .map(|c| condition_text(&c.field, &c.expect))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    match expectation {
        Expectation::Equals(value) => format!("set {property} to {value}"),
        Expectation::NotEquals(value) => format!("set {property} to anything but {value}"),
        Expectation::OneOf(values) => format!("set {property} to one of {}", joined(values)),
        Expectation::Present => format!("set {property}"),
        Expectation::Absent => format!("remove {property}"),
        Expectation::AtLeast(bound) => format!("set {property} to at least {}", number(*bound)),
        Expectation::AtMost(bound) => format!("set {property} to at most {}", number(*bound)),
        Expectation::Matches(pattern) => format!("set {property} to match /{pattern}/"),
        Expectation::NotMatches(pattern) => format!("set {property} to not match /{pattern}/"),
        Expectation::Contains(element) => format!("add {element} to {property}"),
        Expectation::NoElement(list) => {
            format!(
                "remove every element of {property} with {}",
                conditions(list)
            )
        }
        Expectation::EveryElement(list) => {
            format!("make every element of {property} have {}", conditions(list))
        }
        Expectation::MinItems(least) => format!("give {property} at least {least} elements"),
        Expectation::Excludes(value) => format!("remove {value} from {property}"),
    }
}

fn lit(value: &Value) -> Result<String, String> {
    literal(value).ok_or_else(|| format!("cannot compare with {value} in Guard"))
}

/// A string that is not a number: CloudFormation passes numbers as either,
/// and `Expectation::is_met_by` compares numeric strings by value.
fn is_text(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.trim().parse::<f64>().is_err())
}

fn regex_literal(pattern: &str) -> Result<String, String> {
    regex::Regex::new(pattern).map_err(|err| format!("pattern /{pattern}/: {err}"))?;
    Ok(format!("/{}/", pattern.replace('/', "\\/")))
}

/// One Guard line (a disjunction) that holds when `path` meets a scalar
/// expectation, or, with `negate`, when it does not. An unset property meets
/// what [`Expectation::is_met_by`] says it meets.
fn scalar_clause(path: &str, expectation: &Expectation, negate: bool) -> Result<String, String> {
    let values = |values: &[Value]| -> Result<String, String> {
        Ok(values
            .iter()
            .map(lit)
            .collect::<Result<Vec<_>, _>>()?
            .join(", "))
    };
    let unset_or = |clause: String| format!("{path} !exists or {clause}");
    // Guard's comparison of a map or list (an intrinsic function such as
    // `{"Fn::Sub": ...}`, or a principal `{"AWS": ...}`) with a scalar fails
    // instead of being unequal; as `Expectation::is_met_by` says, a value
    // that is not a string differs from every text, and a map or list from
    // every literal.
    let differs_from_text = |texts: &[&Value], clause: String| {
        if texts.iter().all(|v| is_text(v)) {
            unset_or(format!("{path} !is_string or {clause}"))
        } else {
            // A number may be written as a string, so only maps and lists
            // differ from every literal.
            unset_or(format!("{path} is_struct or {path} is_list or {clause}"))
        }
    };
    Ok(match (expectation, negate) {
        (Expectation::Equals(value), false) => format!("{path} == {}", lit(value)?),
        (Expectation::Equals(value), true) => {
            differs_from_text(&[value], format!("{path} != {}", lit(value)?))
        }
        (Expectation::NotEquals(value), false) => {
            differs_from_text(&[value], format!("{path} != {}", lit(value)?))
        }
        (Expectation::NotEquals(value), true) => format!("{path} == {}", lit(value)?),
        (Expectation::OneOf(list), false) => format!("{path} IN [{}]", values(list)?),
        (Expectation::OneOf(list), true) => differs_from_text(
            &list.iter().collect::<Vec<_>>(),
            format!("{path} not IN [{}]", values(list)?),
        ),
        (Expectation::Present, false) => format!("{path} exists"),
        (Expectation::Present, true) => format!("{path} !exists or {path} empty"),
        (Expectation::Absent, false) => format!("{path} !exists"),
        (Expectation::Absent, true) => format!("{path} exists"),
        (Expectation::AtLeast(bound), false) => format!("{path} >= {}", number(*bound)),
        (Expectation::AtLeast(bound), true) => unset_or(format!("{path} < {}", number(*bound))),
        (Expectation::AtMost(bound), false) => format!("{path} <= {}", number(*bound)),
        (Expectation::AtMost(bound), true) => unset_or(format!("{path} > {}", number(*bound))),
        (Expectation::Matches(pattern), false) => format!("{path} == {}", regex_literal(pattern)?),
        (Expectation::Matches(pattern), true) | (Expectation::NotMatches(pattern), false) => {
            unset_or(format!(
                "{path} !is_string or {path} != {}",
                regex_literal(pattern)?
            ))
        }
        (Expectation::NotMatches(pattern), true) => {
            format!("{path} == {}", regex_literal(pattern)?)
        }
        (
            Expectation::Contains(_)
            | Expectation::NoElement(_)
            | Expectation::EveryElement(_)
            | Expectation::MinItems(_)
            | Expectation::Excludes(_),
            _,
        ) => {
            return Err("an element condition must be a scalar expectation".into());
        }
    })
}

/// Guard lines (a conjunction) that hold when `path` (relative to the block
/// they are written in) meets the expectation.
pub fn clauses(path: &str, expectation: &Expectation) -> Result<Vec<String>, String> {
    let list_or = |body: Vec<String>| {
        let mut lines = vec![format!("{path} !exists or {path} empty or {path}[*] {{")];
        lines.extend(body.into_iter().map(|line| format!("    {line}")));
        lines.push("}".into());
        lines
    };
    match expectation {
        Expectation::Contains(element) => {
            let mut body = Vec::new();
            field_clauses("", element, &mut body)?;
            let mut lines = vec![format!("some {path}[*] {{")];
            lines.extend(body.into_iter().map(|line| format!("    {line}")));
            lines.push("}".into());
            Ok(lines)
        }
        Expectation::NoElement(conditions) => {
            let negated = conditions
                .iter()
                .map(|c| scalar_clause(&quote_path(&c.field), &c.expect, true))
                .collect::<Result<Vec<_>, _>>()?;
            if negated.is_empty() {
                return Err("no_element needs at least one condition".into());
            }
            Ok(list_or(vec![negated.join(" or ")]))
        }
        Expectation::EveryElement(conditions) => {
            let body = conditions
                .iter()
                .map(|c| scalar_clause(&quote_path(&c.field), &c.expect, false))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(list_or(body))
        }
        // Unset, or the last element it must have exists (an intrinsic
        // function returning a list cannot be counted, so it fails).
        Expectation::MinItems(least) => Ok(vec![format!(
            "{path} !exists or {path}[{}] exists",
            least.saturating_sub(1)
        )]),
        // Unset, empty, or every element differs from the refused value.
        Expectation::Excludes(refused) => Ok(vec![format!(
            "{path} !exists or {path} empty or {path}[*] != {}",
            lit(refused)?
        )]),
        scalar => Ok(vec![scalar_clause(path, scalar, false)?]),
    }
}

fn quote_path(path: &str) -> String {
    path.split('.').map(quote_key).collect::<Vec<_>>().join(".")
}

/// One named rule for a recommendation, or why it cannot be written. Each
/// resource of the type is checked on its own.
pub fn rule(recommendation: &Recommendation) -> Result<String, String> {
    if recommendation.is_operational() {
        return Err("an operational control has no template property to check".into());
    }
    let var = variable(&recommendation.resource_type);
    let target = format!("Properties.{}", guard_path(&recommendation.property));
    let message = message(recommendation);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "rule {} when %{var} !empty {{",
        rule_name(recommendation)
    );
    let _ = writeln!(text, "    %{var} {{");
    let mut lines = with_message(clauses(&target, &recommendation.expectation)?, &message);
    if let Some(block) = &recommendation.when_set {
        // A setting of one variant: resources of another variant skip it.
        let mut within = vec![format!("when Properties.{} exists {{", guard_path(block))];
        within.extend(lines.into_iter().map(|line| format!("    {line}")));
        within.push("}".into());
        lines = within;
    }
    for line in lines {
        let _ = writeln!(text, "        {line}");
    }
    let _ = writeln!(text, "    }}");
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

/// Clause lines followed by a violation message. The message belongs to the
/// last clause, so after a nested block it goes inside, before the block ends.
pub fn with_message(mut lines: Vec<String>, message: &str) -> Vec<String> {
    let end = if lines.last().is_some_and(|line| line == "}") {
        lines.pop()
    } else {
        None
    };
    let indent = if end.is_some() { "    " } else { "" };
    lines.push(format!("{indent}<<"));
    lines.extend(
        message
            .lines()
            .map(|line| format!("{indent}    {}", line.trim_start())),
    );
    lines.push(format!("{indent}>>"));
    lines.extend(end);
    lines
}

/// An element condition in a few symbols (`CidrIp = "0.0.0.0/0"`, `FromPort <= 22`).
fn condition_text(field: &str, expectation: &Expectation) -> String {
    match expectation {
        Expectation::Equals(value) => format!("{field} = {value}"),
        Expectation::NotEquals(value) => format!("{field} != {value}"),
        Expectation::OneOf(values) => format!(
            "{field} in [{}]",
            values
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expectation::Present => format!("{field} set"),
        Expectation::Absent => format!("{field} unset"),
        Expectation::AtLeast(bound) => format!("{field} >= {}", number(*bound)),
        Expectation::AtMost(bound) => format!("{field} <= {}", number(*bound)),
        Expectation::Matches(pattern) => format!("{field} matching /{pattern}/"),
        Expectation::NotMatches(pattern) => format!("{field} not matching /{pattern}/"),
        other => fix_text(field, other),
    }
}
