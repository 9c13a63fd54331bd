//! `Action`/`NotAction` with wildcards and case, `Resource`/`NotResource`
//! with segment-aware ARN wildcards.

use crate::common::{ACCOUNT, CaseBuilder, USER, allow_everything, policy};
use gensec_policy::corpus::Case;
use gensec_policy::{Outcome, RequestContext};
use serde_json::json;

const ACTION_PATTERNS: [&str; 10] = [
    "*",
    "s3:*",
    "s3:Get*",
    "s3:*Object",
    "s3:?etObject",
    "S3:GETOBJECT",
    "s3:Get*Acl",
    "s3:List*",
    "ec2:*",
    "ec2:Describe*s",
];

fn action_requests() -> Vec<RequestContext> {
    let object = "arn:aws:s3:::example-bucket/key.txt";
    vec![
        RequestContext::new(USER, "s3:GetObject", object),
        RequestContext::new(USER, "s3:GetObjectAcl", object),
        RequestContext::new(USER, "s3:PutObject", object),
        RequestContext::new(USER, "s3:ListBucket", "arn:aws:s3:::example-bucket"),
        RequestContext::new(USER, "ec2:DescribeInstances", "*"),
    ]
    .into_iter()
    .map(|context| context.with_resource_account(ACCOUNT))
    .collect()
}

pub fn cases() -> Vec<Case> {
    let mut cases = actions();
    cases.extend(resources());
    cases
}

/// Each pattern x action as `Action` (Allow), `NotAction` (Allow) and
/// `NotAction` (Deny next to an allow-everything policy).
fn actions() -> Vec<Case> {
    let mut cases = Vec::new();
    for pattern in ACTION_PATTERNS {
        for request in action_requests() {
            let forms = [
                (
                    "action-allow",
                    json!({"Effect": "Allow", "Action": pattern, "Resource": "*"}),
                ),
                (
                    "not-action-allow",
                    json!({"Effect": "Allow", "NotAction": [pattern], "Resource": "*"}),
                ),
                (
                    "not-action-deny",
                    json!({"Effect": "Deny", "NotAction": pattern, "Resource": "*"}),
                ),
            ];
            for (form, statement) in forms {
                let name = format!("{form}/{pattern}/{}", request.action);
                let mut builder = CaseBuilder::new("action", name)
                    .identity(policy("tested", json!([statement])))
                    .request(request.clone());
                if form == "not-action-deny" {
                    builder = builder.identity(allow_everything());
                }
                cases.push(builder.build());
            }
        }
    }
    cases
}

const RESOURCE_PATTERNS: [&str; 14] = [
    "*",
    "arn:aws:s3:::example-bucket/*",
    "arn:aws:s3:::example-bucke?/*",
    "arn:aws:s3:::example-*",
    "arn:aws:s3:::*/key.txt",
    "arn:aws:s3:::example-bucket/dir/*",
    "arn:aws:s3:::Example-Bucket/*",
    "arn:aws:s3:*",
    "arn:AWS:S3:::example-bucket/*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:ec2:us-east-?:111122223333:instance/i-*",
    "arn:aws:ec2:*:444455556666:instance/*",
    "arn:aws:ec2:eu-*:*:*",
    "arn:aws:ec2:*:*:instance/i-0abc*",
];

fn resource_requests() -> Vec<RequestContext> {
    vec![
        RequestContext::new(USER, "s3:GetObject", "arn:aws:s3:::example-bucket/key.txt"),
        RequestContext::new(
            USER,
            "s3:GetObject",
            "arn:aws:s3:::example-bucket/dir/sub/file",
        ),
        RequestContext::new(USER, "s3:GetObject", "arn:aws:s3:::other-bucket/key.txt"),
        RequestContext::new(
            USER,
            "ec2:StartInstances",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc1234",
        ),
        RequestContext::new(
            USER,
            "ec2:StartInstances",
            "arn:aws:ec2:eu-west-1:111122223333:instance/i-9xyz",
        ),
    ]
    .into_iter()
    .map(|context| context.with_resource_account(ACCOUNT))
    .collect()
}

/// Each pattern x resource as `Resource` (Allow), `NotResource` (Allow) and
/// `NotResource` (Deny next to an allow-everything policy).
fn resources() -> Vec<Case> {
    let mut cases = Vec::new();
    for pattern in RESOURCE_PATTERNS {
        for request in resource_requests() {
            let action = request.action.clone();
            let forms = [
                (
                    "resource-allow",
                    json!({"Effect": "Allow", "Action": action, "Resource": pattern}),
                ),
                (
                    "not-resource-allow",
                    json!({"Effect": "Allow", "Action": action, "NotResource": [pattern]}),
                ),
                (
                    "not-resource-deny",
                    json!({"Effect": "Deny", "Action": action, "NotResource": pattern}),
                ),
            ];
            for (form, statement) in forms {
                let name = format!("{form}/{pattern}/{}", request.resource);
                let mut builder = CaseBuilder::new("resource", name)
                    .identity(policy("tested", json!([statement])))
                    .request(request.clone());
                if form == "not-resource-deny" {
                    builder = builder.identity(allow_everything());
                }
                let short_miss =
                    pattern == "arn:aws:s3:*" && !request.resource.starts_with("arn:aws:s3:");
                if form.starts_with("not-resource") && short_miss {
                    let (ours, simulator) = if form == "not-resource-allow" {
                        (Outcome::Allowed, Outcome::ImplicitlyDenied)
                    } else {
                        (Outcome::ExplicitlyDenied, Outcome::Allowed)
                    };
                    builder = builder.expect(ours).diverges(
                        "NotResource with a short ARN (\"arn:aws:s3:*\") that plainly misses the request: gensec applies the statement, iam-simulate conservatively does not",
                        "IAM User Guide, NotResource: the statement matches \"everything except the specified resources\"; Resource: a trailing * \"can expand to match beyond the colon boundaries\"",
                        simulator,
                    );
                }
                cases.push(builder.build());
            }
        }
    }
    cases.extend(resource_divergences());
    cases
}

/// AWS: "*" expands within a segment "including characters like a forward
/// slash"; iam-simulate requires the resource type before the first `/` to
/// be literal.
fn resource_divergences() -> Vec<Case> {
    const REASON: &str = "a wildcard before the first \"/\" of the resource segment: gensec matches the whole segment as one pattern, iam-simulate requires the resource-type prefix literally";
    const REFERENCE: &str = "IAM User Guide, IAM JSON policy elements: Resource, Using wildcards in resource ARNs: \"The asterisk (*) character can expand to replace everything within a segment, including characters like a forward slash (/)\"";
    let instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc1234";
    [
        "arn:aws:ec2:*:*:*/i-0abc1234",
        "arn:aws:ec2:*:*:inst*/i-0abc*",
    ]
    .into_iter()
    .map(|pattern| {
        CaseBuilder::new("resource", format!("divergence/{pattern}"))
            .identity(policy(
                "tested",
                json!([{"Effect": "Allow", "Action": "ec2:StartInstances", "Resource": pattern}]),
            ))
            .request(
                RequestContext::new(USER, "ec2:StartInstances", instance)
                    .with_resource_account(ACCOUNT),
            )
            .expect(Outcome::Allowed)
            .diverges(REASON, REFERENCE, Outcome::ImplicitlyDenied)
            .build()
    })
    .collect()
}
