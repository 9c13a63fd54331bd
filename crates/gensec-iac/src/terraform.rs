//! Stage 4, Terraform: turns the hardened CloudFormation template into a
//! `main.tf` for the AWS provider (v5 and later).
//!
//! Translation is driven by a curated mapping kept as data
//! (`terraform-mapping/<service>.json`, see [`mapping`]): per CloudFormation
//! resource type the Terraform type, what `Ref` and `Fn::GetAtt` become, and
//! per property path the Terraform argument or nested block. Property groups
//! the provider models as separate resources (S3 versioning, encryption,
//! public access block, ...) become companion resources that point at the
//! parent (`bucket = aws_s3_bucket.x.id`).
//!
//! Nothing is guessed: a resource type without a mapping is listed in the file
//! header and in [`Rendered::unmapped`]; a property without a mapping, or a
//! value that cannot be expressed (`Fn::If`, `Fn::FindInMap`, ...), becomes a
//! warning and a comment above its resource. The HCL is built with `hcl-rs`
//! structures and formatted by it.

pub mod mapping;

use hcl::expr::{
    BinaryOp, BinaryOperator, Expression, FuncCall, Object, ObjectKey, Operation, TemplateExpr,
    Traversal, Variable,
};
use hcl::{Block, Body, Identifier};
use mapping::{Detailed, PropertyMapping, ResourceMapping, Transform};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The Terraform translation of a template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The `main.tf` text.
    pub main_tf: String,
    /// CloudFormation resource types translated (sorted, distinct).
    pub mapped: Vec<String>,
    /// CloudFormation resource types left out for want of a mapping (sorted, distinct).
    pub unmapped: Vec<String>,
    /// Everything not translated, or translated with a caveat.
    pub warnings: Vec<String>,
}

/// Render `template` (a CloudFormation template as JSON) as Terraform. `header`
/// opens the file as `#` comments.
pub fn render(template: &Value, header: &str) -> Rendered {
    render_with_default_tags(template, header, &[])
}

/// [`render`], with tags every resource carries (the organisation's required
/// tags, values as CloudFormation expressions such as `{"Ref": "TagOwner"}`)
/// set once in the provider's `default_tags` and left out of each resource's
/// own `tags`.
pub fn render_with_default_tags(
    template: &Value,
    header: &str,
    default_tags: &[(String, Value)],
) -> Rendered {
    let mut warnings = Vec::new();
    let files = mapping::load().unwrap_or_else(|err| {
        warnings.push(format!("Terraform mapping does not load: {err}"));
        Vec::new()
    });
    let by_type: BTreeMap<&str, &ResourceMapping> = files
        .iter()
        .flat_map(|file| &file.resources)
        .map(|resource| (resource.cloudformation_type.as_str(), resource))
        .collect();
    let mut renderer = Renderer::new(template, &by_type);
    renderer.warnings.append(&mut warnings);
    if default_tags.is_empty() {
        return renderer.run(template, header, &[]);
    }
    let mut own_tags_only = template.clone();
    let keys: Vec<&str> = default_tags.iter().map(|(key, _)| key.as_str()).collect();
    for resource in own_tags_only["Resources"]
        .as_object_mut()
        .into_iter()
        .flat_map(|r| r.values_mut())
    {
        strip_tags(&mut resource["Properties"], &keys);
    }
    renderer.run(&own_tags_only, header, default_tags)
}

/// Remove `keys` from a resource's `Tags` (either shape); a `Tags` left empty
/// is removed.
fn strip_tags(properties: &mut Value, keys: &[&str]) {
    let Some(properties) = properties.as_object_mut() else {
        return;
    };
    let empty = match properties.get_mut("Tags") {
        Some(Value::Array(items)) => {
            items.retain(|item| {
                item.get("Key")
                    .and_then(Value::as_str)
                    .is_none_or(|key| !keys.contains(&key))
            });
            items.is_empty()
        }
        Some(Value::Object(map)) => {
            map.retain(|key, _| !keys.contains(&key.as_str()));
            map.is_empty()
        }
        _ => false,
    };
    if empty {
        properties.remove("Tags");
    }
}

/// Terraform variable names that the language reserves.
const RESERVED_VARIABLES: &[&str] = &[
    "source",
    "version",
    "providers",
    "count",
    "for_each",
    "lifecycle",
    "depends_on",
    "locals",
];

/// Keys of ECS container definitions whose children are user-chosen names.
const FREE_KEYS: &[&str] = &["Options", "DockerLabels", "DriverOpts", "Labels"];

/// `DataBucket` → `data_bucket`, `KMSMasterKeyID` → `kms_master_key_id`.
fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (index, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let previous = index.checked_sub(1).and_then(|i| chars.get(i)).copied();
            let next = chars.get(index + 1).copied();
            let boundary = previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        None => "unnamed".to_string(),
        Some(first) if first.is_ascii_digit() => format!("r_{out}"),
        Some(_) => out,
    }
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(text, "true" | "false" | "null")
}

fn traversal(root: &str, attributes: &[&str]) -> Expression {
    let mut builder = Traversal::builder(Variable::unchecked(root));
    for attribute in attributes {
        builder = builder.attr(Identifier::unchecked(*attribute));
    }
    Expression::from(builder.build())
}

fn call(name: &str, args: Vec<Expression>) -> Expression {
    let mut builder = FuncCall::builder(Identifier::unchecked(name));
    for arg in args {
        builder = builder.arg(arg);
    }
    Expression::from(builder.build())
}

fn object_key(key: &str) -> ObjectKey {
    if is_identifier(key) {
        ObjectKey::Identifier(Identifier::unchecked(key))
    } else {
        ObjectKey::Expression(Expression::String(key.to_string()))
    }
}

