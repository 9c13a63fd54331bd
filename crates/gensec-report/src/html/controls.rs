//! The controls section: Config rules, SCPs and their coverage, Guard rules,
//! each control with its executed cases collapsed.

use super::{list_collapsed, not_generated};
use crate::escape::html as esc;
use crate::load::ReportInputs;
use crate::profile::serde_name;
use gensec_core::contract::controls::{ControlKind, Verdict};
use std::fmt::Write;

pub(super) fn controls(out: &mut String, inputs: &ReportInputs) {
    let c = &inputs.controls;
    out.push_str("<section id=\"controls\">\n<h2>Controls</h2>\n");
    if c.is_empty() {
        not_generated(out, "Controls");
        out.push_str("</section>\n");
        return;
    }
    config_rules(out, inputs);
    scps(out, inputs);
    scp_coverage(out, inputs);
    guard_rules(out, inputs);
    out.push_str("</section>\n");
}

fn verdict(verdict: Verdict) -> String {
    serde_name(&verdict).replace('_', "-")
}

/// A control's executed cases and non-executing checks, collapsed: the
/// summary line says how many and whether all behaved as expected.
fn executed(out: &mut String, inputs: &ReportInputs, kind: ControlKind, name: &str) {
    let Some(control) = inputs.control_set.as_ref().and_then(|set| {
        set.controls
            .iter()
            .find(|c| c.kind == kind && c.name == name)
    }) else {
        out.push_str("<span class=\"muted\">not recorded</span>");
        return;
    };
    let cases = &control.cases;
    if cases.is_empty() && control.checks.is_empty() {
        out.push_str("<span class=\"muted\">none executed</span>");
        return;
    }
    let failed = cases.iter().filter(|case| !case.passed()).count();
    let headline = match (cases.len(), failed) {
        (0, _) => format!(
            "{} check{}, no case",
            control.checks.len(),
            if control.checks.len() == 1 { "" } else { "s" }
        ),
        (1, 0) => "1 case, passed".to_string(),
        (n, 0) => format!("{n} cases, all passed"),
        (n, f) => format!("{n} cases, {f} failed"),
    };
    let _ = write!(
        out,
        "<details class=\"cases\"><summary{}>{headline}</summary><ul class=\"cases\" title=\"case: verdict\">",
        if failed > 0 { " class=\"fail\"" } else { "" }
    );
    // A passed case shows its verdict once; a failed one both verdicts.
    for case in cases {
        if case.passed() {
            let _ = write!(
                out,
                "<li>{}: {}</li>",
                esc(&case.name),
                verdict(case.actual)
            );
        } else {
            let _ = write!(
                out,
                "<li class=\"fail\">{}: expected {}, got {}</li>",
                esc(&case.name),
                verdict(case.expected),
                verdict(case.actual)
            );
        }
    }
    for check in &control.checks {
        let _ = write!(out, "<li>check: {}</li>", esc(check));
    }
    out.push_str("</ul></details>");
}

/// The detective controls: AWS Config rules.
fn config_rules(out: &mut String, inputs: &ReportInputs) {
    let c = &inputs.controls;
    out.push_str("<h3 id=\"controls-detective\">Detective: AWS Config rules</h3>\n");
    match &c.config_rules_file {
        Some(file) => {
            let _ = writeln!(out, "<p class=\"source\">source: {}</p>", esc(file));
            out.push_str("<table class=\"fit\"><thead><tr><th>Rule name</th><th>Owner, managed rule</th><th>Resource types</th><th>Recommendations</th><th>Description</th><th>Executed cases</th></tr></thead><tbody>\n");
            for rule in &c.config_rules {
                let _ = write!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}<br>{}</td><td>{}</td><td>{}</td><td>{}</td><td>",
                    esc(&rule.name),
                    esc(&rule.owner),
                    esc(rule.source_identifier.as_deref().unwrap_or("")),
                    esc(&rule.resource_types.join(", ")),
                    esc(&rule.configuration_ids.join(", ")),
                    esc(&rule.description)
                );
                let kind = if rule.source_identifier.is_some() {
                    ControlKind::ConfigManagedRule
                } else {
                    ControlKind::ConfigCustomRule
                };
                executed(out, inputs, kind, &rule.name);
                out.push_str("</td></tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        None => not_generated(out, "AWS Config rules"),
    }
}

/// The preventive controls: SCP statements.
fn scps(out: &mut String, inputs: &ReportInputs) {
    let c = &inputs.controls;
    out.push_str("<h3 id=\"controls-preventive\">Preventive: SCP coverage</h3>\n");
    if c.scp_files.is_empty() {
        not_generated(out, "SCPs");
    } else {
        out.push_str("<table class=\"fit\"><thead><tr><th>File (characters)</th><th>Statement</th><th>Denied actions</th><th>Condition</th><th>Executed cases</th></tr></thead><tbody>\n");
        for file in &c.scp_files {
            for statement in &file.statements {
                let _ = write!(
                    out,
                    "<tr><td>{} ({})</td><td><code>{}</code></td><td>",
                    esc(&file.file),
                    file.characters,
                    esc(&statement.sid),
                );
                list_collapsed(out, &statement.actions, 6, "actions");
                let _ = write!(
                    out,
                    "</td><td>{}</td><td>",
                    if statement.has_condition {
                        "yes"
                    } else {
                        "no (denied outright, exempt principals excepted)"
                    }
                );
                executed(out, inputs, ControlKind::ScpStatement, &statement.sid);
                out.push_str("</td></tr>\n");
            }
        }
        out.push_str("</tbody></table>\n");
    }
}

/// Which recommendations the SCPs enforce, and why the others are not.
fn scp_coverage(out: &mut String, inputs: &ReportInputs) {
    let c = &inputs.controls;
    if !c.scp_coverage.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"source\">source: {}</p>",
            esc(c.scp_coverage_file.as_deref().unwrap_or(""))
        );
        out.push_str("<table class=\"fit\"><thead><tr><th>Recommendation</th><th>Status</th><th>Statement or reason</th></tr></thead><tbody>\n");
        for item in &c.scp_coverage {
            let detail = match (&item.document, &item.sid, &item.reason) {
                (Some(document), Some(sid), _) => format!("{document}#{sid}"),
                (_, _, Some(reason)) => reason.clone(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&item.configuration_id),
                esc(&item.status),
                esc(&detail)
            );
        }
        out.push_str("</tbody></table>\n");
    }
}

/// The proactive controls: Guard rules and their unit tests.
fn guard_rules(out: &mut String, inputs: &ReportInputs) {
    let c = &inputs.controls;
    out.push_str("<h3 id=\"controls-proactive\">Proactive: CloudFormation Guard rules</h3>\n");
    if c.guard_files.is_empty() {
        not_generated(out, "Guard rules");
    } else {
        out.push_str("<table class=\"fit\"><thead><tr><th>File</th><th>Rule</th><th>Recommendations</th><th>Executed cases</th></tr></thead><tbody>\n");
        for file in &c.guard_files {
            for rule in &file.rules {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>",
                    esc(&file.file),
                    esc(&rule.name),
                    esc(&rule.configuration_ids.join(", "))
                );
                executed(out, inputs, ControlKind::GuardRule, &rule.name);
                out.push_str("</td></tr>\n");
            }
        }
        out.push_str("</tbody></table>\n");
        if !c.guard_test_files.is_empty() {
            let _ = writeln!(
                out,
                "<p>Unit tests: {}</p>",
                esc(&c.guard_test_files.join(", "))
            );
        }
    }
}
