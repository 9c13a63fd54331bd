//! Reading policy JSON as AWS accepts it: `Statement` as an object or an
//! array, a string or a list wherever AWS allows either, condition values
//! as strings, numbers or booleans. Anything else is a `PolicyError` that
//! names the statement and the element.

use crate::arn::ResourcePattern;
use crate::condition::Condition;
use crate::error::{Location, PolicyError};
use crate::policy::{ActionPattern, Block, Effect, Policy, PolicyKind, PolicyVersion, Statement};
use crate::principal::PrincipalPattern;
use serde_json::Value;

const DOCUMENT_KEYS: [&str; 3] = ["Version", "Id", "Statement"];
/// The elements a policy statement may have.
pub const STATEMENT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

pub(crate) fn policy(id: &str, kind: PolicyKind, value: &Value) -> Result<Policy, PolicyError> {
    let document_error =
        |field: &str, message: String| PolicyError::invalid(id, Location::document(field), message);
    let Value::Object(map) = value else {
        return Err(document_error("", "a policy is a JSON object".to_string()));
    };
    if let Some(unknown) = map
        .keys()
        .find(|key| !DOCUMENT_KEYS.contains(&key.as_str()))
    {
        return Err(document_error(
            unknown,
            format!("unknown element {unknown:?}"),
        ));
    }
    let version = match map.get("Version") {
        None => PolicyVersion::V2008_10_17,
        Some(Value::String(text)) if text == "2012-10-17" => PolicyVersion::V2012_10_17,
        Some(Value::String(text)) if text == "2008-10-17" => PolicyVersion::V2008_10_17,
        Some(other) => {
            return Err(document_error(
                "Version",
                format!("{other} is not \"2012-10-17\" or \"2008-10-17\""),
            ));
        }
    };
    let statements = match map.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        Some(_) => {
            return Err(document_error(
                "Statement",
                "Statement is an object or an array of objects".to_string(),
            ));
        }
        None => return Err(document_error("Statement", "missing Statement".to_string())),
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            StatementReader {
                policy: id,
                kind,
                version,
                index,
                sid: None,
            }
            .read(value)
        })
        .collect::<Result<_, _>>()?;
    Ok(Policy {
        id: id.to_string(),
        kind,
        version,
        statements,
    })
}

struct StatementReader<'a> {
    policy: &'a str,
    kind: PolicyKind,
    version: PolicyVersion,
    index: usize,
    sid: Option<String>,
}

