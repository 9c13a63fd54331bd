//! The service catalogue: service id, display name, aliases, CloudFormation
//! namespaces, resource types, IAM prefixes and Config rules.
//!
//! Derived from the data itself (namespaces from type names, IAM prefixes from
//! the handlers' permissions) with a small curated file for the names people
//! use and for namespaces that form one service.

use crate::model::{ConfigRule, IamService, ResourceTypeSchema, ServiceEntry};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Curated catalogue facts (`curated/service-catalogue.json`).
#[derive(Debug, Default, Deserialize)]
pub struct CuratedCatalogue {
    #[serde(default)]
    pub services: Vec<CuratedService>,
    /// Config rules without resource types (account-level) -> service id.
    #[serde(default)]
    pub account_level_rules: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct CuratedService {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub iam_prefixes: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Prefixes that appear in many services' handlers (pass role, keys, logs,
/// networking) and so say nothing about which service a namespace is.
const SHARED_PREFIXES: &[&str] = &[
    "iam",
    "kms",
    "ec2",
    "logs",
    "s3",
    "cloudwatch",
    "tag",
    "sts",
    "ssm",
    "secretsmanager",
    "sns",
    "sqs",
    "lambda",
    "cloudformation",
    "organizations",
    "servicequotas",
];

/// Lookup form of a name: lower-case letters and digits only.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `AWS::S3::Bucket` -> `AWS::S3`.
pub fn namespace_of(type_name: &str) -> &str {
    type_name
        .rsplit_once("::")
        .map_or(type_name, |(namespace, _)| namespace)
}

fn id_from_namespace(namespace: &str) -> String {
    match namespace.strip_prefix("AWS::") {
        Some(short) => short.to_lowercase(),
        None => namespace.replace("::", "-").to_lowercase(),
    }
}

fn strip_vendor(name: &str) -> Option<&str> {
    name.strip_prefix("Amazon ")
        .or_else(|| name.strip_prefix("AWS "))
}

/// Build the catalogue.
pub fn build_catalogue(
    schemas: &[ResourceTypeSchema],
    iam: &[IamService],
    rules: &[ConfigRule],
    curated: &CuratedCatalogue,
) -> Vec<ServiceEntry> {
    let mut by_namespace: BTreeMap<&str, Vec<&ResourceTypeSchema>> = BTreeMap::new();
    for schema in schemas {
        by_namespace
            .entry(namespace_of(&schema.type_name))
            .or_default()
            .push(schema);
    }
    let mut builder = Builder {
        iam_names: iam
            .iter()
            .map(|service| (service.prefix.as_str(), service.name.as_str()))
            .collect(),
        by_namespace,
        entries: Vec::new(),
        claimed_namespaces: BTreeSet::new(),
        claimed_prefixes: BTreeSet::new(),
        extra_aliases: HashMap::new(),
    };
    // Curated services first: what they claim no derived service takes.
    builder.add_curated(curated);
    builder.claim_prefixes_named_like_namespaces();
    builder.add_namespace_services();
    builder.add_iam_only_services(iam);
    builder.finish(rules, curated)
}

/// The catalogue while it is built: the entries so far, and the namespaces
/// and IAM prefixes they have claimed.
struct Builder<'a> {
    /// IAM prefix -> the IAM service's name.
    iam_names: HashMap<&'a str, &'a str>,
    by_namespace: BTreeMap<&'a str, Vec<&'a ResourceTypeSchema>>,
    entries: Vec<ServiceEntry>,
    claimed_namespaces: BTreeSet<String>,
    claimed_prefixes: BTreeSet<String>,
    /// Curated aliases by service id, added when the entries are finished.
    extra_aliases: HashMap<String, Vec<String>>,
}

impl Builder<'_> {
    /// The curated services, with the namespaces and prefixes that exist.
    fn add_curated(&mut self, curated: &CuratedCatalogue) {
        for service in &curated.services {
            let iam_prefixes: Vec<String> = service
                .iam_prefixes
                .iter()
                .filter(|prefix| self.iam_names.contains_key(prefix.as_str()))
                .cloned()
                .collect();
            let namespaces: Vec<String> = service
                .namespaces
                .iter()
                .filter(|namespace| self.by_namespace.contains_key(namespace.as_str()))
                .cloned()
                .collect();
            self.claimed_namespaces.extend(namespaces.iter().cloned());
            self.claimed_prefixes.extend(iam_prefixes.iter().cloned());
            let display_name = service
                .display_name
                .clone()
                .or_else(|| {
                    iam_prefixes
                        .first()
                        .and_then(|p| self.iam_names.get(p.as_str()))
                        .map(|n| n.to_string())
                })
                .unwrap_or_else(|| service.id.clone());
            self.extra_aliases
                .insert(service.id.clone(), service.aliases.clone());
            self.entries.push(ServiceEntry {
                id: service.id.clone(),
                display_name,
                aliases: Vec::new(),
                cfn_namespaces: namespaces,
                resource_types: Vec::new(),
                iam_prefixes,
                config_rules: Vec::new(),
            });
        }
    }

