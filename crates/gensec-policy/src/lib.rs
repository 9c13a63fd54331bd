//! IAM policy evaluation with IAM's own semantics, so that every SCP and
//! IAM persona policy gensec writes can be executed against test requests
//! first.
//!
//! - [`Policy`]: policy documents as AWS accepts them, with typed errors;
//! - [`PolicySet::evaluate`]: identity policies, an optional resource-based
//!   policy, an optional permissions boundary and SCP levels combined as
//!   IAM does, with the statements that decided ([`Decision`]);
//! - [`ApiCall`]: one [`RequestContext`] per resource an API call is
//!   authorised against, built from the knowledge base, so that a key such
//!   as `ec2:MetadataHttpTokens` appears only where IAM puts it;
//! - [`corpus`]: a serialisable case format shared with the cross-check
//!   against `@cloud-copilot/iam-simulate` (a test-only tool).
//!
//! ```
//! use gensec_policy::{Policy, PolicyKind, PolicySet, RequestContext, ScpLevel, Outcome};
//!
//! let scp = Policy::parse("deny-imdsv1", PolicyKind::ServiceControl, r#"{
//!   "Version": "2012-10-17",
//!   "Statement": [{"Sid": "DenyImdsV1", "Effect": "Deny", "Action": "ec2:RunInstances",
//!     "Resource": "*",
//!     "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}}]
//! }"#).unwrap();
//! let set = PolicySet {
//!     identity: vec![Policy::parse("admin", PolicyKind::Identity,
//!         r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#).unwrap()],
//!     scps: vec![ScpLevel::with_full_aws_access("root", vec![scp])],
//!     ..PolicySet::default()
//! };
//! // The image a launch uses has no ec2:MetadataHttpTokens key: the negated
//! // operator is true there and the launch is denied.
//! let image = RequestContext::new("arn:aws:iam::111122223333:role/Dev", "ec2:RunInstances",
//!     "arn:aws:ec2:us-east-1::image/ami-12345678");
//! assert_eq!(set.evaluate(&image).outcome, Outcome::ExplicitlyDenied);
//! ```

mod arn;
pub mod call;
pub mod condition;
pub mod context;
pub mod corpus;
pub mod decision;
pub mod error;
mod evaluate;
mod parse;
mod pattern;
pub mod policy;
mod principal;

pub use call::{ApiCall, ResourceSpec};
pub use context::{ContextValue, RequestContext};
pub use decision::{
    CallDecision, Decision, MissingAllow, Outcome, PolicyRole, ResourceDecision, StatementRef,
};
pub use error::{CallError, Location, PolicyError};
pub use evaluate::{PolicySet, ScpLevel};
pub use parse::STATEMENT_KEYS;
pub use policy::{Effect, Policy, PolicyKind, PolicyVersion, Statement};
