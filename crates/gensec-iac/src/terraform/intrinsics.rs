//! CloudFormation values as HCL: pseudo parameters, `Ref`, `Fn::GetAtt`,
//! `Fn::Sub` and the other intrinsic functions Terraform can express.

use super::Renderer;
use super::naming::snake;
use gensec_hcl::{call, escape_template, literal, object_key, traversal};
use gensec_kb::validate::is_intrinsic;
use hcl::expr::{Expression, Object, TemplateExpr};
use serde_json::Value;

/// `{"Ref": "AWS::NoValue"}`: the property is left out.
pub(super) fn is_no_value(value: &Value) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
}

/// The two elements of a two-element array.
fn pair(argument: &Value) -> Option<(Value, Value)> {
    match argument.as_array().map(Vec::as_slice) {
        Some([first, second]) => Some((first.clone(), second.clone())),
        _ => None,
    }
}

/// `Fn::GetAtt`'s `[resource, attribute]` or `"resource.attribute"`.
fn get_att_argument(argument: &Value) -> Option<(String, String)> {
    match argument {
        Value::String(text) => text
            .split_once('.')
            .map(|(r, a)| (r.to_string(), a.to_string())),
        _ => pair(argument)
            .and_then(|(r, a)| Some((r.as_str()?.to_string(), a.as_str()?.to_string()))),
    }
}

