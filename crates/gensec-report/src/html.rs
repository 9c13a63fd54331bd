//! `report.html`: one self-contained page (inline CSS and JS, nothing loaded
//! from anywhere, enforced by a Content-Security-Policy). Every piece of text
//! from the inputs goes through [`crate::escape::html`]. The recommendations
//! table is complete without JavaScript; the script only adds the filters.
//!
//! One module per section: `summary_section`, `recommendations`, `controls`,
//! `iam`, `profile_section`; the IaC and validation sections, the page frame
//! and the helpers the sections share are here.

mod controls;
mod iam;
mod profile_section;
mod recommendations;
mod summary_section;

pub use profile_section::PROFILE_ROWS;

use crate::escape::html as esc;
use crate::load::{ReportInputs, TextFile};
use crate::profile::{NOT_GENERATED, ServiceProfile};
use gensec_core::contract::decision::PackageDecision;
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

fn not_generated(out: &mut String, what: &str) {
    let _ = writeln!(
        out,
        "<p class=\"muted\">{}: {NOT_GENERATED}.</p>",
        esc(what)
    );
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
    summary_section::summary(&mut out, profile, inputs, decision);
    recommendations::recommendations(&mut out, inputs);
    controls::controls(&mut out, inputs);
    iac(&mut out, inputs);
    iam::iam(&mut out, inputs);
    validation(&mut out, inputs);
    profile_section::profile_section(&mut out, profile);
    out.push_str("</main>\n");
    let _ = write!(
        out,
        "<footer class=\"muted\">Generated by gensec {} from knowledge base data of {}.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&profile.generator_version),
        esc(&profile.kb_data_date)
    );
    out
}