fn number(value: &serde_json::Number) -> Expression {
    if let Some(int) = value.as_i64() {
        Expression::Number(hcl::Number::from(int))
    } else if let Some(int) = value.as_u64() {
        Expression::Number(hcl::Number::from(int))
    } else {
        value
            .as_f64()
            .and_then(hcl::Number::from_f64)
            .map_or(Expression::Null, Expression::Number)
    }
}

/// A constant JSON value (no intrinsics) as HCL.
fn literal(value: &Value) -> Expression {
    match value {
        Value::Null => Expression::Null,
        Value::Bool(flag) => Expression::Bool(*flag),
        Value::Number(n) => number(n),
        Value::String(text) => Expression::String(text.clone()),
        Value::Array(items) => Expression::Array(items.iter().map(literal).collect()),
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            let mut out = Object::new();
            for key in keys {
                if let Some(child) = object.get(key) {
                    out.insert(object_key(key), literal(child));
                }
            }
            Expression::Object(out)
        }
    }
}

/// Escape literal text for a quoted HCL template.
fn escape_template(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
        .replace("${", "$${")
        .replace("%{", "%%{")
}

fn is_no_value(value: &Value) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
}

fn is_intrinsic(value: &Value) -> bool {
    gensec_kb::validate::is_intrinsic(value)
}

/// `Mode` → `mode` (the ECS API's camelCase), leaving user-chosen keys alone.
fn camelize(value: &Value, keep_keys: bool) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| camelize(v, false)).collect()),
        Value::Object(object) if !is_intrinsic(value) => Value::Object(
            object
                .iter()
                .map(|(key, child)| {
                    let new_key = if keep_keys {
                        key.clone()
                    } else {
                        let mut chars = key.chars();
                        chars
                            .next()
                            .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
                            .unwrap_or_default()
                    };
                    (new_key, camelize(child, FREE_KEYS.contains(&key.as_str())))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A Terraform body under construction: attributes, then nested blocks keyed
/// by name and, for repeated blocks, by the CloudFormation array index.
#[derive(Debug, Default)]
struct Node {
    attributes: Vec<(String, Expression)>,
    blocks: Vec<(String, Option<usize>, Node)>,
}

impl Node {
    fn has(&self, name: &str) -> bool {
        self.attributes.iter().any(|(n, _)| n == name)
            || self.blocks.iter().any(|(n, _, _)| n == name)
    }

    fn child(&mut self, name: &str, key: Option<usize>) -> &mut Node {
        let position = self
            .blocks
            .iter()
            .position(|(n, k, _)| n == name && *k == key)
            .unwrap_or_else(|| {
                self.blocks.push((name.to_string(), key, Node::default()));
                self.blocks.len() - 1
            });
        &mut self.blocks[position].2
    }

    /// Set the argument at `path`; true when it replaced a value.
    fn set(&mut self, path: &str, indices: &[usize], expr: Expression) -> bool {
        let segments: Vec<&str> = path.split('.').collect();
        let Some((last, parents)) = segments.split_last() else {
            return false;
        };
        let mut indices = indices.iter().copied();
        let mut node = self;
        for segment in parents {
            node = match segment.strip_suffix("[]") {
                Some(name) => node.child(name, Some(indices.next().unwrap_or(0))),
                None => node.child(segment, None),
            };
        }
        let name = last.trim_end_matches("[]");
        if let Some(slot) = node.attributes.iter_mut().find(|(n, _)| n == name) {
            slot.1 = expr;
            true
        } else {
            node.attributes.push((name.to_string(), expr));
            false
        }
    }

    /// Order attributes and blocks by name, at every level (stable for repeated blocks).
    fn sort(&mut self) {
        self.attributes.sort_by(|a, b| a.0.cmp(&b.0));
        self.blocks.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, _, child) in &mut self.blocks {
            child.sort();
        }
    }

    fn into_block(self, identifier: &str, labels: &[&str]) -> Block {
        let mut builder = Block::builder(Identifier::unchecked(identifier));
        for label in labels {
            builder = builder.add_label(*label);
        }
        for (name, expr) in self.attributes {
            builder = builder.add_attribute((Identifier::unchecked(name), expr));
        }
        for (name, _, child) in self.blocks {
            builder = builder.add_block(child.into_block(&name, &[]));
        }
        builder.build()
    }
}

/// A block of the output with the comments that precede it.
#[derive(Debug)]
struct Emitted {
    comments: Vec<String>,
    block: Block,
}

#[derive(Debug)]
struct ResourceInfo<'m> {
    cfn_type: String,
    label: String,
    mapping: Option<&'m ResourceMapping>,
}

/// A property that matched a mapping entry.
#[derive(Debug)]
struct Hit<'v> {
    companion: Option<usize>,
    mapping: Detailed,
    concrete: String,
    indices: Vec<usize>,
    value: &'v Value,
}

/// What went wrong or needs saying while translating one resource.
#[derive(Debug, Default)]
struct Report {
    /// Terraform label of the resource, for naming locals.
    label: String,
    /// (property path, reason) of what was not translated.
    problems: Vec<(String, String)>,
    /// Caveats of what was translated.
    notes: Vec<String>,
}

/// Where a resource's properties go: parent (`None`) or a companion.
type Table<'m> = Vec<(&'m str, Option<usize>, &'m PropertyMapping)>;

