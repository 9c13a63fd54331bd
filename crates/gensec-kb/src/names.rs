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

/// A display name or alias of a catalogue service that is not one of AWS's
/// names for it (IAM service name, CloudFormation namespace, IAM prefix), or
/// that is AWS's name for another service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    pub service: String,
    pub name: String,
    /// `display name` or `alias`.
    pub kind: &'static str,
    /// The other service whose AWS name it is, if any.
    pub belongs_to: Option<String>,
}

/// A name without its vendor (`Amazon `, `AWS `) and with a parenthesised
/// short form split off: `AWS Identity and Access Management (IAM)` gives
/// the whole, `Identity and Access Management (IAM)`,
/// `AWS Identity and Access Management`, `Identity and Access Management`
/// and `IAM`.
fn name_forms(name: &str) -> Vec<String> {
    let mut forms = vec![name.to_string()];
    if let Some((long, short)) = name.split_once(" (") {
        forms.push(long.to_string());
        forms.push(short.trim_end_matches(')').to_string());
    }
    let unvendored: Vec<String> = forms
        .iter()
        .filter_map(|form| {
            form.strip_prefix("Amazon ")
                .or_else(|| form.strip_prefix("AWS "))
                .map(str::to_string)
        })
        .collect();
    forms.extend(unvendored);
    forms
        .iter()
        .map(|form| crate::ingest::catalogue::normalise(form))
        .filter(|form| !form.is_empty())
        .collect()
}

/// AWS's own names of a service, normalised: the IAM service names of its
/// prefixes, its CloudFormation namespaces, its prefixes and its id.
pub fn aws_names(kb: &Kb, entry: &ServiceEntry) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    names.extend(name_forms(&entry.id));
    for prefix in &entry.iam_prefixes {
        names.extend(name_forms(prefix));
        if let Some(service) = kb.iam_service(prefix).ok().flatten() {
            names.extend(name_forms(&service.name));
        }
    }
    for namespace in &entry.cfn_namespaces {
        let short = namespace.trim_start_matches("AWS::");
        names.extend(name_forms(&format!("AWS {short}")));
    }
    names
}

/// Every display name and alias of the catalogue that is not an AWS name of
/// its own service, or that is an AWS name of another service. A name
/// listed in `accepted` as `(service id, name)` is not reported.
pub fn service_name_problems(kb: &Kb, accepted: &BTreeSet<(String, String)>) -> Vec<NameProblem> {
    use crate::ingest::catalogue::normalise;
    let own: Vec<BTreeSet<String>> = kb.services().iter().map(|e| aws_names(kb, e)).collect();
    let mut problems = Vec::new();
    for (position, entry) in kb.services().iter().enumerate() {
        let names = std::iter::once((&entry.display_name, "display name"))
            .chain(entry.aliases.iter().map(|alias| (alias, "alias")));
        for (name, kind) in names {
            if accepted.contains(&(entry.id.clone(), name.clone())) {
                continue;
            }
            let forms = name_forms(name);
            let whole = normalise(name);
            let belongs_to = kb
                .services()
                .iter()
                .enumerate()
                .find(|(other, _)| *other != position && own[*other].contains(&whole))
                .map(|(_, other)| other.id.clone())
                .filter(|_| !own[position].contains(&whole));
            let is_own = forms.iter().any(|form| own[position].contains(form));
            if !is_own || belongs_to.is_some() {
                problems.push(NameProblem {
                    service: entry.id.clone(),
                    name: name.clone(),
                    kind,
                    belongs_to,
                });
            }
        }
    }
    problems
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gensec_core::llm::names::unknown;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Exceptions {
        #[allow(dead_code)]
        source: String,
        exceptions: Vec<Exception>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Exception {
        service: String,
        names: Vec<String>,
        reason: String,
    }

    /// Every display name and alias of the whole catalogue is one of AWS's
    /// names for its service (IAM service name, CloudFormation namespace, IAM
    /// prefix) and no other service's, or a curated exception with a reason;
    /// every exception is still needed.
    #[test]
    fn every_service_name_is_an_aws_name_of_that_service() {
        let kb = Kb::embedded().unwrap();
        let exceptions: Exceptions =
            gensec_data::parse_named(crate::data::FILES, "service-name-exceptions.json").unwrap();
        let mut accepted = BTreeSet::new();
        for exception in &exceptions.exceptions {
            assert!(!exception.reason.is_empty(), "{}", exception.service);
            let entry = kb
                .service(&exception.service)
                .unwrap_or_else(|| panic!("exception for unknown service {}", exception.service));
            for name in &exception.names {
                assert!(
                    entry.display_name == *name || entry.aliases.contains(name),
                    "exception {name:?} is no name of {}",
                    entry.id
                );
                accepted.insert((entry.id.clone(), name.clone()));
            }
        }
        let problems = service_name_problems(&kb, &accepted);
        let shown: Vec<String> = problems
            .iter()
            .map(|p| match &p.belongs_to {
                Some(other) => format!(
                    "{} {} {:?} is AWS's name of {other}",
                    p.service, p.kind, p.name
                ),
                None => format!("{} {} {:?} is no AWS name of it", p.service, p.kind, p.name),
            })
            .collect();
        assert!(shown.is_empty(), "{}", shown.join("\n"));
        let unchecked = service_name_problems(&kb, &BTreeSet::new());
        let unneeded: Vec<&(String, String)> = accepted
            .iter()
            .filter(|(id, name)| {
                !unchecked
                    .iter()
                    .any(|p| p.service == *id && p.name == *name)
            })
            .collect();
        assert!(
            unneeded.is_empty(),
            "exceptions no longer needed: {unneeded:?}"
        );
        // The names the issue found wrong.
        assert_eq!(
            kb.resolve_service("SES").unwrap().display_name,
            "Amazon Simple Email Service"
        );
        assert_eq!(
            kb.resolve_service("CloudFormation").unwrap().display_name,
            "AWS CloudFormation"
        );
    }

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
