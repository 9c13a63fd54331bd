//! `summary.md`: the decision the package supports, its reasons, the top
//! risks with the controls answering them, and what the reviewer must
//! supply: the same content as the top of `report.html`.

use crate::profile::ServiceProfile;
use gensec_core::contract::decision::{PackageDecision, Severity};
use gensec_core::contract::paths;
use gensec_core::markdown::{block_text, code, text};
use std::fmt::Write;

/// Items listed under a reason before the rest are counted.
pub const ITEMS_SHOWN: usize = 10;

/// `3 controls: a, b, c` with at most `limit` names.
pub fn short_list(items: &[String], limit: usize) -> String {
    let mut shown: Vec<&str> = items.iter().take(limit).map(String::as_str).collect();
    let rest = items.len().saturating_sub(limit);
    let more = format!("and {rest} more");
    if rest > 0 {
        shown.push(&more);
    }
    shown.join(", ")
}

/// The headline, see [`PackageDecision::headline`].
pub fn headline(decision: &PackageDecision) -> String {
    decision.headline()
}

pub fn markdown(profile: &ServiceProfile, decision: &PackageDecision) -> String {
    let mut out = String::new();
    write_header(&mut out, profile, decision);
    write_reasons(&mut out, decision);
    write_top_risks(&mut out, decision);
    write_reviewer_inputs(&mut out, decision);
    out
}

/// The title, the run's facts and the decision recorded in the library.
fn write_header(out: &mut String, profile: &ServiceProfile, decision: &PackageDecision) {
    let _ = writeln!(
        out,
        "# {} security package: {}\n",
        text(&profile.service_name),
        text(&headline(decision))
    );
    let _ = writeln!(
        out,
        "- Service: {} ({})\n- Security profile: {} ({})\n- Request: {} by {}\n- Knowledge base data date: {}\n- Control cases executed: {}, passed: {}",
        text(&profile.service_name),
        text(&profile.service_id),
        text(&profile.profile_id),
        text(&profile.organization),
        text(&profile.request_id),
        text(&profile.requester),
        text(&profile.kb_data_date),
        decision.cases_executed,
        decision.cases_passed
    );
    match &decision.recorded {
        Some(recorded) => {
            let _ = writeln!(
                out,
                "- Recorded decision (library, version {}): {} by {} at {}: {}{}",
                recorded.version,
                recorded.decision,
                text(&recorded.by),
                recorded.at,
                text(&recorded.reason),
                recorded
                    .conditions
                    .as_deref()
                    .map(|c| format!("; conditions: {}", text(c)))
                    .unwrap_or_default()
            );
        }
        None => out.push_str("- Recorded decision: none yet (`gensec library decide`)\n"),
    }
}

/// "Why": each blocker and condition with its first items.
fn write_reasons(out: &mut String, decision: &PackageDecision) {
    out.push_str("\n## Why\n\n");
    if decision.reasons.is_empty() {
        out.push_str("No blocker or condition was found.\n");
    }
    for reason in &decision.reasons {
        let severity = match reason.severity {
            Severity::Blocker => "Blocker",
            Severity::Condition => "Condition",
        };
        let _ = writeln!(
            out,
            "- **{severity}** ({}): {}",
            code(&reason.rule),
            text(&reason.text)
        );
        for item in reason.items.iter().take(ITEMS_SHOWN) {
            let _ = writeln!(out, "  - {}", block_text(item));
        }
        if reason.items.len() > ITEMS_SHOWN {
            let _ = writeln!(
                out,
                "  - ... {} more in {}",
                reason.items.len() - ITEMS_SHOWN,
                paths::REPORT_HTML
            );
        }
    }
}

/// "Top risks": STRIDE threats with the controls answering them.
fn write_top_risks(out: &mut String, decision: &PackageDecision) {
    out.push_str("\n## Top risks (STRIDE)\n\n");
    if decision.top_risks.is_empty() {
        out.push_str("No Critical or High recommendation.\n");
    }
    for risk in &decision.top_risks {
        let _ = writeln!(
            out,
            "- **{}** ({}; {}): answered by {}{}",
            text(&risk.threat),
            risk.priority,
            text(&short_list(&risk.configuration_ids, 4)),
            if risk.controls.is_empty() {
                "no control".to_string()
            } else {
                text(&short_list(&risk.controls, 6))
            },
            if risk.uncovered.is_empty() {
                String::new()
            } else {
                format!("; without a control: {}", text(&risk.uncovered.join(", ")))
            }
        );
    }
}

/// "What the reviewer must supply", then where the details are.
fn write_reviewer_inputs(out: &mut String, decision: &PackageDecision) {
    out.push_str("\n## What the reviewer must supply\n\n");
    for input in &decision.reviewer_inputs {
        let _ = writeln!(
            out,
            "- {} {}: {}",
            input.kind,
            code(&input.name),
            text(&input.why)
        );
    }
    let _ = writeln!(
        out,
        "\nDetails: {} (this summary first, then every recommendation, control with its executed cases, template and policy).",
        paths::REPORT_HTML
    );
}
