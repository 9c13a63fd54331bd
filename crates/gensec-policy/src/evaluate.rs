//! IAM's policy evaluation logic ("Policy evaluation logic" in the IAM User
//! Guide), for identity policies, an optional resource-based policy, an
//! optional permissions boundary and service control policies:
//!
//! 1. an applicable `Deny` in any of them denies (explicitly);
//! 2. every SCP level (root, each OU, the account) must have an applicable
//!    `Allow`; a level without one denies implicitly;
//! 3. same account: an `Allow` in an identity policy *or* in the resource
//!    policy (naming the principal or its session, or `*`) allows; a
//!    resource policy naming only the account delegates to identity
//!    policies. KMS key policies and role trust policies must trust the
//!    account (or name the principal) before identity policies count.
//!    Cross-account: both an identity `Allow` and a resource-policy `Allow`;
//! 4. a permissions boundary must allow too, except that, in the same
//!    account, a resource policy naming the user or the role *session*
//!    (or `*`) directly is not limited by the boundary's implicit deny
//!    ("Permissions boundaries for IAM entities"). With a boundary, a
//!    resource-policy `Deny` with `NotPrincipal` always applies.
//!
//! `sts:GetCallerIdentity` needs no permission and cannot be denied.
//! Whether SCPs apply at all is the caller's to say: leave `scps` empty for
//! the management account and for service-linked roles, which SCPs do not
//! affect.
//! Not modelled: session policies, resource control policies, VPC endpoint
//! policies, S3 Block Public Access, the special rules for AWS-managed IAM
//! policies and the root user.

use crate::context::RequestContext;
use crate::decision::{
    CallDecision, Decision, MissingAllow, Outcome, PolicyRole, ResourceDecision, StatementRef,
};
use crate::policy::{Effect, Policy, Statement};
use crate::principal::{PrincipalMatch, is_service_principal};

/// The service control policies attached at one level of the organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct ScpLevel {
    /// `root`, an OU id, or the account id (for explanations).
    pub id: String,
    pub policies: Vec<Policy>,
}

impl ScpLevel {
    pub fn new(id: impl Into<String>, policies: Vec<Policy>) -> Self {
        Self {
            id: id.into(),
            policies,
        }
    }

    /// The level with AWS's default `FullAWSAccess` attached besides
    /// `policies` (a deny-list strategy).
    pub fn with_full_aws_access(id: impl Into<String>, mut policies: Vec<Policy>) -> Self {
        policies.insert(0, Policy::full_aws_access());
        Self::new(id, policies)
    }
}

/// Everything that governs a principal's requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicySet {
    pub identity: Vec<Policy>,
    /// The resource-based policy of the requested resource.
    pub resource: Option<Policy>,
    pub permission_boundary: Option<Policy>,
    /// SCP levels from the root down to the account; empty when no SCPs
    /// apply (no organisation, or the management account).
    pub scps: Vec<ScpLevel>,
}

/// A matching resource-policy `Allow` and how it named the principal.
struct ResourceAllow {
    statement: StatementRef,
    principal: PrincipalMatch,
}

/// Whether identity policies count in the same account (see module docs).
enum AccountTrust {
    Implicit,
    Explicit,
    None,
}

impl PolicySet {
    /// The decision for one request context.
    pub fn evaluate(&self, context: &RequestContext) -> Decision {
        if context.action.eq_ignore_ascii_case("sts:GetCallerIdentity") {
            return Decision {
                outcome: Outcome::Allowed,
                statements: Vec::new(),
                missing: Vec::new(),
            };
        }
        let mut denies = Vec::new();
        let identity_allows = applicable(
            &self.identity,
            &|| PolicyRole::Identity,
            context,
            &mut denies,
        );
        let boundary_allows = self.permission_boundary.as_ref().map(|boundary| {
            applicable(
                std::slice::from_ref(boundary),
                &|| PolicyRole::PermissionBoundary,
                context,
                &mut denies,
            )
        });
        let mut missing = Vec::new();
        let mut scp_allows = Vec::new();
        for level in &self.scps {
            let role = || PolicyRole::Scp(level.id.clone());
            let allows = applicable(&level.policies, &role, context, &mut denies);
            if allows.is_empty() {
                missing.push(MissingAllow::Scp(level.id.clone()));
            }
            scp_allows.extend(allows);
        }
        let (direct, account) = self.resource_allows(context, &mut denies);
        if !denies.is_empty() {
            return Decision {
                outcome: Outcome::ExplicitlyDenied,
                statements: denies,
                missing: Vec::new(),
            };
        }
        let same_account = context.is_same_account();
        let core = self.core_allows(context, same_account, identity_allows, &direct, account);
        if core.is_empty() {
            missing.insert(0, MissingAllow::IdentityOrResource);
        }
        let mut statements = core;
        match boundary_allows {
            Some(allows) if allows.is_empty() => {
                let bypass = same_account && boundary_bypass(context, &direct);
                if !bypass {
                    missing.push(MissingAllow::PermissionBoundary);
                }
            }
            Some(allows) => statements.extend(allows),
            None => {}
        }
        if !missing.is_empty() {
            return Decision {
                outcome: Outcome::ImplicitlyDenied,
                statements: Vec::new(),
                missing,
            };
        }
        statements.extend(scp_allows);
        Decision {
            outcome: Outcome::Allowed,
            statements,
            missing: Vec::new(),
        }
    }

