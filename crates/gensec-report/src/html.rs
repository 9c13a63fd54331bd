//! `report.html`: one self-contained page (inline CSS and JS, nothing loaded
//! from anywhere, enforced by a Content-Security-Policy). Every piece of text
//! from the inputs goes through [`crate::escape::html`]. The recommendations
//! table is complete without JavaScript; the script only adds the filters.

use crate::escape::html as esc;
use crate::load::{ReportInputs, TextFile};
use crate::profile::{NOT_GENERATED, ServiceProfile};
use crate::view::{self, Block, Line, Span};
use gensec_core::contract::analysis::Recommendation;
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
header,main,footer{max-width:1400px;margin:0 auto;padding:16px 24px}
header{border-bottom:3px solid var(--accent)}
h1{font-size:24px;margin:0 0 8px}
h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
h4{font-size:14px;margin:16px 0 4px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
nav a{margin-right:12px;color:var(--accent)}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:var(--bg)}
tr[hidden]{display:none}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
td code{overflow-wrap:anywhere}
#recommendations-table td:nth-child(1){min-width:220px;max-width:300px;overflow-wrap:anywhere}
#recommendations-table td:nth-child(3){min-width:200px}
#recommendations-table td:nth-child(4){max-width:260px}
#recommendations-table td:nth-child(9){min-width:240px;max-width:300px;overflow-wrap:anywhere}
pre{background:var(--bg);border:1px solid var(--line);padding:8px;overflow:auto;max-height:480px}
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
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    let _ = write!(out, "<td>{}</td>", spans(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", spans(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Checklist(items) => {
            out.push_str("<ul class=\"checklist\">\n");
            for item in items {
                let _ = writeln!(
                    out,
                    "<li><label><input type=\"checkbox\"> {}</label></li>",
                    spans(item)
                );
            }
            out.push_str("</ul>\n");
        }
    }
}

fn header(out: &mut String, profile: &ServiceProfile, inputs: &ReportInputs) {
    let recs = &inputs.recommendations.recommendations;
    let _ = writeln!(
        out,
        "<header id=\"summary\">\n<h1>{} security package</h1>",
        esc(&profile.service_name)
    );
    out.push_str("<dl class=\"facts\">\n");
    let facts = [
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
            "Validation",
            format!(
                "{} proposed, {} accepted, {} rejected",
                inputs.validation.totals.checked,
                inputs.validation.totals.accepted,
                inputs.validation.rejected.len()
            ),
        ),
        ("Generator", format!("gensec {}", profile.generator_version)),
    ];
    let mut facts = facts.to_vec();
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
    for (name, value) in facts {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(&value));
    }
    out.push_str("</dl>\n<nav>");
    for (id, label) in [
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
    out.push_str("<table id=\"recommendations-table\"><thead><tr><th>Configuration id</th><th>Resource type</th><th>Property</th><th>Value</th><th>Priority</th><th>Domain</th><th>STRIDE</th><th>Confidence</th><th>Controls</th></tr></thead><tbody>\n");
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
        "<td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><span class=\"prio prio-{priority}\">{priority}</span></td><td>{}</td><td>{}</td><td>{}</td><td>",
        esc(&r.resource_type),
        esc(&r.property),
        esc(&value),
        esc(r.security_domain.label()),
        esc(r.threat_vector.label()),
        esc(&crate::profile::serde_name(&r.confidence)),
    );
    let controls = inputs.controls.for_recommendation(r);
    if controls.is_empty() {
        out.push_str("<span class=\"muted\">none</span>");
    } else {
        out.push_str("<ul class=\"controls\">");
        for control in controls {
            let _ = write!(out, "<li>{}</li>", esc(&control));
        }
        out.push_str("</ul>");
    }
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
            out.push_str("<table><thead><tr><th>Rule name</th><th>Owner</th><th>Managed rule</th><th>Resource types</th><th>Recommendations</th><th>Description</th></tr></thead><tbody>\n");
            for rule in &c.config_rules {
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&rule.name),
                    esc(&rule.owner),
                    esc(rule.source_identifier.as_deref().unwrap_or("")),
                    esc(&rule.resource_types.join(", ")),
                    esc(&rule.configuration_ids.join(", ")),
                    esc(&rule.description)
                );
            }
            out.push_str("</tbody></table>\n");
        }
        None => not_generated(out, "AWS Config rules"),
    }
    out.push_str("<h3 id=\"controls-preventive\">Preventive: SCP coverage</h3>\n");
    if c.scp_files.is_empty() {
        not_generated(out, "SCPs");
    } else {
        out.push_str("<table><thead><tr><th>File</th><th>Characters</th><th>Statement</th><th>Denied actions</th><th>Condition</th></tr></thead><tbody>\n");
        for file in &c.scp_files {
            for statement in &file.statements {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&file.file),
                    file.characters,
                    esc(&statement.sid),
                    esc(&statement.actions.join(", ")),
                    if statement.has_condition {
                        "yes"
                    } else {
                        "no (denied outright, break-glass excepted)"
                    }
                );
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
        out.push_str("<table><thead><tr><th>Recommendation</th><th>Status</th><th>Statement or reason</th></tr></thead><tbody>\n");
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
        out.push_str("<table><thead><tr><th>File</th><th>Rule</th><th>Recommendations</th></tr></thead><tbody>\n");
        for file in &c.guard_files {
            for rule in &file.rules {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&file.file),
                    esc(&rule.name),
                    esc(&rule.configuration_ids.join(", "))
                );
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
        out.push_str("<h3 id=\"iam-policies\">Policies</h3>\n");
        for policy in &inputs.iam_policies {
            let _ = writeln!(
                out,
                "<details><summary>{}</summary><pre><code>{}</code></pre></details>",
                esc(&policy.path),
                esc(&policy.text)
            );
        }
    }
    out.push_str("</section>\n");
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
pub fn render(profile: &ServiceProfile, inputs: &ReportInputs) -> String {
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
    header(&mut out, profile, inputs);
    out.push_str("<main>\n");
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
