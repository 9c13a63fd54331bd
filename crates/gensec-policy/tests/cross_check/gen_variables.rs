//! Policy variables in `Resource`, `NotResource` and condition values:
//! resolved, absent, multivalued, with defaults, and the `${*}`, `${?}`,
//! `${$}` escapes.

use crate::common::{
    ACCOUNT, CaseBuilder, USER, allow_everything, condition_case, get_object, policy,
    start_instance,
};
use gensec_policy::corpus::{Case, NamedPolicy};
use gensec_policy::{ContextValue, Outcome, RequestContext};
use serde_json::{Value, json};

pub fn cases() -> Vec<Case> {
    let mut cases = resource_variables();
    cases.extend(condition_variables());
    cases.extend(escapes());
    cases.extend(divergences());
    cases
}

fn home_object(owner: &str) -> String {
    format!("arn:aws:s3:::example-bucket/home/{owner}/notes.txt")
}

fn resource_variables() -> Vec<Case> {
    let patterns = [
        "arn:aws:s3:::example-bucket/home/${aws:username}/*",
        "arn:aws:s3:::example-bucket/home/${aws:PrincipalTag/team}/*",
        "arn:aws:s3:::example-bucket/home/${aws:PrincipalTag/team, 'shared'}/*",
        "arn:aws:s3:::example-bucket/home/${aws:TagKeys}/*",
    ];
    let contexts: [(&str, Vec<(&str, ContextValue)>); 4] = [
        (
            "alice",
            vec![
                ("aws:username", "alice".into()),
                ("aws:PrincipalTag/team", "red".into()),
            ],
        ),
        ("no-keys", vec![]),
        (
            "tag-keys-set",
            vec![("aws:TagKeys", ContextValue::multi(["alice"]))],
        ),
        ("case", vec![("AWS:UserName", "alice".into())]),
    ];
    let mut cases = Vec::new();
    for pattern in patterns {
        for owner in ["alice", "red", "shared", "bob"] {
            for (context_name, values) in &contexts {
                for element in ["Resource", "NotResource"] {
                    let mut context = RequestContext::new(USER, "s3:GetObject", home_object(owner))
                        .with_resource_account(ACCOUNT);
                    for (key, value) in values {
                        context.set(*key, value.clone());
                    }
                    let statement =
                        json!([{ "Effect": "Allow", "Action": "s3:GetObject", element: pattern }]);
                    let name = format!("{element}/{pattern}/{owner}/{context_name}");
                    cases.push(
                        CaseBuilder::new("variables", name)
                            .identity(policy("home", statement))
                            .request(context)
                            .build(),
                    );
                }
            }
        }
    }
    cases
}

fn variable_conditions() -> [(&'static str, Value); 6] {
    let tag_match =
        |operator: &str, value: &str| json!({ operator: { "aws:ResourceTag/team": value } });
    [
        (
            "equals-principal-tag",
            tag_match("StringEquals", "${aws:PrincipalTag/team}"),
        ),
        (
            "not-equals-principal-tag",
            tag_match("StringNotEquals", "${aws:PrincipalTag/team}"),
        ),
        (
            "equals-with-default",
            tag_match("StringEquals", "${aws:PrincipalTag/team, 'unassigned'}"),
        ),
        (
            "like-prefix",
            tag_match("StringLike", "${aws:PrincipalTag/team}-*"),
        ),
        (
            "ignore-case",
            tag_match("StringEqualsIgnoreCase", "${aws:PrincipalTag/team}"),
        ),
        (
            "arn-like-username",
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:${aws:username}-alerts"}}),
        ),
    ]
}

fn condition_variables() -> Vec<Case> {
    let specs = variable_conditions();
    let contexts: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "tags-equal",
            vec![
                ("aws:PrincipalTag/team", "red"),
                ("aws:ResourceTag/team", "red"),
            ],
        ),
        (
            "tags-differ",
            vec![
                ("aws:PrincipalTag/team", "red"),
                ("aws:ResourceTag/team", "blue"),
            ],
        ),
        (
            "tag-suffixed",
            vec![
                ("aws:PrincipalTag/team", "red"),
                ("aws:ResourceTag/team", "red-ops"),
            ],
        ),
        (
            "principal-tag-absent",
            vec![("aws:ResourceTag/team", "unassigned")],
        ),
        (
            "username",
            vec![
                ("aws:username", "alice"),
                (
                    "aws:SourceArn",
                    "arn:aws:sns:us-east-1:111122223333:alice-alerts",
                ),
                ("aws:ResourceTag/team", "RED"),
                ("aws:PrincipalTag/team", "red"),
            ],
        ),
    ];
    let mut cases = Vec::new();
    for (spec_name, condition) in &specs {
        for (context_name, values) in &contexts {
            for effect in ["Allow", "Deny"] {
                let mut context = start_instance(USER);
                for (key, value) in values {
                    context.set(*key, *value);
                }
                let name = format!("{spec_name}/{context_name}/{effect}");
                cases.push(
                    condition_case("variables", name, effect, condition.clone(), context).build(),
                );
            }
        }
    }
    cases
}

