//! Security Control Library entries: approved (or proposed) configurations with
//! their controls, status and approval history, and service-level decisions.
//!
//! An entry is identified by its configuration id *and* the profile it was
//! generated for: two organisations' profiles recommend differently, and one
//! profile's reviewers must not undo another's approvals. Entries stored
//! before profiles were part of the key carry the profile of their source
//! request when it is known, else [`UNKNOWN_PROFILE`].

use crate::input::text::{NAME_MAX, TEXT_MAX, required_line, required_text};
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

/// The profile of entries stored before the profile was part of their
/// identity, whose source request is unknown.
pub const UNKNOWN_PROFILE: &str = "unknown";

fn unknown_profile() -> String {
    UNKNOWN_PROFILE.to_string()
}

impl EntryStatus {
    pub const ALL: [EntryStatus; 4] = [
        EntryStatus::Proposed,
        EntryStatus::Approved,
        EntryStatus::Rejected,
        EntryStatus::Deprecated,
    ];

    /// The stored spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

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
    /// The security profile the entry was generated for; with the
    /// configuration id, the entry's identity.
    #[serde(default = "unknown_profile")]
    pub profile_id: String,
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
pub fn no_entry(configuration_id: &str, profile_id: &str) -> crate::Error {
    crate::InputError::new(
        "control library",
        "$.configuration_id",
        format!("no entry {configuration_id:?} for profile {profile_id:?}"),
    )
    .into()
}

/// Who decides must be named and a note, when given, must say something;
/// neither may carry display control characters.
pub fn check_decider(actor: &str, note: Option<&str>) -> crate::Result<()> {
    required_line("actor", actor, NAME_MAX)?;
    if let Some(note) = note {
        required_text("note", note, TEXT_MAX)?;
    }
    Ok(())
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

/// A reviewer's verdict on a whole service under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Approved,
    /// Approved provided the recorded conditions are met.
    ApprovedWithConditions,
    Rejected,
}

impl Verdict {
    pub const ALL: [Verdict; 3] = [
        Verdict::Approved,
        Verdict::ApprovedWithConditions,
        Verdict::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "APPROVED",
            Verdict::ApprovedWithConditions => "APPROVED_WITH_CONDITIONS",
            Verdict::Rejected => "REJECTED",
        }
    }

    /// The stored spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == text)
    }
}

/// One service-level decision, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision: Verdict,
    /// What must hold (only with [`Verdict::ApprovedWithConditions`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    pub actor: String,
    pub reason: String,
    /// 1 for the first decision on the service under this profile, then +1.
    pub version: u32,
    pub at: DateTime<Utc>,
}

/// The decision on a service under one profile: the latest record, and every
/// record (oldest first, the latest included) as its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDecision {
    pub service_id: String,
    pub profile_id: String,
    #[serde(flatten)]
    pub current: DecisionRecord,
    pub history: Vec<DecisionRecord>,
}

impl ServiceDecision {
    /// Build from every record of one service and profile; `None` when there
    /// are none.
    pub fn from_records(
        service_id: &str,
        profile_id: &str,
        mut records: Vec<DecisionRecord>,
    ) -> Option<Self> {
        records.sort_by_key(|record| record.version);
        Some(Self {
            service_id: service_id.to_string(),
            profile_id: profile_id.to_string(),
            current: records.last()?.clone(),
            history: records,
        })
    }
}

/// A decision to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDecision<'a> {
    pub service_id: &'a str,
    pub profile_id: &'a str,
    pub decision: Verdict,
    pub conditions: Option<&'a str>,
    pub actor: &'a str,
    pub reason: &'a str,
}

impl NewDecision<'_> {
    /// Every field is present and clean; conditions go with, and only with,
    /// an approval with conditions.
    pub fn check(&self) -> crate::Result<()> {
        required_line("service", self.service_id, NAME_MAX)?;
        required_line("profile", self.profile_id, NAME_MAX)?;
        required_line("actor", self.actor, NAME_MAX)?;
        required_text("reason", self.reason, TEXT_MAX)?;
        match (self.decision, self.conditions) {
            (Verdict::ApprovedWithConditions, Some(conditions)) => {
                required_text("conditions", conditions, TEXT_MAX)?;
            }
            (Verdict::ApprovedWithConditions, None) => {
                return Err(crate::InputError::new(
                    "conditions",
                    "$",
                    "an approval with conditions needs the conditions",
                )
                .into());
            }
            (_, Some(_)) => {
                return Err(crate::InputError::new(
                    "conditions",
                    "$",
                    format!(
                        "conditions go with approved-with-conditions, not {}",
                        self.decision.as_str()
                    ),
                )
                .into());
            }
            (_, None) => {}
        }
        Ok(())
    }

    /// The record this decision becomes as `version`, made `at`.
    pub fn record(&self, version: u32, at: DateTime<Utc>) -> DecisionRecord {
        DecisionRecord {
            decision: self.decision,
            conditions: self.conditions.map(str::to_string),
            actor: self.actor.to_string(),
            reason: self.reason.to_string(),
            version,
            at,
        }
    }
}

/// A decision that lost a race with another one on the same service.
pub fn decision_conflict(service_id: &str, profile_id: &str) -> crate::Error {
    crate::Error::Storage {
        what: format!("service decision {service_id} ({profile_id})"),
        message: "decided concurrently; retry".into(),
        retryable: true,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(verdict: Verdict, conditions: Option<&'static str>) -> NewDecision<'static> {
        NewDecision {
            service_id: "s3",
            profile_id: "example-corp",
            decision: verdict,
            conditions,
            actor: "alice",
            reason: "reviewed",
        }
    }

    #[test]
    fn conditions_go_with_conditional_approvals_only() {
        assert!(decision(Verdict::Approved, None).check().is_ok());
        assert!(
            decision(Verdict::ApprovedWithConditions, Some("no public buckets"))
                .check()
                .is_ok()
        );
        for bad in [
            decision(Verdict::ApprovedWithConditions, None),
            decision(Verdict::ApprovedWithConditions, Some("  ")),
            decision(Verdict::Rejected, Some("x")),
        ] {
            let err = bad.check().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{err}");
        }
    }

    #[test]
    fn deciders_are_named_and_clean() {
        let mut blank = decision(Verdict::Approved, None);
        blank.actor = " ";
        assert!(blank.check().unwrap_err().to_string().contains("actor"));
        let mut escape = decision(Verdict::Approved, None);
        escape.reason = "ok\u{1b}[2J";
        assert!(escape.check().is_err());
        assert!(check_decider("", Some("x")).is_err());
        assert!(check_decider("bob", Some("")).is_err());
        assert!(check_decider("bob", None).is_ok());
    }

    #[test]
    fn entries_stored_without_a_profile_read_as_unknown() {
        let mut value = serde_json::to_value(LibraryEntry {
            configuration_id: "CFG-1".into(),
            profile_id: "corp".into(),
            service_id: "s3".into(),
            service_name: "S3".into(),
            security_domain: String::new(),
            threat_vector: String::new(),
            priority: String::new(),
            rationale: String::new(),
            recommended_configuration: serde_json::Value::Null,
            detective_controls: vec![],
            preventive_controls: vec![],
            proactive_controls: vec![],
            compliance: serde_json::Value::Null,
            status: EntryStatus::Proposed,
            version: 1,
            source_request_id: String::new(),
            updated_at: Utc::now(),
            history: vec![],
        })
        .unwrap();
        value.as_object_mut().unwrap().remove("profile_id");
        let entry: LibraryEntry = serde_json::from_value(value).unwrap();
        assert_eq!(entry.profile_id, UNKNOWN_PROFILE);
    }
}
