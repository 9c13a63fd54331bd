//! Verdicts and the statements that decided them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The result of an authorisation, named as IAM's policy simulator and
/// iam-simulate name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    Allowed,
    ExplicitlyDenied,
    ImplicitlyDenied,
}

impl Outcome {
    pub fn is_allowed(self) -> bool {
        self == Outcome::Allowed
    }

    /// The more restrictive of two outcomes (explicit deny > implicit > allow).
    pub fn worst(self, other: Outcome) -> Outcome {
        let rank = |outcome: Outcome| match outcome {
            Outcome::Allowed => 0,
            Outcome::ImplicitlyDenied => 1,
            Outcome::ExplicitlyDenied => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "Allowed",
            Outcome::ExplicitlyDenied => "ExplicitlyDenied",
            Outcome::ImplicitlyDenied => "ImplicitlyDenied",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of policy a statement belongs to in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "level")]
pub enum PolicyRole {
    Identity,
    Resource,
    PermissionBoundary,
    /// A service control policy attached at the named level (root, OU, account).
    Scp(String),
}

/// A statement that took part in a decision: policy id and `Sid` (or index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRef {
    pub role: PolicyRole,
    pub policy: String,
    pub statement: String,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.role {
            PolicyRole::Identity => write!(f, "identity policy {}", self.policy)?,
            PolicyRole::Resource => write!(f, "resource policy {}", self.policy)?,
            PolicyRole::PermissionBoundary => write!(f, "permissions boundary {}", self.policy)?,
            PolicyRole::Scp(level) => write!(f, "SCP {} at {level}", self.policy)?,
        }
        write!(f, " statement {}", self.statement)
    }
}

/// A layer that had no applicable `Allow` (why a request is implicitly denied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "layer", content = "level")]
pub enum MissingAllow {
    /// Neither an identity policy nor the resource policy allows (or the
    /// resource policy must trust the account and does not).
    IdentityOrResource,
    /// No SCP at this level allows.
    Scp(String),
    PermissionBoundary,
}

impl fmt::Display for MissingAllow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissingAllow::IdentityOrResource => {
                f.write_str("no identity or resource-based policy allows it")
            }
            MissingAllow::Scp(level) => write!(f, "no SCP at {level} allows it"),
            MissingAllow::PermissionBoundary => {
                f.write_str("the permissions boundary does not allow it")
            }
        }
    }
}

/// The verdict for one request context, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// Explicitly denied: every `Deny` that applied. Allowed: every `Allow`
    /// that took part (identity/resource, SCPs, boundary). Implicitly
    /// denied: empty.
    pub statements: Vec<StatementRef>,
    /// Implicitly denied: the layers without an applicable `Allow`.
    pub missing: Vec<MissingAllow>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.outcome)?;
        let reasons: Vec<String> = match self.outcome {
            Outcome::ImplicitlyDenied => self.missing.iter().map(ToString::to_string).collect(),
            _ => self.statements.iter().map(ToString::to_string).collect(),
        };
        if !reasons.is_empty() {
            write!(f, ": {}", reasons.join("; "))?;
        }
        Ok(())
    }
}

/// The verdict for one resource of an API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDecision {
    pub resource_type: Option<String>,
    pub resource: String,
    pub decision: Decision,
}

/// The verdict for an API call authorised against several resources: it is
/// allowed only when every resource is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallDecision {
    pub outcome: Outcome,
    pub resources: Vec<ResourceDecision>,
}

impl CallDecision {
    /// The resources whose verdict is the call's (the ones to explain).
    pub fn deciding(&self) -> impl Iterator<Item = &ResourceDecision> {
        self.resources
            .iter()
            .filter(move |resource| resource.decision.outcome == self.outcome)
    }
}

impl fmt::Display for CallDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.outcome)?;
        for resource in self.deciding() {
            let name = resource
                .resource_type
                .as_deref()
                .unwrap_or(&resource.resource);
            write!(f, "\n  {name}: {}", resource.decision)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_outcome_wins() {
        use Outcome::*;
        assert_eq!(Allowed.worst(ImplicitlyDenied), ImplicitlyDenied);
        assert_eq!(ExplicitlyDenied.worst(ImplicitlyDenied), ExplicitlyDenied);
        assert_eq!(Allowed.worst(Allowed), Allowed);
    }

    #[test]
    fn decisions_explain_themselves() {
        let decision = Decision {
            outcome: Outcome::ExplicitlyDenied,
            statements: vec![StatementRef {
                role: PolicyRole::Scp("root".into()),
                policy: "deny-imdsv1".into(),
                statement: "DenyImdsV1".into(),
            }],
            missing: vec![],
        };
        assert_eq!(
            decision.to_string(),
            "ExplicitlyDenied: SCP deny-imdsv1 at root statement DenyImdsV1"
        );
        let implicit = Decision {
            outcome: Outcome::ImplicitlyDenied,
            statements: vec![],
            missing: vec![MissingAllow::Scp("ou-apps".into())],
        };
        assert_eq!(
            implicit.to_string(),
            "ImplicitlyDenied: no SCP at ou-apps allows it"
        );
        assert_eq!(
            serde_json::to_string(&Outcome::ExplicitlyDenied).unwrap(),
            "\"ExplicitlyDenied\""
        );
    }
}
