//! AWS SDK errors to gensec error kinds: throttling, timeouts and server
//! errors are retryable (the state machine backs off); the rest is fatal.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use gensec_core::Error;
use std::fmt::Display;

/// Error codes that mean "try again later" across the services we call.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "InternalServerError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "TransactionInProgressException",
];

/// Whether an SDK error is worth retrying.
pub fn is_retryable<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| RETRYABLE_CODES.contains(&code)),
        _ => false,
    }
}

/// The error code of a service error (`ConditionalCheckFailedException`, ...).
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// A storage error that names what was being done and keeps the SDK error.
pub fn aws_error<E, R>(what: impl Display, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let retryable = is_retryable(&err);
    Error::Storage {
        what: what.to_string(),
        message: DisplayErrorContext(&err).to_string(),
        retryable,
        source: Some(Box::new(err)),
    }
}

/// A required setting (environment variable) is missing or empty.
pub fn missing_setting(name: &str) -> Error {
    Error::Fatal(format!(
        "environment variable {name} is not set; the deployment (CDK) sets it"
    ))
}

/// Read a required setting from the environment.
pub fn setting(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| missing_setting(name))
}
