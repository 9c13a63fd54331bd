//! `report.html`: one self-contained page (inline CSS and JS, nothing loaded
//! from anywhere, enforced by a Content-Security-Policy). Every piece of text
//! from the inputs goes through [`crate::escape::html`]. The recommendations
//! table is complete without JavaScript; the script only adds the filters.

use crate::escape::html as esc;
use crate::load::{ReportInputs, TextFile};
use crate::profile::{NOT_GENERATED, ServiceProfile};
use crate::view::{self, Block, Line, Span};
use gensec_core::contract::analysis::Recommendation;
use gensec_core::contract::controls::{ControlKind, Verdict};
use gensec_core::contract::decision::{PackageDecision, Readiness, Severity};
use std::fmt::Write;

/// Element ids of the report's sections, in page order.
pub const SECTION_IDS: [&str; 7] = [
    "summary",
    "recommendations",
    "controls",
    "iac",
    "iam",
    "validation",
    "profile",
];

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#5b6475;--line:#d8dde6;--bg:#f6f7f9;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
header,main,footer{max-width:1240px;margin:0 auto;padding:16px 20px}
header{border-bottom:3px solid var(--accent)}
h1{font-size:24px;margin:0 0 8px}
h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
h4{font-size:14px;margin:16px 0 4px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
nav a{margin-right:12px;color:var(--accent)}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;table-layout:fixed}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--bg)}
tr[hidden]{display:none}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
td code{overflow-wrap:anywhere}
col.w-id{width:30%}col.w-setting{width:28%}col.w-rating{width:16%}col.w-controls{width:26%}
pre{background:var(--bg);border:1px solid var(--line);padding:8px;overflow:auto;max-height:480px;white-space:pre-wrap;overflow-wrap:anywhere}
details>summary{cursor:pointer;color:var(--accent)}
.decision{font-size:18px;padding:8px 12px;border-radius:4px;border-left:6px solid}
.decision-ready{background:#e5f5e8;border-color:#1e7b34}
.decision-conditions{background:#fdf3c4;border-color:#a07800}
.decision-not-ready{background:#fbd5d5;border-color:#8a1010}
.sev{font-weight:600;padding:0 6px;border-radius:3px}
.sev-Blocker{background:#fbd5d5;color:#8a1010}
.sev-Condition{background:#fdf3c4;color:#5c4a00}
ul.reasons>li{margin-bottom:4px}
ul.cases{margin:0;padding-left:16px;font-size:12px}
table.mono td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
table.mono td:nth-last-child(3),table.mono td:last-child{font-family:inherit}
.fail{color:#8a1010;font-weight:600}
.source{color:var(--muted);font-style:italic}
.prio{font-weight:600;padding:0 6px;border-radius:3px}
.prio-Critical{background:#fbd5d5;color:#8a1010}
.prio-High{background:#fde5c8;color:#7a3e00}
.prio-Medium{background:#fdf3c4;color:#5c4a00}
.prio-Low{background:#e3eefc;color:#1d3f73}
.filters{display:flex;gap:16px;align-items:center;margin:8px 0}
.muted{color:var(--muted)}
ul.checklist{list-style:none;padding-left:4px}
ul.controls{margin:0;padding-left:16px}
@media print{
nav,#filters,footer{display:none}
header,main{max-width:none;padding:0}
body{font-size:11px}
h2{break-before:auto;break-after:avoid}
tr,li{break-inside:avoid}
pre{max-height:none;overflow:visible}
.decision{border:2px solid}
a{color:inherit;text-decoration:none}
}
"#;

const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById('filters');
  var priority = document.getElementById('filter-priority');
  var domain = document.getElementById('filter-domain');
  var count = document.getElementById('filter-count');
  if (!box || !priority || !domain || !count) { return; }
  box.hidden = false;
  function apply() {
    var rows = document.querySelectorAll('#recommendations-table tbody tr.rec');
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var visible = (!priority.value || row.getAttribute('data-priority') === priority.value) &&
        (!domain.value || row.getAttribute('data-domain') === domain.value);
      row.hidden = !visible;
      if (visible) { shown++; }
    }
    count.textContent = shown + ' of ' + rows.length + ' shown';
  }
  priority.addEventListener('change', apply);
  // Printed, the summary's, recommendations' and controls' collapsed
  // details are shown (not the full policies); afterwards they close again.
  var opened = [];
  window.addEventListener('beforeprint', function () {
    var closed = document.querySelectorAll('#summary details:not([open]), #recommendations details:not([open]), #controls details:not([open])');
    for (var i = 0; i < closed.length; i++) { closed[i].open = true; opened.push(closed[i]); }
  });
  window.addEventListener('afterprint', function () {
    for (var i = 0; i < opened.length; i++) { opened[i].open = false; }
    opened = [];
  });
  domain.addEventListener('change', apply);
  apply();
})();
"#;

/// Marks model-written text; only in reports that have some, so reports
/// without a model stay byte-for-byte as they were.
const MODEL_STYLE: &str = ".model{border-left:3px solid #8a63d2;padding-left:6px}\n";

/// Content-Security-Policy: nothing may be fetched; only the inline style and script run.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

fn spans(line: &Line) -> String {
    let mut out = String::new();
    for span in line {
        match span {
            Span::Text(text) => out.push_str(&esc(text)),
            Span::Code(text) => {
                let _ = write!(out, "<code>{}</code>", esc(text));
            }
            Span::Strong(text) => {
                let _ = write!(out, "<strong>{}</strong>", esc(text));
            }
        }
    }
    out
}

/// Rows of a research-profile table or list shown in the report; the rest are
/// in the research profile files (the report stays readable and small).
pub const PROFILE_ROWS: usize = 30;

fn more_in_profile(out: &mut String, total: usize) {
    if total > PROFILE_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} more in {} (the report shows the first {PROFILE_ROWS}).</p>",
            total - PROFILE_ROWS,
            gensec_core::contract::paths::RESEARCH_PROFILE_MARKDOWN
        );
    }
}

fn block(out: &mut String, block: &Block) {
    match block {
        Block::Para(line) => {
            let _ = writeln!(out, "<p>{}</p>", spans(line));
        }
        Block::Source(sources) => {
            if !sources.is_empty() {
                let _ = writeln!(
                    out,
                    "<p class=\"source\">source: {}</p>",
                    esc(&sources.join("; "))
                );
            }
        }
        Block::Table { headers, rows } => {
            out.push_str("<table><thead><tr>");
            for header in headers {
                let _ = write!(out, "<th>{}</th>", esc(header));
            }
            out.push_str("</tr></thead><tbody>\n");
            for row in rows.iter().take(PROFILE_ROWS) {
                out.push_str("<tr>");
                for cell in row {
                    let _ = write!(out, "<td>{}</td>", spans(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
            more_in_profile(out, rows.len());
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items.iter().take(PROFILE_ROWS) {
                let _ = writeln!(out, "<li>{}</li>", spans(item));
            }
            out.push_str("</ul>\n");
            more_in_profile(out, items.len());
        }
        Block::Cases(controls) => {
            // The Controls section shows every case; the profile points there.
            let cases: usize = controls.iter().map(|(_, cases)| cases.len()).sum();
            let _ = writeln!(
                out,
                "<p>The {} controls' {cases} executed cases and verdicts are under <a href=\"#controls\">Controls</a> (collapsed per control).</p>",
                controls.len()
            );
        }
        Block::Checklist(items) => {
            out.push_str("<ul class=\"checklist\">\n");
            for item in items.iter().take(PROFILE_ROWS) {
                let _ = writeln!(
                    out,
                    "<li><label><input type=\"checkbox\"> {}</label></li>",
                    spans(item)
                );
            }
            out.push_str("</ul>\n");
            more_in_profile(out, items.len());
        }
    }
}

fn header(out: &mut String, profile: &ServiceProfile) {
    let _ = writeln!(
        out,
        "<header>\n<h1>{} security package</h1>",
        esc(&profile.service_name)
    );
    out.push_str("<nav>");
    for (id, label) in [
        ("summary", "Summary"),
        ("recommendations", "Recommendations"),
        ("controls", "Controls"),
        ("iac", "IaC"),
        ("iam", "IAM"),
        ("validation", "Validation"),
        ("profile", "Research profile"),
    ] {
        let _ = write!(out, "<a href=\"#{id}\">{label}</a>");
    }
    out.push_str("</nav>\n</header>\n");
}

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
    match &decision.recorded {
        Some(recorded) => facts.push((
            "Recorded decision",
            format!(
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
        )),
        None => facts.push((
            "Recorded decision",
            "none yet (gensec library decide)".to_string(),
        )),
    }
    for (name, value) in facts {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(&value));
    }
    out.push_str("</dl>\n");
}

/// The summary section: decision, reasons, top risks, reviewer inputs, facts.
fn summary(
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
        crate::profile::serde_name(&readiness),
        esc(&crate::summary::headline(decision))
    );
    out.push_str("<p class=\"source\">source: computed from this package's recommendations, controls and their executed cases, template checks, validator verdicts and profile (rules: README, \"The package's decision\"); also in summary.md and manifest.json</p>\n");
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
            let listed_in = match reason.rule.as_str() {
                "validator-rejections" => Some(("validation", "Validation")),
                "risky-actions-granted" => Some(("iam-risky-actions", "Risky actions")),
                _ => None,
            };
            if let Some((id, title)) = listed_in {
                let _ = write!(
                    out,
                    " <a href=\"#{id}\">{} item{} under {title}</a>",
                    reason.items.len(),
                    if reason.items.len() == 1 { "" } else { "s" }
                );
            } else if !reason.items.is_empty() {
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
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
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
    out.push_str("</ul>\n<h3 id=\"summary-facts\">Package</h3>\n");
    facts(out, profile, inputs, decision);
    out.push_str("</section>\n");
}

/// A list whose items past `shown` sit in a collapsed `<details>`.
fn list_collapsed(out: &mut String, items: &[String], shown: usize, noun: &str) {
    if items.is_empty() {
        out.push_str("<span class=\"muted\">none</span>");
        return;
    }
    out.push_str("<ul class=\"controls\">");
    for item in items.iter().take(shown) {
        let _ = write!(out, "<li>{}</li>", esc(item));
    }
    out.push_str("</ul>");
    if items.len() > shown {
        let _ = write!(
            out,
            "<details><summary>{} more {noun}</summary><ul class=\"controls\">",
            items.len() - shown
        );
        for item in &items[shown..] {
            let _ = write!(out, "<li>{}</li>", esc(item));
        }
        out.push_str("</ul></details>");
    }
}

fn recommendations(out: &mut String, inputs: &ReportInputs) {
    let recs = &inputs.recommendations.recommendations;
    out.push_str("<section id=\"recommendations\">\n<h2>Recommendations</h2>\n");
    out.push_str(
        "<p class=\"source\">source: analysis/recommendations.json; controls: controls/</p>\n",
    );
    out.push_str("<div id=\"filters\" class=\"filters\" hidden>\n<label>Priority <select id=\"filter-priority\"><option value=\"\">All</option>");
    for priority in ["Critical", "High", "Medium", "Low"] {
        let _ = write!(out, "<option value=\"{priority}\">{priority}</option>");
    }
    out.push_str("</select></label>\n<label>Domain <select id=\"filter-domain\"><option value=\"\">All</option>");
    let mut domains: Vec<_> = recs.iter().map(|r| r.security_domain).collect();
    domains.sort();
    domains.dedup();
    for domain in domains {
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            esc(&crate::profile::serde_name(&domain)),
            esc(domain.label())
        );
    }
    out.push_str("</select></label>\n<span id=\"filter-count\" class=\"muted\"></span>\n</div>\n");
    out.push_str("<table id=\"recommendations-table\" class=\"fit\"><colgroup><col class=\"w-id\"><col class=\"w-setting\"><col class=\"w-rating\"><col class=\"w-controls\"></colgroup><thead><tr><th>Recommendation</th><th>Setting</th><th>Priority, domain, STRIDE, confidence</th><th>Controls</th></tr></thead><tbody>\n");
    for r in recs {
        row(out, r, inputs);
    }
    out.push_str("</tbody></table>\n</section>\n");
}

fn row(out: &mut String, r: &Recommendation, inputs: &ReportInputs) {
    let priority = r.priority.as_str();
    let _ = write!(
        out,
        "<tr class=\"rec\" data-priority=\"{priority}\" data-domain=\"{}\">",
        esc(&crate::profile::serde_name(&r.security_domain))
    );
    let compliance: Vec<String> = r
        .compliance
        .iter()
        .filter(|(_, refs)| !refs.is_empty())
        .map(|(framework, refs)| {
            format!(
                "{} {}",
                crate::profile::serde_name(framework),
                refs.join(", ")
            )
        })
        .collect();
    let _ = write!(
        out,
        "<td><strong>{}</strong><div>{}</div><details><summary>Rationale</summary><p>{}</p>",
        esc(&r.configuration_id),
        esc(&r.title),
        esc(&r.rationale)
    );
    if !compliance.is_empty() {
        let _ = write!(out, "<p>Compliance: {}</p>", esc(&compliance.join("; ")));
    }
    if !r.security_hub_controls.is_empty() {
        let _ = write!(
            out,
            "<p>Security Hub: {}</p>",
            esc(&r.security_hub_controls.join(", "))
        );
    }
    if let Some(note) = &r.model {
        if let Some(rationale) = &note.rationale {
            let _ = write!(
                out,
                "<p class=\"model\">Model-written rationale ({}): {}</p>",
                esc(&note.model_id),
                esc(rationale)
            );
        }
        if let (Some(from), Some(reason)) = (note.priority_from, &note.priority_reason) {
            let _ = write!(
                out,
                "<p class=\"model\">Priority changed by the model ({}) from {}: {}</p>",
                esc(&note.model_id),
                from.as_str(),
                esc(reason)
            );
        }
    }
    out.push_str("</details></td>");
    let value = serde_json::to_string(&r.recommended_value).unwrap_or_default();
    let _ = write!(
        out,
        "<td>{}<br><code>{}</code> = <code>{}</code></td><td><span class=\"prio prio-{priority}\">{priority}</span><br>{}<br>{}<br><span class=\"muted\">{} confidence</span></td><td>",
        esc(&r.resource_type),
        esc(&r.property),
        esc(&value),
        esc(r.security_domain.label()),
        esc(r.threat_vector.label()),
        esc(&crate::profile::serde_name(&r.confidence)),
    );
    let controls = inputs.controls.for_recommendation(r);
    list_collapsed(out, &controls, 4, "controls");
    out.push_str("</td></tr>\n");
}

fn not_generated(out: &mut String, what: &str) {
    let _ = writeln!(
        out,
        "<p class=\"muted\">{}: {NOT_GENERATED}.</p>",
        esc(what)
    );
}

fn controls(out: &mut String, inputs: &ReportInputs) {
    let c = &inputs.controls;
    out.push_str("<section id=\"controls\">\n<h2>Controls</h2>\n");
    if c.is_empty() {
        not_generated(out, "Controls");
        out.push_str("</section>\n");
        return;
    }
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
    out.push_str("</section>\n");
}

fn verdict(verdict: Verdict) -> String {
    crate::profile::serde_name(&verdict).replace('_', "-")
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

fn pre(out: &mut String, id: &str, title: &str, file: Option<&TextFile>) {
    let _ = writeln!(out, "<h3 id=\"{id}\">{}</h3>", esc(title));
    match file {
        Some(file) => {
            let _ = writeln!(
                out,
                "<p class=\"source\">source: {}</p>\n<pre><code>{}</code></pre>",
                esc(&file.path),
                esc(&file.text)
            );
        }
        None => not_generated(out, title),
    }
}

fn iac(out: &mut String, inputs: &ReportInputs) {
    out.push_str("<section id=\"iac\">\n<h2>Infrastructure as code</h2>\n");
    pre(
        out,
        "iac-cloudformation",
        "CloudFormation template",
        inputs.cloudformation.as_ref(),
    );
    pre(
        out,
        "iac-terraform",
        "Terraform configuration",
        inputs.terraform.as_ref(),
    );
    out.push_str("</section>\n");
}

fn iam(out: &mut String, inputs: &ReportInputs) {
    out.push_str("<section id=\"iam\">\n<h2>IAM personas</h2>\n");
    let Some(model) = &inputs.iam_model else {
        not_generated(out, "IAM model");
        out.push_str("</section>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p class=\"source\">source: {}</p>",
        esc(gensec_core::contract::paths::IAM_MODEL)
    );
    out.push_str("<table><thead><tr><th>Persona</th><th>Name</th><th>Description</th><th>Actions</th><th>Condition keys</th><th>Approval</th><th>Policy</th></tr></thead><tbody>\n");
    for persona in &model.personas {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&persona.id),
            esc(&persona.name),
            esc(&persona.description),
            persona.actions,
            esc(&persona.condition_keys.join(", ")),
            esc(&persona.approval),
            esc(&persona.policy_file)
        );
    }
    out.push_str("</tbody></table>\n<h3 id=\"iam-risky-actions\">Risky actions</h3>\n");
    if model.risky_actions.is_empty() {
        out.push_str("<p>No risky action was flagged.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>Action</th><th>Category</th><th>Reason</th><th>Granted to</th></tr></thead><tbody>\n");
        for risky in &model.risky_actions {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&risky.action),
                esc(&crate::profile::serde_name(&risky.category)),
                esc(&risky.reason),
                esc(&risky.granted_to.join(", "))
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !inputs.iam_policies.is_empty() {
        out.push_str("<h3 id=\"iam-policies\">Policies</h3>\n<p class=\"muted\">Per persona: the actions it is allowed, by access level, and the statements that scope them (resources and conditions); the policy documents themselves are in the package.</p>\n");
        let mut shown = ShownLists::new();
        for persona in &model.personas {
            persona_policies(out, &mut shown, model, persona, &inputs.iam_policies);
        }
    }
    out.push_str("</section>\n");
}

/// The persona's policy documents: `<id>.json` or `<id>-<n>.json`.
fn documents_of<'a>(persona: &str, policies: &'a [TextFile]) -> Vec<&'a TextFile> {
    let mut documents: Vec<&TextFile> = policies
        .iter()
        .filter(|policy| {
            let stem = policy
                .path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".json");
            stem == persona
                || stem.strip_prefix(persona).is_some_and(|rest| {
                    rest.strip_prefix('-')
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                })
        })
        .collect();
    // Numbered documents in their numeric order.
    documents.sort_by_key(|policy| {
        let digits: String = policy.path.chars().filter(char::is_ascii_digit).collect();
        (digits.len(), digits)
    });
    documents
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A policy statement as the report shows it: Sid, effect, actions,
/// resources and its condition as compact JSON.
type StatementRow = (String, String, Vec<String>, Vec<String>, String);

/// One persona's grants, compact: allowed actions by access level (each
/// level collapsed), then its statements (collapsed) with resources and
/// conditions, each distinct condition written once.
fn persona_policies(
    out: &mut String,
    shown: &mut ShownLists,
    model: &gensec_core::contract::iam::IamModel,
    persona: &gensec_core::contract::iam::Persona,
    policies: &[TextFile],
) {
    let documents = documents_of(&persona.id, policies);
    if documents.is_empty() {
        return;
    }
    let mut statements: Vec<StatementRow> = Vec::new();
    let mut unreadable = Vec::new();
    for document in &documents {
        let Ok(policy) = serde_json::from_str::<serde_json::Value>(&document.text) else {
            unreadable.push(document.path.clone());
            continue;
        };
        let list = match &policy["Statement"] {
            serde_json::Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        for statement in list {
            let (actions, negated) = match statement.get("NotAction") {
                Some(not) => (strings(not), true),
                None => (strings(&statement["Action"]), false),
            };
            let effect = format!(
                "{}{}",
                statement["Effect"].as_str().unwrap_or("?"),
                if negated { " (NotAction)" } else { "" }
            );
            let condition = statement
                .get("Condition")
                .map(|c| c.to_string())
                .unwrap_or_default();
            statements.push((
                statement["Sid"].as_str().unwrap_or_default().to_string(),
                effect,
                actions,
                strings(&statement["Resource"]),
                condition,
            ));
        }
    }
    let files: Vec<&str> = documents.iter().map(|d| d.path.as_str()).collect();
    let _ = writeln!(
        out,
        "<h4 id=\"iam-policy-{}\">{} <span class=\"muted\">({} document{}: {})</span></h4>",
        esc(&persona.id),
        esc(&persona.name),
        documents.len(),
        if documents.len() == 1 { "" } else { "s" },
        esc(&files.join(", "))
    );
    // Allowed actions by access level.
    let mut allowed: Vec<&str> = statements
        .iter()
        .filter(|s| s.1 == "Allow")
        .flat_map(|s| s.2.iter().map(String::as_str))
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    out.push_str("<ul class=\"controls\">");
    let mut placed = std::collections::BTreeSet::new();
    for (level, actions) in &model.actions_by_access_level {
        let here: Vec<&str> = allowed
            .iter()
            .copied()
            .filter(|action| actions.iter().any(|a| a == action))
            .collect();
        if here.is_empty() {
            continue;
        }
        placed.extend(here.iter().copied());
        action_level(out, shown, &persona.name, level, &here);
    }
    let other: Vec<&str> = allowed
        .iter()
        .copied()
        .filter(|action| !placed.contains(action))
        .collect();
    if !other.is_empty() {
        action_level(
            out,
            shown,
            &persona.name,
            "Other services or wildcards",
            &other,
        );
    }
    out.push_str("</ul>\n");
    // Statements, with each distinct condition once.
    let mut conditions: Vec<&str> = statements
        .iter()
        .map(|s| s.4.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    conditions.sort_unstable();
    conditions.dedup();
    let _ = write!(
        out,
        "<details><summary>{} statement{}: resources and conditions</summary>",
        statements.len(),
        if statements.len() == 1 { "" } else { "s" }
    );
    if !conditions.is_empty() {
        out.push_str("<ul class=\"cases\">");
        for (index, condition) in conditions.iter().enumerate() {
            let _ = write!(
                out,
                "<li>C{}: <code>{}</code></li>",
                index + 1,
                esc(condition)
            );
        }
        out.push_str("</ul>");
    }
    // Resource ARNs are shown without the `arn:aws:` they all start with,
    // and the effect only when some statement is not an Allow: the tables of
    // large services stay readable and the report small.
    let all_aws = statements
        .iter()
        .flat_map(|s| s.3.iter())
        .all(|r| r == "*" || r.starts_with(ARN_AWS));
    let all_allow = statements.iter().all(|s| s.1 == "Allow");
    let _ = write!(
        out,
        "<p class=\"muted\">{}{}Each statement's actions are listed by access level above and in its policy document.</p>",
        if all_aws {
            "Resource ARNs are shown without their leading <code>arn:aws:</code>. "
        } else {
            ""
        },
        if all_allow {
            "Every statement allows. "
        } else {
            ""
        }
    );
    out.push_str("<table class=\"fit mono\"><thead><tr><th>Statement</th>");
    if !all_allow {
        out.push_str("<th>Effect</th>");
    }
    out.push_str("<th>Actions</th><th>Resources</th><th>Condition</th></tr></thead><tbody>\n");
    for (sid, effect, actions, resources, condition) in &statements {
        let condition = conditions
            .iter()
            .position(|c| c == condition)
            .map_or_else(|| "none".to_string(), |i| format!("C{}", i + 1));
        let resources: Vec<&str> = resources
            .iter()
            .map(|r| {
                if all_aws {
                    r.strip_prefix(ARN_AWS).unwrap_or(r)
                } else {
                    r
                }
            })
            .collect();
        let _ = write!(out, "<tr><td>{}</td>", esc(sid));
        if !all_allow {
            let _ = write!(out, "<td>{}</td>", esc(effect));
        }
        let _ = writeln!(
            out,
            "<td>{}</td><td>{}</td><td>{condition}</td></tr>",
            actions.len(),
            esc(&resources.join(" "))
        );
    }
    out.push_str("</tbody></table></details>\n");
    if !unreadable.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Not JSON, left out: {}</p>",
            esc(&unreadable.join(", "))
        );
    }
}

/// The start of every ARN in the aws partition.
const ARN_AWS: &str = "arn:aws:";

/// `ec2: A, B, C` for actions of one prefix; the full names otherwise.
fn short_actions(actions: &[impl AsRef<str>]) -> String {
    let prefix = actions
        .first()
        .and_then(|a| a.as_ref().split_once(':').map(|(p, _)| p.to_string()));
    match prefix {
        Some(prefix)
            if actions
                .iter()
                .all(|a| a.as_ref().starts_with(&format!("{prefix}:"))) =>
        {
            let names: Vec<&str> = actions
                .iter()
                .map(|a| &a.as_ref()[prefix.len() + 1..])
                .collect();
            format!("{prefix}: {}", names.join(", "))
        }
        _ => actions
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Action lists already written, by access level: a persona granted the same
/// list as an earlier one is pointed there instead of repeating it.
type ShownLists = std::collections::BTreeMap<(String, Vec<String>), String>;

fn action_level(
    out: &mut String,
    shown: &mut ShownLists,
    persona: &str,
    level: &str,
    actions: &[&str],
) {
    let key = (
        level.to_string(),
        actions.iter().map(|a| (*a).to_string()).collect(),
    );
    let count = format!(
        "{}: {} action{}",
        esc(level),
        actions.len(),
        if actions.len() == 1 { "" } else { "s" }
    );
    if let Some(first) = shown.get(&key) {
        let _ = write!(out, "<li>{count}, the same as {}&#39;s</li>", esc(first));
        return;
    }
    shown.insert(key, persona.to_string());
    let _ = write!(
        out,
        "<li><details><summary>{count}</summary><p>{}</p></details></li>",
        esc(&short_actions(actions))
    );
}

fn validation(out: &mut String, inputs: &ReportInputs) {
    let v = &inputs.validation;
    out.push_str("<section id=\"validation\">\n<h2>Validation summary</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"source\">source: the verdicts of every stage (the package's {})</p>",
        gensec_core::contract::paths::VALIDATION_REPORT
    );
    let _ = writeln!(
        out,
        "<p>{} proposed, {} accepted, {} rejected.</p>",
        v.totals.checked,
        v.totals.accepted,
        v.rejected.len()
    );
    if v.rejected.is_empty() {
        out.push_str("<p>No item was rejected.</p>\n");
    } else {
        out.push_str(
            "<table><thead><tr><th>Stage</th><th>Item</th><th>Reason</th></tr></thead><tbody>\n",
        );
        for rejection in &v.rejected {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(rejection.stage.as_str()),
                esc(&rejection.item),
                esc(&rejection.reason)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !inputs.warnings.is_empty() {
        out.push_str("<h3 id=\"report-warnings\">Report warnings</h3>\n<ul>\n");
        for warning in &inputs.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(warning));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn profile_section(out: &mut String, profile: &ServiceProfile) {
    let _ = writeln!(
        out,
        "<section id=\"profile\">\n<h2>{}</h2>",
        esc(&view::title(profile))
    );
    for b in view::preamble(profile) {
        block(out, &b);
    }
    for section in view::sections(profile) {
        // One level below the report's own headings.
        let level = section.level + 1;
        let _ = writeln!(
            out,
            "<h{level} id=\"profile-{}\">{}</h{level}>",
            esc(&section.id),
            esc(&section.title)
        );
        for b in &section.blocks {
            block(out, b);
        }
    }
    out.push_str("</section>\n");
}

/// Render the whole report.
pub fn render(
    profile: &ServiceProfile,
    inputs: &ReportInputs,
    decision: &PackageDecision,
) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>gensec: {} ({}) {}</title>\n<style>{STYLE}{}</style>\n</head>\n<body>\n",
        esc(&profile.service_name),
        esc(&profile.profile_id),
        esc(&profile.request_id),
        if profile.model_written.is_some() {
            MODEL_STYLE
        } else {
            ""
        }
    );
    header(&mut out, profile);
    out.push_str("<main>\n");
    summary(&mut out, profile, inputs, decision);
    recommendations(&mut out, inputs);
    controls(&mut out, inputs);
    iac(&mut out, inputs);
    iam(&mut out, inputs);
    validation(&mut out, inputs);
    profile_section(&mut out, profile);
    out.push_str("</main>\n");
    let _ = write!(
        out,
        "<footer class=\"muted\">Generated by gensec {} from knowledge base data of {}.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&profile.generator_version),
        esc(&profile.kb_data_date)
    );
    out
}
