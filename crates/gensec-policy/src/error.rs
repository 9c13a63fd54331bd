//! Errors: a malformed policy document names the policy, the statement and
//! the field; a request that cannot be built from the knowledge base names
//! the action, resource type or key.

use gensec_core::error::InputError;

/// Where in a policy document a problem is: the statement (index and Sid)
/// and the element inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Zero-based position in `Statement` (0 when `Statement` is an object).
    pub statement: Option<usize>,
    /// The statement's `Sid`, when it has one.
    pub sid: Option<String>,
    /// The element path inside the statement or document, e.g.
    /// `Condition.StringEquals.aws:username`.
    pub field: String,
}

impl Location {
    pub(crate) fn document(field: impl Into<String>) -> Self {
        Self {
            statement: None,
            sid: None,
            field: field.into(),
        }
    }

    /// The JSON path, for `InputError`: `$.Statement[2].Condition`.
    pub fn json_path(&self) -> String {
        match self.statement {
            Some(index) if self.field.is_empty() => format!("$.Statement[{index}]"),
            Some(index) => format!("$.Statement[{index}].{}", self.field),
            None if self.field.is_empty() => "$".to_string(),
            None => format!("$.{}", self.field),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.statement, &self.sid) {
            (Some(index), Some(sid)) => write!(f, "statement {index} (Sid {sid:?})")?,
            (Some(index), None) => write!(f, "statement {index}")?,
            (None, _) => f.write_str("document")?,
        }
        if !self.field.is_empty() {
            write!(f, ", {}", self.field)?;
        }
        Ok(())
    }
}

/// A policy document IAM would not accept, or one this evaluator cannot read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {policy}: not valid JSON: {source}")]
    Json {
        policy: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("policy {policy}: {location}: {message}")]
    Invalid {
        policy: String,
        location: Location,
        message: String,
    },
}

impl PolicyError {
    pub(crate) fn invalid(policy: &str, location: Location, message: impl Into<String>) -> Self {
        PolicyError::Invalid {
            policy: policy.to_string(),
            location,
            message: message.into(),
        }
    }

    /// The policy the error is about.
    pub fn policy(&self) -> &str {
        match self {
            PolicyError::Json { policy, .. } | PolicyError::Invalid { policy, .. } => policy,
        }
    }
}

impl From<PolicyError> for gensec_core::Error {
    fn from(err: PolicyError) -> Self {
        let input = match &err {
            PolicyError::Json { policy, source } => {
                InputError::new(policy.clone(), "$", format!("not valid JSON: {source}"))
            }
            PolicyError::Invalid {
                policy,
                location,
                message,
            } => InputError::new(policy.clone(), location.json_path(), message.clone()),
        };
        gensec_core::Error::Input(input)
    }
}

/// A request that cannot be built from the knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("reading the knowledge base: {0}")]
    Kb(#[from] gensec_kb::KbError),
    #[error("{action}: no such IAM action in the knowledge base")]
    UnknownAction { action: String },
    #[error("{action}: has no resource type {resource_type:?} (it has: {known})")]
    UnknownResourceType {
        action: String,
        resource_type: String,
        known: String,
    },
    #[error("{action}: every resource type is optional ({options}); say which the call touches")]
    ChooseResourceTypes { action: String, options: String },
    #[error(
        "{action}: condition key {key:?} applies to none of the call's resources ({resource_types})"
    )]
    KeyNotApplicable {
        action: String,
        key: String,
        resource_types: String,
    },
    #[error("{action}: resource type {resource_type}: condition key {key:?} does not apply to it")]
    ResourceKeyNotApplicable {
        action: String,
        resource_type: String,
        key: String,
    },
    #[error("{action}: condition key {key:?} is single-valued; got a list")]
    SingleValuedKey { action: String, key: String },
    #[error("{action}: principal {principal:?} is not an ARN with an account")]
    Principal { action: String, principal: String },
}

impl From<CallError> for gensec_core::Error {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Kb(kb) => kb.into(),
            other => gensec_core::Error::Input(InputError::new("api call", "$", other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_names_statement_sid_and_field() {
        let location = Location {
            statement: Some(2),
            sid: Some("DenyImds".into()),
            field: "Condition.StringEquals".into(),
        };
        assert_eq!(
            location.to_string(),
            "statement 2 (Sid \"DenyImds\"), Condition.StringEquals"
        );
        assert_eq!(
            location.json_path(),
            "$.Statement[2].Condition.StringEquals"
        );
    }

    #[test]
    fn policy_errors_are_invalid_input() {
        let err = PolicyError::invalid("scp-1", Location::document("Version"), "bad version");
        let core: gensec_core::Error = err.into();
        assert_eq!(core.kind(), gensec_core::error::ErrorKind::InvalidInput);
        assert!(core.to_string().contains("scp-1"), "{core}");
    }
}
