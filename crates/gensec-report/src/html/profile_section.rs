//! The research profile inside the report, from the neutral document of
//! [`crate::view`]: tables and lists capped at [`PROFILE_ROWS`] rows.

use crate::escape::html as esc;
use crate::profile::ServiceProfile;
use crate::view::{self, Block, Line, Span};
use std::fmt::Write;

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

pub(super) fn profile_section(out: &mut String, profile: &ServiceProfile) {
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
