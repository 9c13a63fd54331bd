//! `controls/controls.json`: stage 3's typed output. Every control it wrote,
//! the file it lives in, the recommendations it answers and the cases it was
//! executed against; the controls it could not express and why; and the
//! library entries the run publishes.

use crate::library::LibraryEntry;
use serde::{Deserialize, Serialize};

/// The kind of a generated control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlKind {
    /// Detective: an AWS Config managed rule.
    ConfigManagedRule,
    /// Detective: an AWS Config custom policy rule (Guard).
    ConfigCustomRule,
    /// Preventive: a statement of a service control policy.
    ScpStatement,
    /// Proactive: a CloudFormation Guard rule.
    GuardRule,
}

impl ControlKind {
    pub fn label(self) -> &'static str {
        match self {
            ControlKind::ConfigManagedRule => "AWS Config managed rule",
            ControlKind::ConfigCustomRule => "AWS Config custom policy rule",
            ControlKind::ScpStatement => "SCP statement",
            ControlKind::GuardRule => "Guard rule",
        }
    }
}

/// The result of one executed case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
    Allowed,
    Denied,
    Compliant,
    NonCompliant,
}

/// A control executed against one input in its own semantics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutedCase {
    /// What the input was (`non-compliant: Versioning Suspended`).
    pub name: String,
    pub expected: Verdict,
    pub actual: Verdict,
}

impl ExecutedCase {
    pub fn passed(&self) -> bool {
        self.expected == self.actual
    }
}

/// One control the stage wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedControl {
    pub kind: ControlKind,
    /// Rule name or statement Sid.
    pub name: String,
    /// Layout path of the file that holds it.
    pub file: String,
    /// What it checks or denies, for people.
    pub description: String,
    /// The recommendations it answers.
    pub configuration_ids: Vec<String>,
    /// The resource types it evaluates or protects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_types: Vec<String>,
    /// The managed rule identifier of a managed Config rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identifier: Option<String>,
    /// The actions an SCP statement denies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Whether an SCP statement denies only under a condition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// Checks that do not execute the control (identifier and parameters
    /// exist, size limits) and that it passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// The cases it was executed against; every one passed, or the control
    /// would not have been written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<ExecutedCase>,
}

/// Why a recommendation has no control of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapCause {
    /// No action, condition key or rule can express it.
    NotExpressible,
    /// None is defined for it; other kinds of control cover it.
    NotDefined,
    /// One was generated but failed its checks or cases and was dropped.
    Rejected,
}

/// A recommendation without a control of some kind, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlGap {
    pub configuration_id: String,
    pub kind: ControlKind,
    pub cause: GapCause,
    pub reason: String,
}

/// A file of controls and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlDocument {
    pub path: String,
    pub bytes: u64,
}

/// `controls/controls.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControlSet {
    pub service_id: String,
    pub request_id: String,
    pub profile_id: String,
    /// Every control file the stage wrote (this index aside).
    pub documents: Vec<ControlDocument>,
    pub controls: Vec<GeneratedControl>,
    pub gaps: Vec<ControlGap>,
    /// The Security Control Library entries, stored when the run is published.
    pub library_entries: Vec<LibraryEntry>,
}

impl ControlSet {
    /// The controls answering one recommendation.
    pub fn for_recommendation<'a>(
        &'a self,
        configuration_id: &'a str,
    ) -> impl Iterator<Item = &'a GeneratedControl> + 'a {
        self.controls.iter().filter(move |control| {
            control
                .configuration_ids
                .iter()
                .any(|id| id == configuration_id)
        })
    }

    /// How many controls of a kind.
    pub fn count(&self, kind: ControlKind) -> usize {
        self.controls.iter().filter(|c| c.kind == kind).count()
    }

    /// Every executed case over every control.
    pub fn cases(&self) -> impl Iterator<Item = &ExecutedCase> {
        self.controls.iter().flat_map(|control| &control.cases)
    }
}
