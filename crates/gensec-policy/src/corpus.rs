//! A serialisable corpus of authorisation cases: the policies in force and
//! the request contexts of one API call (one per resource it is authorised
//! against). gensec's own evaluator and the independent iam-simulate
//! (test-only) both decide every case; the cross-check test asserts they
//! agree. Other test suites (the SCP and persona generators) write their
//! cases as `*.json` files in this format into the directory named by
//! `GENSEC_POLICY_CORPUS_DIR` to have them checked the same way.
//!
//! ```json
//! {"format": 1, "source": "scp generator", "cases": [{
//!   "id": "imdsv2/compliant", "category": "scp",
//!   "identity_policies": [{"name": "admin", "document": {"Version": "2012-10-17", "Statement": []}}],
//!   "scps": [{"id": "root", "policies": [{"name": "FullAWSAccess", "document": {}}]}],
//!   "requests": [{"principal": "arn:aws:iam::111122223333:role/Dev", "action": "ec2:RunInstances",
//!     "resource": "arn:aws:ec2:us-east-1:111122223333:instance/i-1", "resource_account": "111122223333",
//!     "values": {"ec2:MetadataHttpTokens": "required"}}],
//!   "expected": "Allowed"}]}
//! ```

use crate::context::RequestContext;
use crate::decision::{CallDecision, Outcome};
use crate::error::PolicyError;
use crate::evaluate::{PolicySet, ScpLevel};
use crate::policy::{Policy, PolicyKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The corpus format version this crate reads and writes.
pub const FORMAT: u32 = 1;

/// The environment variable naming a directory of extra corpus files.
pub const CORPUS_DIR_ENV: &str = "GENSEC_POLICY_CORPUS_DIR";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    pub format: u32,
    /// Who wrote the cases (for reports).
    pub source: String,
    pub cases: Vec<Case>,
}

/// A policy document with a name for explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedPolicy {
    pub name: String,
    pub document: serde_json::Value,
}

impl NamedPolicy {
    pub fn new(name: impl Into<String>, document: serde_json::Value) -> Self {
        Self {
            name: name.into(),
            document,
        }
    }

    fn parse(&self, kind: PolicyKind) -> Result<Policy, PolicyError> {
        Policy::from_value(&self.name, kind, &self.document)
    }
}

/// The SCPs of one organisation level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScpLevelDocuments {
    pub id: String,
    pub policies: Vec<NamedPolicy>,
}

/// How the cross-check treats a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum SimulatorMode {
    /// Both evaluators decide; they must agree.
    #[default]
    Compare,
    /// A documented difference: AWS's documentation says one thing and
    /// iam-simulate does another. The simulator still runs and must give
    /// `simulator_outcome`; gensec follows `reference`.
    Diverges {
        reason: String,
        reference: String,
        simulator_outcome: Outcome,
    },
    /// The simulator cannot express the case; it is counted and listed.
    Skip { reason: String },
}

/// One API call under one set of policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    #[serde(default)]
    pub category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub identity_policies: Vec<NamedPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<NamedPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_boundary: Option<NamedPolicy>,
    #[serde(default)]
    pub scps: Vec<ScpLevelDocuments>,
    /// One context per resource the call is authorised against.
    pub requests: Vec<RequestContext>,
    /// The outcome the case's author requires, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    #[serde(default)]
    pub simulator: SimulatorMode,
}

impl Case {
    /// The parsed policies of the case.
    pub fn policy_set(&self) -> Result<PolicySet, PolicyError> {
        Ok(PolicySet {
            identity: self
                .identity_policies
                .iter()
                .map(|policy| policy.parse(PolicyKind::Identity))
                .collect::<Result<_, _>>()?,
            resource: self
                .resource_policy
                .as_ref()
                .map(|policy| policy.parse(PolicyKind::Resource))
                .transpose()?,
            permission_boundary: self
                .permission_boundary
                .as_ref()
                .map(|policy| policy.parse(PolicyKind::Identity))
                .transpose()?,
            scps: self
                .scps
                .iter()
                .map(|level| {
                    Ok(ScpLevel::new(
                        level.id.clone(),
                        level
                            .policies
                            .iter()
                            .map(|policy| policy.parse(PolicyKind::ServiceControl))
                            .collect::<Result<_, PolicyError>>()?,
                    ))
                })
                .collect::<Result<_, PolicyError>>()?,
        })
    }

    /// gensec's decision for the case.
    pub fn evaluate(&self) -> Result<CallDecision, PolicyError> {
        Ok(self.policy_set()?.evaluate_call(&self.requests))
    }
}

/// Reading and writing corpus files.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a policy corpus: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: corpus format {found}, this crate reads {FORMAT}")]
    Format { path: PathBuf, found: u32 },
}

impl Corpus {
    pub fn new(source: impl Into<String>, cases: Vec<Case>) -> Self {
        Self {
            format: FORMAT,
            source: source.into(),
            cases,
        }
    }

    pub fn read(path: &Path) -> Result<Self, CorpusError> {
        let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let corpus: Corpus = serde_json::from_str(&text).map_err(|source| CorpusError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if corpus.format != FORMAT {
            return Err(CorpusError::Format {
                path: path.to_path_buf(),
                found: corpus.format,
            });
        }
        Ok(corpus)
    }

    pub fn write(&self, path: &Path) -> Result<(), CorpusError> {
        let io = |source| CorpusError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|source| CorpusError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text).map_err(io)
    }

    /// Every `*.json` file of `dir`, in name order.
    pub fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, Corpus)>, CorpusError> {
        let io = |source| CorpusError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                paths.push(path);
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|path| Corpus::read(&path).map(|corpus| (path, corpus)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case() -> Case {
        Case {
            id: "s3/allowed".into(),
            category: "example".into(),
            description: String::new(),
            identity_policies: vec![NamedPolicy::new(
                "reader",
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
            )],
            resource_policy: None,
            permission_boundary: None,
            scps: vec![ScpLevelDocuments {
                id: "root".into(),
                policies: vec![NamedPolicy::new(
                    "FullAWSAccess",
                    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
                )],
            }],
            requests: vec![RequestContext::new(
                "arn:aws:iam::111122223333:user/alice",
                "s3:GetObject",
                "arn:aws:s3:::bucket/key",
            )],
            expected: Some(Outcome::Allowed),
            simulator: SimulatorMode::Compare,
        }
    }

    #[test]
    fn cases_evaluate_and_round_trip_through_files() {
        let corpus = Corpus::new("unit test", vec![case()]);
        assert_eq!(
            corpus.cases[0].evaluate().unwrap().outcome,
            Outcome::Allowed
        );
        let dir = std::env::temp_dir().join(format!("gensec-policy-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        corpus.write(&path).unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let read = Corpus::read_dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].1, corpus);
    }

    #[test]
    fn bad_policies_and_bad_files_are_errors() {
        let mut broken = case();
        broken.identity_policies[0].document = json!({"Statement": [{"Effect": "Maybe"}]});
        let err = broken.evaluate().unwrap_err();
        assert!(err.to_string().contains("reader"), "{err}");
        let dir = std::env::temp_dir().join(format!("gensec-policy-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("bad.json"),
            "{\"format\": 9, \"source\": \"x\", \"cases\": []}",
        )
        .unwrap();
        let err = Corpus::read_dir(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(err, CorpusError::Format { found: 9, .. }), "{err}");
    }
}
