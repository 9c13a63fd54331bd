//! The `Condition` element: one operator, one key, one or more values.
//!
//! IAM's rules ("IAM JSON policy elements: Condition operators" and
//! "Conditions with multiple context keys or values"):
//! - several operators, and several keys under one operator, are ANDed; the
//!   values of one key are ORed, and for a negated operator NORed;
//! - a key absent from the request makes the condition false, except for
//!   negated operators (true), `...IfExists` (true) and `Null`;
//! - `ForAllValues:` is true when the key is absent or a null dataset (an
//!   empty set), `ForAnyValue:` is false then, `...IfExists` or not (AWS
//!   re:Post "ForAnyValue:StringEqualsIfExists behaving unexpectedly");
//! - a single-valued operator against a multivalued value (a set) is false,
//!   negated or not: multivalued keys need a set operator (iam-simulate's
//!   reading, which AWS's documentation does not contradict);
//! - `Null: true` holds when the key is absent or a null dataset;
//! - condition key names are case-insensitive;
//! - a value that cannot be compared in the operator's type (a request
//!   value that is not a number, date, boolean, IP address or ARN, or an
//!   unresolvable policy variable) fails the comparison; for a negated
//!   operator that makes the condition false too.

pub mod operator;
mod values;

use crate::arn::{ARN_OPERATOR, ArnPattern, Cmp};
use crate::context::{ContextValue, RequestContext};
use crate::pattern::{Syntax, Template};
use operator::{BaseOperator, Family, Operator, SetOperator};
use values::{IpPattern, parse_date, parse_number};

/// The policy's values for one key, parsed for the operator's type.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// String operators and `Bool` (both take policy variables).
    Text(Vec<Template>),
    Numbers(Vec<f64>),
    Dates(Vec<i64>),
    Binary(Vec<String>),
    Ips(Vec<IpPattern>),
    Arns(Vec<ArnPattern>),
    /// `Null`: `true` = the key must be absent.
    Null(Vec<bool>),
}

/// One operator-key pair of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The condition key as written (matched ignoring case).
    pub key: String,
    /// The values as written.
    pub raw_values: Vec<String>,
    values: Values,
}

