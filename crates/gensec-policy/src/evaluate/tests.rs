//! One test per rule of the decision logic.

use super::*;
use crate::policy::PolicyKind;
use serde_json::json;

const USER: &str = "arn:aws:iam::111122223333:user/alice";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/App/s1";
const ROLE: &str = "arn:aws:iam::111122223333:role/App";
const OBJECT: &str = "arn:aws:s3:::bucket/key";

fn policy(id: &str, kind: PolicyKind, statements: serde_json::Value) -> Policy {
    Policy::from_value(
        id,
        kind,
        &json!({"Version": "2012-10-17", "Statement": statements}),
    )
    .unwrap_or_else(|err| panic!("{err}"))
}

fn identity(statements: serde_json::Value) -> Policy {
    policy("identity", PolicyKind::Identity, statements)
}

fn allow_get() -> Policy {
    identity(json!([{"Sid": "Get", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]))
}

fn request(principal: &str) -> RequestContext {
    RequestContext::new(principal, "s3:GetObject", OBJECT)
}

fn outcome(set: &PolicySet, context: &RequestContext) -> Outcome {
    set.evaluate(context).outcome
}

#[test]
fn identity_allow_needed_and_explicit_deny_wins() {
    let mut set = PolicySet::default();
    let decision = set.evaluate(&request(USER));
    assert_eq!(decision.outcome, Outcome::ImplicitlyDenied);
    assert_eq!(decision.missing, vec![MissingAllow::IdentityOrResource]);
    set.identity.push(allow_get());
    let decision = set.evaluate(&request(USER));
    assert_eq!(decision.outcome, Outcome::Allowed);
    assert_eq!(decision.statements[0].statement, "Get");
    set.identity.push(identity(
        json!([{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]),
    ));
    let decision = set.evaluate(&request(USER));
    assert_eq!(decision.outcome, Outcome::ExplicitlyDenied);
    assert_eq!(decision.statements[0].statement, "0");
    assert_eq!(decision.statements[0].role, PolicyRole::Identity);
}

#[test]
fn every_scp_level_must_allow_and_scp_denies_win() {
    let mut set = PolicySet {
        identity: vec![allow_get()],
        ..PolicySet::default()
    };
    let allow_s3 = policy(
        "allow-s3",
        PolicyKind::ServiceControl,
        json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
    );
    set.scps = vec![
        ScpLevel::with_full_aws_access("root", vec![]),
        ScpLevel::new("ou-apps", vec![allow_s3]),
    ];
    assert_eq!(outcome(&set, &request(USER)), Outcome::Allowed);
    let ec2 = RequestContext::new(USER, "ec2:DescribeInstances", "*");
    set.identity.push(identity(
        json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]),
    ));
    let decision = set.evaluate(&ec2);
    assert_eq!(decision.outcome, Outcome::ImplicitlyDenied);
    assert_eq!(decision.missing, vec![MissingAllow::Scp("ou-apps".into())]);
    set.scps[0].policies.push(policy(
        "deny-s3",
        PolicyKind::ServiceControl,
        json!([{"Sid": "NoS3", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}]),
    ));
    let decision = set.evaluate(&request(USER));
    assert_eq!(decision.outcome, Outcome::ExplicitlyDenied);
    assert_eq!(decision.statements[0].role, PolicyRole::Scp("root".into()));
    // An empty level allows nothing.
    set.scps = vec![ScpLevel::new("root", vec![])];
    assert_eq!(outcome(&set, &request(USER)), Outcome::ImplicitlyDenied);
}

#[test]
fn same_account_resource_policy_alone_can_allow() {
    let bucket_policy = |principal: serde_json::Value| {
        policy(
            "bucket",
            PolicyKind::Resource,
            json!([{"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": OBJECT}]),
        )
    };
    let mut set = PolicySet {
        resource: Some(bucket_policy(json!({"AWS": USER}))),
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &request(USER)), Outcome::Allowed);
    // Naming the account delegates to identity policies.
    set.resource = Some(bucket_policy(json!({"AWS": "111122223333"})));
    assert_eq!(outcome(&set, &request(USER)), Outcome::ImplicitlyDenied);
    set.identity.push(allow_get());
    assert_eq!(outcome(&set, &request(USER)), Outcome::Allowed);
    // A role ARN matches its sessions.
    set.identity.clear();
    set.resource = Some(bucket_policy(json!({"AWS": ROLE})));
    assert_eq!(outcome(&set, &request(SESSION)), Outcome::Allowed);
}