fn escapes() -> Vec<Case> {
    let values = ["a*b", "a?b", "a$b", "axb", "a${x}b"];
    let patterns = ["a${*}b", "a${?}b", "a${$}b", "a*b", "a?b"];
    let mut cases = Vec::new();
    for operator in ["StringLike", "StringEquals"] {
        for pattern in patterns {
            for value in values {
                let context = get_object(USER).with("aws:PrincipalTag/code", value);
                let condition = json!({ operator: { "aws:PrincipalTag/code": pattern } });
                let name = format!("{operator}/{pattern}/{value}");
                let mut builder =
                    condition_case("variable-escapes", name, "Allow", condition, context);
                let resolved = pattern
                    .replace("${*}", "*")
                    .replace("${?}", "?")
                    .replace("${$}", "$");
                if operator == "StringEquals" && pattern.contains("${") && resolved == value {
                    builder = builder.expect(Outcome::Allowed).diverges(
                        "${*}, ${?} and ${$} in StringEquals: gensec reads them as the characters they stand for (as in StringLike), iam-simulate as the literal text \"${*}\"",
                        "IAM User Guide, Policy variables, Special characters: ${*}, ${?} and ${$} are policy variables with fixed values *, ? and $, for use where the character is wanted literally",
                        Outcome::ImplicitlyDenied,
                    );
                }
                cases.push(builder.build());
            }
        }
    }
    cases
}

fn divergences() -> Vec<Case> {
    let mut cases = Vec::new();
    // Without "Version": "2012-10-17" there are no policy variables.
    const VERSION_REFERENCE: &str = "IAM User Guide, IAM JSON policy elements: Version: with 2008-10-17 or no Version, \"${aws:username}\" is treated as literal text, not a variable";
    for (name, document) in [
        (
            "no-version",
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-bucket/home/${aws:username}/*"}]}),
        ),
        (
            "version-2008",
            json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-bucket/home/${aws:username}/*"}]}),
        ),
    ] {
        cases.push(
            CaseBuilder::new("variables", format!("divergence/{name}"))
                .identity(NamedPolicy::new("home", document))
                .request(
                    RequestContext::new(USER, "s3:GetObject", home_object("alice"))
                        .with_resource_account(ACCOUNT)
                        .with("aws:username", "alice"),
                )
                .expect(Outcome::ImplicitlyDenied)
                .diverges(
                    "policy variables need Version 2012-10-17; iam-simulate substitutes them in every version",
                    VERSION_REFERENCE,
                    Outcome::Allowed,
                )
                .build(),
        );
    }
    // A variable inside an ARN segment other than the last.
    cases.push(
        CaseBuilder::new("variables", "divergence/arn-account-variable")
            .identity(policy(
                "same-account-topics",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                    "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:${aws:PrincipalAccount}:*"}}}]),
            ))
            .request(
                get_object(USER)
                    .with("aws:PrincipalAccount", ACCOUNT)
                    .with("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:alerts"),
            )
            .expect(Outcome::Allowed)
            .diverges(
                "a policy variable whose key contains a colon inside an ARN's account segment: gensec substitutes before splitting the ARN, iam-simulate splits the raw text at every colon",
                "IAM User Guide, Condition operators, ARN condition operators: each of the six colon-delimited components is checked separately; variables are replaced by their values first (Policy variables: \"replaced with values that come from the request\")",
                Outcome::ImplicitlyDenied,
            )
            .build(),
    );
    cases.push(
        CaseBuilder::new("variables", "deny-with-unresolvable-variable")
            .identity(allow_everything())
            .identity(policy(
                "deny-others",
                json!([{"Effect": "Deny", "Action": "ec2:StartInstances", "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:ResourceTag/owner": "${aws:username}"}}}]),
            ))
            .request(start_instance(USER).with("aws:ResourceTag/owner", "bob"))
            .expect(Outcome::Allowed)
            .build(),
    );
    cases
}