    /// A prefix named like a namespace belongs to that namespace, even when
    /// another namespace's handlers use it more (Greengrass calls `iot:`).
    fn claim_prefixes_named_like_namespaces(&mut self) {
        for namespace in self.by_namespace.keys() {
            if self.claimed_namespaces.contains(*namespace) {
                continue;
            }
            let id = normalise(&id_from_namespace(namespace));
            self.claimed_prefixes.extend(
                self.iam_names
                    .keys()
                    .filter(|prefix| normalise(prefix) == id)
                    .map(|prefix| prefix.to_string()),
            );
        }
    }

    /// One service per unclaimed CloudFormation namespace (joined to an
    /// entry of the same id), with the IAM prefix its handlers use.
    fn add_namespace_services(&mut self) {
        for (namespace, types) in &self.by_namespace {
            if self.claimed_namespaces.contains(*namespace) {
                continue;
            }
            let id = id_from_namespace(namespace);
            let prefix = derive_prefix(&id, types, &self.iam_names, &self.claimed_prefixes);
            if let Some(prefix) = &prefix {
                self.claimed_prefixes.insert(prefix.clone());
            }
            // The IAM name is the service's name only when the prefix or the name
            // is named like the namespace: a prefix borrowed from handler
            // permissions (`ds` for Customer Profiles) names another service.
            let display_name = prefix
                .as_deref()
                .and_then(|p| self.iam_names.get(p).map(|name| (p, name)))
                .filter(|(p, name)| {
                    normalise(p) == normalise(&id) || normalise(name).contains(&normalise(&id))
                })
                .map(|(_, name)| name.to_string())
                .unwrap_or_else(|| format!("AWS {}", namespace.trim_start_matches("AWS::")));
            if let Some(existing) = self.entries.iter_mut().find(|entry| entry.id == id) {
                existing.cfn_namespaces.push(namespace.to_string());
                existing.iam_prefixes.extend(prefix);
                continue;
            }
            self.entries.push(ServiceEntry {
                id,
                display_name,
                aliases: Vec::new(),
                cfn_namespaces: vec![namespace.to_string()],
                resource_types: Vec::new(),
                iam_prefixes: prefix.into_iter().collect(),
                config_rules: Vec::new(),
            });
        }
    }

    /// IAM-only services (no CloudFormation support) are still services a team
    /// may ask about, and the preventive controls need their prefixes.
    fn add_iam_only_services(&mut self, iam: &[IamService]) {
        for service in iam {
            if self.claimed_prefixes.contains(&service.prefix) {
                continue;
            }
            let key = normalise(&service.prefix);
            if let Some(existing) = self
                .entries
                .iter_mut()
                .find(|entry| normalise(&entry.id) == key)
            {
                existing.iam_prefixes.push(service.prefix.clone());
                continue;
            }
            self.entries.push(ServiceEntry {
                id: service.prefix.clone(),
                display_name: service.name.clone(),
                aliases: Vec::new(),
                cfn_namespaces: Vec::new(),
                resource_types: Vec::new(),
                iam_prefixes: vec![service.prefix.clone()],
                config_rules: Vec::new(),
            });
        }
    }

