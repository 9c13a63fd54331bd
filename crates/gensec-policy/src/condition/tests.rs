//! One test per rule of condition evaluation.

use super::*;

fn context() -> RequestContext {
    RequestContext::new(
        "arn:aws:iam::111122223333:user/alice",
        "s3:GetObject",
        "arn:aws:s3:::bucket/key",
    )
}

fn holds(operator: &str, key: &str, values: &[&str], context: &RequestContext) -> bool {
    Condition::parse(
        operator,
        key,
        values.iter().map(|v| v.to_string()).collect(),
        true,
    )
    .unwrap_or_else(|err| panic!("{operator}: {err}"))
    .evaluate(context)
}

#[test]
fn string_operators() {
    let ctx = context().with("aws:PrincipalTag/team", "Red-Team");
    let key = "aws:PrincipalTag/team";
    assert!(holds("StringEquals", key, &["Red-Team"], &ctx));
    assert!(!holds("StringEquals", key, &["red-team"], &ctx));
    assert!(holds("StringEqualsIgnoreCase", key, &["red-TEAM"], &ctx));
    assert!(holds(
        "StringNotEqualsIgnoreCase",
        key,
        &["blue-team"],
        &ctx
    ));
    assert!(!holds(
        "StringNotEqualsIgnoreCase",
        key,
        &["RED-team"],
        &ctx
    ));
    assert!(holds("StringLike", key, &["Red-*"], &ctx));
    assert!(holds("StringLike", key, &["R?d-Team"], &ctx));
    assert!(!holds("StringLike", key, &["red-*"], &ctx));
    assert!(holds("StringNotLike", key, &["Blue-*"], &ctx));
    // StringEquals takes `*` literally.
    assert!(!holds("StringEquals", key, &["Red-*"], &ctx));
}

#[test]
fn multiple_values_are_ored_and_negated_values_nored() {
    let ctx = context().with("aws:PrincipalTag/team", "red");
    let key = "aws:PrincipalTag/team";
    assert!(holds("StringEquals", key, &["blue", "red"], &ctx));
    assert!(!holds("StringNotEquals", key, &["blue", "red"], &ctx));
    assert!(holds("StringNotEquals", key, &["blue", "green"], &ctx));
}

#[test]
fn absent_keys_fail_positive_operators_and_pass_negated_and_if_exists() {
    let ctx = context();
    let key = "ec2:MetadataHttpTokens";
    assert!(!holds("StringEquals", key, &["required"], &ctx));
    assert!(holds("StringNotEquals", key, &["required"], &ctx));
    assert!(holds("StringEqualsIfExists", key, &["required"], &ctx));
    assert!(holds("StringNotEqualsIfExists", key, &["required"], &ctx));
    assert!(holds(
        "ArnNotLike",
        "aws:SourceArn",
        &["arn:aws:sns:*:*:*"],
        &ctx
    ));
    assert!(holds(
        "NumericLessThanIfExists",
        "aws:MultiFactorAuthAge",
        &["3600"],
        &ctx
    ));
    assert!(!holds(
        "NumericLessThan",
        "aws:MultiFactorAuthAge",
        &["3600"],
        &ctx
    ));
}

#[test]
fn if_exists_checks_present_keys_normally() {
    let ctx = context().with("ec2:MetadataHttpTokens", "optional");
    assert!(!holds(
        "StringEqualsIfExists",
        "ec2:MetadataHttpTokens",
        &["required"],
        &ctx
    ));
    assert!(holds(
        "StringNotEqualsIfExists",
        "ec2:MetadataHttpTokens",
        &["required"],
        &ctx
    ));
}

#[test]
fn numeric_operators_compare_request_to_policy() {
    let ctx = context().with("aws:MultiFactorAuthAge", "3600");
    let key = "aws:MultiFactorAuthAge";
    assert!(holds("NumericEquals", key, &["3600"], &ctx));
    assert!(holds("NumericEquals", key, &["3600.0"], &ctx));
    assert!(holds("NumericNotEquals", key, &["60"], &ctx));
    assert!(holds("NumericLessThan", key, &["7200"], &ctx));
    assert!(holds("NumericLessThanEquals", key, &["3600"], &ctx));
    assert!(holds("NumericGreaterThan", key, &["60"], &ctx));
    assert!(holds("NumericGreaterThanEquals", key, &["3600"], &ctx));
    assert!(!holds("NumericGreaterThan", key, &["3600"], &ctx));
}

