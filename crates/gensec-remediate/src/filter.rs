//! Which findings deserve an e-mail: severity at or above a threshold, an
//! active record, a failed compliance check (control findings), a NEW or
//! NOTIFIED workflow, and not excluded by account or resource tag.

use crate::finding::{Finding, Origin, Severity};
use serde::Serialize;
use std::collections::BTreeSet;

/// Filter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterConfig {
    /// Lowest severity that is notified (default HIGH).
    pub min_severity: Severity,
    /// Accounts never notified.
    pub exclude_accounts: BTreeSet<String>,
    /// Resource tags that exclude a finding: `(key, None)` matches any value.
    pub exclude_tags: Vec<(String, Option<String>)>,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            min_severity: Severity::High,
            exclude_accounts: BTreeSet::new(),
            exclude_tags: Vec::new(),
        }
    }
}

/// What to do with a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    /// A failing finding worth an e-mail (if it is new).
    Notify,
    /// Not for us (severity, exclusions); state unchanged.
    Skip(String),
    /// No longer failing (resolved, archived, passed, suppressed): forget it was
    /// sent, so a later failure notifies again.
    Clear(String),
}

/// Decide what to do with a finding.
pub fn decide(finding: &Finding, config: &FilterConfig) -> Decision {
    let record_state = finding
        .record_state
        .as_deref()
        .unwrap_or("ACTIVE")
        .to_ascii_uppercase();
    if record_state != "ACTIVE" {
        return Decision::Clear(format!("record state is {record_state}"));
    }
    let workflow = finding.workflow_status().unwrap_or_else(|| "NEW".into());
    if !matches!(workflow.as_str(), "NEW" | "NOTIFIED") {
        return Decision::Clear(format!("workflow status is {workflow}"));
    }
    if finding.origin() == Origin::Control {
        let status = finding
            .compliance_status()
            .unwrap_or_else(|| "missing".into());
        if status != "FAILED" {
            return Decision::Clear(format!("compliance status is {status}"));
        }
    }
    let severity = finding.severity();
    if severity < config.min_severity {
        return Decision::Skip(format!(
            "severity {} is below {}",
            severity.as_str(),
            config.min_severity.as_str()
        ));
    }
    if config.exclude_accounts.contains(&finding.aws_account_id) {
        return Decision::Skip(format!("account {} is excluded", finding.aws_account_id));
    }
    for resource in &finding.resources {
        for (key, value) in &config.exclude_tags {
            let hit = resource
                .tags
                .get(key)
                .is_some_and(|actual| value.as_ref().is_none_or(|wanted| wanted == actual));
            if hit {
                return Decision::Skip(format!("resource tag {key} is excluded"));
            }
        }
    }
    Decision::Notify
}
