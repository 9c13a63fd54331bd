//! Builds a catalogue fix as Terraform with `hcl-rs` structures, never by
//! pasting text: values from the finding are checked against [`SAFE_VALUE`] and
//! inserted only as HCL string literals; a `${ref:<type>.<name>.<attr>}`
//! argument becomes a traversal to another resource of the same fix.
//!
//! Placeholders: `${resource.name}`, `${resource.id}`, `${resource.region}`,
//! `${account}`, `${details.<path>}` (into `Resources[0].Details`; an
//! identifier the details lack is read from the resource ARN, see [`crate::arn`])
//! and `${arn.<Variable>}` (a variable of the ARN's IAM format).
//! A placeholder that cannot be resolved, or a value that is not safe, means no
//! fix: [`FixError`] says why, and the e-mail repeats it.

use crate::controls::{Fix, FixResource};
use crate::finding::Finding;
use gensec_hcl::{checked_traversal, number};
use hcl::expr::Expression;
use hcl::{Attribute, Block, Body, Identifier};
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// What a value from a finding must look like to enter generated code.
pub const SAFE_VALUE: &str = r"^[A-Za-z0-9._/:+=@,-]{1,255}$";

/// Why no fix was generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixError {
    #[error("placeholder ${{{0}}} cannot be resolved from the finding")]
    Unresolved(String),
    #[error(
        "the finding's value for ${{{placeholder}}} is not safe to put in code (allowed: letters, digits and ._/:+=@,- up to 255 characters); it was {shown}"
    )]
    Unsafe { placeholder: String, shown: String },
    #[error("reference {0:?} does not name a resource of this fix")]
    BadReference(String),
    #[error("catalogue error: {0}")]
    Catalogue(String),
}

/// A rendered fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFix {
    /// The Terraform text, formatted by hcl-rs.
    pub code: String,
    /// What the plan must show, for fixes that import an existing resource.
    pub plan_checklist: Vec<String>,
    /// `(type, name)` of every resource, in order: the expected structure.
    pub resources: Vec<(String, String)>,
}

fn safe_value() -> Option<&'static Regex> {
    static SAFE: OnceLock<Option<Regex>> = OnceLock::new();
    SAFE.get_or_init(|| Regex::new(SAFE_VALUE).ok()).as_ref()
}

/// Is a finding value safe to place in generated code?
pub fn is_safe(value: &str) -> bool {
    safe_value().is_some_and(|re| re.is_match(value))
}

/// A short, printable rendering of an untrusted value for an error message.
pub fn shown(value: &str) -> String {
    let clipped: String = value.chars().take(80).collect();
    let more = if value.chars().count() > 80 {
        "…"
    } else {
        ""
    };
    format!("{:?}{more}", clipped)
}

/// The resource name of an ARN or id: the bucket of an S3 ARN, else the last
/// segment after `/` or `:`.
pub fn resource_name(id: &str) -> &str {
    if let Some(rest) = id.strip_prefix("arn:aws:s3:::").or_else(|| {
        id.strip_prefix("arn:aws-us-gov:s3:::")
            .or_else(|| id.strip_prefix("arn:aws-cn:s3:::"))
    }) {
        return rest.split('/').next().unwrap_or(rest);
    }
    id.rsplit(['/', ':']).next().unwrap_or(id)
}

