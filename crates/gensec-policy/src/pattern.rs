//! Policy strings with wildcards and policy variables, matched without
//! allocating (a template with variables allocates one small slice of the
//! resolved values).
//!
//! Grammar, as IAM reads a policy of version `2012-10-17`:
//! - `*` matches any run of characters (also `/` and `:`), `?` exactly one,
//!   where the element allows wildcards (actions, resources, `...Like`, `Arn...`);
//! - `${key}` is replaced by the single value of `key` in the request context
//!   (keys are case-insensitive); `${key, 'default'}` falls back to the
//!   default (`''` inside it is one quote); a key that is absent or
//!   multivalued, without default, makes the value *unresolvable*, and an
//!   unresolvable value never matches;
//! - `${*}`, `${?}`, `${$}` are a literal `*`, `?`, `$`; a resolved value is
//!   literal text (its `*` is not a wildcard).
//!
//! Policies of version `2008-10-17` (or without `Version`) have no variables:
//! `${...}` is literal text there (AWS: "IAM JSON policy elements: Version").

/// Where the values of policy variables come from.
pub(crate) trait Variables {
    /// The single value of `key`; `None` when absent or multivalued.
    fn variable(&self, key: &str) -> Option<&str>;
}

/// No variables at all (action matching, tests).
pub(crate) struct NoVariables;

impl Variables for NoVariables {
    fn variable(&self, _key: &str) -> Option<&str> {
        None
    }
}

/// What a policy string may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    pub wildcards: bool,
    pub variables: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    AnyRun,
    AnyChar,
    Var {
        key: String,
        default: Option<String>,
        slot: usize,
    },
}

/// A parsed policy string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
    variables: usize,
}

#[derive(Clone, Copy)]
struct Cursor {
    piece: usize,
    offset: usize,
}

enum Unit {
    End,
    Run,
    One,
    Char(char, Cursor),
}

impl Template {
    /// Parse `raw`; the error is a message for a malformed `${...}`.
    pub fn parse(raw: &str, syntax: Syntax) -> Result<Self, String> {
        let mut template = Template {
            pieces: Vec::new(),
            variables: 0,
        };
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if syntax.variables
                && rest.starts_with("${")
                && let Some(end) = rest.find('}')
            {
                template.push_variable(&rest[2..end])?;
                rest = &rest[end + 1..];
                continue;
            }
            match c {
                '*' if syntax.wildcards => template.pieces.push(Piece::AnyRun),
                '?' if syntax.wildcards => template.pieces.push(Piece::AnyChar),
                _ => template.push_text(&rest[..c.len_utf8()]),
            }
            rest = &rest[c.len_utf8()..];
        }
        Ok(template)
    }

    fn push_text(&mut self, text: &str) {
        if let Some(Piece::Text(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else if !text.is_empty() {
            self.pieces.push(Piece::Text(text.to_string()));
        }
    }

    fn push_variable(&mut self, inside: &str) -> Result<(), String> {
        match inside {
            "*" | "?" | "$" => {
                self.push_text(inside);
                return Ok(());
            }
            _ => {}
        }
        let (key, default) = match inside.split_once(',') {
            None => (inside.trim(), None),
            Some((key, default)) => {
                let default = default.trim();
                let quoted =
                    default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'');
                if !quoted {
                    return Err(format!(
                        "policy variable ${{{inside}}}: the default must be in single quotes"
                    ));
                }
                let text = default[1..default.len() - 1].replace("''", "'");
                (key.trim(), Some(text))
            }
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("policy variable ${{{inside}}} has no valid key"));
        }
        self.pieces.push(Piece::Var {
            key: key.to_string(),
            default,
            slot: self.variables,
        });
        self.variables += 1;
        Ok(())
    }

    pub fn ends_with_any_run(&self) -> bool {
        matches!(self.pieces.last(), Some(Piece::AnyRun))
    }

    pub fn has_variables(&self) -> bool {
        self.variables > 0
    }

    /// The text with no wildcards or variables, if that is all it is.
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(text)] => Some(text),
            _ => None,
        }
    }

    /// Split at the first `max_parts - 1` colons of literal text (never inside
    /// a variable such as `${aws:username}`), for the segments of an ARN.
    pub fn split_colons(&self, max_parts: usize) -> Vec<Template> {
        let mut parts = vec![Template {
            pieces: Vec::new(),
            variables: 0,
        }];
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => {
                    let mut rest = text.as_str();
                    while parts.len() < max_parts {
                        let Some((before, after)) = rest.split_once(':') else {
                            break;
                        };
                        last_part(&mut parts).push_text(before);
                        parts.push(Template {
                            pieces: Vec::new(),
                            variables: 0,
                        });
                        rest = after;
                    }
                    last_part(&mut parts).push_text(rest);
                }
                Piece::Var { key, default, .. } => {
                    let part = last_part(&mut parts);
                    part.pieces.push(Piece::Var {
                        key: key.clone(),
                        default: default.clone(),
                        slot: part.variables,
                    });
                    part.variables += 1;
                }
                other => last_part(&mut parts).pieces.push(other.clone()),
            }
        }
        parts
    }

    /// Whether `text` matches; `None` when a variable cannot be resolved.
    pub fn matches(&self, text: &str, vars: &dyn Variables, fold_case: bool) -> Option<bool> {
        if self.variables == 0 {
            return Some(glob(&self.pieces, &[], text, fold_case));
        }
        let resolved = self.resolve(vars)?;
        Some(glob(&self.pieces, &resolved, text, fold_case))
    }

    /// The text with variables replaced; `None` when one cannot be resolved.
    /// Wildcards are kept as `*` and `?`.
    pub fn render(&self, vars: &dyn Variables) -> Option<String> {
        let resolved = self.resolve(vars)?;
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::AnyRun => out.push('*'),
                Piece::AnyChar => out.push('?'),
                Piece::Var { slot, .. } => out.push_str(resolved[*slot]),
            }
        }
        Some(out)
    }

    /// The template with variables replaced by their values as literal
    /// text; `None` when one cannot be resolved.
    pub fn substitute(&self, vars: &dyn Variables) -> Option<Template> {
        let resolved = self.resolve(vars)?;
        let mut out = Template {
            pieces: Vec::with_capacity(self.pieces.len()),
            variables: 0,
        };
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_text(text),
                Piece::Var { slot, .. } => out.push_text(resolved[*slot]),
                other => out.pieces.push(other.clone()),
            }
        }
        Some(out)
    }

    fn resolve<'a>(&'a self, vars: &'a dyn Variables) -> Option<Vec<&'a str>> {
        let mut resolved = Vec::with_capacity(self.variables);
        for piece in &self.pieces {
            if let Piece::Var { key, default, .. } = piece {
                resolved.push(vars.variable(key).or(default.as_deref())?);
            }
        }
        Some(resolved)
    }
}

