//! `research/security-research-profile.md`, rendered from [`crate::view`].

use crate::escape::{md_cell, md_code};
use crate::profile::ServiceProfile;
use crate::view::{self, Block, Line, Span};

/// Markdown renders inline HTML; text from the inputs must not become markup.
fn no_html(text: &str) -> String {
    text.replace('<', "&lt;")
}

fn line(spans: &Line, in_table: bool) -> String {
    let mut out = String::new();
    for span in spans {
        let piece = match span {
            Span::Text(text) => no_html(text),
            Span::Code(text) => md_code(text),
            Span::Strong(text) => format!("**{}**", no_html(text)),
        };
        out.push_str(&piece);
    }
    if in_table {
        md_cell(&out)
    } else {
        out.replace(['\n', '\r'], " ")
    }
}

fn block(out: &mut String, block: &Block) {
    match block {
        Block::Para(spans) => {
            out.push_str(&line(spans, false));
            out.push_str("\n\n");
        }
        Block::Source(sources) => {
            if !sources.is_empty() {
                out.push_str(&format!("_source: {}_\n\n", no_html(&sources.join("; "))));
            }
        }
        Block::Table { headers, rows } => {
            let headers: Vec<String> = headers.iter().map(|h| md_cell(&no_html(h))).collect();
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
                    no_html(summary).replace(['\n', '\r'], " ")
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
    let mut out = format!("# {}\n\n", no_html(&view::title(profile)));
    for b in view::preamble(profile) {
        block(&mut out, &b);
    }
    for section in view::sections(profile) {
        let hashes = "#".repeat(usize::from(section.level));
        out.push_str(&format!("{hashes} {}\n\n", no_html(&section.title)));
        for b in &section.blocks {
            block(&mut out, b);
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
