//! The summary section: the decision the package supports, its reasons, the
//! top risks, what the reviewer must supply, and the package's facts.

use super::list_collapsed;
use crate::escape::html as esc;
use crate::load::ReportInputs;
use crate::profile::{ServiceProfile, serde_name};
use gensec_core::contract::decision::{PackageDecision, Readiness, Severity};
use gensec_core::contract::paths;
use std::fmt::Write;

/// The decision recorded in the control library, if any.
fn recorded_decision(decision: &PackageDecision) -> String {
    match &decision.recorded {
        Some(recorded) => format!(
            "{} by {} at {} (version {}): {}{}",
            recorded.decision,
            recorded.by,
            recorded.at,
            recorded.version,
            recorded.reason,
            recorded
                .conditions
                .as_deref()
                .map(|c| format!("; conditions: {c}"))
                .unwrap_or_default()
        ),
        None => "none yet (gensec library decide)".to_string(),
    }
}

/// The package's facts as a definition list.
fn facts(
    out: &mut String,
    profile: &ServiceProfile,
    inputs: &ReportInputs,
    decision: &PackageDecision,
) {
    let recs = &inputs.recommendations.recommendations;
    out.push_str("<dl class=\"facts\">\n");
    let mut facts = vec![
        (
            "Service",
            format!("{} ({})", profile.service_name, profile.service_id),
        ),
        (
            "Security profile",
            format!("{} ({})", profile.profile_id, profile.organization),
        ),
        (
            "Request",
            format!("{} by {}", profile.request_id, profile.requester),
        ),
        ("Knowledge base data date", profile.kb_data_date.clone()),
        ("Recommendations", recs.len().to_string()),
        (
            "Control cases executed",
            format!(
                "{} executed, {} passed (each control's cases are under Controls)",
                decision.cases_executed, decision.cases_passed
            ),
        ),
        (
            "Validation",
            format!(
                "{} checked, {} accepted, {} rejected",
                inputs.validation.totals.checked,
                inputs.validation.totals.accepted,
                inputs.validation.rejected.len()
            ),
        ),
        ("Generator", format!("gensec {}", profile.generator_version)),
    ];
    if let Some(model) = &profile.model_written {
        let stages: Vec<String> = model.stages.iter().map(|s| s.describe()).collect();
        facts.push((
            "Language model",
            format!(
                "{}; {}; {} input + {} output tokens",
                model.model_id,
                stages.join("; "),
                model.usage.input_tokens,
                model.usage.output_tokens
            ),
        ));
    }
    facts.push(("Recorded decision", recorded_decision(decision)));
    for (name, value) in facts {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(&value));
    }
    out.push_str("</dl>\n");
}

/// The summary section: decision, reasons, top risks, reviewer inputs, facts.
pub(super) fn summary(
    out: &mut String,
    profile: &ServiceProfile,
    inputs: &ReportInputs,
    decision: &PackageDecision,
) {
    let readiness = decision.readiness;
    let class = match readiness {
        Readiness::Ready => "ready",
        Readiness::ReadyWithConditions => "conditions",
        Readiness::NotReady => "not-ready",
    };
    let _ = writeln!(
        out,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<p id=\"decision\" class=\"decision decision-{class}\" data-readiness=\"{}\">Decision the package supports: <strong>{}</strong></p>",
        serde_name(&readiness),
        esc(&crate::summary::headline(decision))
    );
    let _ = writeln!(
        out,
        "<p class=\"source\">source: computed from this package's recommendations, controls and their executed cases, template checks, validator verdicts and profile (rules: README, \"The package's decision\"); also in {} and {}</p>",
        paths::SUMMARY_MARKDOWN,
        paths::MANIFEST
    );
    reasons(out, decision);
    top_risks(out, decision);
    reviewer_inputs(out, decision);
    out.push_str("<h3 id=\"summary-facts\">Package</h3>\n");
    facts(out, profile, inputs, decision);
    out.push_str("</section>\n");
}

/// Why the package supports its decision: the blockers and conditions.
fn reasons(out: &mut String, decision: &PackageDecision) {
    out.push_str("<h3 id=\"summary-reasons\">Why</h3>\n");
    if decision.reasons.is_empty() {
        out.push_str("<p>No blocker or condition was found.</p>\n");
    } else {
        out.push_str("<ul class=\"reasons\">\n");
        for reason in &decision.reasons {
            let severity = match reason.severity {
                Severity::Blocker => "Blocker",
                Severity::Condition => "Condition",
            };
            let _ = write!(
                out,
                "<li><span class=\"sev sev-{severity}\">{severity}</span> {} <span class=\"muted\">({})</span>",
                esc(&reason.text),
                esc(&reason.rule)
            );
            // Items another section lists in full are linked, not repeated.
            // The rejections' items are counts per stage (the reason's text
            // has the total), so they are shown and the link names no number.
            match reason.rule.as_str() {
                "validator-rejections" => {
                    let _ = write!(
                        out,
                        " ({}) <a href=\"#validation\">each with its reason under Validation</a>",
                        esc(&reason.items.join(", "))
                    );
                }
                "risky-actions-granted" => {
                    let _ = write!(
                        out,
                        " <a href=\"#iam-risky-actions\">{} item{} under Risky actions</a>",
                        reason.items.len(),
                        if reason.items.len() == 1 { "" } else { "s" }
                    );
                }
                _ if !reason.items.is_empty() => {
                    let _ = write!(
                        out,
                        "<details><summary>{} item{}</summary><ul>",
                        reason.items.len(),
                        if reason.items.len() == 1 { "" } else { "s" }
                    );
                    for item in &reason.items {
                        let _ = write!(out, "<li>{}</li>", esc(item));
                    }
                    out.push_str("</ul></details>");
                }
                _ => {}
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
}

/// The STRIDE threats of Critical and High recommendations, with their controls.
fn top_risks(out: &mut String, decision: &PackageDecision) {
    out.push_str(
        "<h3 id=\"summary-risks\">Top risks (STRIDE, Critical and High recommendations)</h3>\n",
    );
    if decision.top_risks.is_empty() {
        out.push_str("<p>No Critical or High recommendation.</p>\n");
    } else {
        out.push_str("<table class=\"fit\"><thead><tr><th>Threat</th><th>Recommendations</th><th>Answered by</th></tr></thead><tbody>\n");
        for risk in &decision.top_risks {
            let _ = write!(
                out,
                "<tr><td><strong>{}</strong><br><span class=\"prio prio-{}\">{}</span></td><td>{}",
                esc(&risk.threat),
                esc(&risk.priority),
                esc(&risk.priority),
                esc(&risk.configuration_ids.join(", "))
            );
            if !risk.uncovered.is_empty() {
                let _ = write!(
                    out,
                    "<p>Without a control: {}</p>",
                    esc(&risk.uncovered.join(", "))
                );
            }
            out.push_str("</td><td>");
            list_collapsed(out, &risk.controls, 6, "controls");
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
}

/// What the reviewer must supply before the package is deployed.
fn reviewer_inputs(out: &mut String, decision: &PackageDecision) {
    out.push_str("<h3 id=\"summary-inputs\">What the reviewer must supply</h3>\n<ul>\n");
    for input in &decision.reviewer_inputs {
        let _ = writeln!(
            out,
            "<li>{} <code>{}</code>: {}</li>",
            esc(&input.kind),
            esc(&input.name),
            esc(&input.why)
        );
    }
    out.push_str("</ul>\n");
}
