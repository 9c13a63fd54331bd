//! YAML for CloudFormation and Guard test files.

use std::sync::LazyLock;

/// A line whose scalar is a bare date, compiled once: building it per call
/// was a thirtieth of a whole-catalogue run.
static DATE_LINE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(\s*(?:- |[^:#]+: |- [^:#]+: ))(\d{4}-\d{2}-\d{2})\s*$")
        .expect("valid regex")
});

/// Serialise to YAML, quoting scalars that YAML 1.1 readers (cfn-lint,
/// PyYAML) would otherwise turn into dates, such as policy versions.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, serde_yaml::Error> {
    let text = serde_yaml::to_string(value)?;
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        // Only a line ending in a date can match; the pattern is not run on
        // the others (most of a template's lines).
        if ends_with_date(line) {
            out.push_str(&DATE_LINE.replace(line, "$1'$2'"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    Ok(out)
}

/// Does the line end, before trailing white space, in `dddd-dd-dd`?
fn ends_with_date(line: &str) -> bool {
    let bytes = line.trim_end().as_bytes();
    bytes.len() >= 10
        && bytes[bytes.len() - 10..]
            .iter()
            .enumerate()
            .all(|(index, byte)| match index {
                4 | 7 => *byte == b'-',
                _ => byte.is_ascii_digit(),
            })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_stay_strings() {
        let value = serde_json::json!({"AWSTemplateFormatVersion": "2010-09-09", "Policy": {"Version": "2012-10-17"}, "List": ["2012-10-17"], "Name": "x"});
        let text = super::to_string(&value).unwrap();
        assert!(
            text.contains("AWSTemplateFormatVersion: '2010-09-09'"),
            "{text}"
        );
        assert!(text.contains("Version: '2012-10-17'"), "{text}");
        assert!(text.contains("- '2012-10-17'"), "{text}");
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn only_lines_ending_in_a_date_are_candidates() {
        assert!(super::ends_with_date("Version: 2012-10-17"));
        assert!(super::ends_with_date("- 2012-10-17  "));
        assert!(!super::ends_with_date("Version: 2012-10-1x"));
        assert!(!super::ends_with_date("Name: x"));
        assert!(!super::ends_with_date("Version: '2012-10-17'"));
        let value = serde_json::json!({"Description": "since 2012-10-17 at noon", "Empty": ""});
        let text = super::to_string(&value).unwrap();
        assert_eq!(text, serde_yaml::to_string(&value).unwrap());
    }
}
