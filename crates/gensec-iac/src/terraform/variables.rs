//! Template parameters as Terraform variables: type, default, sensitivity,
//! and `validation` blocks for the parameter's constraints.

use super::Renderer;
use super::node::{Emitted, Node};
use gensec_hcl::{call, number, traversal};
use hcl::expr::{BinaryOp, BinaryOperator, Expression, Operation, Variable};
use hcl::{Block, Identifier};
use serde_json::Value;

/// The shape of a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    TextList,
    NumberList,
}

impl Kind {
    /// The kind of a CloudFormation parameter type (SSM parameter types by
    /// the type of their value).
    fn of(cfn_type: &str) -> Self {
        let inner = cfn_type
            .strip_prefix("AWS::SSM::Parameter::Value<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(cfn_type);
        if inner == "Number" {
            Kind::Number
        } else if inner == "List<Number>" {
            Kind::NumberList
        } else if inner == "CommaDelimitedList" || inner.starts_with("List<") {
            Kind::TextList
        } else {
            Kind::Text
        }
    }

    fn is_scalar(self) -> bool {
        matches!(self, Kind::Text | Kind::Number)
    }

    fn is_numeric(self) -> bool {
        matches!(self, Kind::Number | Kind::NumberList)
    }

    /// The variable's `type`.
    fn type_expr(self) -> Expression {
        let string_type = || Expression::Variable(Variable::unchecked("string"));
        let number_type = || Expression::Variable(Variable::unchecked("number"));
        match self {
            Kind::Text => string_type(),
            Kind::Number => number_type(),
            Kind::TextList => call("list", vec![string_type()]),
            Kind::NumberList => call("list", vec![number_type()]),
        }
    }
}

/// A scalar of a parameter (default, allowed value, bound) as HCL, a number
/// when `numeric`; `None` when it does not fit.
fn scalar(value: &Value, numeric: bool) -> Option<Expression> {
    match value {
        Value::String(text) if numeric => text
            .trim()
            .parse::<serde_json::Number>()
            .ok()
            .map(|n| number(&n)),
        Value::Number(n) if numeric => Some(number(n)),
        Value::String(text) => Some(Expression::String(text.clone())),
        Value::Number(n) => Some(Expression::String(n.to_string())),
        _ => None,
    }
}

/// The default as a value of the variable's type.
fn default_value(kind: Kind, default: &Value) -> Option<Expression> {
    match (kind, default) {
        (Kind::Text | Kind::Number, value) => scalar(value, kind.is_numeric()),
        (Kind::TextList | Kind::NumberList, Value::String(text)) => {
            let numeric = kind.is_numeric();
            text.split(',')
                .filter(|item| !item.trim().is_empty() || !numeric)
                .map(|item| scalar(&Value::String(item.trim().to_string()), numeric))
                .collect::<Option<Vec<_>>>()
                .map(Expression::Array)
        }
        (Kind::TextList | Kind::NumberList, Value::Array(items)) => items
            .iter()
            .map(|item| scalar(item, kind.is_numeric()))
            .collect::<Option<Vec<_>>>()
            .map(Expression::Array),
        _ => None,
    }
}

fn compare(lhs: Expression, op: BinaryOperator, rhs: Expression) -> Expression {
    Expression::from(Operation::Binary(BinaryOp::new(lhs, op, rhs)))
}

/// The `validation` blocks of one variable, built from its parameter.
#[derive(Debug)]
struct Validations<'p> {
    parameter: &'p Value,
    kind: Kind,
    /// `var.<name>`.
    this: Expression,
    /// (condition, error message).
    found: Vec<(Expression, Expression)>,
}

