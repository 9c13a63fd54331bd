//! The curated facts the IAM stage ships (`data/*.json`), parsed once; a
//! malformed file is an error naming the file and JSON path, never a default.

use gensec_data::DataError;
use serde::Deserialize;
use std::sync::LazyLock;

include!(concat!(env!("OUT_DIR"), "/data_files.rs"));

/// An action that returns data, not configuration (most are Read-level;
/// embed URLs are Write).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRead {
    /// `prefix:Action`
    pub action: String,
    /// What it returns that makes it a data read.
    pub returns: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataReads {
    pub why: String,
    pub reads: Vec<DataRead>,
}

/// The services of a package that take a role it passes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassRole {
    /// IAM prefix of the package's service.
    pub prefix: String,
    /// Values of `iam:PassedToService`.
    pub passed_to: Vec<String>,
    pub why: String,
}

/// The service-linked roles a package's resources create.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLinkedRoles {
    pub prefix: String,
    /// Values of `iam:AWSServiceName`, the path segment after `aws-service-role/`.
    pub service_names: Vec<String>,
    pub why: String,
}

/// An action the application runtime never gets, with the reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withheld {
    pub action: String,
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub why: String,
    pub pass_role: Vec<PassRole>,
    pub service_linked_roles: Vec<ServiceLinkedRoles>,
    pub runtime_withheld: Vec<Withheld>,
}

/// Resource types whose requests carry `aws:ResourceTag` only after an opt-in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagOptIn {
    pub prefix: String,
    /// IAM reference resource type names.
    pub resource_types: Vec<String>,
    pub why: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagScoping {
    pub why: String,
    pub opt_in: Vec<TagOptIn>,
}

/// Everything under `data/`.
#[derive(Debug, Clone)]
pub struct Curated {
    pub data_reads: DataReads,
    pub escalation: Escalation,
    pub tag_scoping: TagScoping,
}

impl Curated {
    pub fn data_read(&self, full: &str) -> Option<&DataRead> {
        self.data_reads
            .reads
            .iter()
            .find(|read| read.action.eq_ignore_ascii_case(full))
    }

    pub fn runtime_withheld(&self, full: &str) -> Option<&Withheld> {
        self.escalation
            .runtime_withheld
            .iter()
            .find(|item| item.action.eq_ignore_ascii_case(full))
    }

    /// `(prefix, resource type)` pairs whose requests carry no resource
    /// tags by default (tag conditions on them never match).
    pub fn untagged_types(&self) -> Vec<(String, String)> {
        self.tag_scoping
            .opt_in
            .iter()
            .flat_map(|entry| {
                entry
                    .resource_types
                    .iter()
                    .map(|name| (entry.prefix.clone(), name.clone()))
            })
            .collect()
    }

    /// `iam:PassedToService` values for a package with these IAM prefixes.
    pub fn passed_to(&self, prefixes: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .escalation
            .pass_role
            .iter()
            .filter(|entry| prefixes.iter().any(|p| p == &entry.prefix))
            .flat_map(|entry| entry.passed_to.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// `iam:AWSServiceName` values for a package with these IAM prefixes.
    pub fn service_linked_roles(&self, prefixes: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .escalation
            .service_linked_roles
            .iter()
            .filter(|entry| prefixes.iter().any(|p| p == &entry.prefix))
            .flat_map(|entry| entry.service_names.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn file(name: &str) -> Result<&'static str, DataError> {
    FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
        .ok_or_else(|| DataError::new(name, "$", "missing from data/"))
}

fn load() -> Result<Curated, DataError> {
    Ok(Curated {
        data_reads: gensec_data::parse("data-reads.json", file("data-reads.json")?)?,
        escalation: gensec_data::parse("escalation.json", file("escalation.json")?)?,
        tag_scoping: gensec_data::parse("tag-scoping.json", file("tag-scoping.json")?)?,
    })
}

static CURATED: LazyLock<Result<Curated, DataError>> = LazyLock::new(load);

/// The IAM stage's curated data.
pub fn curated() -> Result<&'static Curated, DataError> {
    CURATED.as_ref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gensec_kb::Kb;

    #[test]
    fn every_data_file_parses_and_names_real_actions() {
        let curated = load().unwrap();
        assert_eq!(FILES.len(), 3, "a data file nothing loads");
        let kb = Kb::embedded().unwrap();
        let named = curated.data_reads.reads.iter().map(|r| &r.action).chain(
            curated
                .escalation
                .runtime_withheld
                .iter()
                .map(|w| &w.action),
        );
        for action in named {
            assert!(
                matches!(kb.action(action), Ok(Some(_))),
                "{action} is not in the IAM reference"
            );
        }
        for (prefix, name) in curated.untagged_types() {
            let service = kb.iam_service(&prefix).unwrap().unwrap();
            assert!(
                service.resource_types.iter().any(|r| r.name == name),
                "{prefix} has no resource type {name}"
            );
        }
    }

    #[test]
    fn a_malformed_file_names_the_file_and_path() {
        let err = gensec_data::parse::<DataReads>(
            "data-reads.json",
            r#"{"why": "x", "reads": [{"action": 3, "returns": "y"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.file, "data-reads.json");
        assert!(err.path.contains("reads"), "{err}");
    }
}
