//! What Terraform a model may propose: the AWS provider resource types and
//! argument paths that gensec's own catalogue fixes use, learned from the
//! catalogue (data, reviewed and checkov-tested), and per Security Hub
//! resource type the provider types its fixes touch. A model fix may use
//! nothing else, so an invented argument or a block unrelated to the
//! finding's resource is refused. (The knowledge base describes
//! CloudFormation, not the Terraform provider, so it cannot check these.)

use crate::controls::{self, ControlCatalogue};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// What an argument's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArgumentKind {
    /// `true` or `false`.
    Flag,
    Number,
    /// A literal string.
    Text,
    /// A list of literal strings.
    List,
    /// Names the affected resource (or another block of the fix): a
    /// placeholder (`${resource.name}`, `${details.…}`, `${ref:…}`), never a
    /// literal, so the fix cannot point at some other resource.
    FromFinding,
}

impl ArgumentKind {
    pub fn label(self) -> &'static str {
        match self {
            ArgumentKind::Flag => "true or false",
            ArgumentKind::Number => "number",
            ArgumentKind::Text => "text",
            ArgumentKind::List => "list of text",
            ArgumentKind::FromFinding => "from the finding: a ${...} placeholder or ${ref:...}",
        }
    }

    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(_) => Some(Self::Flag),
            Value::Number(_) => Some(Self::Number),
            Value::String(text) if text.contains("${") => Some(Self::FromFinding),
            Value::String(_) => Some(Self::Text),
            Value::Array(items) if items.iter().all(|i| !i.is_object()) => Some(Self::List),
            _ => None,
        }
    }
}

/// Argument paths per provider type, and provider types per finding resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    related: BTreeMap<String, BTreeSet<String>>,
    arguments: BTreeMap<String, BTreeMap<String, ArgumentKind>>,
}

/// Nested blocks (objects, arrays of objects) joined with `.`.
fn collect(arguments: &Map<String, Value>, prefix: &str, out: &mut BTreeMap<String, ArgumentKind>) {
    for (key, value) in arguments {
        let path = format!("{prefix}{key}");
        match value {
            Value::Object(inner) => collect(inner, &format!("{path}."), out),
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                for item in items.iter().filter_map(Value::as_object) {
                    collect(item, &format!("{path}."), out);
                }
            }
            other => {
                if let Some(kind) = ArgumentKind::of(other) {
                    let entry = out.entry(path).or_insert(kind);
                    // Naming the resource anywhere means it always must.
                    if kind == ArgumentKind::FromFinding {
                        *entry = kind;
                    }
                }
            }
        }
    }
}

impl Vocabulary {
    pub fn from_catalogue(catalogue: &ControlCatalogue) -> Self {
        let mut vocabulary = Self::default();
        for catalogued in controls::remediated(catalogue) {
            let Some(fix) = &catalogued.remediation.fix else {
                continue;
            };
            let finding_type = catalogued.resource_type();
            for resource in &fix.resources {
                if let Some(finding_type) = &finding_type {
                    vocabulary
                        .related
                        .entry(finding_type.clone())
                        .or_default()
                        .insert(resource.kind.clone());
                }
                collect(
                    &resource.arguments,
                    "",
                    vocabulary
                        .arguments
                        .entry(resource.kind.clone())
                        .or_default(),
                );
            }
        }
        vocabulary
    }

    /// From the embedded catalogue (empty if it does not load: no model fix
    /// is then accepted).
    pub fn embedded() -> &'static Vocabulary {
        static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
        VOCABULARY.get_or_init(|| {
            ControlCatalogue::embedded()
                .map(Self::from_catalogue)
                .unwrap_or_default()
        })
    }

    /// Provider types a fix for a finding on `resource_type` (ASFF, e.g.
    /// `AwsS3Bucket`) may use.
    pub fn related_types(&self, resource_type: &str) -> Vec<&str> {
        self.related
            .get(resource_type)
            .map(|types| types.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The argument paths of a provider type.
    pub fn arguments(&self, terraform_type: &str) -> Option<&BTreeMap<String, ArgumentKind>> {
        self.arguments.get(terraform_type)
    }

    /// Is `path` a nested block of `terraform_type`?
    pub fn is_block(&self, terraform_type: &str, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.arguments(terraform_type)
            .is_some_and(|known| known.keys().any(|known| known.starts_with(&prefix)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_catalogue_teaches_types_arguments_and_what_names_the_resource() {
        let vocabulary = Vocabulary::embedded();
        let s3 = vocabulary.related_types("AwsS3Bucket");
        assert!(s3.contains(&"aws_s3_bucket_versioning"), "{s3:?}");
        assert!(!s3.contains(&"aws_iam_role"));
        let versioning = vocabulary.arguments("aws_s3_bucket_versioning").unwrap();
        assert_eq!(versioning["bucket"], ArgumentKind::FromFinding);
        assert_eq!(
            versioning["versioning_configuration.status"],
            ArgumentKind::Text
        );
        assert!(vocabulary.is_block("aws_s3_bucket_versioning", "versioning_configuration"));
        assert!(!vocabulary.is_block("aws_s3_bucket_versioning", "bucket"));
        assert!(vocabulary.related_types("AwsLambdaFunction").is_empty());
    }
}
