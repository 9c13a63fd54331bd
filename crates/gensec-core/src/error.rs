//! Error kinds. Every error says whether it was the caller's input, a transient
//! failure worth retrying, or a fatal one, so the CLI can pick an exit code and
//! the state machine a Retry/Catch branch without parsing messages.

use std::fmt;

/// How a caller should react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input was wrong; retrying the same input fails the same way.
    InvalidInput,
    /// A dependency was unavailable (throttling, timeout); retry with backoff.
    Retryable,
    /// Anything else: a bug or a broken environment.
    Fatal,
}

impl ErrorKind {
    /// Stable name used as the Lambda error type and in tracking records.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::Retryable => "Retryable",
            ErrorKind::Fatal => "Fatal",
        }
    }
}

/// A problem with an input document, located precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: at {path}: {message}")]
pub struct InputError {
    /// File name or object key the document came from.
    pub source_name: String,
    /// JSON path of the offending value (`$` for the whole document).
    pub path: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl InputError {
    pub fn new(
        source_name: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            source_name: source_name.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Errors that cross crate boundaries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),

    #[error("unknown service {}{}", shown_name(.name), did_you_mean(.suggestions))]
    UnknownService {
        name: String,
        suggestions: Vec<String>,
    },

    #[error("{what}: {message}")]
    Storage {
        what: String,
        message: String,
        retryable: bool,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// An error about one value of an input document (e.g. an unknown
    /// service named by a request file), located at its file and JSON path.
    /// The inner error keeps its structure (suggestions, kind).
    #[error("{source_name}: at {path}: {inner}")]
    Located {
        source_name: String,
        path: String,
        inner: Box<Error>,
    },

    #[error("knowledge base: {0}")]
    KnowledgeBase(String),

    #[error("{0}")]
    Fatal(String),
}

/// A name as typed, quoted and escaped; a very long one is cut (the whole of
/// a 200,000-character "name" helps nobody).
fn shown_name(name: &str) -> String {
    const SHOWN: usize = 80;
    match name.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}... ({} bytes)", &name[..cut], name.len()),
        None => format!("{name:?}"),
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Input(_) | Error::UnknownService { .. } => ErrorKind::InvalidInput,
            Error::Located { inner, .. } => inner.kind(),
            Error::Storage { retryable, .. } if *retryable => ErrorKind::Retryable,
            Error::Storage { .. } | Error::KnowledgeBase(_) | Error::Fatal(_) => ErrorKind::Fatal,
        }
    }

    /// Say which file and JSON path the value this error is about came from:
    /// `r.json: at $.service_name: unknown service "S4"; did you mean ...`.
    /// Errors that already name their input are returned unchanged.
    #[must_use]
    pub fn located(self, source_name: impl Into<String>, path: impl Into<String>) -> Self {
        match self {
            Error::Input(_) | Error::Located { .. } => self,
            inner => Error::Located {
                source_name: source_name.into(),
                path: path.into(),
                inner: Box::new(inner),
            },
        }
    }

    /// The error without its location.
    pub fn unlocated(&self) -> &Error {
        match self {
            Error::Located { inner, .. } => inner.unlocated(),
            other => other,
        }
    }

    /// A storage error that keeps its source.
    pub fn storage(
        what: impl fmt::Display,
        retryable: bool,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Storage {
            what: what.to_string(),
            message: source.to_string(),
            retryable,
            source: Some(Box::new(source)),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_service_names_the_file_and_path_and_keeps_suggestions() {
        let err = Error::UnknownService {
            name: "S4".into(),
            suggestions: vec!["Amazon S3 (s3)".into()],
        }
        .located("r.json", "$.service_name");
        assert_eq!(
            err.to_string(),
            "r.json: at $.service_name: unknown service \"S4\"; did you mean Amazon S3 (s3)?"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(matches!(
            err.unlocated(),
            Error::UnknownService { suggestions, .. } if suggestions.len() == 1
        ));
        let long = Error::UnknownService {
            name: "x".repeat(200_000),
            suggestions: vec![],
        };
        assert!(long.to_string().ends_with("... (200000 bytes)"), "{long}");
        assert!(long.to_string().len() < 200);
        let input: Error = InputError::new("p.json", "$", "bad").into();
        assert_eq!(input.located("x", "$.y").to_string(), "p.json: at $: bad");
    }
}
