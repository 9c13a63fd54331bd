//! The `Principal` / `NotPrincipal` element of resource-based policies and
//! how a request's principal matches it ("AWS JSON policy elements:
//! Principal"): `*` is everyone; an account id or `arn:...:iam::ID:root`
//! trusts the account (its identity policies must then allow); a role ARN
//! also matches that role's sessions; a user ARN also matches that user's
//! federated sessions; other ARNs and service principals match exactly.

/// One principal named in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalPattern {
    Everyone,
    Account(String),
    Aws(String),
    Service(String),
    Federated(String),
    CanonicalUser(String),
}

/// How a request's principal matched a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    None,
    /// The principal's account is named: a delegation to its IAM policies.
    Account,
    /// A role (or user) ARN named, the request comes from its session.
    Session,
    /// `*`.
    Everyone,
    /// The request's principal ARN itself is named.
    Exact,
}

impl PrincipalMatch {
    /// The statement grants to the principal itself, not to its account.
    pub fn is_direct(self) -> bool {
        matches!(
            self,
            PrincipalMatch::Exact | PrincipalMatch::Everyone | PrincipalMatch::Session
        )
    }
}

impl PrincipalPattern {
    /// One value of a principal map entry (`"AWS": value`).
    pub fn parse(kind: &str, value: &str) -> Result<Self, String> {
        match kind {
            "AWS" if value == "*" => Ok(PrincipalPattern::Everyone),
            "AWS" if is_account_id(value) => Ok(PrincipalPattern::Account(value.to_string())),
            "AWS" => {
                if let Some(account) = root_account(value) {
                    Ok(PrincipalPattern::Account(account.to_string()))
                } else if value.starts_with("arn:") {
                    Ok(PrincipalPattern::Aws(value.to_string()))
                } else {
                    Err(format!(
                        "AWS principal {value:?} is neither an account id nor an ARN"
                    ))
                }
            }
            "Service" => Ok(PrincipalPattern::Service(value.to_string())),
            "Federated" => Ok(PrincipalPattern::Federated(value.to_string())),
            "CanonicalUser" => Ok(PrincipalPattern::CanonicalUser(value.to_string())),
            other => Err(format!(
                "unknown principal type {other:?} (AWS, Service, Federated, CanonicalUser)"
            )),
        }
    }

    pub fn matches(&self, principal: &str) -> PrincipalMatch {
        let exact = |named: &str| {
            if named == principal {
                PrincipalMatch::Exact
            } else {
                PrincipalMatch::None
            }
        };
        match self {
            PrincipalPattern::Everyone => PrincipalMatch::Everyone,
            PrincipalPattern::Service(name)
            | PrincipalPattern::Federated(name)
            | PrincipalPattern::CanonicalUser(name) => exact(name),
            PrincipalPattern::Account(account) => {
                if crate::context::principal_account(principal) == Some(account.as_str()) {
                    PrincipalMatch::Account
                } else {
                    PrincipalMatch::None
                }
            }
            PrincipalPattern::Aws(arn) if arn == principal => PrincipalMatch::Exact,
            PrincipalPattern::Aws(arn) if session_of(arn, principal) => PrincipalMatch::Session,
            PrincipalPattern::Aws(_) => PrincipalMatch::None,
        }
    }
}

fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// The six segments of an ARN, without allocating.
fn arn_segments(arn: &str) -> Option<[&str; 6]> {
    let mut parts = arn.splitn(6, ':');
    let mut segments = [""; 6];
    for segment in &mut segments {
        *segment = parts.next()?;
    }
    (segments[0] == "arn").then_some(segments)
}

/// `arn:aws:iam::111122223333:root` -> the account.
fn root_account(value: &str) -> Option<&str> {
    match arn_segments(value)? {
        [_, _, "iam", "", account, "root"] if is_account_id(account) => Some(account),
        _ => None,
    }
}

/// Whether `session` (an assumed-role or federated-user ARN) is a session
/// of the role or user `named`.
fn session_of(named: &str, session: &str) -> bool {
    let (
        Some([_, partition, "iam", "", account, resource]),
        Some(
            [
                _,
                session_partition,
                "sts",
                "",
                session_account,
                session_resource,
            ],
        ),
    ) = (arn_segments(named), arn_segments(session))
    else {
        return false;
    };
    if partition != session_partition || account != session_account {
        return false;
    }
    if let (Some(role_path), Some(assumed)) = (
        resource.strip_prefix("role/"),
        session_resource.strip_prefix("assumed-role/"),
    ) {
        let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
        let session_role = assumed.split('/').next().unwrap_or(assumed);
        return role_name.eq_ignore_ascii_case(session_role);
    }
    if let (Some(user), Some(federated)) = (
        resource.strip_prefix("user/"),
        session_resource.strip_prefix("federated-user/"),
    ) {
        return user == federated;
    }
    false
}

/// Principals that are AWS services (`cloudtrail.amazonaws.com`).
pub(crate) fn is_service_principal(principal: &str) -> bool {
    !principal.starts_with("arn:") && principal.ends_with(".amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/Deployer/ci-42";

    #[test]
    fn everyone_accounts_and_exact_arns() {
        let parse = |value: &str| PrincipalPattern::parse("AWS", value).unwrap();
        assert_eq!(parse("*").matches(SESSION), PrincipalMatch::Everyone);
        assert_eq!(
            parse("111122223333").matches(SESSION),
            PrincipalMatch::Account
        );
        assert_eq!(
            parse("arn:aws:iam::111122223333:root").matches(SESSION),
            PrincipalMatch::Account
        );
        assert_eq!(parse("444455556666").matches(SESSION), PrincipalMatch::None);
        assert_eq!(parse(SESSION).matches(SESSION), PrincipalMatch::Exact);
        assert!(PrincipalPattern::parse("AWS", "alice").is_err());
        assert!(PrincipalPattern::parse("Robot", "x").is_err());
    }

    #[test]
    fn role_arns_match_their_sessions() {
        let role =
            PrincipalPattern::parse("AWS", "arn:aws:iam::111122223333:role/ops/Deployer").unwrap();
        assert_eq!(role.matches(SESSION), PrincipalMatch::Session);
        let other = PrincipalPattern::parse("AWS", "arn:aws:iam::111122223333:role/Other").unwrap();
        assert_eq!(other.matches(SESSION), PrincipalMatch::None);
        let user = PrincipalPattern::parse("AWS", "arn:aws:iam::111122223333:user/bob").unwrap();
        assert_eq!(
            user.matches("arn:aws:sts::111122223333:federated-user/bob"),
            PrincipalMatch::Session
        );
    }

    #[test]
    fn service_principals() {
        let service = PrincipalPattern::parse("Service", "cloudtrail.amazonaws.com").unwrap();
        assert_eq!(
            service.matches("cloudtrail.amazonaws.com"),
            PrincipalMatch::Exact
        );
        assert_eq!(service.matches(SESSION), PrincipalMatch::None);
        assert!(is_service_principal("cloudtrail.amazonaws.com"));
        assert!(!is_service_principal(SESSION));
    }
}
