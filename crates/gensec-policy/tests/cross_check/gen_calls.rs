//! Multi-resource API calls, built from the knowledge base: the IMDSv2 SCP
//! written with `Resource: "*"` denies every `ec2:RunInstances`, because
//! the image, subnet, security group and network interface contexts carry
//! no `ec2:MetadataHttpTokens`; scoped to instances it allows a compliant
//! launch and denies a non-compliant one.

use crate::common::{CaseBuilder, allow_everything, full_aws_access, policy};
use gensec_kb::Kb;
use gensec_policy::corpus::Case;
use gensec_policy::{ApiCall, Outcome, ResourceSpec};
use serde_json::{Value, json};

const DEVELOPER: &str = "arn:aws:sts::111122223333:assumed-role/Developer/dev";

fn launch(tokens: Option<&str>) -> ApiCall {
    let call = ApiCall::new("ec2:RunInstances", DEVELOPER).resource(
        "image",
        ResourceSpec::arn("arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890"),
    );
    match tokens {
        Some(tokens) => call.value("ec2:MetadataHttpTokens", tokens),
        None => call,
    }
}

fn imds_scp(resource: &str, condition: Value) -> gensec_policy::corpus::NamedPolicy {
    policy(
        "require-imdsv2",
        json!([{"Sid": "RequireImdsV2", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": resource, "Condition": condition}]),
    )
}

pub fn cases(kb: &Kb) -> Vec<Case> {
    let mut cases = imdsv2_scps(kb);
    cases.extend(identity_scoped_to_instances(kb));
    cases
}

/// The IMDSv2 SCP in four forms x compliant, non-compliant and omitted
/// metadata options x with and without the optional volume and key pair.
fn imdsv2_scps(kb: &Kb) -> Vec<Case> {
    let not_required = json!({"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}});
    let not_required_if_exists =
        json!({"StringNotEqualsIfExists": {"ec2:MetadataHttpTokens": "required"}});
    let guarded = json!({
        "StringNotEquals": {"ec2:MetadataHttpTokens": "required"},
        "Null": {"ec2:MetadataHttpTokens": "false"}
    });
    use Outcome::{Allowed, ExplicitlyDenied};
    // (name, SCP resource, condition, [required, optional, omitted])
    let variants: [(&str, &str, &Value, [Outcome; 3]); 4] = [
        ("every-resource", "*", &not_required, [ExplicitlyDenied; 3]),
        (
            "every-resource-if-exists",
            "*",
            &not_required_if_exists,
            [ExplicitlyDenied; 3],
        ),
        (
            "instances-only",
            "arn:aws:ec2:*:*:instance/*",
            &not_required,
            [Allowed, ExplicitlyDenied, ExplicitlyDenied],
        ),
        // Null-guarded on "*": the omitted key is not caught (insecure default).
        (
            "every-resource-null-guarded",
            "*",
            &guarded,
            [Allowed, ExplicitlyDenied, Allowed],
        ),
    ];
    let mut cases = Vec::new();
    for (name, resource, condition, outcomes) in variants {
        for (tokens, expected) in [Some("required"), Some("optional"), None]
            .into_iter()
            .zip(outcomes)
        {
            for touch_optional in [false, true] {
                let mut call = launch(tokens);
                if touch_optional {
                    call = call.touch("volume").touch("key-pair");
                }
                let contexts = call.contexts(kb).unwrap_or_else(|err| panic!("{err}"));
                let case_name = format!(
                    "{name}/{}{}",
                    tokens.unwrap_or("omitted"),
                    if touch_optional {
                        "/with-volume-and-key-pair"
                    } else {
                        ""
                    }
                );
                cases.push(
                    CaseBuilder::new("multi-resource", case_name)
                        .describe(
                            "ec2:RunInstances authorised against each resource type it touches",
                        )
                        .identity(allow_everything())
                        .scp_level(
                            "root",
                            vec![full_aws_access(), imds_scp(resource, condition.clone())],
                        )
                        .requests(contexts)
                        .expect(expected)
                        .build(),
                );
            }
        }
    }
    cases
}

/// An identity policy that allows launching only on instances misses the
/// image, subnet, security group and network interface.
fn identity_scoped_to_instances(kb: &Kb) -> Vec<Case> {
    use Outcome::{Allowed, ImplicitlyDenied};
    let mut cases = Vec::new();
    for (name, resources, expected) in [
        (
            "identity-instances-only",
            json!("arn:aws:ec2:*:*:instance/*"),
            ImplicitlyDenied,
        ),
        (
            "identity-all-launch-resources",
            json!([
                "arn:aws:ec2:*:*:instance/*",
                "arn:aws:ec2:*::image/*",
                "arn:aws:ec2:*:*:subnet/*",
                "arn:aws:ec2:*:*:security-group/*",
                "arn:aws:ec2:*:*:network-interface/*"
            ]),
            Allowed,
        ),
    ] {
        let contexts = launch(Some("required"))
            .contexts(kb)
            .unwrap_or_else(|err| panic!("{err}"));
        cases.push(
            CaseBuilder::new("multi-resource", name)
                .identity(policy(
                    "launcher",
                    json!([{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": resources}]),
                ))
                .requests(contexts)
                .expect(expected)
                .build(),
        );
    }
    cases
}
