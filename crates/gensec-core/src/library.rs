//! Security Control Library entries: approved (or proposed) configurations with
//! their controls, status and approval history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryStatus {
    Proposed,
    Approved,
    Rejected,
    Deprecated,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Proposed => "PROPOSED",
            EntryStatus::Approved => "APPROVED",
            EntryStatus::Rejected => "REJECTED",
            EntryStatus::Deprecated => "DEPRECATED",
        }
    }
}

/// One decision on an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: EntryStatus,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub version: u32,
    pub at: DateTime<Utc>,
}

/// A configuration recommendation as stored in the library (fields of the
/// GenSEC seed's Security Control Library table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// Stable id, e.g. `CFG-S3-001`.
    pub configuration_id: String,
    pub service_id: String,
    pub service_name: String,
    pub security_domain: String,
    pub threat_vector: String,
    pub priority: String,
    pub rationale: String,
    /// Resource type, property path and value(s).
    pub recommended_configuration: serde_json::Value,
    #[serde(default)]
    pub detective_controls: Vec<String>,
    #[serde(default)]
    pub preventive_controls: Vec<String>,
    #[serde(default)]
    pub proactive_controls: Vec<String>,
    /// Framework -> control references.
    #[serde(default)]
    pub compliance: serde_json::Value,
    pub status: EntryStatus,
    /// Increases by one on every content or status change.
    pub version: u32,
    pub source_request_id: String,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub history: Vec<StatusChange>,
}

impl LibraryEntry {
    /// The entry's content without what changes on every run or decision
    /// (request id, status, version, time, history): two runs that recommend
    /// the same thing produce the same content, so the entry keeps its version.
    pub fn content(&self) -> String {
        let mut content = self.clone();
        content.source_request_id.clear();
        content.status = EntryStatus::Proposed;
        content.version = 0;
        content.updated_at = DateTime::<Utc>::MIN_UTC;
        content.history.clear();
        serde_json::to_string(&content).unwrap_or_default()
    }
}

/// An entry that does not exist.
pub fn no_entry(configuration_id: &str) -> crate::Error {
    crate::InputError::new(
        "control library",
        "$.configuration_id",
        format!("no entry {configuration_id:?}"),
    )
    .into()
}

/// Refuse a decision made on a stale version of an entry (optimistic
/// concurrency: the reviewer must reload and decide again).
pub fn check_version(current: &LibraryEntry, expected: Option<u32>) -> crate::Result<()> {
    match expected {
        Some(expected) if expected != current.version => Err(crate::InputError::new(
            "control library",
            "$.version",
            format!(
                "{} is at version {}, not {expected}; reload it and decide again",
                current.configuration_id, current.version
            ),
        )
        .into()),
        _ => Ok(()),
    }
}
