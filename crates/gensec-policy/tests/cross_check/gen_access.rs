//! Several policies together: identity policies, resource-based policies
//! (same and cross account), permissions boundaries, KMS key policies and
//! role trust policies.

use crate::common::{
    ACCOUNT, CaseBuilder, OBJECT, OTHER_ACCOUNT, ROLE, SESSION, USER, allow_everything, get_object,
    policy,
};
use gensec_policy::RequestContext;
use gensec_policy::corpus::{Case, NamedPolicy};
use serde_json::{Value, json};

pub fn cases() -> Vec<Case> {
    let mut cases = multiple_identity_policies();
    cases.extend(resource_policy_matrix());
    cases.extend(cross_account());
    cases.extend(kms_key_policies());
    cases.extend(role_trust_policies());
    cases
}

fn allow_get() -> NamedPolicy {
    policy(
        "allow-get",
        json!([{"Sid": "Get", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-bucket/*"}]),
    )
}

fn multiple_identity_policies() -> Vec<Case> {
    let deny_get = policy(
        "deny-get",
        json!([{"Sid": "NoGet", "Effect": "Deny", "Action": "s3:Get*", "Resource": "*"}]),
    );
    let deny_put = policy(
        "deny-put",
        json!([{"Sid": "NoPut", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]),
    );
    let two_statements = policy(
        "two-statements",
        json!([
            {"Sid": "Ec2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
            {"Sid": "S3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
        ]),
    );
    let combinations: [(&str, Vec<NamedPolicy>); 6] = [
        (
            "allow-and-unrelated-deny",
            vec![allow_get(), deny_put.clone()],
        ),
        (
            "allow-and-matching-deny",
            vec![allow_get(), deny_get.clone()],
        ),
        ("deny-only", vec![deny_get]),
        ("second-statement-allows", vec![two_statements.clone()]),
        (
            "two-policies-one-allows",
            vec![deny_put.clone(), two_statements],
        ),
        (
            "allow-everything-and-deny",
            vec![allow_everything(), deny_put],
        ),
    ];
    let mut cases = Vec::new();
    for (name, policies) in combinations {
        for action in ["s3:GetObject", "s3:PutObject"] {
            let mut builder = CaseBuilder::new("multiple-policies", format!("{name}/{action}"))
                .request(RequestContext::new(USER, action, OBJECT).with_resource_account(ACCOUNT));
            for policy in &policies {
                builder = builder.identity(policy.clone());
            }
            cases.push(builder.build());
        }
    }
    cases
}

fn bucket_policy(principal: Value) -> NamedPolicy {
    NamedPolicy::new(
        "bucket-policy",
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Grant", "Effect": "Allow", "Principal": principal,
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-bucket/*"
        }]}),
    )
}

fn boundary(action: &str) -> NamedPolicy {
    policy(
        "boundary",
        json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]),
    )
}

/// Caller x identity policy x resource-policy principal x boundary, same account.
fn resource_policy_matrix() -> Vec<Case> {
    let grants: [(&str, Option<Value>); 6] = [
        ("no-resource-policy", None),
        ("names-caller", Some(json!("CALLER"))),
        ("names-role", Some(json!({"AWS": ROLE}))),
        ("names-account", Some(json!({"AWS": ACCOUNT}))),
        (
            "names-root",
            Some(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")})),
        ),
        ("everyone", Some(json!("*"))),
    ];
    let mut cases = Vec::new();
    for (caller_name, caller) in [("user", USER), ("session", SESSION)] {
        for identity in [false, true] {
            for (grant_name, grant) in &grants {
                for boundary_form in ["none", "allows-s3", "allows-ec2"] {
                    let name = format!(
                        "{caller_name}/identity-{}/{grant_name}/boundary-{boundary_form}",
                        if identity { "allows" } else { "none" }
                    );
                    let mut builder =
                        CaseBuilder::new("resource-policy", name).request(get_object(caller));
                    if identity {
                        builder = builder.identity(allow_get());
                    }
                    if let Some(grant) = grant {
                        let principal = if grant == &json!("CALLER") {
                            json!({"AWS": caller})
                        } else {
                            grant.clone()
                        };
                        builder = builder.resource_policy(bucket_policy(principal));
                    }
                    builder = match boundary_form {
                        "allows-s3" => builder.boundary(boundary("s3:*")),
                        "allows-ec2" => builder.boundary(boundary("ec2:*")),
                        _ => builder,
                    };
                    cases.push(builder.build());
                }
            }
        }
    }
    cases.extend(resource_policy_denies());
    cases
}

/// Denies in the resource policy, and `NotPrincipal` denies with a boundary.
fn resource_policy_denies() -> Vec<Case> {
    let mut cases = Vec::new();
    let deny_statements = [
        (
            "deny-caller",
            json!({"Effect": "Deny", "Principal": {"AWS": USER}, "Action": "s3:*", "Resource": "*"}),
        ),
        (
            "deny-account",
            json!({"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "s3:*", "Resource": "*"}),
        ),
        (
            "deny-not-principal-caller",
            json!({"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "s3:*", "Resource": "*"}),
        ),
        (
            "deny-not-principal-other",
            json!({"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/bob"}, "Action": "s3:*", "Resource": "*"}),
        ),
    ];
    for (name, deny) in deny_statements {
        for with_boundary in [false, true] {
            let document = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "s3:GetObject", "Resource": "*"},
                deny
            ]});
            let mut builder = CaseBuilder::new(
                "resource-policy",
                format!("{name}/boundary-{with_boundary}"),
            )
            .identity(allow_get())
            .resource_policy(NamedPolicy::new("bucket-policy", document))
            .request(get_object(USER));
            if with_boundary {
                builder = builder.boundary(boundary("*"));
            }
            cases.push(builder.build());
        }
    }
    cases
}

fn cross_account() -> Vec<Case> {
    let mut cases = Vec::new();
    let grants: [(&str, Option<Value>); 4] = [
        ("none", None),
        ("caller-account", Some(json!({"AWS": ACCOUNT}))),
        ("caller", Some(json!({"AWS": USER}))),
        ("other-account", Some(json!({"AWS": "999999999999"}))),
    ];
    for identity in [false, true] {
        for (grant_name, grant) in &grants {
            let name = format!("identity-{identity}/{grant_name}");
            let mut builder = CaseBuilder::new("cross-account", name)
                .request(get_object(USER).with_resource_account(OTHER_ACCOUNT));
            if identity {
                builder = builder.identity(allow_get());
            }
            if let Some(grant) = grant {
                builder = builder.resource_policy(bucket_policy(grant.clone()));
            }
            cases.push(builder.build());
        }
    }
    cases
}

fn kms_key_policies() -> Vec<Case> {
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let key_policy = |principal: Value| {
        NamedPolicy::new(
            "key-policy",
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "KeyUse", "Effect": "Allow", "Principal": principal, "Action": "kms:*", "Resource": "*"
            }]}),
        )
    };
    let grants: [(&str, Option<Value>); 4] = [
        ("no-key-policy", None),
        (
            "root",
            Some(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")})),
        ),
        ("caller", Some(json!({"AWS": USER}))),
        (
            "someone-else",
            Some(json!({"AWS": "arn:aws:iam::111122223333:user/bob"})),
        ),
    ];
    let mut cases = Vec::new();
    for identity in [false, true] {
        for (grant_name, grant) in &grants {
            for (action, resource) in [("kms:Decrypt", key), ("kms:CreateKey", "*")] {
                if resource == "*" && grant.is_some() {
                    continue;
                }
                let name = format!("{action}/identity-{identity}/{grant_name}");
                let mut builder = CaseBuilder::new("kms", name).request(
                    RequestContext::new(USER, action, resource).with_resource_account(ACCOUNT),
                );
                if identity {
                    builder = builder.identity(policy(
                        "kms-user",
                        json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]),
                    ));
                }
                if let Some(grant) = grant {
                    builder = builder.resource_policy(key_policy(grant.clone()));
                }
                cases.push(builder.build());
            }
        }
    }
    cases
}

fn role_trust_policies() -> Vec<Case> {
    let target = "arn:aws:iam::111122223333:role/Target";
    let trust = |principal: Value| {
        NamedPolicy::new(
            "trust-policy",
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"
            }]}),
        )
    };
    let grants: [(&str, Value); 3] = [
        ("account", json!({"AWS": ACCOUNT})),
        ("caller", json!({"AWS": USER})),
        (
            "someone-else",
            json!({"AWS": "arn:aws:iam::111122223333:user/bob"}),
        ),
    ];
    let mut cases = Vec::new();
    for identity in [false, true] {
        for (grant_name, grant) in &grants {
            let name = format!("identity-{identity}/{grant_name}");
            let mut builder = CaseBuilder::new("role-trust", name)
                .resource_policy(trust(grant.clone()))
                .request(
                    RequestContext::new(USER, "sts:AssumeRole", target)
                        .with_resource_account(ACCOUNT),
                );
            if identity {
                builder = builder.identity(policy(
                    "assume",
                    json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}]),
                ));
            }
            cases.push(builder.build());
        }
    }
    cases
}