impl Validations<'_> {
    /// The parameter's `ConstraintDescription`, else `fallback`, as a sentence.
    fn message(&self, fallback: String) -> Expression {
        let constraint = self
            .parameter
            .get("ConstraintDescription")
            .and_then(Value::as_str);
        let mut text = constraint.map_or(fallback, str::to_string);
        if !text.ends_with('.') && !text.ends_with('?') {
            text.push('.');
        }
        Expression::String(text)
    }

    fn push(&mut self, condition: Expression, fallback: String) {
        let message = self.message(fallback);
        self.found.push((condition, message));
    }

    /// `AllowedValues`; false when a value does not fit the type.
    fn allowed_values(&mut self, allowed: &[Value]) -> bool {
        let values: Option<Vec<Expression>> = allowed
            .iter()
            .map(|v| scalar(v, self.kind.is_numeric()))
            .collect();
        let Some(values) = values else {
            return false;
        };
        let listed: Vec<String> = allowed
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        let condition = if self.kind.is_scalar() {
            call(
                "contains",
                vec![Expression::Array(values), self.this.clone()],
            )
        } else {
            let each = call(
                "contains",
                vec![Expression::Array(values), traversal("v", &[])],
            );
            let every = Expression::from(hcl::expr::ForExpr::new(
                Identifier::unchecked("v"),
                self.this.clone(),
                each,
            ));
            call("alltrue", vec![every])
        };
        self.push(condition, format!("Must be one of: {}", listed.join(", ")));
        true
    }

    fn pattern(&mut self, pattern: &str) {
        let regex = call(
            "regex",
            vec![
                Expression::String(format!("^(?:{pattern})$")),
                self.this.clone(),
            ],
        );
        self.push(
            call("can", vec![regex]),
            format!("Must match the pattern {pattern}"),
        );
    }

    /// `MinLength`/`MaxLength` of text, `MinValue`/`MaxValue` of numbers.
    fn bounds(&mut self) {
        let parameter = self.parameter;
        let bound = |key: &str| parameter.get(key).and_then(|v| scalar(v, true));
        let length = || call("length", vec![self.this.clone()]);
        let mut found = Vec::new();
        if self.kind == Kind::Text {
            if let Some(min) = bound("MinLength") {
                found.push((
                    compare(length(), BinaryOperator::GreaterEq, min),
                    format!(
                        "Must be at least {} characters long",
                        parameter["MinLength"]
                    ),
                ));
            }
            if let Some(max) = bound("MaxLength") {
                found.push((
                    compare(length(), BinaryOperator::LessEq, max),
                    format!("Must be at most {} characters long", parameter["MaxLength"]),
                ));
            }
        }
        if self.kind == Kind::Number {
            if let Some(min) = bound("MinValue") {
                found.push((
                    compare(self.this.clone(), BinaryOperator::GreaterEq, min),
                    format!("Must be at least {}", parameter["MinValue"]),
                ));
            }
            if let Some(max) = bound("MaxValue") {
                found.push((
                    compare(self.this.clone(), BinaryOperator::LessEq, max),
                    format!("Must be at most {}", parameter["MaxValue"]),
                ));
            }
        }
        for (condition, fallback) in found {
            self.push(condition, fallback);
        }
    }
}

impl Renderer<'_> {
    /// Type, description, default and sensitivity of the variable for `parameter`.
    fn variable_node(
        &mut self,
        name: &str,
        parameter: &Value,
        kind: Kind,
        comments: &mut Vec<String>,
    ) -> Node {
        let cfn_type = parameter
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        let mut node = Node::default();
        if let Some(description) = parameter.get("Description").and_then(Value::as_str) {
            node.attributes.push((
                "description".to_string(),
                Expression::String(description.to_string()),
            ));
        }
        node.attributes.push(("type".to_string(), kind.type_expr()));
        if let Some(default) = parameter.get("Default") {
            let message = if cfn_type.starts_with("AWS::SSM::Parameter::") {
                Some(format!(
                    "parameter {name} is a {cfn_type}: CloudFormation reads its value from Systems Manager; the Terraform variable takes the value itself, so the default (the parameter name) is left out"
                ))
            } else if let Some(expr) = default_value(kind, default) {
                node.attributes.push(("default".to_string(), expr));
                None
            } else {
                Some(format!(
                    "default {default} of parameter {name} does not fit its type {cfn_type}; left out"
                ))
            };
            if let Some(message) = message {
                self.warnings.push(message.clone());
                comments.push(message);
            }
        }
        if parameter
            .get("NoEcho")
            .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
        {
            node.attributes
                .push(("sensitive".to_string(), Expression::Bool(true)));
        }
        node
    }

    /// The variable `var` for template parameter `name`.
    pub(super) fn variable(&mut self, name: &str, var: &str, parameter: &Value) -> Emitted {
        let mut comments = Vec::new();
        let kind = Kind::of(
            parameter
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("String"),
        );
        let node = self.variable_node(name, parameter, kind, &mut comments);
        let mut validations = Validations {
            parameter,
            kind,
            this: traversal("var", &[var]),
            found: Vec::new(),
        };
        if let Some(allowed) = parameter.get("AllowedValues").and_then(Value::as_array)
            && !validations.allowed_values(allowed)
        {
            self.warnings
                .push(format!("AllowedValues of parameter {name} not translated"));
        }
        if let Some(pattern) = parameter.get("AllowedPattern").and_then(Value::as_str) {
            if kind == Kind::Text {
                validations.pattern(pattern);
            } else {
                self.warnings.push(format!(
                    "AllowedPattern of list parameter {name} not translated"
                ));
            }
        }
        validations.bounds();
        let mut block = node.into_block("variable", &[var]);
        for (condition, error_message) in validations.found {
            let validation = Block::builder("validation")
                .add_attribute(("condition", condition))
                .add_attribute(("error_message", error_message))
                .build();
            block.body.0.push(validation.into());
        }
        Emitted { comments, block }
    }
}
