//! The remediation catalogue: data, not code. Every `catalogue/*.json` file
//! (a JSON array of [`Entry`]) is embedded at build time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/catalogue_files.rs"));
}

/// One Security Hub control and how to remediate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub control_id: String,
    pub title: String,
    pub severity: String,
    pub resource_type: String,
    pub risk: String,
    #[serde(default)]
    pub fix: Option<Fix>,
    #[serde(default)]
    pub no_fix_reason: Option<String>,
    /// The checkov Terraform checks (`CKV_AWS_53`, `CKV2_AWS_6`) that examine
    /// what the fix sets; `tests/checkov.rs` runs them on the generated fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkov: Vec<String>,
    /// Why no checkov check covers the fix (required when a fix lists none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_checkov_reason: Option<String>,
    pub manual_steps: Vec<String>,
    pub documentation: String,
}

/// The Terraform fix: resources whose arguments may hold placeholders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    pub resources: Vec<FixResource>,
}

/// One `resource "<type>" "<name>"` of a fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub arguments: Map<String, Value>,
    /// The resource already exists: import it before applying.
    #[serde(default)]
    pub import: bool,
}

/// A catalogue file or entry that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("catalogue/{file}: {message}")]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

/// All entries, by control id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    entries: BTreeMap<String, Entry>,
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `CKV_AWS_123` or `CKV2_AWS_12`.
fn is_checkov_id(id: &str) -> bool {
    ["CKV_AWS_", "CKV2_AWS_"].iter().any(|prefix| {
        id.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

fn check_checkov(entry: &Entry) -> Result<(), String> {
    if let Some(bad) = entry.checkov.iter().find(|id| !is_checkov_id(id)) {
        return Err(format!("{bad:?} is not a checkov AWS check id"));
    }
    let reason = entry
        .no_checkov_reason
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    match (&entry.fix, entry.checkov.is_empty(), reason) {
        (None, false, _) | (None, _, true) => {
            Err("checkov and no_checkov_reason are only for entries with a fix".into())
        }
        (Some(_), true, false) => {
            Err("a fix needs checkov check ids or a no_checkov_reason".into())
        }
        (Some(_), false, true) => {
            Err("give checkov check ids or a no_checkov_reason, not both".into())
        }
        _ => Ok(()),
    }
}

fn check_entry(entry: &Entry) -> Result<(), String> {
    check_checkov(entry)?;
    if entry.control_id.trim().is_empty() || entry.title.trim().is_empty() {
        return Err("control_id and title must not be empty".into());
    }
    if crate::finding::Severity::parse(&entry.severity).is_none() {
        return Err(format!("unknown severity {:?}", entry.severity));
    }
    if !entry.documentation.starts_with("https://") {
        return Err("documentation must be an https:// link".into());
    }
    match &entry.fix {
        None if entry
            .no_fix_reason
            .as_deref()
            .is_none_or(|r| r.trim().is_empty()) =>
        {
            Err("no_fix_reason is required when fix is null".into())
        }
        None => Ok(()),
        Some(fix) if fix.resources.is_empty() => Err("fix has no resources".into()),
        Some(fix) => {
            for resource in &fix.resources {
                if !resource.kind.starts_with("aws_") || !is_identifier(&resource.kind) {
                    return Err(format!(
                        "resource type {:?} is not an AWS type",
                        resource.kind
                    ));
                }
                if !is_identifier(&resource.name) {
                    return Err(format!(
                        "resource name {:?} is not an identifier",
                        resource.name
                    ));
                }
                for key in resource.arguments.keys() {
                    if !is_identifier(key) {
                        return Err(format!("argument {key:?} is not an identifier"));
                    }
                }
            }
            Ok(())
        }
    }
}

impl Catalogue {
    /// Parse catalogue files given as `(file name, JSON text)`.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CatalogueError> {
        let mut entries = BTreeMap::new();
        for (file, text) in files {
            let error = |message: String| CatalogueError {
                file: file.to_string(),
                message,
            };
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let list: Vec<Entry> = serde_path_to_error::deserialize(&mut deserializer)
                .map_err(|err| error(format!("at {}: {}", err.path(), err.inner())))?;
            for entry in list {
                check_entry(&entry).map_err(|m| error(format!("{}: {m}", entry.control_id)))?;
                if entries.contains_key(&entry.control_id) {
                    return Err(error(format!("{} is defined twice", entry.control_id)));
                }
                entries.insert(entry.control_id.clone(), entry);
            }
        }
        Ok(Self { entries })
    }

    /// The catalogue built into the binary (loaded once).
    pub fn embedded() -> Result<&'static Catalogue, CatalogueError> {
        static CATALOGUE: OnceLock<Result<Catalogue, CatalogueError>> = OnceLock::new();
        CATALOGUE
            .get_or_init(|| Self::from_files(embedded::FILES.iter().copied()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The entry for a control id (exact, then case-insensitive).
    pub fn get(&self, control_id: &str) -> Option<&Entry> {
        self.entries.get(control_id).or_else(|| {
            self.entries
                .values()
                .find(|e| e.control_id.eq_ignore_ascii_case(control_id))
        })
    }

    /// All entries, ordered by control id.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &str) -> Result<Catalogue, CatalogueError> {
        let text = format!(
            r#"[{{"control_id": "X.1", "title": "t", "severity": "HIGH", "resource_type": "AwsS3Bucket",
                 "risk": "r", "manual_steps": [], "documentation": "https://docs.aws.amazon.com/x",
                 {extra}}}]"#
        );
        Catalogue::from_files([("x.json", text.as_str())])
    }

    const FIX: &str = r#""fix": {"resources": [{"type": "aws_s3_bucket_versioning", "name": "fix", "arguments": {"bucket": "b"}}]}"#;

    #[test]
    fn a_fix_names_its_checkov_checks_or_says_why_not() {
        assert!(
            load(&format!(
                r#"{FIX}, "checkov": ["CKV_AWS_21", "CKV2_AWS_6"]"#
            ))
            .is_ok()
        );
        assert!(load(&format!(r#"{FIX}, "no_checkov_reason": "none exists""#)).is_ok());
        assert!(load(FIX).is_err());
        assert!(
            load(&format!(
                r#"{FIX}, "checkov": ["CKV_AWS_21"], "no_checkov_reason": "x""#
            ))
            .is_err()
        );
        assert!(load(&format!(r#"{FIX}, "checkov": ["CKV_AZURE_1"]"#)).is_err());
        assert!(load(&format!(r#"{FIX}, "checkov": ["CKV_AWS_"]"#)).is_err());
        assert!(load(r#""no_fix_reason": "n", "checkov": ["CKV_AWS_21"]"#).is_err());
        assert!(load(r#""no_fix_reason": "n""#).is_ok());
    }
}
