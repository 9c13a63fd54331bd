//! Parsed policy documents and how one statement matches a request.

use crate::arn::{Cmp, ResourcePattern};
use crate::condition::Condition;
use crate::context::RequestContext;
use crate::error::PolicyError;
use crate::pattern::{NoVariables, Syntax, Template};
use crate::principal::{PrincipalMatch, PrincipalPattern};

/// The kind of policy a document is, which decides the elements it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Attached to a user, group or role (also used as a permissions
    /// boundary): no `Principal`, `Resource` or `NotResource` required.
    Identity,
    /// Attached to a resource (bucket policy, key policy, role trust policy):
    /// `Principal` or `NotPrincipal` required.
    Resource,
    /// A service control policy: no `Principal`.
    ServiceControl,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// The policy language version. Without `Version` a policy is read as
/// 2008-10-17, which has no policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyVersion {
    V2012_10_17,
    V2008_10_17,
}

impl PolicyVersion {
    pub fn has_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

/// `Action` / `Resource` / `Principal`, or their `Not...` forms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block<T> {
    Is(Vec<T>),
    Not(Vec<T>),
}

/// One entry of `Action` / `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ActionPattern {
    All,
    Service { prefix: String, action: Template },
}

impl ActionPattern {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw == "*" {
            return Ok(ActionPattern::All);
        }
        let Some((prefix, action)) = raw.split_once(':') else {
            return Err(format!("action {raw:?} is not \"*\" or service:Action"));
        };
        let valid_prefix = !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !valid_prefix || action.is_empty() || action.contains(char::is_whitespace) {
            return Err(format!("action {raw:?} is not \"*\" or service:Action"));
        }
        let syntax = Syntax {
            wildcards: true,
            variables: false,
        };
        Ok(ActionPattern::Service {
            prefix: prefix.to_string(),
            action: Template::parse(action, syntax)?,
        })
    }

    /// Action names and service prefixes are case-insensitive.
    pub fn matches(&self, action: &str) -> bool {
        match self {
            ActionPattern::All => true,
            ActionPattern::Service {
                prefix,
                action: pattern,
            } => action.split_once(':').is_some_and(|(service, name)| {
                service.eq_ignore_ascii_case(prefix)
                    && pattern.matches(name, &NoVariables, true) == Some(true)
            }),
        }
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Zero-based position in the policy.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub(crate) actions: Block<ActionPattern>,
    pub(crate) resources: Option<Block<ResourcePattern>>,
    pub(crate) principals: Option<Block<PrincipalPattern>>,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// `Sid`, or the statement's index when it has none.
    pub fn label(&self) -> String {
        self.sid.clone().unwrap_or_else(|| self.index.to_string())
    }

    fn action_matches(&self, action: &str) -> bool {
        match &self.actions {
            Block::Is(patterns) => patterns.iter().any(|pattern| pattern.matches(action)),
            Block::Not(patterns) => !patterns.iter().any(|pattern| pattern.matches(action)),
        }
    }

    /// `NotResource` applies only when every entry definitely misses: an
    /// entry that cannot be evaluated (unresolvable variable) keeps the
    /// statement from applying.
    fn resource_matches(&self, context: &RequestContext) -> bool {
        match &self.resources {
            None => true,
            Some(Block::Is(patterns)) => patterns
                .iter()
                .any(|pattern| pattern.matches(&context.resource, context) == Cmp::Match),
            Some(Block::Not(patterns)) => patterns
                .iter()
                .all(|pattern| pattern.matches(&context.resource, context) == Cmp::NoMatch),
        }
    }

    /// How the request's principal matches `Principal` / `NotPrincipal`;
    /// `Exact` for statements without either (identity policies, SCPs).
    pub(crate) fn principal_match(&self, principal: &str) -> PrincipalMatch {
        match &self.principals {
            None => PrincipalMatch::Exact,
            Some(Block::Is(patterns)) => patterns
                .iter()
                .map(|pattern| pattern.matches(principal))
                .max()
                .unwrap_or(PrincipalMatch::None),
            Some(Block::Not(patterns)) => {
                if patterns
                    .iter()
                    .any(|pattern| pattern.matches(principal) != PrincipalMatch::None)
                {
                    PrincipalMatch::None
                } else {
                    PrincipalMatch::Exact
                }
            }
        }
    }

    pub(crate) fn has_not_principal(&self) -> bool {
        matches!(self.principals, Some(Block::Not(_)))
    }

    /// Action, resource and every condition match (principal aside).
    pub fn applies_to(&self, context: &RequestContext) -> bool {
        self.action_matches(&context.action)
            && self.resource_matches(context)
            && self
                .conditions
                .iter()
                .all(|condition| condition.evaluate(context))
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A name for explanations (file name, managed policy name, SCP id).
    pub id: String,
    pub kind: PolicyKind,
    pub version: PolicyVersion,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parse a policy document from JSON text.
    pub fn parse(id: &str, kind: PolicyKind, text: &str) -> Result<Self, PolicyError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| PolicyError::Json {
                policy: id.to_string(),
                source,
            })?;
        Self::from_value(id, kind, &value)
    }

    /// Parse an already-decoded policy document.
    pub fn from_value(
        id: &str,
        kind: PolicyKind,
        value: &serde_json::Value,
    ) -> Result<Self, PolicyError> {
        crate::parse::policy(id, kind, value)
    }

    /// AWS's default SCP `FullAWSAccess` (`p-FullAWSAccess`).
    pub fn full_aws_access() -> Self {
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
        });
        crate::parse::policy("FullAWSAccess", PolicyKind::ServiceControl, &document)
            .expect("the FullAWSAccess document is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(pattern: &str, action: &str) -> bool {
        ActionPattern::parse(pattern).unwrap().matches(action)
    }

    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        assert!(action("*", "ec2:RunInstances"));
        assert!(action("s3:*", "s3:GetObject"));
        assert!(action("S3:GETOBJECT", "s3:GetObject"));
        assert!(action("s3:Get*", "s3:getobjectacl"));
        assert!(action("s3:?etObject", "s3:GetObject"));
        assert!(action("s3:*Object", "s3:PutObject"));
        assert!(!action("s3:Get*", "s3:PutObject"));
        assert!(!action("s3:*", "s3express:CreateSession"));
        assert!(!action("ec2:Run?", "ec2:RunInstances"));
    }

    #[test]
    fn malformed_actions_are_errors() {
        for bad in ["s3", "s3:", ":GetObject", "s3:Get Object", "*:GetObject"] {
            assert!(ActionPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
