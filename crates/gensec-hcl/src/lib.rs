//! HCL building blocks shared by the two Terraform writers: stage 4's
//! translation of the hardened template (`gensec-iac`) and the finding fixes
//! (`gensec-remediate`). Expressions are built as `hcl-rs` structures, never
//! pasted as text; [`align`] and [`comment`] add the layout `terraform fmt`
//! gives and `hcl-rs`'s formatter leaves out.

use hcl::Identifier;
use hcl::expr::{Expression, FuncCall, Object, ObjectKey, Traversal, Variable};
use serde_json::Value;

/// Can `text` stand unquoted as an HCL identifier (object key, argument name)?
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(text, "true" | "false" | "null")
}

/// `root.a.b` for names the caller made (labels, curated attribute names).
pub fn traversal(root: &str, attributes: &[&str]) -> Expression {
    let mut builder = Traversal::builder(Variable::unchecked(root));
    for attribute in attributes {
        builder = builder.attr(Identifier::unchecked(*attribute));
    }
    Expression::from(builder.build())
}

/// `root.a.b` for names from outside (a catalogue, a finding): `None` when a
/// part is not a valid identifier.
pub fn checked_traversal(root: &str, attributes: &[&str]) -> Option<Expression> {
    let mut builder = Traversal::builder(Variable::new(root.to_string()).ok()?);
    for attribute in attributes {
        builder = builder.attr(Identifier::new(attribute.to_string()).ok()?);
    }
    Some(Expression::from(builder.build()))
}

/// `name(args...)`.
pub fn call(name: &str, args: Vec<Expression>) -> Expression {
    let mut builder = FuncCall::builder(Identifier::unchecked(name));
    for arg in args {
        builder = builder.arg(arg);
    }
    Expression::from(builder.build())
}

/// An object key: bare when it is an identifier, quoted otherwise.
pub fn object_key(key: &str) -> ObjectKey {
    if is_identifier(key) {
        ObjectKey::Identifier(Identifier::unchecked(key))
    } else {
        ObjectKey::Expression(Expression::String(key.to_string()))
    }
}

/// A JSON number as an HCL number (integers kept exact); `null` for a float
/// HCL cannot hold.
pub fn number(value: &serde_json::Number) -> Expression {
    if let Some(int) = value.as_i64() {
        Expression::Number(hcl::Number::from(int))
    } else if let Some(int) = value.as_u64() {
        Expression::Number(hcl::Number::from(int))
    } else {
        value
            .as_f64()
            .and_then(hcl::Number::from_f64)
            .map_or(Expression::Null, Expression::Number)
    }
}

/// A constant JSON value as HCL, object keys sorted.
pub fn literal(value: &Value) -> Expression {
    match value {
        Value::Null => Expression::Null,
        Value::Bool(flag) => Expression::Bool(*flag),
        Value::Number(n) => number(n),
        Value::String(text) => Expression::String(text.clone()),
        Value::Array(items) => Expression::Array(items.iter().map(literal).collect()),
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            let mut out = Object::new();
            for key in keys {
                if let Some(child) = object.get(key) {
                    out.insert(object_key(key), literal(child));
                }
            }
            Expression::Object(out)
        }
    }
}

/// Escape literal text for a quoted HCL template, so that `${` and `%{` stay text.
pub fn escape_template(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// Indentation and key length of an `key = value` line.
fn attribute_key(line: &str) -> Option<(usize, usize)> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let key_len = rest
        .find(|c: char| {
            !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '"' || c == ':')
        })
        .unwrap_or(rest.len());
    (key_len > 0 && rest[key_len..].starts_with(" = ")).then_some((indent, key_len))
}

/// Align the `=` of consecutive attributes at the same indentation, as
/// `terraform fmt` does.
pub fn align(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut start = 0;
    while start < lines.len() {
        let Some((indent, _)) = attribute_key(lines[start]) else {
            out.push_str(lines[start]);
            out.push('\n');
            start += 1;
            continue;
        };
        let mut end = start;
        let mut width = 0;
        while let Some((line_indent, key_len)) = lines.get(end).and_then(|line| attribute_key(line))
        {
            if line_indent != indent {
                break;
            }
            width = width.max(key_len);
            end += 1;
        }
        for line in &lines[start..end] {
            if let Some((_, key_len)) = attribute_key(line) {
                out.push_str(&line[..indent + key_len]);
                out.push_str(&" ".repeat(width - key_len));
                out.push_str(&line[indent + key_len..]);
                out.push('\n');
            }
        }
        start = end;
    }
    out
}

/// One `#` comment line per line of `text`.
pub fn comment(text: &str) -> String {
    if text.is_empty() {
        return "#\n".to_string();
    }
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "#\n".to_string()
            } else {
                format!("# {line}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hcl_text(expr: &Expression) -> String {
        hcl::format::to_string(expr).unwrap_or_else(|err| format!("<{err}>"))
    }

    #[test]
    fn identifiers_exclude_keywords_and_leading_digits() {
        assert!(is_identifier("kms_key-id"));
        assert!(!is_identifier("1st"));
        assert!(!is_identifier("null"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn literal_sorts_keys_and_quotes_the_ones_that_are_not_identifiers() {
        let expr = literal(&json!({"b": [1, 2.5, true], "a b": null}));
        assert_eq!(
            hcl_text(&expr),
            "{\n  \"a b\" = null\n  b = [\n    1,\n    2.5,\n    true\n  ]\n}"
        );
    }

    #[test]
    fn large_unsigned_numbers_stay_exact() {
        let big = serde_json::Number::from(u64::MAX);
        assert_eq!(hcl_text(&number(&big)), u64::MAX.to_string());
    }

    #[test]
    fn checked_traversal_refuses_names_that_are_not_identifiers() {
        let good = checked_traversal("aws_s3_bucket", &["data", "id"]).map(|e| hcl_text(&e));
        assert_eq!(good.as_deref(), Some("aws_s3_bucket.data.id"));
        assert!(checked_traversal("aws_s3_bucket", &["da ta"]).is_none());
        assert!(checked_traversal("${x}", &[]).is_none());
    }

    #[test]
    fn template_escaping_keeps_interpolation_markers_literal() {
        assert_eq!(escape_template("a\"${b}%{c}\n"), "a\\\"$${b}%%{c}\\n");
    }

    #[test]
    fn align_pads_runs_at_the_same_indentation_only() {
        let text = "a = 1\nlong_name = 2\n  x = 3\nb {\n}\n";
        assert_eq!(
            align(text),
            "a         = 1\nlong_name = 2\n  x = 3\nb {\n}\n"
        );
    }

    #[test]
    fn comment_marks_every_line() {
        assert_eq!(comment("one\n\ntwo"), "# one\n#\n# two\n");
        assert_eq!(comment(""), "#\n");
    }
}