    /// Each entry's resource types, Config rules (of its types, or
    /// account-level ones curated for it) and aliases; sorted by id.
    fn finish(mut self, rules: &[ConfigRule], curated: &CuratedCatalogue) -> Vec<ServiceEntry> {
        for entry in &mut self.entries {
            entry.resource_types = entry
                .cfn_namespaces
                .iter()
                .flat_map(|namespace| {
                    self.by_namespace
                        .get(namespace.as_str())
                        .into_iter()
                        .flatten()
                })
                .map(|schema| schema.type_name.clone())
                .collect();
            entry.resource_types.sort();
            let type_set: BTreeSet<&str> =
                entry.resource_types.iter().map(String::as_str).collect();
            entry.config_rules = rules
                .iter()
                .filter(|rule| {
                    rule.resource_types
                        .iter()
                        .any(|t| type_set.contains(t.as_str()))
                        || curated.account_level_rules.get(&rule.identifier) == Some(&entry.id)
                })
                .map(|rule| rule.identifier.clone())
                .collect();
            entry.aliases = aliases(
                entry,
                self.extra_aliases.remove(&entry.id).unwrap_or_default(),
            );
        }
        self.entries.sort_by(|a, b| a.id.cmp(&b.id));
        self.entries
    }
}

fn derive_prefix(
    id: &str,
    types: &[&ResourceTypeSchema],
    iam_names: &HashMap<&str, &str>,
    claimed: &BTreeSet<String>,
) -> Option<String> {
    // `AWS::ComputeOptimizer` is `compute-optimizer` in IAM; such names were
    // reserved for their namespace before any majority vote.
    if let Some(prefix) = iam_names
        .keys()
        .filter(|prefix| normalise(prefix) == normalise(id))
        .min()
    {
        return Some(prefix.to_string());
    }
    let free = |prefix: &str| iam_names.contains_key(prefix) && !claimed.contains(prefix);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for schema in types {
        for permissions in schema.handler_permissions.values() {
            for permission in permissions {
                if let Some((prefix, _)) = permission.split_once(':') {
                    *counts.entry(prefix).or_default() += 1;
                }
            }
        }
    }
    counts
        .into_iter()
        .filter(|(prefix, _)| free(prefix) && !SHARED_PREFIXES.contains(prefix))
        .max_by_key(|(prefix, count)| (*count, normalise(prefix) == normalise(id)))
        .map(|(prefix, _)| prefix.to_string())
}

fn aliases(entry: &ServiceEntry, curated: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = vec![entry.id.clone(), entry.display_name.clone()];
    names.extend(strip_vendor(&entry.display_name).map(str::to_string));
    for namespace in &entry.cfn_namespaces {
        names.push(namespace.clone());
        names.push(namespace.trim_start_matches("AWS::").to_string());
    }
    names.extend(entry.iam_prefixes.iter().cloned());
    names.extend(curated);
    let mut seen = BTreeSet::new();
    names.retain(|name| seen.insert(normalise(name)));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::cfn::parse_schema;

    fn schema(type_name: &str, permission: &str) -> ResourceTypeSchema {
        parse_schema(
            "t",
            &serde_json::json!({
                "typeName": type_name,
                "handlers": {"create": {"permissions": [permission, "iam:PassRole"]}}
            }),
        )
        .unwrap()
    }

    fn iam(prefix: &str, name: &str) -> IamService {
        IamService {
            prefix: prefix.into(),
            name: name.into(),
            actions: vec![],
            resource_types: vec![],
            condition_keys: vec![],
        }
    }

    #[test]
    fn derives_ids_prefixes_and_aliases() {
        let schemas = vec![
            schema("AWS::S3::Bucket", "s3:CreateBucket"),
            schema(
                "AWS::StepFunctions::StateMachine",
                "states:CreateStateMachine",
            ),
        ];
        let services = vec![
            iam("s3", "Amazon S3"),
            iam("states", "AWS Step Functions"),
            iam("iam", "AWS Identity and Access Management (IAM)"),
        ];
        let catalogue = build_catalogue(&schemas, &services, &[], &CuratedCatalogue::default());
        let sfn = catalogue.iter().find(|e| e.id == "stepfunctions").unwrap();
        assert_eq!(sfn.iam_prefixes, vec!["states"]);
        assert_eq!(sfn.display_name, "AWS Step Functions");
        assert!(sfn.aliases.contains(&"states".to_string()));
        let s3 = catalogue.iter().find(|e| e.id == "s3").unwrap();
        assert_eq!(s3.resource_types, vec!["AWS::S3::Bucket"]);
        // IAM has no namespace here, so it becomes an IAM-only entry.
        assert!(
            catalogue
                .iter()
                .any(|e| e.id == "iam" && e.cfn_namespaces.is_empty())
        );
    }
}
