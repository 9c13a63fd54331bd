//! Escaping for text inserted into HTML; Markdown is escaped by `gensec_core::markdown`.

/// Escape text for an HTML element body or a quoted attribute value.
pub use gensec_core::html::escape as html;

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
}
