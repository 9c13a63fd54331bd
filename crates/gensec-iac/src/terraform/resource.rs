//! One CloudFormation resource as a Terraform resource and its companions:
//! properties matched against the curated mapping, values converted, the
//! provider's required defaults filled in, and what was not translated said.

use super::Renderer;
use super::intrinsics::is_no_value;
use super::mapping::{Detailed, Entries, Keyed, PropertyMapping, ResourceMapping, Transform};
use super::naming::{camelize, snake};
use super::node::{Emitted, Node};
use gensec_hcl::{literal, number, traversal};
use gensec_kb::validate::is_intrinsic;
use hcl::expr::Expression;
use serde_json::Value;
use std::collections::BTreeMap;

/// A template resource as the renderer knows it.
#[derive(Debug)]
pub(super) struct ResourceInfo<'m> {
    pub(super) cfn_type: String,
    pub(super) label: String,
    pub(super) mapping: Option<&'m ResourceMapping>,
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
struct ResourceNotes {
    /// Terraform label of the resource, for naming locals.
    label: String,
    /// (property path, reason) of what was not translated.
    problems: Vec<(String, String)>,
    /// Caveats of what was translated.
    notes: Vec<String>,
}

/// Where a resource's properties go: parent (`None`) or a companion.
type Table<'m> = Vec<(&'m str, Option<usize>, &'m PropertyMapping)>;

/// Resource attributes Terraform has no counterpart for.
const UNTRANSLATED_ATTRIBUTES: [&str; 5] = [
    "Condition",
    "CreationPolicy",
    "DeletionPolicy",
    "UpdatePolicy",
    "UpdateReplacePolicy",
];

/// The property paths of a resource mapping and its companions.
fn property_table(mapping: &ResourceMapping) -> Table<'_> {
    let mut table: Table<'_> = mapping
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
    table
}

/// Fill in the arguments Terraform requires that the template left unset.
fn apply_defaults(
    node: &mut Node,
    defaults: &BTreeMap<String, Value>,
    label: &str,
    parent_type: Option<&str>,
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
        let parent_attribute = value
            .as_str()
            .and_then(|text| text.strip_prefix("{parent.")?.strip_suffix('}'));
        match (value, parent_type.zip(parent_attribute)) {
            (_, Some((parent_type, attribute))) => {
                node.set(path, &[], traversal(parent_type, &[label, attribute]));
            }
            (Value::String(text), None) if text.contains("{label}") => {
                let text = text.replace("{label}", label);
                used.push(format!("Terraform requires {path}; set to \"{text}\""));
                node.set(path, &[], Expression::String(text));
            }
            (other, None) => {
                node.set(path, &[], literal(other));
            }
        }
    }
}

/// The mapping table being matched, and the array indices on the current path.
#[derive(Debug)]
struct Walk<'t, 'm> {
    table: &'t Table<'m>,
    indices: Vec<usize>,
}

