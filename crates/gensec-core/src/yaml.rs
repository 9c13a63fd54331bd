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
    Ok(text
        .lines()
        .map(|line| DATE_LINE.replace(line, "$1'$2'").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n")
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
}
