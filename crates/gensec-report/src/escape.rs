//! Escaping for text inserted into HTML, and a Markdown-safe inline form.

/// Escape text for an HTML element body or a quoted attribute value.
pub use gensec_core::html::escape as html;

/// Text for a Markdown table cell: pipes and line breaks would break the row.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Inline code in Markdown; backticks inside are replaced so the span stays closed.
pub fn md_code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace(['\n', '\r'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn markdown_cells_keep_their_row() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
        assert_eq!(md_code("a`b"), "`a'b`");
    }
}
