//! Text from the inputs inserted into generated Markdown (`summary.md`, the
//! research profile, `iam-review.md`) stays text: no heading, list, link,
//! emphasis, table cell, HTML or line break can come from it.
//!
//! CommonMark lets any ASCII punctuation be escaped with a backslash; only
//! the characters that can start markup anywhere in a line are escaped, so
//! ordinary prose (`e.g.`, `a-b`, `(x)`) stays readable in the source.

/// Characters that start inline markup anywhere in a line (emphasis, code,
/// links, images, autolinks and HTML, entities, tables, GFM strikethrough)
/// or block markup at its start (headings, block quotes).
const INLINE_MARKUP: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '!', '&', '|', '~', '#',
];

/// A line separator of any kind, or another control character: becomes a space.
fn is_break(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Escape `value` for inline use in Markdown, after other text on its line:
/// the rendered text is `value` with line breaks and control characters
/// turned into spaces.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for_each_special(value, &mut out, |c, out| {
        if is_break(c) {
            out.push(' ');
        } else {
            if INLINE_MARKUP.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    });
    out
}

/// Bytes that may need more than a copy: ASCII markup and controls, and the
/// first byte of every non-ASCII character (a few are breaks).
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte < 0x20 || byte >= 0x7f;
        byte += 1;
    }
    let mut index = 0;
    while index < INLINE_MARKUP.len() {
        table[INLINE_MARKUP[index] as usize] = true;
        index += 1;
    }
    table
};

/// Copy `value` into `out`, runs of ordinary characters at once, and hand
/// every other character to `special` (generated documents are mostly
/// plain ASCII: this was a fortieth of a small service's run char by char).
fn for_each_special(value: &str, out: &mut String, mut special: impl FnMut(char, &mut String)) {
    let bytes = value.as_bytes();
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        if !SPECIAL[usize::from(bytes[at])] {
            at += 1;
            continue;
        }
        out.push_str(&value[copied..at]);
        // `at` starts a character: runs hold whole ASCII characters and a
        // special character is skipped whole.
        let c = value[at..].chars().next().unwrap_or(' ');
        special(c, out);
        at += c.len_utf8();
        copied = at;
    }
    out.push_str(&value[copied..]);
}

/// [`text`] that starts a paragraph or a list item, where leading spaces
/// would indent a code block and `-`, `+`, `1.` or `1)` would start a list.
pub fn block_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut rest = value;
    while let Some(c) = rest.chars().next().filter(|c| *c == ' ' || is_break(*c)) {
        out.push_str("&#32;");
        rest = &rest[c.len_utf8()..];
    }
    if rest.starts_with(['-', '+', '=']) {
        out.push('\\');
    }
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && rest[digits..].starts_with(['.', ')']) {
        out.push_str(&rest[..digits]);
        out.push('\\');
        rest = &rest[digits..];
    }
    out.push_str(&text(rest));
    out
}

/// A heading of `level` (1 to 6) whose title is `value`.
pub fn heading(level: u8, value: &str) -> String {
    let level = usize::from(level.clamp(1, 6));
    format!("{} {}", "#".repeat(level), text(value))
}

/// `value` in strong emphasis. Emphasis cannot open or close next to
/// whitespace, so leading and trailing spaces are written as entities.
pub fn strong(value: &str) -> String {
    let trimmed = value.trim_matches(|c: char| c.is_whitespace() || is_break(c));
    if trimmed.is_empty() {
        return text(value);
    }
    let start = value.find(trimmed).unwrap_or(0);
    let (before, after) = (&value[..start], &value[start + trimmed.len()..]);
    let spaces = |edge: &str| "&#32;".repeat(edge.chars().count());
    format!("**{}{}{}**", spaces(before), text(trimmed), spaces(after))
}

/// `value` as a code span: a fence longer than any backtick run inside,
/// padded where the content starts or ends with a backtick or a space.
pub fn code(value: &str) -> String {
    // Breaks become spaces; then the longest backtick run is counted (only
    // backticks are looked at, with a memchr).
    let mut content = String::with_capacity(value.len());
    for_each_special(value, &mut content, |c, out| {
        out.push(if is_break(c) { ' ' } else { c });
    });
    let mut longest = 0;
    let mut rest = content.as_str();
    while let Some(start) = rest.find('`') {
        let run = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        longest = longest.max(run);
        rest = &rest[start + run..];
    }
    if content.is_empty() {
        return "` `".to_string();
    }
    let fence = "`".repeat(longest + 1);
    let pad = content.starts_with(['`', ' ']) || content.ends_with(['`', ' ']);
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{content}{space}{fence}")
}

/// [`code`] for a table cell: GFM splits cells at `|` even inside code spans
/// unless it is escaped, and removes that backslash when rendering.
pub fn code_in_table(value: &str) -> String {
    code(value).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_and_breaks_become_spaces() {
        assert_eq!(text("a*b_c\nd"), "a\\*b\\_c d");
        assert_eq!(text("# x"), "\\# x");
        assert_eq!(text("e.g. (a-b) 1.5 "), "e.g. (a-b) 1.5 ");
        assert_eq!(text("<script>&amp;"), "\\<script\\>\\&amp;");
        assert_eq!(text("a\u{2028}b\rc"), "a b c");
    }

    #[test]
    fn block_starts_cannot_make_lists_or_code() {
        assert_eq!(block_text("- item"), "\\- item");
        assert_eq!(block_text("12. twelve"), "12\\. twelve");
        assert_eq!(block_text("12 apes"), "12 apes");
        assert_eq!(block_text("    x"), "&#32;&#32;&#32;&#32;x");
        assert_eq!(block_text("\n1) x"), "&#32;1\\) x");
    }

    #[test]
    fn runs_are_copied_as_the_character_by_character_definition_would() {
        let by_char = |value: &str| -> String {
            value
                .chars()
                .map(|c| if is_break(c) { ' ' } else { c })
                .flat_map(|c| {
                    INLINE_MARKUP
                        .contains(&c)
                        .then_some('\\')
                        .into_iter()
                        .chain([c])
                })
                .collect()
        };
        for value in [
            "",
            "plain",
            "a*b_c\nd",
            "é`x`ü\u{2028}\u{85}[y]\u{7f}z",
            "日本 | 語 ~~ <b>",
            "``` ``x`` `",
        ] {
            assert_eq!(text(value), by_char(value), "{value:?}");
        }
        assert_eq!(code("a``b`\u{2029}c"), "```a``b` c```");
        assert_eq!(code("é``"), "``` é`` ```");
    }

    #[test]
    fn code_spans_always_close() {
        assert_eq!(code("s3"), "`s3`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code(""), "` `");
        assert_eq!(code_in_table("a|b"), "`a\\|b`");
    }

    #[test]
    fn strong_and_headings() {
        assert_eq!(strong("*Acme*"), "**\\*Acme\\***");
        assert_eq!(strong(" Acme "), "**&#32;Acme&#32;**");
        assert_eq!(strong(""), "");
        assert_eq!(heading(2, "A # B"), "## A \\# B");
        assert_eq!(heading(9, "x"), "###### x");
    }
}