    /// The decision for an API call authorised against several resources
    /// (one context each): allowed only when every resource is.
    pub fn evaluate_call(&self, contexts: &[RequestContext]) -> CallDecision {
        let resources: Vec<ResourceDecision> = contexts
            .iter()
            .map(|context| ResourceDecision {
                resource_type: context.resource_type.clone(),
                resource: context.resource.clone(),
                decision: self.evaluate(context),
            })
            .collect();
        let outcome = resources
            .iter()
            .map(|resource| resource.decision.outcome)
            .reduce(Outcome::worst)
            .unwrap_or(Outcome::ImplicitlyDenied);
        CallDecision { outcome, resources }
    }

    /// Resource-policy allows that name the principal (or `*`, or its
    /// session) and those that name only its account; denies go to `denies`.
    fn resource_allows(
        &self,
        context: &RequestContext,
        denies: &mut Vec<StatementRef>,
    ) -> (Vec<ResourceAllow>, Vec<StatementRef>) {
        let mut direct = Vec::new();
        let mut account = Vec::new();
        let Some(policy) = &self.resource else {
            return (direct, account);
        };
        let has_boundary = self.permission_boundary.is_some();
        for statement in &policy.statements {
            let mut principal = statement.principal_match(&context.principal);
            if has_boundary && statement.effect == Effect::Deny && statement.has_not_principal() {
                principal = PrincipalMatch::Exact;
            }
            if principal == PrincipalMatch::None || !statement.applies_to(context) {
                continue;
            }
            let reference = reference(PolicyRole::Resource, policy, statement);
            match statement.effect {
                Effect::Deny => denies.push(reference),
                Effect::Allow if principal.is_direct() => direct.push(ResourceAllow {
                    statement: reference,
                    principal,
                }),
                Effect::Allow => account.push(reference),
            }
        }
        (direct, account)
    }

    /// The allows that satisfy step 3 of the module docs; empty when none do.
    fn core_allows(
        &self,
        context: &RequestContext,
        same_account: bool,
        identity: Vec<StatementRef>,
        direct: &[ResourceAllow],
        account: Vec<StatementRef>,
    ) -> Vec<StatementRef> {
        let direct_refs = || direct.iter().map(|allow| allow.statement.clone());
        if is_service_principal(&context.principal) {
            return direct_refs().collect();
        }
        if !same_account {
            if identity.is_empty() || (direct.is_empty() && account.is_empty()) {
                return Vec::new();
            }
            return direct_refs().chain(account).chain(identity).collect();
        }
        let mut allows: Vec<StatementRef> = direct_refs().collect();
        match self.account_trust(context, !account.is_empty()) {
            AccountTrust::Implicit => allows.extend(identity),
            AccountTrust::Explicit if !identity.is_empty() => {
                allows.extend(account);
                allows.extend(identity);
            }
            AccountTrust::Explicit | AccountTrust::None => {}
        }
        allows
    }

    /// KMS keys and role trust policies: identity policies count only when
    /// the key policy / trust policy trusts the account ("Key policies in
    /// AWS KMS"; "IAM roles: role trust policy").
    fn account_trust(&self, context: &RequestContext, account_allows: bool) -> AccountTrust {
        let service = context.action.split(':').next().unwrap_or_default();
        let resource_part = context.resource.splitn(6, ':').nth(5).unwrap_or_default();
        let needs_trust = if service.eq_ignore_ascii_case("kms") {
            context.resource != "*" && resource_part.starts_with("key/")
        } else if service.eq_ignore_ascii_case("sts") {
            self.resource.is_some()
        } else {
            false
        };
        match (needs_trust, account_allows) {
            (false, _) => AccountTrust::Implicit,
            (true, true) => AccountTrust::Explicit,
            (true, false) => AccountTrust::None,
        }
    }
}

/// Same account, boundary without an applicable `Allow`: a resource-policy
/// `Allow` naming the user, the role session, the federated user (or `*`)
/// still allows; one naming the role ARN does not.
fn boundary_bypass(context: &RequestContext, direct: &[ResourceAllow]) -> bool {
    let principal = context.principal.as_str();
    let resource_part = principal.splitn(6, ':').nth(5).unwrap_or_default();
    let is_session_or_user = resource_part.starts_with("user/")
        || resource_part.starts_with("assumed-role/")
        || resource_part.starts_with("federated-user/");
    direct.iter().any(|allow| match allow.principal {
        PrincipalMatch::Exact | PrincipalMatch::Everyone if is_session_or_user => true,
        PrincipalMatch::Everyone => resource_part.starts_with("role/"),
        _ => false,
    })
}

/// The applicable `Allow`s of `policies`; applicable `Deny`s go to `denies`.
/// Nothing is allocated for statements that do not apply.
fn applicable(
    policies: &[Policy],
    role: &dyn Fn() -> PolicyRole,
    context: &RequestContext,
    denies: &mut Vec<StatementRef>,
) -> Vec<StatementRef> {
    let mut allows = Vec::new();
    for policy in policies {
        for statement in &policy.statements {
            if !statement.applies_to(context) {
                continue;
            }
            let reference = reference(role(), policy, statement);
            match statement.effect {
                Effect::Allow => allows.push(reference),
                Effect::Deny => denies.push(reference),
            }
        }
    }
    allows
}

fn reference(role: PolicyRole, policy: &Policy, statement: &Statement) -> StatementRef {
    StatementRef {
        role,
        policy: policy.id.clone(),
        statement: statement.label(),
    }
}

#[cfg(test)]
mod tests;