#[test]
fn date_operators_accept_iso_and_epoch_forms() {
    let ctx = context().with("aws:CurrentTime", "2024-06-01T12:00:00Z");
    let key = "aws:CurrentTime";
    assert!(holds(
        "DateGreaterThan",
        key,
        &["2024-06-01T00:00:00Z"],
        &ctx
    ));
    assert!(holds("DateLessThan", key, &["2024-06-02"], &ctx));
    assert!(holds("DateEquals", key, &["1717243200"], &ctx));
    assert!(holds("DateNotEquals", key, &["2024-06-01T12:00:01Z"], &ctx));
    assert!(holds(
        "DateLessThanEquals",
        key,
        &["2024-06-01T12:00:00Z"],
        &ctx
    ));
    assert!(holds(
        "DateGreaterThanEquals",
        key,
        &["2024-06-01T12:00:00+00:00"],
        &ctx
    ));
}

#[test]
fn bool_binary_and_ip_operators() {
    let ctx = context()
        .with("aws:SecureTransport", "TRUE")
        .with("aws:PrincipalTag/blob", "QmluYXJ5")
        .with("aws:SourceIp", "203.0.113.7");
    assert!(holds("Bool", "aws:SecureTransport", &["true"], &ctx));
    assert!(!holds("Bool", "aws:SecureTransport", &["false"], &ctx));
    assert!(holds(
        "BinaryEquals",
        "aws:PrincipalTag/blob",
        &["QmluYXJ5"],
        &ctx
    ));
    assert!(!holds(
        "BinaryEquals",
        "aws:PrincipalTag/blob",
        &["cmluYXJ5"],
        &ctx
    ));
    assert!(holds(
        "IpAddress",
        "aws:SourceIp",
        &["203.0.113.0/24"],
        &ctx
    ));
    assert!(holds(
        "NotIpAddress",
        "aws:SourceIp",
        &["198.51.100.0/24", "2001:db8::/32"],
        &ctx
    ));
    let v6 = context().with("aws:SourceIp", "2001:db8::7");
    assert!(holds("IpAddress", "aws:SourceIp", &["2001:db8::/32"], &v6));
    assert!(!holds(
        "IpAddress",
        "aws:SourceIp",
        &["203.0.113.0/24"],
        &v6
    ));
    assert!(holds(
        "NotIpAddress",
        "aws:SourceIp",
        &["203.0.113.0/24"],
        &v6
    ));
}

#[test]
fn arn_operators_match_segment_by_segment() {
    let ctx = context().with(
        "aws:PrincipalArn",
        "arn:aws:iam::111122223333:role/BreakGlass",
    );
    let key = "aws:PrincipalArn";
    assert!(holds("ArnLike", key, &["arn:aws:iam::*:role/Break*"], &ctx));
    assert!(holds(
        "ArnEquals",
        key,
        &["arn:aws:iam::111122223333:role/BreakGlass"],
        &ctx
    ));
    assert!(holds(
        "ArnNotLike",
        key,
        &["arn:aws:iam::*:role/Pipeline*"],
        &ctx
    ));
    assert!(!holds(
        "ArnNotEquals",
        key,
        &["arn:aws:iam::*:role/*"],
        &ctx
    ));
    // The account segment's `*` does not reach into the resource segment.
    assert!(!holds(
        "ArnLike",
        key,
        &["arn:aws:iam::*role/BreakGlass:x"],
        &ctx
    ));
}

#[test]
fn incomparable_request_values_fail_positive_and_negated_operators() {
    let ctx = context()
        .with("aws:MultiFactorAuthAge", "soon")
        .with("aws:SourceIp", "not-an-ip")
        .with("aws:SecureTransport", "yes");
    assert!(!holds(
        "NumericEquals",
        "aws:MultiFactorAuthAge",
        &["1"],
        &ctx
    ));
    assert!(!holds(
        "NumericNotEquals",
        "aws:MultiFactorAuthAge",
        &["1"],
        &ctx
    ));
    assert!(!holds(
        "NotIpAddress",
        "aws:SourceIp",
        &["10.0.0.0/8"],
        &ctx
    ));
    assert!(!holds("Bool", "aws:SecureTransport", &["true"], &ctx));
}