fn last_part(parts: &mut [Template]) -> &mut Template {
    let index = parts.len() - 1;
    &mut parts[index]
}

fn literal<'a>(pieces: &'a [Piece], vars: &[&'a str], index: usize) -> Option<&'a str> {
    match &pieces[index] {
        Piece::Text(text) => Some(text),
        Piece::Var { slot, .. } => Some(vars[*slot]),
        Piece::AnyRun | Piece::AnyChar => None,
    }
}

/// Skip literal pieces that are used up (or empty).
fn normalise(pieces: &[Piece], vars: &[&str], mut cursor: Cursor) -> Cursor {
    while cursor.piece < pieces.len() {
        match literal(pieces, vars, cursor.piece) {
            Some(text) if cursor.offset >= text.len() => {
                cursor = Cursor {
                    piece: cursor.piece + 1,
                    offset: 0,
                };
            }
            _ => break,
        }
    }
    cursor
}

fn unit(pieces: &[Piece], vars: &[&str], cursor: Cursor) -> Unit {
    if cursor.piece >= pieces.len() {
        return Unit::End;
    }
    match &pieces[cursor.piece] {
        Piece::AnyRun => Unit::Run,
        Piece::AnyChar => Unit::One,
        _ => {
            let text = literal(pieces, vars, cursor.piece).unwrap_or_default();
            match text[cursor.offset..].chars().next() {
                Some(c) => Unit::Char(
                    c,
                    normalise(
                        pieces,
                        vars,
                        Cursor {
                            piece: cursor.piece,
                            offset: cursor.offset + c.len_utf8(),
                        },
                    ),
                ),
                None => Unit::End,
            }
        }
    }
}

fn next_piece(pieces: &[Piece], vars: &[&str], cursor: Cursor) -> Cursor {
    normalise(
        pieces,
        vars,
        Cursor {
            piece: cursor.piece + 1,
            offset: 0,
        },
    )
}

pub(crate) fn chars_equal(a: char, b: char, fold_case: bool) -> bool {
    a == b
        || (fold_case
            && (a.eq_ignore_ascii_case(&b)
                || (!a.is_ascii() || !b.is_ascii()) && a.to_lowercase().eq(b.to_lowercase())))
}

fn char_len(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(1, char::len_utf8)
}

/// Wildcard match with one backtracking point (the last `*` seen), linear
/// in the common case.
fn glob(pieces: &[Piece], vars: &[&str], text: &str, fold_case: bool) -> bool {
    let mut cursor = normalise(
        pieces,
        vars,
        Cursor {
            piece: 0,
            offset: 0,
        },
    );
    let mut at = 0;
    let mut star: Option<(Cursor, usize)> = None;
    loop {
        match unit(pieces, vars, cursor) {
            Unit::Run => {
                cursor = next_piece(pieces, vars, cursor);
                star = Some((cursor, at));
                continue;
            }
            Unit::One if at < text.len() => {
                at += char_len(text, at);
                cursor = next_piece(pieces, vars, cursor);
                continue;
            }
            Unit::Char(c, next) if at < text.len() => {
                let t = text[at..].chars().next().unwrap_or_default();
                if chars_equal(c, t, fold_case) {
                    at += t.len_utf8();
                    cursor = next;
                    continue;
                }
            }
            Unit::End if at == text.len() => return true,
            _ => {}
        }
        match star {
            Some((after_star, start)) if start < text.len() => {
                let start = start + char_len(text, start);
                star = Some((after_star, start));
                cursor = after_star;
                at = start;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LIKE: Syntax = Syntax {
        wildcards: true,
        variables: true,
    };
    const EQUALS: Syntax = Syntax {
        wildcards: false,
        variables: true,
    };

    struct Map(HashMap<String, String>);
    impl Variables for Map {
        fn variable(&self, key: &str) -> Option<&str> {
            self.0.get(&key.to_ascii_lowercase()).map(String::as_str)
        }
    }
    fn vars(pairs: &[(&str, &str)]) -> Map {
        Map(pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect())
    }
    fn like(pattern: &str, text: &str) -> bool {
        Template::parse(pattern, LIKE)
            .unwrap()
            .matches(text, &NoVariables, false)
            .unwrap()
    }

    #[test]
    fn star_matches_any_run_including_slashes_and_colons() {
        assert!(like("*", ""));
        assert!(like("a*", "a"));
        assert!(like("bucket/*/test/*", "bucket/1/2/test/3/object.jpg"));
        assert!(like("a*b*c", "a:x/b::c"));
        assert!(!like("bucket/*/test/*", "bucket/1-test/object.jpg"));
        assert!(like("*a*a*a", "aaaa"));
        assert!(!like("*a*a*a*b", "aaaa"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(like("b?t", "bat"));
        assert!(like("b?t", "b\u{e9}t"));
        assert!(!like("b?t", "bt"));
        assert!(!like("b?t", "boat"));
    }

    #[test]
    fn wildcards_are_literal_without_wildcard_syntax() {
        let template = Template::parse("a*", EQUALS).unwrap();
        assert_eq!(template.matches("a*", &NoVariables, false), Some(true));
        assert_eq!(template.matches("ab", &NoVariables, false), Some(false));
    }

    #[test]
    fn case_folding_is_optional() {
        let template = Template::parse("Team-*", LIKE).unwrap();
        assert_eq!(
            template.matches("team-red", &NoVariables, false),
            Some(false)
        );
        assert_eq!(template.matches("team-red", &NoVariables, true), Some(true));
    }

    #[test]
    fn variables_resolve_case_insensitively_and_literally() {
        let template = Template::parse("home/${aws:username}/*", LIKE).unwrap();
        let context = vars(&[("AWS:UserName", "a*")]);
        assert_eq!(template.matches("home/a*/x", &context, false), Some(true));
        // The resolved `*` is literal text, not a wildcard.
        assert_eq!(template.matches("home/abc/x", &context, false), Some(false));
        assert_eq!(template.matches("home/a*/x", &NoVariables, false), None);
    }

    #[test]
    fn defaults_and_escapes() {
        let template = Template::parse("${aws:PrincipalTag/team, 'no''ne'}", EQUALS).unwrap();
        assert_eq!(template.matches("no'ne", &NoVariables, false), Some(true));
        let escapes = Template::parse("${*}${?}${$}*", LIKE).unwrap();
        assert_eq!(
            escapes.matches("*?$anything", &NoVariables, false),
            Some(true)
        );
        assert_eq!(escapes.matches("x?$", &NoVariables, false), Some(false));
        assert!(Template::parse("${aws:username, default}", EQUALS).is_err());
        assert!(Template::parse("${ }", EQUALS).is_err());
    }

    #[test]
    fn without_variable_syntax_dollar_braces_are_text() {
        let template = Template::parse(
            "${aws:username}",
            Syntax {
                wildcards: true,
                variables: false,
            },
        )
        .unwrap();
        assert_eq!(
            template.matches("${aws:username}", &NoVariables, false),
            Some(true)
        );
    }

    #[test]
    fn split_colons_keeps_variables_whole() {
        let template =
            Template::parse("arn:aws:iam::${aws:PrincipalAccount}:role/a:b", LIKE).unwrap();
        let parts = template.split_colons(6);
        assert_eq!(parts.len(), 6);
        let context = vars(&[("aws:PrincipalAccount", "111122223333")]);
        assert_eq!(
            parts[4].matches("111122223333", &context, false),
            Some(true)
        );
        assert_eq!(parts[5].as_literal(), Some("role/a:b"));
    }
}
