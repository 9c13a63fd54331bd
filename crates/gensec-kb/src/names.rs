//! Which AWS names exist, for checking model-written prose
//! ([`gensec_core::llm::names`]): resource types, actions, condition keys and
//! Config rules anywhere in the knowledge base; property paths, property
//! names and allowed values of one service's resource types.

use crate::Kb;
use crate::model::{ResourceTypeSchema, ServiceEntry};
use gensec_core::llm::names::{NameKind, NameLookup, is_literal};
use std::collections::BTreeSet;

/// The names one service's prose may use.
#[derive(Debug)]
pub struct ServiceNames<'a> {
    kb: &'a Kb,
    /// Property paths without `[]` markers (`A.B.C`).
    paths: BTreeSet<String>,
    /// Every segment of those paths.
    property_names: BTreeSet<String>,
    /// Allowed (enum) values of those properties, as written (`aws:kms`, `Enabled`).
    values: BTreeSet<String>,
    /// Names the caller knows are fine (configuration ids, recommended values).
    extra: BTreeSet<String>,
}

impl<'a> ServiceNames<'a> {
    pub fn new(kb: &'a Kb, service: &ServiceEntry) -> Self {
        let schemas: Vec<&ResourceTypeSchema> = service
            .resource_types
            .iter()
            .filter_map(|name| kb.resource_type(name).ok().flatten())
            .collect();
        Self::for_schemas(kb, &schemas)
    }

    pub fn for_schemas(kb: &'a Kb, schemas: &[&ResourceTypeSchema]) -> Self {
        let mut names = Self {
            kb,
            paths: BTreeSet::new(),
            property_names: BTreeSet::new(),
            values: BTreeSet::new(),
            extra: BTreeSet::new(),
        };
        for schema in schemas {
            for path in schema.property_paths() {
                let plain = path.replace("[]", "");
                names
                    .property_names
                    .extend(plain.split('.').map(str::to_string));
                if let Some(property) = schema.resolve(&path) {
                    for value in &schema.deref(property).enum_values {
                        let text = serde_json::from_str::<serde_json::Value>(value)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_else(|| value.clone());
                        names.values.insert(text);
                    }
                }
                names.paths.insert(plain);
            }
        }
        names
    }

    /// Also accept these names.
    pub fn with_extra(mut self, extra: impl IntoIterator<Item = String>) -> Self {
        self.extra.extend(extra);
        self
    }

    fn is_path(&self, path: &str) -> bool {
        let plain = path.replace("[]", "");
        let suffix = format!(".{plain}");
        self.paths.contains(&plain) || self.paths.iter().any(|p| p.ends_with(&suffix))
    }

    fn is_iam_name(&self, name: &str) -> bool {
        self.kb.action(name).ok().flatten().is_some()
            || self.kb.condition_key(name).ok().flatten().is_some()
    }

    fn is_resource_type(&self, name: &str) -> bool {
        self.kb.resource_type(name).ok().flatten().is_some()
    }
}

impl NameLookup for ServiceNames<'_> {
    fn knows(&self, kind: NameKind, name: &str) -> bool {
        if self.extra.contains(name) || self.values.contains(name) {
            return true;
        }
        match kind {
            NameKind::ResourceType => self.is_resource_type(name),
            NameKind::IamName => self.is_iam_name(name),
            NameKind::ConfigRule => self.kb.config_rule(name).is_some(),
            NameKind::PropertyPath => self.is_path(name),
            NameKind::Quoted => {
                is_literal(name)
                    || self.property_names.contains(name.trim_end_matches("[]"))
                    || self.is_path(name)
                    || self.is_resource_type(name)
                    || self.is_iam_name(name)
                    || self.kb.config_rule(name).is_some()
            }
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gensec_core::llm::names::unknown;

    #[test]
    fn s3_prose_is_checked_against_the_knowledge_base() {
        let kb = Kb::embedded().unwrap();
        let s3 = kb.service("s3").unwrap();
        let names = ServiceNames::new(&kb, s3).with_extra(["CFG-S3-BUCKET-VERSIONING".into()]);
        let good = "Set `VersioningConfiguration.Status` to `Enabled` and `SSEAlgorithm` to `aws:kms` (CFG-S3-BUCKET-VERSIONING); deny s3:PutBucketPolicy without aws:SecureTransport; S3_BUCKET_VERSIONING_ENABLED checks AWS::S3::Bucket. Keys live in AWS::KMS::Key.";
        let (checked, missing) = unknown(good, &names);
        assert!(checked >= 8, "{checked}");
        assert!(missing.is_empty(), "{missing:?}");
        let bad = "Enable `BucketShield.Mode`, deny s3:PutBucketShield, key s3:x-made-up-key, rule S3_BUCKET_SHIELD_ENABLED on AWS::S3::Shield.";
        let (_, missing) = unknown(bad, &names);
        let texts: Vec<&str> = missing.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "AWS::S3::Shield",
                "s3:PutBucketShield",
                "s3:x-made-up-key",
                "S3_BUCKET_SHIELD_ENABLED",
                "BucketShield.Mode"
            ]
        );
    }
}