#[derive(Debug)]
struct Renderer<'m> {
    /// Parameter logical id → variable name.
    parameters: BTreeMap<String, String>,
    resources: BTreeMap<String, ResourceInfo<'m>>,
    /// Data sources referenced: (type, name, body attributes).
    data_sources: BTreeSet<(&'static str, &'static str)>,
    /// Variables standing for values CloudFormation would resolve: name → description.
    extra_variables: BTreeMap<String, String>,
    /// Documents (policies) hoisted into `locals`, in order.
    locals: Vec<(String, Expression)>,
    /// Name for the next hoisted document.
    local_hint: String,
    warnings: Vec<String>,
}

impl<'m> Renderer<'m> {
    fn new(template: &Value, by_type: &BTreeMap<&str, &'m ResourceMapping>) -> Self {
        let mut parameters = BTreeMap::new();
        let mut used_variables = BTreeSet::new();
        if let Some(object) = template.get("Parameters").and_then(Value::as_object) {
            for name in object.keys() {
                let mut var = snake(name);
                if RESERVED_VARIABLES.contains(&var.as_str()) {
                    var.push_str("_value");
                }
                while !used_variables.insert(var.clone()) {
                    var.push_str("_2");
                }
                parameters.insert(name.clone(), var);
            }
        }
        let mut resources = BTreeMap::new();
        let mut labels = BTreeSet::new();
        if let Some(object) = template.get("Resources").and_then(Value::as_object) {
            for (logical, resource) in object {
                let cfn_type = resource
                    .get("Type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let mapping = by_type.get(cfn_type.as_str()).copied();
                let mut label = snake(logical);
                while !labels.insert(label.clone()) {
                    label.push_str("_2");
                }
                resources.insert(
                    logical.clone(),
                    ResourceInfo {
                        cfn_type,
                        label,
                        mapping,
                    },
                );
            }
        }
        Renderer {
            parameters,
            resources,
            data_sources: BTreeSet::new(),
            extra_variables: BTreeMap::new(),
            locals: Vec::new(),
            local_hint: "document".to_string(),
            warnings: Vec::new(),
        }
    }

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

    fn reference(&mut self, name: &str) -> Result<Expression, String> {
        let data = |renderer: &mut Self, kind: &'static str, name: &'static str, attr: &str| {
            renderer.data_sources.insert((kind, name));
            traversal("data", &[kind, name, attr])
        };
        match name {
            "AWS::Region" => return Ok(data(self, "aws_region", "current", "name")),
            "AWS::AccountId" => {
                return Ok(data(self, "aws_caller_identity", "current", "account_id"));
            }
            "AWS::Partition" => return Ok(data(self, "aws_partition", "current", "partition")),
            "AWS::URLSuffix" => return Ok(data(self, "aws_partition", "current", "dns_suffix")),
            "AWS::StackName" => {
                return Ok(self.extra_variable(
                    "stack_name".to_string(),
                    "stands for AWS::StackName, which Terraform does not have".to_string(),
                ));
            }
            "AWS::NoValue" => return Err("AWS::NoValue inside a value".to_string()),
            _ if name.starts_with("AWS::") => {
                return Err(format!(
                    "pseudo parameter {name} has no Terraform equivalent"
                ));
            }
            _ => {}
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
            let expr = match vars.and_then(|vars| vars.get(name)) {
                Some(value) => self.expr(value)?,
                None => match name.split_once('.') {
                    Some((resource, attribute)) if !name.starts_with("AWS::") => {
                        self.get_att(resource, attribute)?
                    }
                    _ => self.reference(name)?,
                },
            };
            match expr {
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

    fn intrinsic(&mut self, function: &str, argument: &Value) -> Result<Expression, String> {
        let pair = |argument: &Value| -> Option<(Value, Value)> {
            match argument.as_array().map(Vec::as_slice) {
                Some([first, second]) => Some((first.clone(), second.clone())),
                _ => None,
            }
        };
        match function {
            "Ref" => match argument.as_str() {
                Some(name) => self.reference(name),
                None => Err("Ref takes a name".to_string()),
            },
            "Fn::GetAtt" => {
                let (resource, attribute) = match argument {
                    Value::String(text) => text
                        .split_once('.')
                        .map(|(r, a)| (r.to_string(), a.to_string())),
                    _ => pair(argument).and_then(|(r, a)| {
                        Some((r.as_str()?.to_string(), a.as_str()?.to_string()))
                    }),
                }
                .ok_or("Fn::GetAtt takes [resource, attribute]")?;
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
            "Fn::Select" => {
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
            "Fn::Split" => {
                let (delimiter, source) =
                    pair(argument).ok_or("Fn::Split takes [delimiter, string]")?;
                Ok(call(
                    "split",
                    vec![self.expr(&delimiter)?, self.expr(&source)?],
                ))
            }
            "Fn::Base64" => Ok(call("base64encode", vec![self.expr(argument)?])),
            "Fn::GetAZs" => {
                let current_region = argument.as_str() == Some("")
                    || argument.get("Ref").and_then(Value::as_str) == Some("AWS::Region");
                if !current_region {
                    return Err(
                        "Fn::GetAZs of another region has no Terraform translation".to_string()
                    );
                }
                self.data_sources
                    .insert(("aws_availability_zones", "available"));
                Ok(traversal(
                    "data",
                    &["aws_availability_zones", "available", "names"],
                ))
            }
            other => Err(format!("{other} has no Terraform translation")),
        }
    }

    /// A CloudFormation value, intrinsics included, as HCL.
    fn expr(&mut self, value: &Value) -> Result<Expression, String> {
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

    fn tags(&mut self, value: &Value) -> Result<Expression, String> {
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
    fn document(&mut self, document: Expression) -> Expression {
        let mut name = self.local_hint.clone();
        while self.locals.iter().any(|(existing, _)| *existing == name) {
            name.push_str("_2");
        }
        self.locals.push((name.clone(), document));
        call("jsonencode", vec![traversal("local", &[&name])])
    }

    /// Apply a property mapping's value translation.
    fn convert(&mut self, mapping: &Detailed, value: &Value) -> Result<Expression, String> {
        let mut value = value.clone();
        if !mapping.values.is_empty() {
            if is_intrinsic(&value) {
                return Err("its value comes from an intrinsic function, which the curated value mapping cannot translate".to_string());
            }
            let key = match &value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            value = mapping
                .values
                .get(&key)
                .cloned()
                .ok_or_else(|| format!("value {key} has no curated Terraform equivalent"))?;
        }
        if let Some(field) = &mapping.pluck {
            let items = value
                .as_array()
                .ok_or_else(|| format!("expected a list of objects with {field}"))?;
            value = Value::Array(
                items
                    .iter()
                    .map(|item| {
                        item.get(field)
                            .cloned()
                            .ok_or_else(|| format!("element without {field}"))
                    })
                    .collect::<Result<_, _>>()?,
            );
        }
        match mapping.transform {
            Transform::None => self.expr(&value),
            Transform::Tags => self.tags(&value),
            Transform::Jsonencode => match &value {
                Value::String(text) => Ok(Expression::String(text.clone())),
                other if is_intrinsic(other) => self.expr(other),
                other => {
                    let document = self.expr(other)?;
                    Ok(self.document(document))
                }
            },
            Transform::ContainerDefinitions => {
                let document = self.expr(&camelize(&value, false))?;
                Ok(self.document(document))
            }
            Transform::Bool => match &value {
                Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Expression::Bool(true)),
                Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(Expression::Bool(false)),
                Value::Bool(flag) => Ok(Expression::Bool(*flag)),
                other if is_intrinsic(other) => self.expr(other),
                other => Err(format!("{other} is not a boolean")),
            },
            Transform::Number => match &value {
                Value::String(text) => {
                    let parsed: serde_json::Number = text
                        .trim()
                        .parse()
                        .map_err(|_| format!("{text} is not a number"))?;
                    Ok(number(&parsed))
                }
                Value::Number(n) => Ok(number(n)),
                other if is_intrinsic(other) => self.expr(other),
                other => Err(format!("{other} is not a number")),
            },
            Transform::List => match &value {
                Value::Array(_) => self.expr(&value),
                other => Ok(Expression::Array(vec![self.expr(other)?])),
            },
            Transform::Single => match &value {
                Value::Array(items) if items.len() == 1 => self.expr(&items[0]),
                Value::Array(items) => Err(format!(
                    "it lists {} values and the Terraform argument takes one",
                    items.len()
                )),
                other if is_intrinsic(other) => {
                    Err("it is a list from an intrinsic function and the Terraform argument takes one value".to_string())
                }
                other => self.expr(other),
            },
        }
    }

    /// Put one matched property into `node`; problems are returned as reasons.
    fn apply(
        &mut self,
        node: &mut Node,
        mapping: &Detailed,
        value: &Value,
        indices: &[usize],
        subject: &str,
        report: &mut Report,
    ) {
        if is_no_value(value) {
            return;
        }
        if let Some(reason) = &mapping.omit {
            report.problems.push((
                subject.to_string(),
                format!("no Terraform equivalent ({reason})"),
            ));
            return;
        }
        if let Some(keyed) = &mapping.keyed {
            let Some(items) = value.as_array() else {
                report.problems.push((
                    subject.to_string(),
                    "expected a list of key/value objects".to_string(),
                ));
                return;
            };
            for item in items {
                let key = item.get(&keyed.key).and_then(Value::as_str);
                let entry_subject = format!("{subject}[{}={}]", keyed.key, key.unwrap_or("?"));
                let entry = key.and_then(|key| keyed.entries.get(key));
                match (entry, item.get(&keyed.value)) {
                    (Some(entry), Some(entry_value)) => {
                        let entry = entry.detailed();
                        self.apply(node, &entry, entry_value, indices, &entry_subject, report);
                    }
                    (Some(_), None) => report
                        .problems
                        .push((entry_subject, format!("no {}", keyed.value))),
                    (None, _) => report
                        .problems
                        .push((entry_subject, "no curated Terraform argument".to_string())),
                }
            }
            return;
        }
        let Some(argument) = &mapping.argument else {
            report.problems.push((
                subject.to_string(),
                "the mapping names no Terraform argument".to_string(),
            ));
            return;
        };
        let index_suffix: String = indices.iter().map(|i| format!("_{i}")).collect();
        self.local_hint = format!("{}_{}{index_suffix}", report.label, snake(argument));
        match self.convert(mapping, value) {
            Ok(expr) => {
                if node.set(argument, indices, expr) {
                    report.notes.push(format!(
                        "{subject} sets {argument} more than once; the last value is kept"
                    ));
                }
                for (path, constant) in &mapping.set {
                    node.set(path, indices, literal(constant));
                }
                if let Some(note) = &mapping.note {
                    report.notes.push(format!("{subject}: {note}"));
                }
            }
            Err(reason) => report.problems.push((subject.to_string(), reason)),
        }
    }

    fn resource(
        &mut self,
        logical: &str,
        resource: &Value,
        mapping: &'m ResourceMapping,
    ) -> Vec<Emitted> {
        let (cfn_type, label) = match self.resources.get(logical) {
            Some(info) => (info.cfn_type.clone(), info.label.clone()),
            None => return Vec::new(),
        };
        let mut table: Table<'m> = mapping
            .properties
            .iter()
            .map(|(path, m)| (path.as_str(), None, m))
            .collect();
        for (index, companion) in mapping.companions.iter().enumerate() {
            table.extend(
                companion
                    .properties
                    .iter()
                    .map(|(path, m)| (path.as_str(), Some(index), m)),
            );
        }
        let mut hits = Vec::new();
        let mut problems = Vec::new();
        match resource.get("Properties") {
            Some(Value::Object(properties)) => {
                let mut names: Vec<&String> = properties.keys().collect();
                names.sort();
                for name in names {
                    if let Some(value) = properties.get(name) {
                        walk(
                            &table,
                            name,
                            name,
                            &mut Vec::new(),
                            value,
                            &mut hits,
                            &mut problems,
                        );
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => problems.push(("Properties".to_string(), "not an object".to_string())),
        }

        let mut parent = Node::default();
        let mut companions: Vec<Option<Node>> = mapping.companions.iter().map(|_| None).collect();
        let mut report = Report {
            label: label.clone(),
            problems,
            notes: Vec::new(),
        };
        for hit in hits {
            let node = match hit.companion {
                None => &mut parent,
                Some(index) => match companions.get_mut(index) {
                    Some(slot) => slot.get_or_insert_with(Node::default),
                    None => continue,
                },
            };
            self.apply(
                node,
                &hit.mapping,
                hit.value,
                &hit.indices,
                &hit.concrete,
                &mut report,
            );
        }
        let Report {
            mut problems,
            mut notes,
            ..
        } = report;
        let mut defaults_used = Vec::new();
        apply_defaults(&mut parent, &mapping.defaults, &label, &mut defaults_used);
        for (companion, node) in mapping.companions.iter().zip(companions.iter_mut()) {
            if let Some(node) = node {
                apply_defaults(node, &companion.defaults, &label, &mut defaults_used);
            }
        }

        parent.sort();
        for node in companions.iter_mut().flatten() {
            node.sort();
        }

        if let Some(depends_on) = resource.get("DependsOn") {
            let names: Vec<&str> = match depends_on {
                Value::String(name) => vec![name.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let mut targets = Vec::new();
            for name in names {
                match self.resources.get(name) {
                    Some(ResourceInfo {
                        mapping: Some(target),
                        label,
                        ..
                    }) => {
                        targets.push(traversal(&target.terraform_type, &[label]));
                    }
                    _ => problems.push((
                        "DependsOn".to_string(),
                        format!("{name} is not translated to Terraform"),
                    )),
                }
            }
            if !targets.is_empty() {
                parent
                    .attributes
                    .push(("depends_on".to_string(), Expression::Array(targets)));
            }
        }
        for attribute in [
            "Condition",
            "CreationPolicy",
            "DeletionPolicy",
            "UpdatePolicy",
            "UpdateReplacePolicy",
        ] {
            if let Some(value) = resource.get(attribute) {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                let hint = match attribute {
                    "DeletionPolicy" | "UpdateReplacePolicy" => {
                        "; Terraform has no retain or snapshot on delete (lifecycle prevent_destroy only refuses plans that destroy)"
                    }
                    "Condition" => "; the resource is always created",
                    _ => "",
                };
                notes.push(format!(
                    "resource attribute {attribute} ({value}) not translated{hint}"
                ));
            }
        }

        let mut comments = Vec::new();
        for (path, reason) in problems {
            self.warnings.push(format!(
                "property {path} of {logical} ({cfn_type}) not translated: {reason}"
            ));
            comments.push(format!(
                "property {path} of {logical} ({cfn_type}) not translated: {reason}"
            ));
        }
        for note in notes {
            self.warnings
                .push(format!("{logical} ({cfn_type}): {note}"));
            comments.push(format!("note: {note}"));
        }
        for used in defaults_used {
            self.warnings
                .push(format!("{logical} ({cfn_type}): {used}"));
            comments.push(format!("note: {used}"));
        }

        let mut out = vec![Emitted {
            comments,
            block: parent.into_block("resource", &[&mapping.terraform_type, &label]),
        }];
        for (companion, node) in mapping.companions.iter().zip(companions) {
            if let Some(node) = node {
                let mut node = node;
                node.attributes.insert(
                    0,
                    (
                        companion.parent_argument.clone(),
                        traversal(
                            &mapping.terraform_type,
                            &[&label, &companion.parent_attribute],
                        ),
                    ),
                );
                out.push(Emitted {
                    comments: Vec::new(),
                    block: node.into_block("resource", &[&companion.terraform_type, &label]),
                });
            }
        }
        out
    }

    fn variable(&mut self, name: &str, var: &str, parameter: &Value) -> Emitted {
        let mut comments = Vec::new();
        let cfn_type = parameter
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        let ssm = cfn_type.starts_with("AWS::SSM::Parameter::");
        let inner = cfn_type
            .strip_prefix("AWS::SSM::Parameter::Value<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(cfn_type);
        #[derive(PartialEq)]
        enum Kind {
            Text,
            Number,
            TextList,
            NumberList,
        }
        let kind = if inner == "Number" {
            Kind::Number
        } else if inner == "List<Number>" {
            Kind::NumberList
        } else if inner == "CommaDelimitedList" || inner.starts_with("List<") {
            Kind::TextList
        } else {
            Kind::Text
        };
        let string_type = || Expression::Variable(Variable::unchecked("string"));
        let number_type = || Expression::Variable(Variable::unchecked("number"));
        let type_expr = match kind {
            Kind::Text => string_type(),
            Kind::Number => number_type(),
            Kind::TextList => call("list", vec![string_type()]),
            Kind::NumberList => call("list", vec![number_type()]),
        };
        let mut node = Node::default();
        if let Some(description) = parameter.get("Description").and_then(Value::as_str) {
            node.attributes.push((
                "description".to_string(),
                Expression::String(description.to_string()),
            ));
        }
        node.attributes.push(("type".to_string(), type_expr));
        let to_number = |text: &str| -> Option<Expression> {
            text.trim()
                .parse::<serde_json::Number>()
                .ok()
                .map(|n| number(&n))
        };
        let scalar = |value: &Value, numeric: bool| -> Option<Expression> {
            match value {
                Value::String(text) if numeric => to_number(text),
                Value::Number(n) if numeric => Some(number(n)),
                Value::String(text) => Some(Expression::String(text.clone())),
                Value::Number(n) => Some(Expression::String(n.to_string())),
                _ => None,
            }
        };
        if let Some(default) = parameter.get("Default") {
            if ssm {
                let message = format!(
                    "parameter {name} is a {cfn_type}: CloudFormation reads its value from Systems Manager; the Terraform variable takes the value itself, so the default (the parameter name) is left out"
                );
                self.warnings.push(message.clone());
                comments.push(message);
            } else {
                let expr = match (&kind, default) {
                    (Kind::Text, value) => scalar(value, false),
                    (Kind::Number, value) => scalar(value, true),
                    (Kind::TextList | Kind::NumberList, Value::String(text)) => {
                        let numeric = kind == Kind::NumberList;
                        text.split(',')
                            .filter(|item| !item.trim().is_empty() || !numeric)
                            .map(|item| scalar(&Value::String(item.trim().to_string()), numeric))
                            .collect::<Option<Vec<_>>>()
                            .map(Expression::Array)
                    }
                    (Kind::TextList | Kind::NumberList, Value::Array(items)) => items
                        .iter()
                        .map(|item| scalar(item, kind == Kind::NumberList))
                        .collect::<Option<Vec<_>>>()
                        .map(Expression::Array),
                    _ => None,
                };
                match expr {
                    Some(expr) => node.attributes.push(("default".to_string(), expr)),
                    None => {
                        let message = format!(
                            "default {default} of parameter {name} does not fit its type {cfn_type}; left out"
                        );
                        self.warnings.push(message.clone());
                        comments.push(message);
                    }
                }
            }
        }
        if parameter
            .get("NoEcho")
            .is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"))
        {
            node.attributes
                .push(("sensitive".to_string(), Expression::Bool(true)));
        }

        let this = traversal("var", &[var]);
        let constraint = parameter
            .get("ConstraintDescription")
            .and_then(Value::as_str);
        let message = |fallback: String| -> Expression {
            let mut text = constraint.map_or(fallback, str::to_string);
            if !text.ends_with('.') && !text.ends_with('?') {
                text.push('.');
            }
            Expression::String(text)
        };
        let compare = |lhs: Expression, op: BinaryOperator, rhs: Expression| -> Expression {
            Expression::from(Operation::Binary(BinaryOp::new(lhs, op, rhs)))
        };
        let mut validations: Vec<(Expression, Expression)> = Vec::new();
        let scalar_kind = matches!(kind, Kind::Text | Kind::Number);
        if let Some(allowed) = parameter.get("AllowedValues").and_then(Value::as_array) {
            let numeric = matches!(kind, Kind::Number | Kind::NumberList);
            let values: Option<Vec<Expression>> =
                allowed.iter().map(|v| scalar(v, numeric)).collect();
            match values {
                Some(values) => {
                    let listed: Vec<String> = allowed
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect();
                    let condition = if scalar_kind {
                        call("contains", vec![Expression::Array(values), this.clone()])
                    } else {
                        let each = call(
                            "contains",
                            vec![Expression::Array(values), traversal("v", &[])],
                        );
                        Expression::from(hcl::expr::ForExpr::new(
                            Identifier::unchecked("v"),
                            this.clone(),
                            each,
                        ))
                    };
                    let condition = if scalar_kind {
                        condition
                    } else {
                        call("alltrue", vec![condition])
                    };
                    validations.push((
                        condition,
                        message(format!("Must be one of: {}", listed.join(", "))),
                    ));
                }
                None => self
                    .warnings
                    .push(format!("AllowedValues of parameter {name} not translated")),
            }
        }
        if let Some(pattern) = parameter.get("AllowedPattern").and_then(Value::as_str) {
            if kind == Kind::Text {
                let regex = call(
                    "regex",
                    vec![Expression::String(format!("^(?:{pattern})$")), this.clone()],
                );
                validations.push((
                    call("can", vec![regex]),
                    message(format!("Must match the pattern {pattern}")),
                ));
            } else {
                self.warnings.push(format!(
                    "AllowedPattern of list parameter {name} not translated"
                ));
            }
        }
        let bound = |key: &str| parameter.get(key).and_then(|v| scalar(v, true));
        if kind == Kind::Text {
            if let Some(min) = bound("MinLength") {
                validations.push((
                    compare(
                        call("length", vec![this.clone()]),
                        BinaryOperator::GreaterEq,
                        min,
                    ),
                    message(format!(
                        "Must be at least {} characters long",
                        parameter["MinLength"]
                    )),
                ));
            }
            if let Some(max) = bound("MaxLength") {
                validations.push((
                    compare(
                        call("length", vec![this.clone()]),
                        BinaryOperator::LessEq,
                        max,
                    ),
                    message(format!(
                        "Must be at most {} characters long",
                        parameter["MaxLength"]
                    )),
                ));
            }
        }
        if kind == Kind::Number {
            if let Some(min) = bound("MinValue") {
                validations.push((
                    compare(this.clone(), BinaryOperator::GreaterEq, min),
                    message(format!("Must be at least {}", parameter["MinValue"])),
                ));
            }
            if let Some(max) = bound("MaxValue") {
                validations.push((
                    compare(this.clone(), BinaryOperator::LessEq, max),
                    message(format!("Must be at most {}", parameter["MaxValue"])),
                ));
            }
        }
        let mut block = node.into_block("variable", &[var]);
        for (condition, error_message) in validations {
            let validation = Block::builder("validation")
                .add_attribute(("condition", condition))
                .add_attribute(("error_message", error_message))
                .build();
            block.body.0.push(validation.into());
        }
        Emitted { comments, block }
    }

    fn run(mut self, template: &Value, header: &str, default_tags: &[(String, Value)]) -> Rendered {
        let mut emitted = Vec::new();
        let mut mapped = BTreeSet::new();
        let mut unmapped: BTreeMap<String, Vec<String>> = BTreeMap::new();

        if !template.is_object() {
            self.warnings
                .push("the template is not a JSON object".to_string());
        }
        let mut resources: Vec<(&String, &Value)> = template
            .get("Resources")
            .and_then(Value::as_object)
            .map(|object| object.iter().collect())
            .unwrap_or_default();
        resources.sort_by(|a, b| a.0.cmp(b.0));
        for (logical, resource) in resources {
            let Some(info) = self.resources.get(logical.as_str()) else {
                continue;
            };
            match info.mapping {
                Some(mapping) => {
                    mapped.insert(info.cfn_type.clone());
                    emitted.extend(self.resource(logical, resource, mapping));
                }
                None => {
                    let cfn_type = if info.cfn_type.is_empty() {
                        "(no Type)".to_string()
                    } else {
                        info.cfn_type.clone()
                    };
                    self.warnings.push(format!(
                        "resource {logical} ({cfn_type}) not translated: no curated mapping; use the CloudFormation template"
                    ));
                    unmapped.entry(cfn_type).or_default().push(logical.clone());
                }
            }
        }

        let mut outputs = Vec::new();
        let mut output_names = BTreeSet::new();
        if let Some(object) = template.get("Outputs").and_then(Value::as_object) {
            let mut names: Vec<&String> = object.keys().collect();
            names.sort();
            for name in names {
                let Some(output) = object.get(name) else {
                    continue;
                };
                let mut comments = Vec::new();
                for attribute in ["Export", "Condition"] {
                    if output.get(attribute).is_some() {
                        let message = format!("{attribute} of output {name} not translated");
                        self.warnings.push(message.clone());
                        comments.push(message);
                    }
                }
                let value = output.get("Value").unwrap_or(&Value::Null);
                match self.expr(value) {
                    Ok(expr) => {
                        let mut node = Node::default();
                        if let Some(description) = output.get("Description").and_then(Value::as_str)
                        {
                            node.attributes.push((
                                "description".to_string(),
                                Expression::String(description.to_string()),
                            ));
                        }
                        node.attributes.push(("value".to_string(), expr));
                        let mut label = snake(name);
                        while !output_names.insert(label.clone()) {
                            label.push_str("_2");
                        }
                        outputs.push(Emitted {
                            comments,
                            block: node.into_block("output", &[&label]),
                        });
                    }
                    Err(reason) => self
                        .warnings
                        .push(format!("output {name} not translated: {reason}")),
                }
            }
        }

        let mut variables = Vec::new();
        if let Some(object) = template.get("Parameters").and_then(Value::as_object) {
            let mut names: Vec<&String> = object.keys().collect();
            names.sort();
            for name in names {
                let (Some(parameter), Some(var)) =
                    (object.get(name), self.parameters.get(name).cloned())
                else {
                    continue;
                };
                variables.push(self.variable(name, &var, parameter));
            }
        }
        for (name, description) in &self.extra_variables {
            let mut node = Node::default();
            node.attributes.push((
                "description".to_string(),
                Expression::String(description.clone()),
            ));
            node.attributes.push((
                "type".to_string(),
                Expression::Variable(Variable::unchecked("string")),
            ));
            variables.push(Emitted {
                comments: Vec::new(),
                block: node.into_block("variable", &[name]),
            });
        }

        let provider = Object::from([
            (
                object_key("source"),
                Expression::String("hashicorp/aws".to_string()),
            ),
            (
                object_key("version"),
                Expression::String(">= 5.0".to_string()),
            ),
        ]);
        let terraform = Block::builder("terraform")
            .add_block(
                Block::builder("required_providers")
                    .add_attribute(("aws", Expression::Object(provider)))
                    .build(),
            )
            .build();
        let mut blocks = vec![Emitted {
            comments: Vec::new(),
            block: terraform,
        }];
        if !default_tags.is_empty() {
            let mut tags = Object::new();
            for (key, value) in default_tags {
                match self.expr(value) {
                    Ok(expr) => {
                        tags.insert(object_key(key), expr);
                    }
                    Err(reason) => self
                        .warnings
                        .push(format!("default tag {key} not translated: {reason}")),
                }
            }
            let provider = Block::builder("provider")
                .add_label("aws")
                .add_block(
                    Block::builder("default_tags")
                        .add_attribute(("tags", Expression::Object(tags)))
                        .build(),
                )
                .build();
            blocks.push(Emitted {
                comments: vec![
                    "The organisation's required tags, on every resource this provider creates."
                        .to_string(),
                ],
                block: provider,
            });
        }
        for (kind, name) in &self.data_sources {
            let mut node = Node::default();
            if *kind == "aws_availability_zones" {
                node.attributes.push((
                    "state".to_string(),
                    Expression::String("available".to_string()),
                ));
            }
            blocks.push(Emitted {
                comments: Vec::new(),
                block: node.into_block("data", &[kind, name]),
            });
        }
        blocks.extend(variables);
        if !self.locals.is_empty() {
            let node = Node {
                attributes: std::mem::take(&mut self.locals),
                ..Node::default()
            };
            blocks.push(Emitted {
                comments: Vec::new(),
                block: node.into_block("locals", &[]),
            });
        }
        blocks.extend(emitted);
        blocks.extend(outputs);

        let mut main_tf = String::new();
        for line in header.lines() {
            main_tf.push_str(comment(line).as_str());
        }
        if !header.is_empty() {
            main_tf.push_str("#\n");
        }
        for cfn_type in unmapped.keys() {
            main_tf.push_str(&comment(&format!(
                "not translated: {cfn_type} — no curated mapping; use the CloudFormation template"
            )));
        }
        let untranslated = self.warnings.len();
        if untranslated > 0 {
            main_tf.push_str(&comment(&format!(
                "{untranslated} warning(s): see the comments above the resources and the generation report"
            )));
        }
        for emitted in blocks {
            main_tf.push('\n');
            for line in &emitted.comments {
                main_tf.push_str(&comment(line));
            }
            let body = Body::builder().add_block(emitted.block).build();
            match hcl::format::to_string(&body) {
                Ok(text) => main_tf.push_str(&align(&text)),
                Err(err) => self.warnings.push(format!("HCL formatting failed: {err}")),
            }
            if !main_tf.ends_with('\n') {
                main_tf.push('\n');
            }
        }

        Rendered {
            main_tf,
            mapped: mapped.into_iter().collect(),
            unmapped: unmapped.into_keys().collect(),
            warnings: self.warnings,
        }
    }
}

/// Align the `=` of consecutive attributes at the same indentation, as
/// `terraform fmt` does.
fn align(text: &str) -> String {
    fn key_of(line: &str) -> Option<(usize, usize)> {
        let indent = line.len() - line.trim_start().len();
        let rest = &line[indent..];
        let key_len = rest
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '"' || c == ':')
            })
            .unwrap_or(rest.len());
        (key_len > 0 && rest[key_len..].starts_with(" = ")).then_some((indent, key_len))
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut start = 0;
    while start < lines.len() {
        let Some((indent, _)) = key_of(lines[start]) else {
            out.push_str(lines[start]);
            out.push('\n');
            start += 1;
            continue;
        };
        let mut end = start;
        let mut width = 0;
        while let Some((line_indent, key_len)) = lines.get(end).and_then(|line| key_of(line)) {
            if line_indent != indent {
                break;
            }
            width = width.max(key_len);
            end += 1;
        }
        for line in &lines[start..end] {
            if let Some((_, key_len)) = key_of(line) {
                out.push_str(&line[..indent + key_len]);
                out.push_str(&" ".repeat(width - key_len));
                out.push_str(&line[indent + key_len..]);
                out.push('\n');
            }
        }
        start = end;
    }
    out
}

/// One `#` comment line per line of `text`.
fn comment(text: &str) -> String {
    if text.is_empty() {
        return "#\n".to_string();
    }
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "#\n".to_string()
            } else {
                format!("# {line}\n")
            }
        })
        .collect()
}

fn apply_defaults(
    node: &mut Node,
    defaults: &BTreeMap<String, Value>,
    label: &str,
    used: &mut Vec<String>,
) {
    for (path, value) in defaults {
        let top = path
            .split('.')
            .next()
            .unwrap_or_default()
            .trim_end_matches("[]");
        if node.has(top) {
            continue;
        }
        match value {
            Value::String(text) if text.contains("{label}") => {
                let text = text.replace("{label}", label);
                used.push(format!("Terraform requires {path}; set to \"{text}\""));
                node.set(path, &[], Expression::String(text));
            }
            other => {
                node.set(path, &[], literal(other));
            }
        }
    }
}

/// Match a property (sub)tree against the mapping table: collect matched
/// entries, and name what matched nothing.
fn walk<'v, 'm>(
    table: &Table<'m>,
    pattern: &str,
    concrete: &str,
    indices: &mut Vec<usize>,
    value: &'v Value,
    hits: &mut Vec<Hit<'v>>,
    problems: &mut Vec<(String, String)>,
) {
    if let Some((_, companion, mapping)) = table.iter().find(|(path, _, _)| *path == pattern) {
        hits.push(Hit {
            companion: *companion,
            mapping: mapping.detailed(),
            concrete: concrete.to_string(),
            indices: indices.clone(),
            value,
        });
        return;
    }
    if is_no_value(value) {
        return;
    }
    let object_prefix = format!("{pattern}.");
    let array_prefix = format!("{pattern}[]");
    let deeper = |prefix: &str| table.iter().any(|(path, _, _)| path.starts_with(prefix));
    match value {
        Value::Object(object) if !is_intrinsic(value) && deeper(&object_prefix) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            for key in keys {
                if let Some(child) = object.get(key) {
                    walk(
                        table,
                        &format!("{pattern}.{key}"),
                        &format!("{concrete}.{key}"),
                        indices,
                        child,
                        hits,
                        problems,
                    );
                }
            }
        }
        Value::Array(items) if deeper(&array_prefix) => {
            for (index, item) in items.iter().enumerate() {
                indices.push(index);
                walk(
                    table,
                    &array_prefix,
                    &format!("{concrete}[{index}]"),
                    indices,
                    item,
                    hits,
                    problems,
                );
                indices.pop();
            }
        }
        _ if is_intrinsic(value) && (deeper(&object_prefix) || deeper(&array_prefix)) => {
            problems.push((
                concrete.to_string(),
                "an intrinsic function stands where the mapping expects nested properties"
                    .to_string(),
            ));
        }
        _ => problems.push((
            concrete.to_string(),
            "no curated Terraform argument".to_string(),
        )),
    }
}