#[test]
fn set_operators_on_absent_empty_partial_and_full_sets() {
    let key = "aws:TagKeys";
    let absent = context();
    let empty = context().with(key, ContextValue::multi(Vec::<String>::new()));
    let partial = context().with(key, ContextValue::multi(["env", "owner"]));
    let full = context().with(key, ContextValue::multi(["env"]));
    for ctx in [&absent, &empty] {
        assert!(holds("ForAllValues:StringEquals", key, &["env"], ctx));
        assert!(!holds("ForAnyValue:StringEquals", key, &["env"], ctx));
        // IfExists does not rescue ForAnyValue on a missing key.
        assert!(!holds(
            "ForAnyValue:StringEqualsIfExists",
            key,
            &["env"],
            ctx
        ));
    }
    assert!(!holds("ForAllValues:StringEquals", key, &["env"], &partial));
    assert!(holds("ForAnyValue:StringEquals", key, &["env"], &partial));
    assert!(holds("ForAllValues:StringEquals", key, &["env"], &full));
    assert!(holds(
        "ForAllValues:StringLike",
        key,
        &["e*", "o*"],
        &partial
    ));
    // Negated base operator: every value must differ from all policy values.
    assert!(!holds(
        "ForAllValues:StringNotEquals",
        key,
        &["env"],
        &partial
    ));
    assert!(holds(
        "ForAnyValue:StringNotEquals",
        key,
        &["env"],
        &partial
    ));
    // A single value counts as a one-element set.
    let single = context().with("aws:PrincipalTag/team", "red");
    assert!(holds(
        "ForAnyValue:StringEquals",
        "aws:PrincipalTag/team",
        &["red"],
        &single
    ));
}

#[test]
fn single_valued_operators_do_not_match_sets() {
    let ctx = context().with("aws:TagKeys", ContextValue::multi(["env"]));
    assert!(!holds("StringEquals", "aws:TagKeys", &["env"], &ctx));
    assert!(!holds("StringNotEquals", "aws:TagKeys", &["other"], &ctx));
    assert!(!holds(
        "StringEqualsIfExists",
        "aws:TagKeys",
        &["env"],
        &ctx
    ));
}

#[test]
fn null_checks_presence() {
    let key = "aws:TokenIssueTime";
    let present = context().with(key, "2024-06-01T00:00:00Z");
    let absent = context();
    let empty = context().with("aws:TagKeys", ContextValue::multi(Vec::<String>::new()));
    assert!(holds("Null", key, &["true"], &absent));
    assert!(!holds("Null", key, &["false"], &absent));
    assert!(holds("Null", key, &["false"], &present));
    assert!(!holds("Null", key, &["TRUE"], &present));
    assert!(holds("Null", "aws:TagKeys", &["true"], &empty));
}

#[test]
fn key_names_are_case_insensitive() {
    let ctx = context().with("AWS:SourceIP", "10.1.2.3");
    assert!(holds("IpAddress", "aws:sourceip", &["10.0.0.0/8"], &ctx));
}

#[test]
fn policy_variables_in_condition_values() {
    let ctx = context()
        .with("aws:username", "alice")
        .with("aws:PrincipalTag/team", "red")
        .with("aws:ResourceTag/team", "red")
        .with("s3:prefix", "home/alice/docs");
    assert!(holds(
        "StringEquals",
        "aws:ResourceTag/team",
        &["${aws:PrincipalTag/team}"],
        &ctx
    ));
    assert!(holds(
        "StringLike",
        "s3:prefix",
        &["home/${aws:username}/*"],
        &ctx
    ));
    assert!(holds(
        "StringEquals",
        "aws:ResourceTag/team",
        &["${aws:PrincipalTag/dept, 'red'}"],
        &ctx
    ));
    // Unresolvable without default: positive and negated operators fail.
    assert!(!holds(
        "StringEquals",
        "aws:ResourceTag/team",
        &["${aws:PrincipalTag/dept}"],
        &ctx
    ));
    assert!(!holds(
        "StringNotEquals",
        "aws:ResourceTag/team",
        &["${aws:PrincipalTag/dept}"],
        &ctx
    ));
    // ...but another value can still match.
    assert!(holds(
        "StringEquals",
        "aws:ResourceTag/team",
        &["${aws:PrincipalTag/dept}", "red"],
        &ctx
    ));
}

#[test]
fn malformed_policy_values_are_errors() {
    let parse =
        |op: &str, key: &str, value: &str| Condition::parse(op, key, vec![value.to_string()], true);
    assert!(parse("NumericLessThan", "aws:MultiFactorAuthAge", "soon").is_err());
    assert!(parse("DateLessThan", "aws:CurrentTime", "tomorrow").is_err());
    assert!(parse("IpAddress", "aws:SourceIp", "10.0.0.0/40").is_err());
    assert!(parse("Bool", "aws:SecureTransport", "yes").is_err());
    assert!(parse("Null", "aws:TokenIssueTime", "maybe").is_err());
    assert!(parse("ArnLike", "aws:SourceArn", "arn:aws:sns").is_err());
    assert!(parse("StringEquals", "", "x").is_err());
    assert!(parse("Bool", "aws:SecureTransport", "${aws:PrincipalTag/tls}").is_ok());
}
