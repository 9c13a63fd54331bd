//! Handler errors as stable Lambda error types.

use gensec_core::{Error, ErrorKind};
use lambda_runtime::Diagnostic;

/// The error type prefix the state machine matches (`GenSec.Retryable`, ...).
pub const ERROR_TYPE_PREFIX: &str = "GenSec.";

/// A handler failure: a gensec error with its kind.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] pub Error);

impl HandlerError {
    pub fn kind(&self) -> ErrorKind {
        self.0.kind()
    }

    /// The Lambda error type for this error.
    pub fn error_type(&self) -> String {
        format!("{ERROR_TYPE_PREFIX}{}", self.kind().as_str())
    }
}

impl From<gensec_core::InputError> for HandlerError {
    fn from(err: gensec_core::InputError) -> Self {
        Self(err.into())
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Self {
        Diagnostic {
            error_type: err.error_type(),
            error_message: err.to_string(),
        }
    }
}

/// The error kind named by a Lambda error type, if it is one of ours.
pub fn kind_of_error_type(error_type: &str) -> Option<ErrorKind> {
    let name = error_type.strip_prefix(ERROR_TYPE_PREFIX)?;
    [
        ErrorKind::InvalidInput,
        ErrorKind::Retryable,
        ErrorKind::Fatal,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_stable_and_round_trip() {
        let err = HandlerError(Error::Storage {
            what: "reading x".into(),
            message: "SlowDown".into(),
            retryable: true,
            source: None,
        });
        let diagnostic = Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "GenSec.Retryable");
        assert_eq!(
            kind_of_error_type(&diagnostic.error_type),
            Some(ErrorKind::Retryable)
        );
        assert_eq!(
            kind_of_error_type("GenSec.InvalidInput"),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(kind_of_error_type("Lambda.Unknown"), None);
    }
}
