//! The decision a package supports, computed by the report stage from the
//! package's own data and published in `manifest.json` (`decision`),
//! `summary.md` and the top of `report.html`. The rules are in the README
//! ("The package's decision").

use serde::{Deserialize, Serialize};

/// What the package supports a reviewer deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Nothing found that needs the reviewer's attention beyond the inputs.
    Ready,
    /// Usable once the listed conditions are accepted or met.
    ReadyWithConditions,
    /// A blocking reason: the package cannot be approved as it is.
    NotReady,
}

impl Readiness {
    pub fn label(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::ReadyWithConditions => "ready with conditions",
            Readiness::NotReady => "not ready",
        }
    }
}

/// How much a finding weighs in the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Makes the package not ready.
    Blocker,
    /// Makes the package ready with conditions.
    Condition,
}

/// One reason behind the decision, with the items it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionReason {
    pub severity: Severity,
    /// Stable rule id (`critical-uncovered`), the README lists them.
    pub rule: String,
    /// What was found, for people.
    pub text: String,
    /// The recommendations, controls or files it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// One STRIDE threat among the package's highest-priority recommendations,
/// with the controls that answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopRisk {
    /// The STRIDE category's label (`Information disclosure`).
    pub threat: String,
    /// The highest priority among its recommendations.
    pub priority: String,
    /// Its Critical and High recommendations.
    pub configuration_ids: Vec<String>,
    /// Controls answering them (`Config: s3-bucket-...`, `SCP: scp-1.json#Sid`,
    /// `Guard: rule`, `Template: Resource`).
    pub controls: Vec<String>,
    /// Recommendations among them with no control at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncovered: Vec<String>,
}

/// Something the reviewer must supply before the package is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerInput {
    /// `parameter`, `principal`, `exception` or `decision`.
    pub kind: String,
    pub name: String,
    pub why: String,
}

/// A service-level decision already recorded in the library for this
/// service and profile (`gensec library decide`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDecision {
    pub decision: String,
    pub by: String,
    pub at: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    pub version: u32,
}

/// The package's decision and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDecision {
    pub readiness: Readiness,
    /// Every blocker and condition found, blockers first.
    pub reasons: Vec<DecisionReason>,
    pub top_risks: Vec<TopRisk>,
    pub reviewer_inputs: Vec<ReviewerInput>,
    /// Executed control cases over the package, and how many passed.
    pub cases_executed: u64,
    pub cases_passed: u64,
    /// The decision recorded in the library when the report was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<RecordedDecision>,
}

impl PackageDecision {
    /// `Ready with conditions (0 blockers, 5 conditions)`.
    pub fn headline(&self) -> String {
        let count = |severity| {
            self.reasons
                .iter()
                .filter(|r| r.severity == severity)
                .count()
        };
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut label = self.readiness.label().to_string();
        if let Some(first) = label.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        format!(
            "{label} ({}, {})",
            plural(count(Severity::Blocker), "blocker"),
            plural(count(Severity::Condition), "condition")
        )
    }

    /// The readiness the reasons imply: any blocker makes the package not
    /// ready, any condition ready with conditions.
    pub fn readiness_of(reasons: &[DecisionReason]) -> Readiness {
        if reasons.iter().any(|r| r.severity == Severity::Blocker) {
            Readiness::NotReady
        } else if reasons.is_empty() {
            Readiness::Ready
        } else {
            Readiness::ReadyWithConditions
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reason(severity: Severity) -> DecisionReason {
        DecisionReason {
            severity,
            rule: "r".into(),
            text: "t".into(),
            items: Vec::new(),
        }
    }

    #[test]
    fn any_blocker_is_not_ready_any_condition_is_conditional() {
        assert_eq!(PackageDecision::readiness_of(&[]), Readiness::Ready);
        assert_eq!(
            PackageDecision::readiness_of(&[reason(Severity::Condition)]),
            Readiness::ReadyWithConditions
        );
        assert_eq!(
            PackageDecision::readiness_of(&[
                reason(Severity::Condition),
                reason(Severity::Blocker)
            ]),
            Readiness::NotReady
        );
        assert_eq!(
            serde_json::to_value(Readiness::ReadyWithConditions).unwrap(),
            "ready_with_conditions"
        );
    }
}