fn details_value<'a>(finding: &'a Finding, path: &str) -> Option<&'a Value> {
    let mut value = &finding.resource()?.details;
    for segment in path.split('.') {
        value = match value {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// An identifier the details lack, from the resource ARN: a field named
/// `...Arn` is the ARN itself, `...Identifier`, `...Name` or `...Id` the
/// resource name its IAM ARN format gives — only when the field names the
/// resource itself: what precedes the suffix is part of the resource type
/// (`DbInstanceIdentifier` of an `AwsRdsDbInstance`, `GroupId` of an
/// `AwsEc2SecurityGroup`, a bare `Name`), not another thing (`FileSystemId`
/// of an `AwsEfsAccessPoint`, `DomainName` of a certificate, `VpcId` of a
/// security group), which the ARN does not give.
fn from_arn(finding: &Finding, path: &str) -> Option<Value> {
    let resource = finding.resource()?;
    let arn = &resource.id;
    let field = path.rsplit('.').next()?;
    let names_the_resource = |subject: &str| {
        subject.is_empty()
            || resource
                .kind
                .to_ascii_lowercase()
                .contains(&subject.to_ascii_lowercase())
    };
    if let Some(subject) = field.strip_suffix("Arn") {
        return (arn.starts_with("arn:") && names_the_resource(subject))
            .then(|| Value::String(arn.clone()));
    }
    let subject = ["Identifier", "Name", "Id"]
        .iter()
        .find_map(|suffix| field.strip_suffix(suffix))?;
    if !names_the_resource(subject) {
        return None;
    }
    Some(Value::String(crate::arn::parse(arn)?.resource_name))
}

/// Resolve one placeholder (without `${` `}`) to a JSON scalar.
pub(crate) fn resolve(finding: &Finding, placeholder: &str) -> Result<Value, FixError> {
    let unresolved = || FixError::Unresolved(placeholder.to_string());
    let value = match placeholder {
        "resource.name" => {
            Value::String(resource_name(&finding.resource().ok_or_else(unresolved)?.id).to_string())
        }
        "resource.id" => Value::String(finding.resource().ok_or_else(unresolved)?.id.clone()),
        "resource.region" => Value::String(finding.region().ok_or_else(unresolved)?.to_string()),
        "account" => Value::String(finding.aws_account_id.clone()),
        other => match (other.strip_prefix("details."), other.strip_prefix("arn.")) {
            (Some(path), _) if !path.is_empty() => match details_value(finding, path) {
                Some(scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                    scalar.clone()
                }
                Some(_) => return Err(unresolved()),
                None => from_arn(finding, path).ok_or_else(unresolved)?,
            },
            (_, Some(variable)) if !variable.is_empty() => {
                let arn = &finding.resource().ok_or_else(unresolved)?.id;
                let parsed = crate::arn::parse(arn).ok_or_else(unresolved)?;
                Value::String(
                    parsed
                        .variables
                        .get(variable)
                        .ok_or_else(unresolved)?
                        .clone(),
                )
            }
            _ => return Err(unresolved()),
        },
    };
    let text = match &value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if is_safe(&text) {
        Ok(value)
    } else {
        Err(FixError::Unsafe {
            placeholder: placeholder.to_string(),
            shown: shown(&text),
        })
    }
}

/// `text` with every `${placeholder}` replaced by what `value_of` makes of it.
pub(crate) fn substitute(
    text: &str,
    mut value_of: impl FnMut(&str) -> Result<String, FixError>,
) -> Result<String, FixError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| FixError::Unresolved(after.to_string()))?;
        out.push_str(&value_of(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

struct Context<'a> {
    finding: &'a Finding,
    fix: &'a Fix,
}

impl Context<'_> {
    /// A catalogue string: a reference, a single placeholder (keeps numbers
    /// and booleans), or text with placeholders substituted.
    fn string(&self, text: &str) -> Result<Expression, FixError> {
        if let Some(reference) = text
            .strip_prefix("${ref:")
            .and_then(|rest| rest.strip_suffix('}'))
        {
            return self.reference(reference);
        }
        if let Some(inner) = text.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && !inner.contains("${")
            && !inner.contains('}')
        {
            return Ok(match resolve(self.finding, inner)? {
                Value::Number(n) => number(&n),
                Value::Bool(b) => Expression::Bool(b),
                Value::String(s) => Expression::String(s),
                _ => Expression::Null,
            });
        }
        let text = substitute(text, |placeholder| {
            Ok(match resolve(self.finding, placeholder)? {
                Value::String(s) => s,
                other => other.to_string(),
            })
        })?;
        Ok(Expression::String(text))
    }

    fn reference(&self, reference: &str) -> Result<Expression, FixError> {
        let bad = || FixError::BadReference(reference.to_string());
        let parts: Vec<&str> = reference.split('.').collect();
        let [kind, name, attribute] = parts.as_slice() else {
            return Err(bad());
        };
        if !self
            .fix
            .resources
            .iter()
            .any(|r| r.kind == *kind && r.name == *name)
        {
            return Err(bad());
        }
        checked_traversal(kind, &[name, attribute]).ok_or_else(bad)
    }

    fn expression(&self, value: &Value) -> Result<Expression, FixError> {
        Ok(match value {
            Value::Null => Expression::Null,
            Value::Bool(b) => Expression::Bool(*b),
            Value::Number(n) => number(n),
            Value::String(s) => self.string(s)?,
            Value::Array(items) => Expression::Array(
                items
                    .iter()
                    .map(|item| self.expression(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(_) => {
                return Err(FixError::Catalogue(
                    "an object inside an array of scalars".into(),
                ));
            }
        })
    }

    /// Arguments into a block body: objects (and arrays of objects) are
    /// nested blocks, everything else attributes.
    fn fill(
        &self,
        mut builder: hcl::structure::BlockBuilder,
        arguments: &serde_json::Map<String, Value>,
    ) -> Result<hcl::structure::BlockBuilder, FixError> {
        for (key, value) in arguments {
            let ident = Identifier::new(key.clone())
                .map_err(|_| FixError::Catalogue(format!("argument {key:?}")))?;
            match value {
                Value::Object(inner) => {
                    builder = builder.add_block(self.fill(Block::builder(ident), inner)?.build());
                }
                Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                    for item in items {
                        if let Value::Object(inner) = item {
                            builder = builder.add_block(
                                self.fill(Block::builder(ident.clone()), inner)?.build(),
                            );
                        }
                    }
                }
                other => {
                    builder = builder.add_attribute(Attribute::new(ident, self.expression(other)?));
                }
            }
        }
        Ok(builder)
    }

    fn resource(&self, resource: &FixResource) -> Result<Block, FixError> {
        let builder = Block::builder("resource")
            .add_label(resource.kind.as_str())
            .add_label(resource.name.as_str());
        Ok(self.fill(builder, &resource.arguments)?.build())
    }
}

/// An `import` block (Terraform >= 1.5): `to` the fix's resource, `id` the
/// existing resource's import id.
fn import_block(resource: &FixResource, id: String) -> Result<Block, FixError> {
    let to = checked_traversal(&resource.kind, &[&resource.name]).ok_or_else(|| {
        FixError::Catalogue(format!("resource {}.{}", resource.kind, resource.name))
    })?;
    Ok(Block::builder("import")
        .add_attribute(("to", to))
        .add_attribute(("id", Expression::String(id)))
        .build())
}

/// The plan checklist of a fix that imports existing resources.
fn plan_checklist(imported: &[&FixResource]) -> Vec<String> {
    let names: Vec<String> = imported
        .iter()
        .map(|r| format!("{}.{}", r.kind, r.name))
        .collect();
    // The settings the fix makes: arguments with a literal value (those
    // taken from the finding identify the resource and stay as they are).
    let settings: Vec<String> = imported
        .iter()
        .flat_map(|r| {
            r.arguments
                .iter()
                .filter(|(_, value)| !value.to_string().contains("${"))
                .map(|(key, _)| key.clone())
        })
        .collect();
    vec![
        format!(
            "If {} is already managed by your Terraform, set the same argument(s) in its existing block and drop the import block; otherwise run `terraform plan -generate-config-out=generated.tf` with the import block alone and copy the argument(s) into the generated block.",
            names.join(", ")
        ),
        format!(
            "`terraform plan` must show {} imported and updated in place (`~`), changing only: {}.",
            names.join(", "),
            settings.join(", ")
        ),
        "Apply only if the plan shows no destroy, no replacement (`-/+`) and no other resource changing.".into(),
    ]
}

/// Render a catalogue fix for a finding.
pub fn render(fix: &Fix, finding: &Finding) -> Result<RenderedFix, FixError> {
    let context = Context { finding, fix };
    let mut body = Body::builder();
    let mut imported = Vec::new();
    let mut resources = Vec::new();
    for resource in &fix.resources {
        if resource.import {
            let template = resource.import_id.as_deref().unwrap_or("${resource.name}");
            let id = match context.string(template)? {
                Expression::String(id) => id,
                _ => return Err(FixError::Catalogue("import id must be a string".into())),
            };
            body = body.add_block(import_block(resource, id)?);
            imported.push(resource);
        }
        body = body.add_block(context.resource(resource)?);
        resources.push((resource.kind.clone(), resource.name.clone()));
    }
    let code = hcl::format::to_string(&body.build())
        .map_err(|err| FixError::Catalogue(format!("formatting: {err}")))?;
    Ok(RenderedFix {
        code,
        plan_checklist: if imported.is_empty() {
            Vec::new()
        } else {
            plan_checklist(&imported)
        },
        resources,
    })
}
