use super::*;
use serde_json::json;

fn parse(kind: PolicyKind, value: Value) -> Result<Policy, PolicyError> {
    policy("test-policy", kind, &value)
}

fn error_text(kind: PolicyKind, value: Value) -> String {
    parse(kind, value)
        .expect_err("should be rejected")
        .to_string()
}

#[test]
fn statement_as_object_or_array_and_strings_or_lists() {
    let single = parse(
        PolicyKind::Identity,
        json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
    )
    .unwrap();
    assert_eq!(single.statements.len(), 1);
    assert_eq!(single.statements[0].label(), "0");
    let listed = parse(
        PolicyKind::Identity,
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "NotResource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
             "Condition": {"Bool": {"aws:SecureTransport": false}, "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}}
        ]}),
    )
    .unwrap();
    let statement = &listed.statements[0];
    assert_eq!(statement.label(), "A");
    assert_eq!(statement.effect, Effect::Deny);
    assert_eq!(statement.conditions.len(), 2);
    assert_eq!(
        statement.conditions[0].raw_values,
        vec!["false".to_string()]
    );
    assert_eq!(statement.conditions[1].raw_values, vec!["3600".to_string()]);
}

#[test]
fn missing_version_means_2008_without_variables() {
    let policy = parse(
        PolicyKind::Identity,
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}"}]}),
    )
    .unwrap();
    assert_eq!(policy.version, PolicyVersion::V2008_10_17);
    let context = crate::context::RequestContext::new(
        "arn:aws:iam::111122223333:user/alice",
        "s3:GetObject",
        "arn:aws:s3:::b/${aws:username}",
    )
    .with("aws:username", "alice");
    assert!(policy.statements[0].applies_to(&context));
}

#[test]
fn errors_name_the_statement_and_the_field() {
    let text = error_text(
        PolicyKind::Identity,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "Broken", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"StringEqulas": {"aws:username": "a"}}}
        ]}),
    );
    assert!(text.contains("test-policy"), "{text}");
    assert!(text.contains("statement 1 (Sid \"Broken\")"), "{text}");
    assert!(text.contains("Condition.StringEqulas"), "{text}");
}

/// A one-statement policy with `changes` applied (`null` removes a key).
fn statement_with(changes: Value) -> Value {
    let mut base = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(key);
        } else {
            base[key] = value.clone();
        }
    }
    json!({"Version": "2012-10-17", "Statement": [base]})
}

#[test]
fn structural_errors() {
    let identity = |changes: Value| (PolicyKind::Identity, statement_with(changes));
    let cases = [
        (identity(json!({"Effect": "allow"})), "Effect"),
        (identity(json!({"NotAction": "s3:*"})), "together"),
        (identity(json!({"Action": null})), "Action or NotAction"),
        (
            identity(json!({"Resource": null})),
            "Resource or NotResource",
        ),
        (identity(json!({"Action": []})), "empty"),
        (identity(json!({"Action": 5})), "not a string"),
        (identity(json!({"Resource": "bucket"})), "neither"),
        (identity(json!({"Principal": "*"})), "only allowed"),
        (
            (
                PolicyKind::ServiceControl,
                statement_with(json!({"Principal": "*"})),
            ),
            "only allowed",
        ),
        (
            (PolicyKind::Resource, statement_with(json!({}))),
            "needs Principal",
        ),
        (
            (
                PolicyKind::Resource,
                statement_with(json!({"Principal": {"AWS": "bob"}})),
            ),
            "Principal.AWS",
        ),
        (identity(json!({"Effects": "Allow"})), "unknown element"),
        (
            identity(json!({"Condition": {"StringEquals": "x"}})),
            "maps condition keys",
        ),
        (
            identity(json!({"Condition": {"StringEquals": {"k": {"a": 1}}}})),
            "not a string, number",
        ),
        (
            (PolicyKind::Identity, json!({"Version": "2012-10-17"})),
            "missing Statement",
        ),
        (
            (
                PolicyKind::Identity,
                json!({"Version": "2020-01-01", "Statement": []}),
            ),
            "Version",
        ),
        ((PolicyKind::Identity, json!([])), "JSON object"),
    ];
    for ((kind, document), expected) in cases {
        let text = error_text(kind, document.clone());
        assert!(text.contains(expected), "{document}: {text}");
    }
}

#[test]
fn resource_policies_take_principals_and_may_omit_resource() {
    let trust = parse(
        PolicyKind::Resource,
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::111122223333:role/Ci"], "Service": "ec2.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        ]}),
    )
    .unwrap();
    assert_eq!(trust.statements.len(), 1);
    assert!(trust.statements[0].resources.is_none());
}

#[test]
fn full_aws_access_is_an_allow_everything_scp() {
    let policy = Policy::full_aws_access();
    assert_eq!(policy.kind, PolicyKind::ServiceControl);
    let context = crate::context::RequestContext::new(
        "arn:aws:iam::111122223333:user/alice",
        "ec2:RunInstances",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
    );
    assert!(policy.statements[0].applies_to(&context));
}

#[test]
fn json_errors_name_the_policy() {
    let err = Policy::parse("scp-deny", PolicyKind::ServiceControl, "{").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("policy scp-deny: not valid JSON"),
        "{err}"
    );
    assert_eq!(err.policy(), "scp-deny");
}
