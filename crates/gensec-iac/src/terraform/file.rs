//! The blocks of `main.tf` around the resources (required provider, default
//! tags, data sources, variables, locals, outputs) and the file's text.

use super::Renderer;
use super::naming::{snake, unique};
use super::node::{Emitted, Node};
use gensec_hcl::{align, comment, object_key};
use hcl::expr::{Expression, Object, Variable};
use hcl::{Block, Body};
use serde_json::Value;
use std::collections::BTreeSet;

/// `terraform { required_providers { aws = ... } }`.
fn required_provider() -> Emitted {
    let provider = Object::from([
        (
            object_key("source"),
            Expression::String("hashicorp/aws".to_string()),
        ),
        (
            object_key("version"),
            Expression::String(">= 6.0".to_string()),
        ),
    ]);
    let terraform = Block::builder("terraform")
        .add_block(
            Block::builder("required_providers")
                .add_attribute(("aws", Expression::Object(provider)))
                .build(),
        )
        .build();
    Emitted {
        comments: Vec::new(),
        block: terraform,
    }
}

impl Renderer<'_> {
    /// One `output` per template output, sorted by name.
    pub(super) fn outputs(&mut self, template: &Value) -> Vec<Emitted> {
        let mut outputs = Vec::new();
        let mut output_names = BTreeSet::new();
        let Some(object) = template.get("Outputs").and_then(Value::as_object) else {
            return outputs;
        };
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
                    if let Some(description) = output.get("Description").and_then(Value::as_str) {
                        node.attributes.push((
                            "description".to_string(),
                            Expression::String(description.to_string()),
                        ));
                    }
                    node.attributes.push(("value".to_string(), expr));
                    let label = unique(snake(name), &mut output_names);
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
        outputs
    }

    /// A `variable` per template parameter, then one per value Terraform
    /// cannot see.
    fn variable_blocks(&mut self, template: &Value) -> Vec<Emitted> {
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
        variables
    }

    /// `provider "aws" { default_tags { tags = ... } }`.
    fn default_tags_provider(&mut self, default_tags: &[(String, Value)]) -> Emitted {
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
        Emitted {
            comments: vec![
                "The organisation's required tags, on every resource this provider creates."
                    .to_string(),
            ],
            block: provider,
        }
    }

    /// The blocks before the resources: provider settings, data sources,
    /// variables and locals. Runs after the resources, which decide what
    /// data sources, variables and locals there are.
    pub(super) fn preamble(
        &mut self,
        template: &Value,
        default_tags: &[(String, Value)],
    ) -> Vec<Emitted> {
        let variables = self.variable_blocks(template);
        let mut blocks = vec![required_provider()];
        if !default_tags.is_empty() {
            blocks.push(self.default_tags_provider(default_tags));
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
        blocks
    }

    /// The text of `main.tf`: the header, what was not translated, then
    /// every block with its comments.
    pub(super) fn write<'t>(
        &mut self,
        header: &str,
        unmapped_types: impl Iterator<Item = &'t String>,
        blocks: Vec<Emitted>,
    ) -> String {
        let mut main_tf = String::new();
        for line in header.lines() {
            main_tf.push_str(comment(line).as_str());
        }
        if !header.is_empty() {
            main_tf.push_str("#\n");
        }
        for cfn_type in unmapped_types {
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
        main_tf
    }
}
