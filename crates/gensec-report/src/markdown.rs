//! `research/security-research-profile.md`, rendered from [`crate::view`].

use crate::profile::ServiceProfile;
use crate::view::{self, Block, Line, Span};
use gensec_core::markdown::{block_text, code, code_in_table, heading, strong, text};

/// One line of spans; every span's text is escaped, so nothing in it is markup.
/// Outside tables the line starts a block (paragraph or list item).
fn line(spans: &Line, in_table: bool) -> String {
    let mut out = String::new();
    for (index, span) in spans.iter().enumerate() {
        let piece = match span {
            Span::Text(value) if index == 0 && !in_table => block_text(value),
            Span::Text(value) => text(value),
            Span::Code(value) if in_table => code_in_table(value),
            Span::Code(value) => code(value),
            Span::Strong(value) => strong(value),
        };
        out.push_str(&piece);
    }
    out
}

fn block(out: &mut String, block: &Block) {
    match block {
        Block::Para(spans) => {
            out.push_str(&line(spans, false));
            out.push_str("\n\n");
        }
        Block::Source(sources) => {
            if !sources.is_empty() {
                out.push_str(&format!("_source: {}_\n\n", text(&sources.join("; "))));
            }
        }
        Block::Table { headers, rows } => {
            let headers: Vec<String> = headers.iter().map(|h| text(h)).collect();
            out.push_str(&format!("| {} |\n", headers.join(" | ")));
            out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| line(c, true)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            out.push('\n');
        }
        Block::List(items) => {
            for item in items {
                out.push_str(&format!("- {}\n", line(item, false)));
            }
            out.push('\n');
        }
        Block::Checklist(items) => {
            for item in items {
                out.push_str(&format!("- [ ] {}\n", line(item, false)));
            }
            out.push('\n');
        }
        Block::Cases(controls) => {
            // Collapsed where Markdown is rendered (GitHub and most viewers).
            for (summary, cases) in controls {
                out.push_str(&format!(
                    "<details><summary>{}</summary>\n\n",
                    gensec_core::html::escape(&summary.replace(['\n', '\r'], " "))
                ));
                for case in cases {
                    out.push_str(&format!("- {}\n", line(case, false)));
                }
                out.push_str("\n</details>\n\n");
            }
        }
    }
}

/// Render the profile as Markdown.
pub fn render(profile: &ServiceProfile) -> String {
    let mut out = format!("{}\n\n", heading(1, &view::title(profile)));
    for b in view::preamble(profile) {
        block(&mut out, &b);
    }
    for section in view::sections(profile) {
        out.push_str(&format!("{}\n\n", heading(section.level, &section.title)));
        for b in &section.blocks {
            block(&mut out, b);
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
