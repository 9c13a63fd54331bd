//! The allow-list every generated fix passes before anyone sees it: the text
//! is parsed back with hcl-rs and may hold only `resource` and `data` blocks
//! of AWS provider types, exactly the ones the fix meant to produce, with
//! literal values and references to those blocks. Provisioners, connections,
//! `local-exec`, `external` data sources, modules, `terraform`/`provider`
//! blocks, meta-arguments, templates with interpolation and function calls
//! are all refused.

use hcl::expr::{Expression, TraversalOperator};
use hcl::{Block, Body, Structure};

/// Block names refused anywhere.
const FORBIDDEN_BLOCKS: &[&str] = &["provisioner", "connection", "dynamic", "lifecycle"];
/// Attribute names refused in a resource.
const FORBIDDEN_ATTRIBUTES: &[&str] = &["provider", "count", "for_each", "depends_on", "source"];

/// Why a fix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the generated Terraform was refused: {0}")]
pub struct Refused(pub String);

/// Check `code` against the allow-list. `expected` lists the `(type, name)`
/// of every resource the fix meant to produce, in order; `None` accepts any
/// AWS resource or data block.
pub fn check(code: &str, expected: Option<&[(String, String)]>) -> Result<(), Refused> {
    let body: Body =
        hcl::from_str(code).map_err(|err| Refused(format!("does not parse: {err}")))?;
    let mut found = Vec::new();
    let mut declared = Vec::new();
    let mut import_targets = Vec::new();
    for structure in body.iter() {
        match structure {
            Structure::Block(block) if block.identifier.as_str() == "import" => {
                import_targets.push(import_target(block)?);
            }
            Structure::Attribute(attribute) => {
                return Err(Refused(format!(
                    "top-level attribute {} is not allowed",
                    attribute.key.as_str()
                )));
            }
            Structure::Block(block) => {
                let (kind, name) = top_block(block)?;
                declared.push((block.identifier.as_str().to_string(), kind.clone()));
                found.push((kind, name));
            }
        }
    }
    if let Some(expected) = expected
        && found.as_slice() != expected
    {
        return Err(Refused(format!(
            "structure changed: expected {expected:?}, found {found:?}"
        )));
    }
    for (index, target) in import_targets.iter().enumerate() {
        if !found.contains(target) {
            return Err(Refused(format!(
                "import block targets {}.{}, which is not a resource of this fix",
                target.0, target.1
            )));
        }
        if import_targets[..index].contains(target) {
            return Err(Refused(format!(
                "{}.{} is imported twice",
                target.0, target.1
            )));
        }
    }
    for structure in body.iter() {
        if let Structure::Block(block) = structure
            && block.identifier.as_str() != "import"
        {
            check_body(&block.body, &declared)?;
        }
    }
    Ok(())
}

/// An `import` block: no labels, exactly `to` (a `<type>.<name>` reference)
/// and `id` (a plain string); its target.
fn import_target(block: &Block) -> Result<(String, String), Refused> {
    if !block.labels.is_empty() {
        return Err(Refused("an import block takes no labels".into()));
    }
    let mut to = None;
    let mut id = false;
    for structure in block.body.iter() {
        let Structure::Attribute(attribute) = structure else {
            return Err(Refused("an import block holds only `to` and `id`".into()));
        };
        match (attribute.key.as_str(), &attribute.expr) {
            ("to", Expression::Traversal(traversal)) if to.is_none() => {
                let (Expression::Variable(kind), [TraversalOperator::GetAttr(name)]) =
                    (&traversal.expr, traversal.operators.as_slice())
                else {
                    return Err(Refused("import `to` must be <type>.<name>".into()));
                };
                to = Some((kind.as_str().to_string(), name.as_str().to_string()));
            }
            ("id", Expression::String(text)) if !id => {
                if text.contains("${") || text.contains("%{") {
                    return Err(Refused(format!(
                        "import id {text:?} holds a template marker"
                    )));
                }
                id = true;
            }
            (key, _) => {
                return Err(Refused(format!(
                    "import block attribute {key} is not allowed (only `to` = <type>.<name> and `id` = a string, once each)"
                )));
            }
        }
    }
    match (to, id) {
        (Some(target), true) => Ok(target),
        _ => Err(Refused("an import block needs `to` and `id`".into())),
    }
}