impl Walk<'_, '_> {
    /// Match a property (sub)tree against the mapping table: collect matched
    /// entries, and name what matched nothing.
    fn walk<'v>(
        &mut self,
        pattern: &str,
        concrete: &str,
        value: &'v Value,
        hits: &mut Vec<Hit<'v>>,
        problems: &mut Vec<(String, String)>,
    ) {
        let table = self.table;
        if let Some((_, companion, mapping)) = table.iter().find(|(path, _, _)| *path == pattern) {
            hits.push(Hit {
                companion: *companion,
                mapping: mapping.detailed(),
                concrete: concrete.to_string(),
                indices: self.indices.clone(),
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
                        let pattern = format!("{pattern}.{key}");
                        let concrete = format!("{concrete}.{key}");
                        self.walk(&pattern, &concrete, child, hits, problems);
                    }
                }
            }
            Value::Array(items) if deeper(&array_prefix) => {
                for (index, item) in items.iter().enumerate() {
                    self.indices.push(index);
                    let concrete = format!("{concrete}[{index}]");
                    self.walk(&array_prefix, &concrete, item, hits, problems);
                    self.indices.pop();
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
}

/// Match every property of `resource` against `table`.
fn match_properties<'v>(
    table: &Table<'_>,
    resource: &'v Value,
) -> (Vec<Hit<'v>>, Vec<(String, String)>) {
    let mut hits = Vec::new();
    let mut problems = Vec::new();
    match resource.get("Properties") {
        Some(Value::Object(properties)) => {
            let mut names: Vec<&String> = properties.keys().collect();
            names.sort();
            let mut walk = Walk {
                table,
                indices: Vec::new(),
            };
            for name in names {
                if let Some(value) = properties.get(name) {
                    walk.walk(name, name, value, &mut hits, &mut problems);
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => problems.push(("Properties".to_string(), "not an object".to_string())),
    }
    (hits, problems)
}

/// Notes for the resource attributes (`DeletionPolicy`, ...) left untranslated.
fn attribute_notes(resource: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    for attribute in UNTRANSLATED_ATTRIBUTES {
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
    notes
}

/// A value after the mapping's value table and `pluck`, before its transform.
fn mapped_value(mapping: &Detailed, value: &Value) -> Result<Value, String> {
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
    Ok(value)
}

impl<'m> Renderer<'m> {
    /// Apply a property mapping's value translation.
    fn convert(&mut self, mapping: &Detailed, value: &Value) -> Result<Expression, String> {
        let value = mapped_value(mapping, value)?;
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
            Transform::SingleValues => match &value {
                Value::Object(entries) => {
                    let mut single = serde_json::Map::new();
                    for (name, entry) in entries {
                        match entry {
                            Value::Array(items) if items.len() == 1 => {
                                single.insert(name.clone(), items[0].clone());
                            }
                            _ => {
                                return Err(format!(
                                    "{name} is not a one-value list and the Terraform map takes one value per name"
                                ));
                            }
                        }
                    }
                    self.expr(&Value::Object(single))
                }
                other if is_intrinsic(other) => self.expr(other),
                other => Err(format!("{other} is not a map of one-value lists")),
            },
        }
    }

    /// A keyed property (a list of key/value objects), one entry at a time.
    fn apply_keyed(
        &mut self,
        node: &mut Node,
        keyed: &Keyed,
        value: &Value,
        indices: &[usize],
        subject: &str,
        report: &mut ResourceNotes,
    ) {
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
    }

    /// A map property as one repeated block per entry, in key order.
    fn apply_entries(
        &mut self,
        node: &mut Node,
        argument: &str,
        entries: &Entries,
        value: &Value,
        indices: &[usize],
    ) -> Result<(), String> {
        let Some(map) = value.as_object().filter(|_| !is_intrinsic(value)) else {
            return Err("expected a map of literal keys".to_string());
        };
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for (index, key) in keys.into_iter().enumerate() {
            let mut entry_indices = indices.to_vec();
            entry_indices.push(index);
            let entry = &map[key];
            node.set(
                &format!("{argument}.{}", entries.key),
                &entry_indices,
                Expression::String(key.clone()),
            );
            match &entries.value {
                Some(value_argument) => {
                    let expr = self.expr(entry)?;
                    node.set(
                        &format!("{argument}.{value_argument}"),
                        &entry_indices,
                        expr,
                    );
                }
                None => self.set_fields(node, argument, entries, entry, &entry_indices)?,
            }
        }
        Ok(())
    }

    /// An object's fields under `prefix`: objects as blocks, arrays of
    /// objects as repeated blocks, everything else as arguments.
    fn set_fields(
        &mut self,
        node: &mut Node,
        prefix: &str,
        entries: &Entries,
        value: &Value,
        indices: &[usize],
    ) -> Result<(), String> {
        let Some(object) = value.as_object().filter(|_| !is_intrinsic(value)) else {
            return Err(format!("expected an object under {prefix}"));
        };
        let mut keys: Vec<&String> = object.keys().collect();
        keys.sort();
        for key in keys {
            let child = &object[key];
            let name = entries
                .fields
                .get(key)
                .cloned()
                .unwrap_or_else(|| snake(key));
            let is_block = |item: &Value| item.is_object() && !is_intrinsic(item);
            match child {
                _ if is_block(child) => {
                    self.set_fields(node, &format!("{prefix}.{name}"), entries, child, indices)?;
                }
                Value::Array(items) if !items.is_empty() && items.iter().all(is_block) => {
                    for (index, item) in items.iter().enumerate() {
                        let mut item_indices = indices.to_vec();
                        item_indices.push(index);
                        let path = format!("{prefix}.{name}[]");
                        self.set_fields(node, &path, entries, item, &item_indices)?;
                    }
                }
                _ => {
                    let expr = self.expr(child)?;
                    node.set(&format!("{prefix}.{name}"), indices, expr);
                }
            }
        }
        Ok(())
    }

    /// Put one matched property into `node`; problems are returned as reasons.
    fn apply(
        &mut self,
        node: &mut Node,
        mapping: &Detailed,
        value: &Value,
        indices: &[usize],
        subject: &str,
        report: &mut ResourceNotes,
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
            self.apply_keyed(node, keyed, value, indices, subject, report);
            return;
        }
        let Some(argument) = &mapping.argument else {
            report.problems.push((
                subject.to_string(),
                "the mapping names no Terraform argument".to_string(),
            ));
            return;
        };
        if let Some(entries) = &mapping.entries {
            if let Err(reason) = self.apply_entries(node, argument, entries, value, indices) {
                report.problems.push((subject.to_string(), reason));
            }
            return;
        }
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

    /// `depends_on` for the translated resources of `DependsOn`; the others are problems.
    fn depends_on(
        &self,
        resource: &Value,
        parent: &mut Node,
        problems: &mut Vec<(String, String)>,
    ) {
        let Some(depends_on) = resource.get("DependsOn") else {
            return;
        };
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

    /// Warnings, and the comments above the resource, for what was not
    /// translated or was translated with a caveat.
    fn resource_comments(
        &mut self,
        logical: &str,
        cfn_type: &str,
        problems: Vec<(String, String)>,
        notes: Vec<String>,
        defaults_used: Vec<String>,
    ) -> Vec<String> {
        let mut comments = Vec::new();
        for (path, reason) in problems {
            let message =
                format!("property {path} of {logical} ({cfn_type}) not translated: {reason}");
            self.warnings.push(message.clone());
            comments.push(message);
        }
        for note in notes.into_iter().chain(defaults_used) {
            self.warnings
                .push(format!("{logical} ({cfn_type}): {note}"));
            comments.push(format!("note: {note}"));
        }
        comments
    }

    /// The resource and its companions.
    pub(super) fn resource(
        &mut self,
        logical: &str,
        resource: &Value,
        mapping: &'m ResourceMapping,
    ) -> Vec<Emitted> {
        let (cfn_type, label) = match self.resources.get(logical) {
            Some(info) => (info.cfn_type.clone(), info.label.clone()),
            None => return Vec::new(),
        };
        if let Some(reason) = &mapping.embed {
            return vec![self.embedded_stack(logical, &cfn_type, &label, resource, reason)];
        }
        let table = property_table(mapping);
        let (hits, problems) = match_properties(&table, resource);
        let mut parent = Node::default();
        let mut companions: Vec<Option<Node>> = mapping.companions.iter().map(|_| None).collect();
        let mut report = ResourceNotes {
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
            let subject = &hit.concrete;
            self.apply(
                node,
                &hit.mapping,
                hit.value,
                &hit.indices,
                subject,
                &mut report,
            );
        }
        let ResourceNotes {
            mut problems,
            mut notes,
            ..
        } = report;
        let defaults_used = fill_defaults(mapping, &label, &mut parent, &mut companions);
        parent.sort();
        for node in companions.iter_mut().flatten() {
            node.sort();
        }
        self.depends_on(resource, &mut parent, &mut problems);
        notes.extend(attribute_notes(resource));
        let comments = self.resource_comments(logical, &cfn_type, problems, notes, defaults_used);
        let mut out = vec![Emitted {
            comments,
            block: parent.into_block("resource", &[&mapping.terraform_type, &label]),
        }];
        out.extend(companion_blocks(mapping, &label, companions));
        out
    }
}

/// The mapping's defaults and the arguments Terraform requires, set where
/// the template left them out, on the resource and its companions; a note
/// for each one set.
fn fill_defaults(
    mapping: &ResourceMapping,
    label: &str,
    parent: &mut Node,
    companions: &mut [Option<Node>],
) -> Vec<String> {
    let mut defaults_used = Vec::new();
    apply_defaults(parent, &mapping.defaults, label, None, &mut defaults_used);
    for (path, value) in &mapping.fill {
        if parent.fill(path, &literal(value)) {
            defaults_used.push(format!(
                "Terraform requires {path}; set to CloudFormation's default {value}"
            ));
        }
    }
    for (companion, node) in mapping.companions.iter().zip(companions.iter_mut()) {
        if let Some(node) = node {
            apply_defaults(
                node,
                &companion.defaults,
                label,
                Some(&mapping.terraform_type),
                &mut defaults_used,
            );
        }
    }
    defaults_used
}

impl Renderer<'_> {
    /// A type the provider lacks, as a one-resource CloudFormation stack: the
    /// resource's properties are kept whole (intrinsics become Terraform
    /// references inside `template_body`), so nothing is dropped.
    fn embedded_stack(
        &mut self,
        logical: &str,
        cfn_type: &str,
        label: &str,
        resource: &Value,
        reason: &str,
    ) -> Emitted {
        let mut body = serde_json::Map::new();
        body.insert("Type".to_string(), Value::String(cfn_type.to_string()));
        for key in ["Properties", "DeletionPolicy", "UpdateReplacePolicy"] {
            if let Some(value) = resource.get(key) {
                body.insert(key.to_string(), value.clone());
            }
        }
        let template = serde_json::json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": { logical: Value::Object(body) },
        });
        let mut node = Node::default();
        // Stack names allow letters, digits and hyphens only.
        node.set("name", &[], Expression::String(label.replace('_', "-")));
        self.local_hint = format!("{label}_template");
        let mut comments = vec![format!(
            "note: {reason}; it is deployed as a one-resource CloudFormation stack (the provider's default tags are stack tags, which CloudFormation propagates to the resource)"
        )];
        match self.expr(&template) {
            Ok(document) => {
                let encoded = self.document(document);
                node.set("template_body", &[], encoded);
            }
            Err(reason) => {
                let message = format!(
                    "resource {logical} ({cfn_type}) not translated: its properties cannot be expressed ({reason})"
                );
                comments.push(message.clone());
                self.warnings.push(message);
            }
        }
        self.warnings.push(format!(
            "{logical} ({cfn_type}): {reason}; written as aws_cloudformation_stack"
        ));
        Emitted {
            comments,
            block: node.into_block("resource", &["aws_cloudformation_stack", label]),
        }
    }
}

/// The companion resources that were given properties, each pointing at its parent.
fn companion_blocks(
    mapping: &ResourceMapping,
    label: &str,
    companions: Vec<Option<Node>>,
) -> Vec<Emitted> {
    let mut out = Vec::new();
    for (companion, node) in mapping.companions.iter().zip(companions) {
        let Some(mut node) = node else {
            continue;
        };
        node.attributes.insert(
            0,
            (
                companion.parent_argument.clone(),
                traversal(
                    &mapping.terraform_type,
                    &[label, &companion.parent_attribute],
                ),
            ),
        );
        out.push(Emitted {
            comments: Vec::new(),
            block: node.into_block("resource", &[&companion.terraform_type, label]),
        });
    }
    out
}