impl StatementReader<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> PolicyError {
        PolicyError::invalid(
            self.policy,
            Location {
                statement: Some(self.index),
                sid: self.sid.clone(),
                field: field.to_string(),
            },
            message,
        )
    }

    fn read(mut self, value: &Value) -> Result<Statement, PolicyError> {
        let Value::Object(map) = value else {
            return Err(self.error("", "a statement is a JSON object"));
        };
        self.sid = match map.get("Sid") {
            None => None,
            Some(Value::String(sid)) => Some(sid.clone()),
            Some(_) => return Err(self.error("Sid", "Sid is a string")),
        };
        if let Some(unknown) = map
            .keys()
            .find(|key| !STATEMENT_KEYS.contains(&key.as_str()))
        {
            return Err(self.error(unknown, format!("unknown element {unknown:?}")));
        }
        let effect = match map.get("Effect") {
            Some(Value::String(text)) if text == "Allow" => Effect::Allow,
            Some(Value::String(text)) if text == "Deny" => Effect::Deny,
            Some(other) => {
                return Err(self.error("Effect", format!("{other} is not \"Allow\" or \"Deny\"")));
            }
            None => return Err(self.error("Effect", "missing Effect")),
        };
        let actions = self
            .block(map, "Action", "NotAction", ActionPattern::parse)?
            .ok_or_else(|| self.error("Action", "a statement needs Action or NotAction"))?;
        let variables = self.version.has_variables();
        let resources = self.block(map, "Resource", "NotResource", |raw| {
            ResourcePattern::parse(raw, variables)
        })?;
        if resources.is_none() && self.kind != PolicyKind::Resource {
            return Err(self.error("Resource", "a statement needs Resource or NotResource"));
        }
        let principals = self.principals(map)?;
        let conditions = match map.get("Condition") {
            None => Vec::new(),
            Some(value) => self.conditions(value)?,
        };
        Ok(Statement {
            index: self.index,
            sid: self.sid,
            effect,
            actions,
            resources,
            principals,
            conditions,
        })
    }

    /// `Action`/`NotAction` style pairs: at most one of the two, a string or
    /// a non-empty list of strings.
    fn block<T>(
        &self,
        map: &serde_json::Map<String, Value>,
        positive: &str,
        negative: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Block<T>>, PolicyError> {
        let (field, value, negated) = match (map.get(positive), map.get(negative)) {
            (Some(_), Some(_)) => {
                return Err(self.error(positive, format!("{positive} and {negative} together")));
            }
            (Some(value), None) => (positive, value, false),
            (None, Some(value)) => (negative, value, true),
            (None, None) => return Ok(None),
        };
        let raw = strings(value).map_err(|message| self.error(field, message))?;
        if raw.is_empty() {
            return Err(self.error(field, format!("{field} is empty")));
        }
        let items = raw
            .iter()
            .map(|item| parse(item).map_err(|message| self.error(field, message)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(if negated {
            Block::Not(items)
        } else {
            Block::Is(items)
        }))
    }

    fn principals(
        &self,
        map: &serde_json::Map<String, Value>,
    ) -> Result<Option<Block<PrincipalPattern>>, PolicyError> {
        let found = match (map.get("Principal"), map.get("NotPrincipal")) {
            (Some(_), Some(_)) => {
                return Err(self.error("Principal", "Principal and NotPrincipal together"));
            }
            (Some(value), None) => Some(("Principal", value, false)),
            (None, Some(value)) => Some(("NotPrincipal", value, true)),
            (None, None) => None,
        };
        let Some((field, value, negated)) = found else {
            if self.kind == PolicyKind::Resource {
                return Err(self.error(
                    "Principal",
                    "a resource-based policy statement needs Principal or NotPrincipal",
                ));
            }
            return Ok(None);
        };
        if self.kind != PolicyKind::Resource {
            return Err(self.error(
                field,
                format!("{field} is only allowed in resource-based policies"),
            ));
        }
        let patterns =
            match value {
                Value::String(text) if text == "*" => vec![PrincipalPattern::Everyone],
                Value::Object(kinds) if !kinds.is_empty() => {
                    let mut patterns = Vec::new();
                    for (kind, names) in kinds {
                        let names = strings(names)
                            .map_err(|message| self.error(&format!("{field}.{kind}"), message))?;
                        for name in names {
                            patterns.push(PrincipalPattern::parse(kind, &name).map_err(
                                |message| self.error(&format!("{field}.{kind}"), message),
                            )?);
                        }
                    }
                    patterns
                }
                _ => {
                    return Err(self.error(
                        field,
                        format!("{field} is \"*\" or a map such as {{\"AWS\": ...}}"),
                    ));
                }
            };
        Ok(Some(if negated {
            Block::Not(patterns)
        } else {
            Block::Is(patterns)
        }))
    }

    fn conditions(&self, value: &Value) -> Result<Vec<Condition>, PolicyError> {
        let Value::Object(operators) = value else {
            return Err(self.error("Condition", "Condition is a map of operators"));
        };
        let mut conditions = Vec::new();
        for (operator, keys) in operators {
            let field = format!("Condition.{operator}");
            let Value::Object(keys) = keys else {
                return Err(self.error(&field, "an operator maps condition keys to values"));
            };
            for (key, values) in keys {
                let field = format!("{field}.{key}");
                let values =
                    condition_values(values).map_err(|message| self.error(&field, message))?;
                let condition =
                    Condition::parse(operator, key, values, self.version.has_variables())
                        .map_err(|message| self.error(&field, message))?;
                conditions.push(condition);
            }
        }
        Ok(conditions)
    }
}

/// A string or a list of strings.
fn strings(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(format!("{other} is not a string")),
            })
            .collect(),
        other => Err(format!("{other} is not a string or a list of strings")),
    }
}

/// Condition values: strings, numbers and booleans, alone or in a list.
fn condition_values(value: &Value) -> Result<Vec<String>, String> {
    let scalar = |item: &Value| match item {
        Value::String(text) => Ok(text.clone()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(number) => Ok(number.to_string()),
        other => Err(format!("{other} is not a string, number or boolean")),
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|item| vec![item]),
    }
}

#[cfg(test)]
mod tests;
