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

    #[error("unknown service {name:?}{}", did_you_mean(.suggestions))]
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

    #[error("knowledge base: {0}")]
    KnowledgeBase(String),

    #[error("{0}")]
    Fatal(String),
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
            Error::Storage { retryable, .. } if *retryable => ErrorKind::Retryable,
            Error::Storage { .. } | Error::KnowledgeBase(_) | Error::Fatal(_) => ErrorKind::Fatal,
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
