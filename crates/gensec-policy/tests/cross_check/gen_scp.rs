//! Service control policies: deny-list with exemptions for break-glass and
//! pipeline roles, allow-lists at an OU, several levels, region locks.

use crate::common::{
    ACCOUNT, CaseBuilder, OBJECT, USER, allow_everything, full_aws_access, policy,
};
use gensec_policy::RequestContext;
use gensec_policy::corpus::{Case, NamedPolicy};
use serde_json::json;

pub fn cases() -> Vec<Case> {
    let mut cases = exemptions();
    cases.extend(allow_lists());
    cases.extend(region_lock());
    cases
}

/// `Deny` unless `aws:PrincipalArn` is one of the exempt roles: the pattern
/// gensec's SCPs use for the profile's break-glass and pipeline principals.
fn exemptions() -> Vec<Case> {
    let exempt = [
        "arn:aws:iam::*:role/BreakGlass",
        "arn:aws:iam::*:role/Pipeline-*",
    ];
    let callers = [
        (
            "break-glass",
            "arn:aws:sts::111122223333:assumed-role/BreakGlass/incident",
            Some("arn:aws:iam::111122223333:role/BreakGlass"),
        ),
        (
            "pipeline",
            "arn:aws:sts::111122223333:assumed-role/Pipeline-Deploy/run-7",
            Some("arn:aws:iam::111122223333:role/Pipeline-Deploy"),
        ),
        (
            "developer",
            "arn:aws:sts::111122223333:assumed-role/Developer/dev",
            Some("arn:aws:iam::111122223333:role/Developer"),
        ),
        ("user", USER, Some(USER)),
        (
            "no-principal-arn-key",
            "arn:aws:sts::111122223333:assumed-role/BreakGlass/incident",
            None,
        ),
    ];
    let requests = [
        (
            "cloudtrail:StopLogging",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail",
        ),
        ("s3:GetObject", OBJECT),
    ];
    let mut cases = Vec::new();
    for operator in ["ArnNotLike", "ArnNotLikeIfExists", "StringNotLike"] {
        let scp = policy(
            "protect-trail",
            json!([{
                "Sid": "ProtectTrail", "Effect": "Deny",
                "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*",
                "Condition": { operator: { "aws:PrincipalArn": exempt } }
            }]),
        );
        for (caller_name, caller, principal_arn) in callers {
            for (action, resource) in requests {
                let mut context =
                    RequestContext::new(caller, action, resource).with_resource_account(ACCOUNT);
                if let Some(arn) = principal_arn {
                    context.set("aws:PrincipalArn", arn);
                }
                let name = format!("{operator}/{caller_name}/{action}");
                cases.push(
                    CaseBuilder::new("scp-exemption", name)
                        .identity(allow_everything())
                        .scp_level("root", vec![full_aws_access(), scp.clone()])
                        .request(context)
                        .build(),
                );
            }
        }
    }
    cases
}

/// An allow-list at an OU (no FullAWSAccess there), under a root with
/// FullAWSAccess, and an account level that narrows further or denies.
fn allow_lists() -> Vec<Case> {
    let ou_allow = policy(
        "ou-allow-list",
        json!([{"Sid": "Allowed", "Effect": "Allow", "Action": ["s3:*", "ec2:Describe*", "kms:Decrypt"], "Resource": "*"}]),
    );
    let account_levels: [(&str, Vec<NamedPolicy>); 3] = [
        ("account-full", vec![full_aws_access()]),
        (
            "account-s3-only",
            vec![policy(
                "account-s3",
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            )],
        ),
        (
            "account-deny-put",
            vec![
                full_aws_access(),
                policy(
                    "deny-put",
                    json!([{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]),
                ),
            ],
        ),
    ];
    let requests = [
        RequestContext::new(USER, "s3:GetObject", OBJECT),
        RequestContext::new(USER, "s3:PutObject", OBJECT),
        RequestContext::new(USER, "ec2:DescribeInstances", "*"),
        RequestContext::new(
            USER,
            "iam:CreateUser",
            "arn:aws:iam::111122223333:user/new-user",
        ),
    ];
    let mut cases = Vec::new();
    for (level_name, account_policies) in account_levels {
        for request in &requests {
            let name = format!("{level_name}/{}", request.action);
            cases.push(
                CaseBuilder::new("scp-allow-list", name)
                    .identity(allow_everything())
                    .scp_level("root", vec![full_aws_access()])
                    .scp_level("ou-workloads", vec![ou_allow.clone()])
                    .scp_level(ACCOUNT, account_policies.clone())
                    .request(request.clone().with_resource_account(ACCOUNT))
                    .build(),
            );
        }
    }
    // One level without any Allow denies everything.
    cases.push(
        CaseBuilder::new("scp-allow-list", "empty-level")
            .identity(allow_everything())
            .scp_level("root", vec![full_aws_access()])
            .scp_level(
                "ou-sandbox",
                vec![policy(
                    "deny-only",
                    json!([{"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]),
                )],
            )
            .request(
                RequestContext::new(USER, "s3:GetObject", OBJECT).with_resource_account(ACCOUNT),
            )
            .build(),
    );
    cases
}

/// Deny outside the allowed regions, except global services (`NotAction`).
fn region_lock() -> Vec<Case> {
    let lock = policy(
        "region-lock",
        json!([{
            "Sid": "DenyOtherRegions", "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "organizations:*", "cloudfront:*"], "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
        }]),
    );
    let mut cases = Vec::new();
    let requests = [
        ("s3:GetObject", OBJECT),
        ("ec2:DescribeInstances", "*"),
        ("iam:CreateUser", "arn:aws:iam::111122223333:user/new-user"),
    ];
    for region in [
        Some("us-east-1"),
        Some("eu-west-1"),
        Some("ap-south-1"),
        None,
    ] {
        for (action, resource) in requests {
            let mut context =
                RequestContext::new(USER, action, resource).with_resource_account(ACCOUNT);
            if let Some(region) = region {
                context.set("aws:RequestedRegion", region);
            }
            let name = format!("{}/{action}", region.unwrap_or("no-region-key"));
            cases.push(
                CaseBuilder::new("scp-region-lock", name)
                    .identity(allow_everything())
                    .scp_level("root", vec![full_aws_access(), lock.clone()])
                    .request(context)
                    .build(),
            );
        }
    }
    cases
}
