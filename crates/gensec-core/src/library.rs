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
