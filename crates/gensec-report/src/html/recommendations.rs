//! The recommendations table, complete without JavaScript (the page's
//! script only adds the filters).

use super::list_collapsed;
use crate::escape::html as esc;
use crate::load::ReportInputs;
use crate::profile::serde_name;
use gensec_core::contract::analysis::Recommendation;
use gensec_core::contract::paths;
use std::fmt::Write;

pub(super) fn recommendations(out: &mut String, inputs: &ReportInputs) {
    let recs = &inputs.recommendations.recommendations;
    out.push_str("<section id=\"recommendations\">\n<h2>Recommendations</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"source\">source: {}; controls: controls/</p>",
        paths::RECOMMENDATIONS
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
            esc(&serde_name(&domain)),
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
        esc(&serde_name(&r.security_domain))
    );
    let compliance: Vec<String> = r
        .compliance
        .iter()
        .filter(|(_, refs)| !refs.is_empty())
        .map(|(framework, refs)| format!("{} {}", serde_name(framework), refs.join(", ")))
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
    let setting = match &r.operational {
        Some(what) => format!("operational: {}", esc(what)),
        None => format!(
            "<code>{}</code> = <code>{}</code>",
            esc(&r.property),
            esc(&serde_json::to_string(&r.recommended_value).unwrap_or_default())
        ),
    };
    let _ = write!(
        out,
        "<td>{}<br>{setting}</td><td><span class=\"prio prio-{priority}\">{priority}</span><br>{}<br>{}<br><span class=\"muted\">{} confidence</span></td><td>",
        esc(&r.resource_type),
        esc(r.security_domain.label()),
        esc(r.threat_vector.label()),
        esc(&serde_name(&r.confidence)),
    );
    let controls = inputs.controls.for_recommendation(r);
    list_collapsed(out, &controls, 4, "controls");
    out.push_str("</td></tr>\n");
}