fn top_block(block: &Block) -> Result<(String, String), Refused> {
    let identifier = block.identifier.as_str();
    if !matches!(identifier, "resource" | "data") {
        return Err(Refused(format!("{identifier} blocks are not allowed")));
    }
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    let [kind, name] = labels.as_slice() else {
        return Err(Refused(format!(
            "{identifier} block needs exactly two labels"
        )));
    };
    if !kind.starts_with("aws_") {
        return Err(Refused(format!(
            "{identifier} type {kind:?} is not an AWS provider type"
        )));
    }
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    };
    if !ident(kind) || !ident(name) {
        return Err(Refused(format!(
            "{identifier} labels {kind:?} {name:?} are not identifiers"
        )));
    }
    Ok(((*kind).to_string(), (*name).to_string()))
}

fn check_body(body: &Body, declared: &[(String, String)]) -> Result<(), Refused> {
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attribute) => {
                let key = attribute.key.as_str();
                if FORBIDDEN_ATTRIBUTES.contains(&key) {
                    return Err(Refused(format!("meta-argument {key} is not allowed")));
                }
                check_expression(&attribute.expr, declared)?;
            }
            Structure::Block(block) => {
                let identifier = block.identifier.as_str();
                if FORBIDDEN_BLOCKS.contains(&identifier) {
                    return Err(Refused(format!("{identifier} blocks are not allowed")));
                }
                if !block.labels.is_empty() {
                    return Err(Refused(format!("nested block {identifier} has labels")));
                }
                check_body(&block.body, declared)?;
            }
        }
    }
    Ok(())
}

fn check_expression(expression: &Expression, declared: &[(String, String)]) -> Result<(), Refused> {
    match expression {
        Expression::Null | Expression::Bool(_) | Expression::Number(_) => Ok(()),
        Expression::String(text) => {
            if text.contains("${") || text.contains("%{") {
                Err(Refused(format!("string {text:?} holds a template marker")))
            } else {
                Ok(())
            }
        }
        Expression::Array(items) => items.iter().try_for_each(|i| check_expression(i, declared)),
        Expression::Object(object) => object
            .values()
            .try_for_each(|value| check_expression(value, declared)),
        Expression::Traversal(traversal) => {
            let Expression::Variable(root) = &traversal.expr else {
                return Err(Refused("a reference must start at a resource type".into()));
            };
            let root = root.as_str();
            let (resource_root, name) = if root == "data" {
                match traversal.operators.as_slice() {
                    [
                        TraversalOperator::GetAttr(kind),
                        TraversalOperator::GetAttr(name),
                        ..,
                    ] => (
                        ("data".to_string(), kind.as_str().to_string()),
                        name.as_str(),
                    ),
                    _ => return Err(Refused("malformed data reference".into())),
                }
            } else {
                match traversal.operators.first() {
                    Some(TraversalOperator::GetAttr(name)) => {
                        (("resource".to_string(), root.to_string()), name.as_str())
                    }
                    _ => return Err(Refused(format!("malformed reference to {root}"))),
                }
            };
            if !declared.contains(&resource_root) {
                return Err(Refused(format!(
                    "reference to {}.{name} which is not part of this fix",
                    resource_root.1
                )));
            }
            if traversal
                .operators
                .iter()
                .all(|op| matches!(op, TraversalOperator::GetAttr(_)))
            {
                Ok(())
            } else {
                Err(Refused("only attribute references are allowed".into()))
            }
        }
        other => Err(Refused(format!(
            "expression {} is not allowed (only literals and references to this fix)",
            hcl::format::to_string(other).unwrap_or_else(|_| "?".into())
        ))),
    }
}