impl Renderer<'_> {
    /// A variable for a value the template gets from somewhere Terraform cannot see.
    fn extra_variable(&mut self, wanted: String, description: String) -> Expression {
        let mut name = wanted;
        while self.parameters.values().any(|v| *v == name) {
            name.push_str("_value");
        }
        if !self.extra_variables.contains_key(&name) {
            self.warnings
                .push(format!("variable {name} added: {description}"));
            self.extra_variables.insert(name.clone(), description);
        }
        traversal("var", &[&name])
    }

    /// A data source attribute, recording that the data source is needed.
    fn data(&mut self, kind: &'static str, name: &'static str, attribute: &str) -> Expression {
        self.data_sources.insert((kind, name));
        traversal("data", &[kind, name, attribute])
    }

    /// A pseudo parameter (`AWS::...`).
    fn pseudo_parameter(&mut self, name: &str) -> Result<Expression, String> {
        match name {
            "AWS::Region" => Ok(self.data("aws_region", "current", "name")),
            "AWS::AccountId" => Ok(self.data("aws_caller_identity", "current", "account_id")),
            "AWS::Partition" => Ok(self.data("aws_partition", "current", "partition")),
            "AWS::URLSuffix" => Ok(self.data("aws_partition", "current", "dns_suffix")),
            "AWS::StackName" => Ok(self.extra_variable(
                "stack_name".to_string(),
                "stands for AWS::StackName, which Terraform does not have".to_string(),
            )),
            "AWS::NoValue" => Err("AWS::NoValue inside a value".to_string()),
            _ => Err(format!(
                "pseudo parameter {name} has no Terraform equivalent"
            )),
        }
    }

    fn reference(&mut self, name: &str) -> Result<Expression, String> {
        if name.starts_with("AWS::") {
            return self.pseudo_parameter(name);
        }
        if let Some(var) = self.parameters.get(name) {
            return Ok(traversal("var", &[var]));
        }
        let Some(info) = self.resources.get(name) else {
            return Err(format!("Ref to unknown name {name}"));
        };
        match info.mapping {
            Some(mapping) => Ok(traversal(
                &mapping.terraform_type,
                &[&info.label, &mapping.ref_attribute],
            )),
            None => {
                let wanted = format!("{}_ref", info.label);
                let description = format!(
                    "value of Ref {name} ({}, not translated to Terraform)",
                    info.cfn_type
                );
                Ok(self.extra_variable(wanted, description))
            }
        }
    }

    fn get_att(&mut self, resource: &str, attribute: &str) -> Result<Expression, String> {
        let Some(info) = self.resources.get(resource) else {
            return Err(format!("Fn::GetAtt of unknown resource {resource}"));
        };
        match info.mapping {
            Some(mapping) => match mapping.attributes.get(attribute) {
                Some(target) => {
                    let mut path = vec![info.label.as_str()];
                    path.extend(target.split('.'));
                    Ok(traversal(&mapping.terraform_type, &path))
                }
                None => Err(format!(
                    "Fn::GetAtt {resource}.{attribute} has no curated Terraform attribute"
                )),
            },
            None => {
                let wanted = format!("{}_{}", info.label, snake(attribute));
                let description = format!(
                    "value of Fn::GetAtt {resource}.{attribute} ({}, not translated to Terraform)",
                    info.cfn_type
                );
                Ok(self.extra_variable(wanted, description))
            }
        }
    }

    /// What `${name}` in an `Fn::Sub` string stands for.
    fn sub_variable(
        &mut self,
        name: &str,
        vars: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Expression, String> {
        match vars.and_then(|vars| vars.get(name)) {
            Some(value) => self.expr(value),
            None => match name.split_once('.') {
                Some((resource, attribute)) if !name.starts_with("AWS::") => {
                    self.get_att(resource, attribute)
                }
                _ => self.reference(name),
            },
        }
    }

    /// `Fn::Sub`: a plain string when every `${...}` resolves to text, a
    /// quoted template otherwise.
    fn sub(
        &mut self,
        text: &str,
        vars: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Expression, String> {
        let mut template = String::new();
        let mut plain = String::new();
        let mut interpolated = false;
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let (before, after) = rest.split_at(start);
            template.push_str(&escape_template(before));
            plain.push_str(before);
            let after = &after[2..];
            let Some(end) = after.find('}') else {
                template.push_str(&escape_template(&rest[start..]));
                plain.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal_name) = name.strip_prefix('!') {
                let text = format!("${{{literal_name}}}");
                template.push_str(&escape_template(&text));
                plain.push_str(&text);
                continue;
            }
            match self.sub_variable(name, vars)? {
                Expression::String(text) => {
                    template.push_str(&escape_template(&text));
                    plain.push_str(&text);
                }
                other => {
                    let text = hcl::format::to_string(&other).map_err(|err| err.to_string())?;
                    template.push_str("${");
                    template.push_str(&text);
                    template.push('}');
                    interpolated = true;
                }
            }
        }
        template.push_str(&escape_template(rest));
        plain.push_str(rest);
        Ok(if interpolated {
            Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(template)))
        } else {
            Expression::String(plain)
        })
    }

    /// `Fn::Select` as `element(list, index)`.
    fn select(&mut self, argument: &Value) -> Result<Expression, String> {
        let (index, list) = pair(argument).ok_or("Fn::Select takes [index, list]")?;
        let index = match index {
            Value::String(text) => text
                .parse::<i64>()
                .map(|n| Expression::Number(hcl::Number::from(n)))
                .map_err(|_| format!("Fn::Select index {text} is not a number"))?,
            other => self.expr(&other)?,
        };
        Ok(call("element", vec![self.expr(&list)?, index]))
    }

    /// `Fn::GetAZs` of the current region as the availability zones data source.
    fn get_azs(&mut self, argument: &Value) -> Result<Expression, String> {
        let current_region = argument.as_str() == Some("")
            || argument.get("Ref").and_then(Value::as_str) == Some("AWS::Region");
        if !current_region {
            return Err("Fn::GetAZs of another region has no Terraform translation".to_string());
        }
        Ok(self.data("aws_availability_zones", "available", "names"))
    }

    fn intrinsic(&mut self, function: &str, argument: &Value) -> Result<Expression, String> {
        match function {
            "Ref" => match argument.as_str() {
                Some(name) => self.reference(name),
                None => Err("Ref takes a name".to_string()),
            },
            "Fn::GetAtt" => {
                let (resource, attribute) =
                    get_att_argument(argument).ok_or("Fn::GetAtt takes [resource, attribute]")?;
                self.get_att(&resource, &attribute)
            }
            "Fn::Sub" => match argument {
                Value::String(text) => self.sub(text, None),
                _ => match pair(argument) {
                    Some((Value::String(text), Value::Object(vars))) => {
                        self.sub(&text, Some(&vars))
                    }
                    _ => Err("Fn::Sub takes a string or [string, variables]".to_string()),
                },
            },
            "Fn::Join" => {
                let (delimiter, list) = pair(argument).ok_or("Fn::Join takes [delimiter, list]")?;
                Ok(call(
                    "join",
                    vec![self.expr(&delimiter)?, self.expr(&list)?],
                ))
            }
            "Fn::Select" => self.select(argument),
            "Fn::Split" => {
                let (delimiter, source) =
                    pair(argument).ok_or("Fn::Split takes [delimiter, string]")?;
                Ok(call(
                    "split",
                    vec![self.expr(&delimiter)?, self.expr(&source)?],
                ))
            }
            "Fn::Base64" => Ok(call("base64encode", vec![self.expr(argument)?])),
            "Fn::GetAZs" => self.get_azs(argument),
            other => Err(format!("{other} has no Terraform translation")),
        }
    }

    /// A CloudFormation value, intrinsics included, as HCL.
    pub(super) fn expr(&mut self, value: &Value) -> Result<Expression, String> {
        match value {
            Value::Array(items) => items
                .iter()
                .filter(|item| !is_no_value(item))
                .map(|item| self.expr(item))
                .collect::<Result<Vec<_>, _>>()
                .map(Expression::Array),
            Value::Object(object) if is_intrinsic(value) => match object.iter().next() {
                Some((function, argument)) => self.intrinsic(function, argument),
                None => Ok(Expression::Null),
            },
            Value::Object(object) => {
                let mut keys: Vec<&String> = object.keys().collect();
                keys.sort();
                let mut out = Object::new();
                for key in keys {
                    if let Some(child) = object.get(key).filter(|child| !is_no_value(child)) {
                        out.insert(object_key(key), self.expr(child)?);
                    }
                }
                Ok(Expression::Object(out))
            }
            other => Ok(literal(other)),
        }
    }

    /// CloudFormation tags (a list of `Key`/`Value` or a map) as a Terraform map.
    pub(super) fn tags(&mut self, value: &Value) -> Result<Expression, String> {
        match value {
            Value::Array(items) => {
                let mut out = Object::new();
                for item in items {
                    let key = item
                        .get("Key")
                        .and_then(Value::as_str)
                        .ok_or("tag without a literal Key")?;
                    let tag_value = item.get("Value").ok_or("tag without a Value")?;
                    out.insert(object_key(key), self.expr(tag_value)?);
                }
                Ok(Expression::Object(out))
            }
            other => self.expr(other),
        }
    }

    /// `jsonencode(local.x)`, with the document kept as local `x` so that it
    /// is laid out over several lines (function arguments are formatted on one).
    pub(super) fn document(&mut self, document: Expression) -> Expression {
        let mut name = self.local_hint.clone();
        while self.locals.iter().any(|(existing, _)| *existing == name) {
            name.push_str("_2");
        }
        self.locals.push((name.clone(), document));
        call("jsonencode", vec![traversal("local", &[&name])])
    }
}
