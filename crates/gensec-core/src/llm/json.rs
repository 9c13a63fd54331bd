//! Getting one JSON value out of a model's answer. Models wrap JSON in code
//! fences, put prose around it, leave trailing commas and stop mid-object when
//! they hit their token limit. What can be repaired without guessing is:
//! fences and prose are cut away, trailing commas dropped, and a truncated
//! answer is cut back to its last complete element and closed (an object
//! cut short is dropped whole, never completed). Anything else
//! is an error; a half-written element is never completed by guesswork.

use serde_json::Value;

/// A parsed answer and what had to be repaired to get it.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub value: Value,
    /// Human-readable repairs, in the order they were applied.
    pub repairs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the answer contains no JSON object or array")]
    NoJson,
    #[error("the answer's JSON cannot be repaired: {0}")]
    Unrepairable(String),
}

/// Parse the first JSON object or array in `text`, repairing what is safe.
pub fn extract(text: &str) -> Result<Extracted, ExtractError> {
    let mut repairs = Vec::new();
    let trimmed = text.trim().trim_start_matches('\u{feff}');
    if let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(trimmed) {
        return Ok(Extracted { value, repairs });
    }
    let mut body = trimmed;
    if let Some(inner) = fenced(trimmed) {
        repairs.push("removed a Markdown code fence".to_string());
        body = inner;
    }
    let start = body.find(['{', '[']).ok_or(ExtractError::NoJson)?;
    let scan = scan(&body[start..]);
    match scan.end {
        Some(end) => {
            let candidate = &body[start..start + end];
            if start > 0 || !body[start + end..].trim().is_empty() {
                repairs.push("ignored text around the JSON".to_string());
            }
            parse_repaired(candidate, &mut repairs)
        }
        None => {
            let Some((cut, open)) = scan.last_safe else {
                return Err(ExtractError::Unrepairable(
                    "truncated before the first complete element".into(),
                ));
            };
            let mut candidate = body[start..start + cut].trim_end().to_string();
            if candidate.ends_with(',') {
                candidate.pop();
            }
            for closer in open.iter().rev() {
                candidate.push(*closer);
            }
            repairs.push(
                "closed a truncated answer after its last complete element (the rest was dropped)"
                    .to_string(),
            );
            if start > 0 {
                repairs.push("ignored text around the JSON".to_string());
            }
            parse_repaired(&candidate, &mut repairs)
        }
    }
}

fn parse_repaired(candidate: &str, repairs: &mut Vec<String>) -> Result<Extracted, ExtractError> {
    match serde_json::from_str::<Value>(candidate) {
        Ok(value) => Ok(Extracted {
            value,
            repairs: std::mem::take(repairs),
        }),
        Err(first) => {
            let without = remove_trailing_commas(candidate);
            if without != candidate
                && let Ok(value) = serde_json::from_str::<Value>(&without)
            {
                repairs.push("removed trailing commas".to_string());
                return Ok(Extracted {
                    value,
                    repairs: std::mem::take(repairs),
                });
            }
            Err(ExtractError::Unrepairable(first.to_string()))
        }
    }
}

/// The inside of the first ``` fence (an unclosed fence runs to the end).
fn fenced(text: &str) -> Option<&str> {
    let open = text.find("```")?;
    let after = &text[open + 3..];
    // Skip the info string (`json`, `JSON`, ...) up to the end of the line.
    let body_start = after.find('\n').map_or(after.len(), |newline| newline + 1);
    let body = &after[body_start..];
    Some(match body.find("```") {
        Some(close) => &body[..close],
        None => body,
    })
}

struct Scan {
    /// Length of the first complete top-level value.
    end: Option<usize>,
    /// Where a truncated value can be cut: the length up to the last complete
    /// element, and the closers still open there.
    last_safe: Option<(usize, Vec<char>)>,
}

/// Walk a JSON text that starts with `{` or `[`, outside strings tracking
/// nesting, to find where it ends or where it could be cut.
fn scan(text: &str) -> Scan {
    let mut stack: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut last_safe = None;
    for (index, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' => {
                if stack.pop() != Some(c) {
                    // Mismatched brackets: nothing safe to say about the rest.
                    return Scan {
                        end: None,
                        last_safe,
                    };
                }
                if stack.is_empty() {
                    return Scan {
                        end: Some(index + 1),
                        last_safe,
                    };
                }
                // A closed container completes an element of its parent.
                if whole_objects_only(&stack) {
                    last_safe = Some((index + 1, stack.clone()));
                }
            }
            // Before a comma, the element (or key: value pair) is complete.
            ',' if whole_objects_only(&stack) => last_safe = Some((index, stack.clone())),
            _ => {}
        }
    }
    Scan {
        end: None,
        last_safe,
    }
}

/// Cutting here leaves no object but the root half-written: every container
/// open below the root is an array. (A half-written item could lack a field
/// that changes its meaning, such as the reason for a priority change.)
fn whole_objects_only(stack: &[char]) -> bool {
    !stack.is_empty() && stack[1..].iter().all(|closer| *closer == ']')
}

/// Drop commas that directly precede `}` or `]` (outside strings).
fn remove_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (index, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ',' {
            let next = chars[index + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_json_needs_no_repair() {
        let out = extract(r#" {"a": [1, 2]} "#).unwrap();
        assert_eq!(out.value, json!({"a": [1, 2]}));
        assert!(out.repairs.is_empty());
    }

    #[test]
    fn fences_and_prose_are_cut_away() {
        let out = extract("Here you go:\n```json\n{\"a\": \"}\"}\n```\nHope this helps!").unwrap();
        assert_eq!(out.value, json!({"a": "}"}));
        assert_eq!(out.repairs.len(), 1, "{:?}", out.repairs);
        let out = extract("Sure! {\"a\": 1} Anything else?").unwrap();
        assert_eq!(out.value, json!({"a": 1}));
        assert_eq!(out.repairs, vec!["ignored text around the JSON"]);
    }

    #[test]
    fn trailing_commas_are_dropped() {
        let out = extract(r#"{"a": [1, 2,], "b": "x,]",}"#).unwrap();
        assert_eq!(out.value, json!({"a": [1, 2], "b": "x,]"}));
        assert!(out.repairs.iter().any(|r| r.contains("trailing commas")));
    }

    #[test]
    fn truncation_keeps_complete_elements_only() {
        let text = r#"{"items": [{"id": "A", "text": "done"}, {"id": "B", "text": "cut of"#;
        let out = extract(text).unwrap();
        assert_eq!(out.value, json!({"items": [{"id": "A", "text": "done"}]}));
        assert!(out.repairs[0].contains("truncated"));
        // A nested object cut short is dropped whole; the pair before it survives.
        let out = extract(r#"{"a": 1, "b": {"c": [true, false], "d""#).unwrap();
        assert_eq!(out.value, json!({"a": 1}));
        // A truncated fence is still a fence.
        let out = extract("```json\n{\"a\": [1, 2, 3").unwrap();
        assert_eq!(out.value, json!({"a": [1, 2]}));
    }

    #[test]
    fn hopeless_answers_are_errors_not_guesses() {
        assert_eq!(
            extract("I cannot help with that."),
            Err(ExtractError::NoJson)
        );
        assert!(matches!(
            extract(r#"{"a": "never closed"#),
            Err(ExtractError::Unrepairable(_))
        ));
        assert!(matches!(
            extract("{'single': 'quotes'}"),
            Err(ExtractError::Unrepairable(_))
        ));
        assert!(extract("{]").is_err());
    }
}
