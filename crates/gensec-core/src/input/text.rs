//! What text gensec accepts from people, and how it shows text on a terminal.
//!
//! Input documents and command-line values may not carry characters that
//! change how text is displayed rather than what it says: C0 and C1 control
//! characters (ANSI escape sequences start with one), DEL, bidirectional
//! overrides and isolates (U+202A..U+202E, U+2066..U+2069: "Trojan source"),
//! the line and paragraph separators U+2028/U+2029 and the byte-order mark.
//! Single-line fields (ids, names) accept none of them; free text (a reason,
//! conditions) may keep newlines and tabs. Text that reaches a terminal from
//! storage is escaped anyway ([`escape_controls`]), so older records cannot
//! inject escape sequences either.

use std::borrow::Cow;

/// Longest id or name (profile and service names, requester, actor), in bytes.
pub const NAME_MAX: usize = 256;
/// Longest free text (a reason, conditions, any other input string), in bytes.
pub const TEXT_MAX: usize = 4096;
/// Longest list in an input document.
pub const LIST_MAX: usize = 64;
/// Largest input document, in bytes.
pub const FILE_MAX: usize = 1024 * 1024;

/// A character that changes how text is displayed: control characters (C0,
/// DEL, C1), bidirectional formatting, line/paragraph separators, BOM.
pub fn is_display_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
        )
}

/// Check a single-line value (id, name): at most `max` bytes, no display
/// control character. The message says what is wrong, for an [`InputError`](crate::InputError).
pub fn check_line(value: &str, max: usize) -> Result<(), String> {
    check(value, max, false)
}

/// Check free text: at most `max` bytes; newlines and tabs are allowed, other
/// display control characters are not.
pub fn check_text(value: &str, max: usize) -> Result<(), String> {
    check(value, max, true)
}

fn check(value: &str, max: usize, multiline: bool) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "is {} bytes long; the limit is {max} bytes",
            value.len()
        ));
    }
    let bad = value
        .char_indices()
        .find(|(_, c)| is_display_control(*c) && !(multiline && matches!(c, '\n' | '\t')));
    match bad {
        Some((at, c)) => Err(format!(
            "contains the control character U+{:04X} at byte {at}; {}",
            u32::from(c),
            if multiline {
                "only newlines and tabs are allowed in free text"
            } else {
                "control, bidirectional-formatting and line-separator characters are not allowed"
            }
        )),
        None => Ok(()),
    }
}

/// A non-blank single-line value named `what` (e.g. `--by`): trimmed, checked.
pub fn required_line(what: &str, value: &str, max: usize) -> Result<(), crate::InputError> {
    if value.trim().is_empty() {
        return Err(crate::InputError::new(
            what,
            "$",
            "must not be empty or blank",
        ));
    }
    check_line(value, max).map_err(|message| crate::InputError::new(what, "$", message))
}

/// A non-blank free text value named `what` (e.g. `--reason`): trimmed, checked.
pub fn required_text(what: &str, value: &str, max: usize) -> Result<(), crate::InputError> {
    if value.trim().is_empty() {
        return Err(crate::InputError::new(
            what,
            "$",
            "must not be empty or blank",
        ));
    }
    check_text(value, max).map_err(|message| crate::InputError::new(what, "$", message))
}

/// Text for a terminal: every display control character (newlines and tabs
/// included) is written as a visible `\u{...}` escape, so stored text can
/// neither move the cursor, recolour the screen nor reorder what follows.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_display_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_display_control(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text for a terminal: display control characters that JSON allows
/// raw inside strings (C1, bidirectional formatting, U+2028/U+2029, BOM) are
/// written as `\uXXXX` escapes; the document means the same. Whitespace
/// between tokens (newlines, tabs) stays: a serialiser escapes C0 inside
/// strings itself.
pub fn escape_json_controls(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| is_display_control(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        // Every character concerned is in the Basic Multilingual Plane.
        if escaped(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escape_sequences_bidi_overrides_and_separators() {
        for bad in [
            "S3\u{1b}[31m",
            "S3\u{202e}",
            "S3\u{0007}",
            "a\u{2028}b",
            "a\u{85}b",
            "\u{feff}S3",
            "a\nb",
        ] {
            let err = check_line(bad, NAME_MAX).unwrap_err();
            assert!(err.contains("control character U+"), "{bad:?}: {err}");
        }
        assert!(check_line("Amazon S3 (Simple Storage Service) – ünïcode", NAME_MAX).is_ok());
    }

    #[test]
    fn free_text_keeps_newlines_and_tabs_only() {
        assert!(check_text("line one\n\tline two", TEXT_MAX).is_ok());
        assert!(check_text("red \u{1b}[31m", TEXT_MAX).is_err());
        assert!(check_text("x\u{2066}y", TEXT_MAX).is_err());
    }

    #[test]
    fn limits_are_in_bytes_and_named() {
        let err = check_line(&"a".repeat(NAME_MAX + 1), NAME_MAX).unwrap_err();
        assert!(err.contains("limit is 256 bytes"), "{err}");
        assert!(check_line(&"a".repeat(NAME_MAX), NAME_MAX).is_ok());
    }

    #[test]
    fn blank_values_are_refused() {
        let err = required_line("--by", "  ", NAME_MAX).unwrap_err();
        assert_eq!(err.source_name, "--by");
        assert!(err.message.contains("empty"));
        assert!(required_text("--reason", "\n\t", TEXT_MAX).is_err());
        assert!(required_text("--reason", "meets the standard", TEXT_MAX).is_ok());
    }

    #[test]
    fn escaping_makes_controls_visible() {
        assert_eq!(
            escape_controls("S3\u{202e}\u{7}\x1b[2J\nok"),
            "S3\\u{202e}\\u{0007}\\u{001b}[2J\\u{000a}ok"
        );
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_escaping_keeps_the_document() {
        let value = serde_json::json!({"name": "S3\u{202e}\u{85}\u{7}x"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let escaped = escape_json_controls(&text);
        assert!(
            !escaped.chars().any(|c| is_display_control(c) && c != '\n'),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }
}