#[test]
fn cross_account_needs_both_sides() {
    let other = request(USER).with_resource_account("444455556666");
    let bucket = policy(
        "bucket",
        PolicyKind::Resource,
        json!([{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject", "Resource": OBJECT}]),
    );
    let mut set = PolicySet {
        identity: vec![allow_get()],
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &other), Outcome::ImplicitlyDenied);
    set.resource = Some(bucket);
    assert_eq!(outcome(&set, &other), Outcome::Allowed);
    set.identity.clear();
    assert_eq!(outcome(&set, &other), Outcome::ImplicitlyDenied);
}

#[test]
fn resource_policy_denies_apply_to_named_principals_and_accounts() {
    let set = PolicySet {
        identity: vec![allow_get()],
        resource: Some(policy(
            "bucket",
            PolicyKind::Resource,
            json!([{"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}]),
        )),
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &request(USER)), Outcome::ExplicitlyDenied);
    let stranger =
        request("arn:aws:iam::444455556666:user/eve").with_resource_account("111122223333");
    assert_eq!(outcome(&set, &stranger), Outcome::ImplicitlyDenied);
}

#[test]
fn permission_boundary_limits_identity_policies() {
    let boundary = |action: &str| {
        policy(
            "boundary",
            PolicyKind::Identity,
            json!([{"Effect": "Allow", "Action": action, "Resource": "*"}]),
        )
    };
    let mut set = PolicySet {
        identity: vec![allow_get()],
        permission_boundary: Some(boundary("ec2:*")),
        ..PolicySet::default()
    };
    let decision = set.evaluate(&request(USER));
    assert_eq!(decision.outcome, Outcome::ImplicitlyDenied);
    assert_eq!(decision.missing, vec![MissingAllow::PermissionBoundary]);
    set.permission_boundary = Some(boundary("s3:*"));
    assert_eq!(outcome(&set, &request(USER)), Outcome::Allowed);
}

#[test]
fn resource_policy_naming_the_session_or_user_bypasses_the_boundary_but_not_the_role() {
    let bucket = |principal: &str| {
        policy(
            "bucket",
            PolicyKind::Resource,
            json!([{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject", "Resource": OBJECT}]),
        )
    };
    let boundary = policy(
        "boundary",
        PolicyKind::Identity,
        json!([{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]),
    );
    let mut set = PolicySet {
        permission_boundary: Some(boundary),
        resource: Some(bucket(SESSION)),
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &request(SESSION)), Outcome::Allowed);
    set.resource = Some(bucket(USER));
    assert_eq!(outcome(&set, &request(USER)), Outcome::Allowed);
    set.resource = Some(bucket(ROLE));
    assert_eq!(outcome(&set, &request(SESSION)), Outcome::ImplicitlyDenied);
}

#[test]
fn not_principal_deny_always_applies_with_a_boundary() {
    let bucket = policy(
        "bucket",
        PolicyKind::Resource,
        json!([
            {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "s3:GetObject", "Resource": OBJECT},
            {"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "s3:*", "Resource": "*"}
        ]),
    );
    let mut set = PolicySet {
        resource: Some(bucket),
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &request(USER)), Outcome::Allowed);
    set.permission_boundary = Some(policy(
        "boundary",
        PolicyKind::Identity,
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    ));
    assert_eq!(outcome(&set, &request(USER)), Outcome::ExplicitlyDenied);
}

#[test]
fn kms_keys_need_the_key_policy_to_trust_the_account() {
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let decrypt = RequestContext::new(USER, "kms:Decrypt", key);
    let mut set = PolicySet {
        identity: vec![identity(
            json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]),
        )],
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &decrypt), Outcome::ImplicitlyDenied);
    set.resource = Some(policy(
        "key-policy",
        PolicyKind::Resource,
        json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]),
    ));
    assert_eq!(outcome(&set, &decrypt), Outcome::Allowed);
    // Wildcard-only KMS actions are governed by identity policies alone.
    let create = RequestContext::new(USER, "kms:CreateKey", "*");
    set.resource = None;
    assert_eq!(outcome(&set, &create), Outcome::Allowed);
}

#[test]
fn role_trust_policies_must_trust_the_account_for_identity_policies_to_count() {
    let assume = RequestContext::new(
        USER,
        "sts:AssumeRole",
        "arn:aws:iam::111122223333:role/Target",
    );
    let trust = |principal: &str| {
        policy(
            "trust",
            PolicyKind::Resource,
            json!([{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]),
        )
    };
    let mut set = PolicySet {
        identity: vec![identity(
            json!([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]),
        )],
        resource: Some(trust("arn:aws:iam::111122223333:user/bob")),
        ..PolicySet::default()
    };
    assert_eq!(outcome(&set, &assume), Outcome::ImplicitlyDenied);
    set.resource = Some(trust("111122223333"));
    assert_eq!(outcome(&set, &assume), Outcome::Allowed);
    set.identity.clear();
    set.resource = Some(trust(USER));
    assert_eq!(outcome(&set, &assume), Outcome::Allowed);
}

#[test]
fn service_principals_need_the_resource_policy() {
    let service = RequestContext::new("cloudtrail.amazonaws.com", "s3:PutObject", OBJECT)
        .with_resource_account("111122223333");
    let mut set = PolicySet::default();
    assert_eq!(outcome(&set, &service), Outcome::ImplicitlyDenied);
    set.resource = Some(policy(
        "bucket",
        PolicyKind::Resource,
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "*"}]),
    ));
    assert_eq!(outcome(&set, &service), Outcome::Allowed);
}

