//! Stage 4, Terraform: turns the hardened CloudFormation template into a
//! `main.tf` for the AWS provider (v6 and later: the arguments are checked
//! against the v6 schema in the knowledge base).
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
//! structures (through `gensec-hcl`) and formatted by it.
//!
//! Modules: [`mapping`] loads the curated mapping; `naming` makes Terraform
//! names; `intrinsics` translates CloudFormation values and intrinsic
//! functions; `resource` maps one resource's properties; `variables` turns
//! parameters into variables with validations; `file` lays out the other
//! blocks and writes `main.tf`.

mod file;
mod intrinsics;
pub mod mapping;
mod naming;
mod node;
mod resource;
mod variables;

use hcl::expr::Expression;
use mapping::ResourceMapping;
use naming::{RESERVED_VARIABLES, snake, unique};
use resource::ResourceInfo;
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
    let files = mapping::loaded().unwrap_or_else(|err| {
        warnings.push(format!("Terraform mapping does not load: {err}"));
        &[]
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
        // An Auto Scaling group's tags (with PropagateAtLaunch) are `tag`
        // blocks in Terraform, which the provider's default_tags do not
        // reach: the group keeps them.
        Some(Value::Array(items))
            if items
                .iter()
                .any(|item| item.get("PropagateAtLaunch").is_some()) =>
        {
            false
        }
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

/// The translation of one template, under way.
#[derive(Debug)]
struct Renderer<'m> {
    /// Parameter logical id → variable name.
    parameters: BTreeMap<String, String>,
    resources: BTreeMap<String, ResourceInfo<'m>>,
    /// Data sources referenced: (type, name).
    data_sources: BTreeSet<(&'static str, &'static str)>,
    /// Variables standing for values CloudFormation would resolve: name → description.
    extra_variables: BTreeMap<String, String>,
    /// Documents (policies) hoisted into `locals`, in order.
    locals: Vec<(String, Expression)>,
    /// Name for the next hoisted document.
    local_hint: String,
    warnings: Vec<String>,
}

/// Parameter logical id → Terraform variable name (distinct, not reserved).
fn variable_names(template: &Value) -> BTreeMap<String, String> {
    let mut parameters = BTreeMap::new();
    let mut used_variables = BTreeSet::new();
    if let Some(object) = template.get("Parameters").and_then(Value::as_object) {
        for name in object.keys() {
            let mut var = snake(name);
            if RESERVED_VARIABLES.contains(&var.as_str()) {
                var.push_str("_value");
            }
            parameters.insert(name.clone(), unique(var, &mut used_variables));
        }
    }
    parameters
}

/// Resource logical id → type, distinct Terraform label and mapping.
fn resource_infos<'m>(
    template: &Value,
    by_type: &BTreeMap<&str, &'m ResourceMapping>,
) -> BTreeMap<String, ResourceInfo<'m>> {
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
            let label = unique(snake(logical), &mut labels);
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
    resources
}

/// A template's resources, sorted by logical id.
fn sorted_resources(template: &Value) -> Vec<(&String, &Value)> {
    let mut resources: Vec<(&String, &Value)> = template
        .get("Resources")
        .and_then(Value::as_object)
        .map(|object| object.iter().collect())
        .unwrap_or_default();
    resources.sort_by(|a, b| a.0.cmp(b.0));
    resources
}

impl<'m> Renderer<'m> {
    fn new(template: &Value, by_type: &BTreeMap<&str, &'m ResourceMapping>) -> Self {
        Renderer {
            parameters: variable_names(template),
            resources: resource_infos(template, by_type),
            data_sources: BTreeSet::new(),
            extra_variables: BTreeMap::new(),
            locals: Vec::new(),
            local_hint: "document".to_string(),
            warnings: Vec::new(),
        }
    }

    fn run(mut self, template: &Value, header: &str, default_tags: &[(String, Value)]) -> Rendered {
        if !template.is_object() {
            self.warnings
                .push("the template is not a JSON object".to_string());
        }
        let mut emitted = Vec::new();
        let mut mapped = BTreeSet::new();
        let mut unmapped: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (logical, resource) in sorted_resources(template) {
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
        let outputs = self.outputs(template);
        let mut blocks = self.preamble(template, default_tags);
        blocks.extend(emitted);
        blocks.extend(outputs);
        let main_tf = self.write(header, unmapped.keys(), blocks);
        Rendered {
            main_tf,
            mapped: mapped.into_iter().collect(),
            unmapped: unmapped.into_keys().collect(),
            warnings: self.warnings,
        }
    }
}
