//! Shared names and a builder for corpus cases.

use gensec_policy::corpus::{Case, NamedPolicy, ScpLevelDocuments, SimulatorMode};
use gensec_policy::{Outcome, RequestContext};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "111122223333";
pub const OTHER_ACCOUNT: &str = "444455556666";
pub const USER: &str = "arn:aws:iam::111122223333:user/alice";
pub const ROLE: &str = "arn:aws:iam::111122223333:role/App";
pub const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/App/session-1";
pub const OBJECT: &str = "arn:aws:s3:::example-bucket/key.txt";
pub const INSTANCE: &str = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc1234";

pub fn document(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

pub fn policy(name: &str, statements: Value) -> NamedPolicy {
    NamedPolicy::new(name, document(statements))
}

pub fn allow_everything() -> NamedPolicy {
    policy(
        "allow-everything",
        json!([{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]),
    )
}

pub fn full_aws_access() -> NamedPolicy {
    policy(
        "FullAWSAccess",
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    )
}

/// `s3:GetObject` on [`OBJECT`] by `principal`, same account.
pub fn get_object(principal: &str) -> RequestContext {
    RequestContext::new(principal, "s3:GetObject", OBJECT).with_resource_account(ACCOUNT)
}

/// Builds one case; ids are `category/name`.
pub struct CaseBuilder(Case);

impl CaseBuilder {
    pub fn new(category: &str, name: impl AsRef<str>) -> Self {
        Self(Case {
            id: format!("{category}/{}", name.as_ref()),
            category: category.to_string(),
            description: String::new(),
            identity_policies: Vec::new(),
            resource_policy: None,
            permission_boundary: None,
            scps: Vec::new(),
            requests: Vec::new(),
            expected: None,
            simulator: SimulatorMode::Compare,
        })
    }

    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.0.description = text.into();
        self
    }

    pub fn identity(mut self, policy: NamedPolicy) -> Self {
        self.0.identity_policies.push(policy);
        self
    }

    pub fn resource_policy(mut self, policy: NamedPolicy) -> Self {
        self.0.resource_policy = Some(policy);
        self
    }

    pub fn boundary(mut self, policy: NamedPolicy) -> Self {
        self.0.permission_boundary = Some(policy);
        self
    }

    pub fn scp_level(mut self, id: &str, policies: Vec<NamedPolicy>) -> Self {
        self.0.scps.push(ScpLevelDocuments {
            id: id.to_string(),
            policies,
        });
        self
    }

    pub fn request(mut self, context: RequestContext) -> Self {
        self.0.requests.push(context);
        self
    }

    pub fn requests(mut self, contexts: Vec<RequestContext>) -> Self {
        self.0.requests.extend(contexts);
        self
    }

    pub fn expect(mut self, outcome: Outcome) -> Self {
        self.0.expected = Some(outcome);
        self
    }

    /// A documented difference between AWS's documentation (which gensec
    /// follows) and iam-simulate.
    pub fn diverges(mut self, reason: &str, reference: &str, simulator_outcome: Outcome) -> Self {
        self.0.simulator = SimulatorMode::Diverges {
            reason: reason.to_string(),
            reference: reference.to_string(),
            simulator_outcome,
        };
        self
    }

    pub fn build(self) -> Case {
        self.0
    }
}

/// The outcome of an `Allow` statement whose condition is `holds`, or of a
/// `Deny` one next to an allow-everything policy.
pub fn outcome_for(effect: &str, holds: bool) -> Outcome {
    match (effect, holds) {
        ("Allow", true) => Outcome::Allowed,
        ("Allow", false) => Outcome::ImplicitlyDenied,
        (_, true) => Outcome::ExplicitlyDenied,
        (_, false) => Outcome::Allowed,
    }
}

/// `ec2:StartInstances` on an instance (a resource with tags, where
/// `aws:ResourceTag/...` is part of the request) by `principal`.
pub fn start_instance(principal: &str) -> RequestContext {
    RequestContext::new(principal, "ec2:StartInstances", INSTANCE).with_resource_account(ACCOUNT)
}

/// A case with one statement of `effect` carrying `condition` on the
/// context's action (plus an allow-everything policy for `Deny`).
pub fn condition_case(
    category: &str,
    name: String,
    effect: &str,
    condition: Value,
    context: RequestContext,
) -> CaseBuilder {
    let statement = json!([{
        "Sid": "Tested", "Effect": effect, "Action": context.action, "Resource": "*",
        "Condition": condition
    }]);
    let builder = CaseBuilder::new(category, name)
        .identity(policy("tested", statement))
        .request(context);
    if effect == "Deny" {
        builder.identity(allow_everything())
    } else {
        builder
    }
}