#[test]
fn get_caller_identity_cannot_be_denied() {
    let set = PolicySet {
        identity: vec![identity(
            json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}]),
        )],
        ..PolicySet::default()
    };
    let context = RequestContext::new(USER, "sts:GetCallerIdentity", "*");
    assert_eq!(outcome(&set, &context), Outcome::Allowed);
}

#[test]
fn calls_are_allowed_only_when_every_resource_is() {
    let set = PolicySet {
        identity: vec![identity(
            json!([{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:instance/*"}]),
        )],
        ..PolicySet::default()
    };
    let instance = RequestContext::new(
        USER,
        "ec2:RunInstances",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
    );
    let image = RequestContext::new(
        USER,
        "ec2:RunInstances",
        "arn:aws:ec2:us-east-1::image/ami-1",
    )
    .with_resource_account("111122223333");
    let call = set.evaluate_call(&[instance.clone(), image]);
    assert_eq!(call.outcome, Outcome::ImplicitlyDenied);
    assert_eq!(call.deciding().count(), 1);
    assert_eq!(set.evaluate_call(&[instance]).outcome, Outcome::Allowed);
    assert_eq!(set.evaluate_call(&[]).outcome, Outcome::ImplicitlyDenied);
}

#[test]
fn conditions_are_anded_across_operators_and_keys() {
    let set = PolicySet {
        identity: vec![identity(json!([{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {
                "Bool": {"aws:SecureTransport": "true"},
                "StringEquals": {"aws:PrincipalTag/team": "red", "aws:PrincipalTag/env": "prod"}
            }
        }]))],
        ..PolicySet::default()
    };
    let all = request(USER)
        .with("aws:SecureTransport", "true")
        .with("aws:PrincipalTag/team", "red")
        .with("aws:PrincipalTag/env", "prod");
    assert_eq!(outcome(&set, &all), Outcome::Allowed);
    let wrong_env = all.clone().with("aws:PrincipalTag/env", "dev");
    assert_eq!(outcome(&set, &wrong_env), Outcome::ImplicitlyDenied);
    let plain_http = all.with("aws:SecureTransport", "false");
    assert_eq!(outcome(&set, &plain_http), Outcome::ImplicitlyDenied);
}