impl Condition {
    /// Parse one operator-key pair; `variables` is false for policies of
    /// version 2008-10-17, where `${...}` is literal text.
    pub fn parse(
        operator: &str,
        key: &str,
        raw_values: Vec<String>,
        variables: bool,
    ) -> Result<Self, String> {
        let operator = Operator::parse(operator)?;
        if key.is_empty() {
            return Err("empty condition key".to_string());
        }
        let base = operator.base;
        let text_syntax = Syntax {
            wildcards: base.has_wildcards(),
            variables,
        };
        let typed = |kind: &str, parse: &dyn Fn(&str) -> bool| match raw_values
            .iter()
            .find(|value| !parse(value))
        {
            Some(value) => Err(format!("{}: {value:?} is not {kind}", base.name())),
            None => Ok(()),
        };
        let values = match base.family() {
            Family::String => Values::Text(parse_templates(&raw_values, text_syntax)?),
            Family::Bool => {
                let templates = parse_templates(&raw_values, text_syntax)?;
                let literal_is_bool = |template: &Template| {
                    template
                        .as_literal()
                        .is_none_or(|text| as_bool(text).is_some())
                };
                if let Some(index) = templates.iter().position(|t| !literal_is_bool(t)) {
                    return Err(format!(
                        "Bool: {:?} is not true or false",
                        raw_values[index]
                    ));
                }
                Values::Text(templates)
            }
            Family::Numeric => {
                typed("a number", &|value| parse_number(value).is_some())?;
                Values::Numbers(raw_values.iter().filter_map(|v| parse_number(v)).collect())
            }
            Family::Date => {
                typed("a date", &|value| parse_date(value).is_some())?;
                Values::Dates(raw_values.iter().filter_map(|v| parse_date(v)).collect())
            }
            Family::Binary => Values::Binary(raw_values.clone()),
            Family::Ip => {
                typed("an IP address or CIDR block", &|value| {
                    IpPattern::parse(value).is_some()
                })?;
                Values::Ips(
                    raw_values
                        .iter()
                        .filter_map(|v| IpPattern::parse(v))
                        .collect(),
                )
            }
            Family::Arn => Values::Arns(
                raw_values
                    .iter()
                    .map(|value| ArnPattern::parse(value, variables, ARN_OPERATOR))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Null => {
                typed("true or false", &|value| as_bool(value).is_some())?;
                Values::Null(raw_values.iter().filter_map(|v| as_bool(v)).collect())
            }
        };
        Ok(Self {
            operator,
            key: key.to_string(),
            raw_values,
            values,
        })
    }

    /// Whether the condition holds for the request.
    pub fn evaluate(&self, context: &RequestContext) -> bool {
        let value = context.present(&self.key);
        if let Values::Null(wanted) = &self.values {
            let absent = value.is_none();
            return wanted.contains(&absent);
        }
        match (self.operator.set, value) {
            (Some(SetOperator::ForAnyValue), None) => false,
            (Some(SetOperator::ForAllValues), None) => true,
            (Some(SetOperator::ForAnyValue), Some(value)) => as_slice(value)
                .iter()
                .any(|item| self.compare(item, context)),
            (Some(SetOperator::ForAllValues), Some(value)) => as_slice(value)
                .iter()
                .all(|item| self.compare(item, context)),
            (None, None) => self.operator.if_exists || self.operator.base.is_negated(),
            (None, Some(ContextValue::Single(item))) => self.compare(item, context),
            (None, Some(ContextValue::Multi(_))) => false,
        }
    }

    /// One request value against every policy value: ORed, or NORed for a
    /// negated operator (where an incomparable value fails the whole test).
    fn compare(&self, request: &str, context: &RequestContext) -> bool {
        let base = self.operator.base;
        let negated = base.is_negated();
        let ordering = base.ordering();
        match &self.values {
            Values::Text(templates) if base == BaseOperator::Bool => {
                let request = as_bool(request);
                decide(
                    negated,
                    templates.iter().map(|template| {
                        let policy = match template.as_literal() {
                            Some(literal) => as_bool(literal),
                            None => template.render(context).as_deref().and_then(as_bool),
                        };
                        match (request, policy) {
                            (Some(request), Some(policy)) => Cmp::from_bool(request == policy),
                            _ => Cmp::Invalid,
                        }
                    }),
                )
            }
            Values::Text(templates) => {
                let fold = base.folds_case();
                decide(
                    negated,
                    templates.iter().map(|template| {
                        match template.matches(request, context, fold) {
                            Some(matches) => Cmp::from_bool(matches),
                            None => Cmp::Invalid,
                        }
                    }),
                )
            }
            Values::Numbers(numbers) => {
                let request = parse_number(request);
                decide(
                    negated,
                    numbers.iter().map(|policy| match request {
                        Some(request) => Cmp::from_bool(ordering.holds(request, *policy)),
                        None => Cmp::Invalid,
                    }),
                )
            }
            Values::Dates(dates) => {
                let request = parse_date(request);
                decide(
                    negated,
                    dates.iter().map(|policy| match request {
                        Some(request) => Cmp::from_bool(ordering.holds(request, *policy)),
                        None => Cmp::Invalid,
                    }),
                )
            }
            Values::Binary(values) => decide(
                negated,
                values
                    .iter()
                    .map(|policy| Cmp::from_bool(policy == request)),
            ),
            Values::Ips(patterns) => {
                let request = request.parse::<std::net::IpAddr>().ok();
                decide(
                    negated,
                    patterns.iter().map(|pattern| match &request {
                        Some(address) => Cmp::from_bool(pattern.contains(address)),
                        None => Cmp::Invalid,
                    }),
                )
            }
            Values::Arns(patterns) => decide(
                negated,
                patterns
                    .iter()
                    .map(|pattern| pattern.matches(request, context, ARN_OPERATOR)),
            ),
            Values::Null(_) => false,
        }
    }
}

/// ORed for a positive operator; NORed for a negated one, where a value that
/// cannot be compared makes the test fail.
fn decide(negated: bool, mut results: impl Iterator<Item = Cmp>) -> bool {
    if negated {
        results.all(|cmp| cmp == Cmp::NoMatch)
    } else {
        results.any(|cmp| cmp == Cmp::Match)
    }
}

fn parse_templates(raw_values: &[String], syntax: Syntax) -> Result<Vec<Template>, String> {
    raw_values
        .iter()
        .map(|value| Template::parse(value, syntax))
        .collect()
}

fn as_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn as_slice(value: &ContextValue) -> &[String] {
    match value {
        ContextValue::Single(item) => std::slice::from_ref(item),
        ContextValue::Multi(items) => items,
    }
}

#[cfg(test)]
mod tests;
