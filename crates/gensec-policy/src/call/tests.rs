use super::*;
use crate::{Outcome, Policy, PolicyKind, PolicySet, ScpLevel};
use serde_json::json;
use std::sync::OnceLock;

const DEV: &str = "arn:aws:iam::111122223333:role/Dev";

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| Kb::embedded().expect("embedded knowledge base"))
}

fn launch(tokens: Option<&str>) -> ApiCall {
    let call = ApiCall::new("ec2:RunInstances", DEV);
    match tokens {
        Some(tokens) => call.value("ec2:MetadataHttpTokens", tokens),
        None => call,
    }
}

fn types(contexts: &[RequestContext]) -> Vec<&str> {
    contexts
        .iter()
        .map(|context| context.resource_type.as_deref().unwrap_or("*"))
        .collect()
}

#[test]
fn run_instances_is_authorised_against_each_required_resource() {
    let contexts = launch(Some("required")).contexts(kb()).unwrap();
    assert_eq!(
        types(&contexts),
        [
            "image",
            "instance",
            "network-interface",
            "security-group",
            "subnet"
        ]
    );
    for context in &contexts {
        let has_tokens = context.get("ec2:MetadataHttpTokens").is_some();
        assert_eq!(
            has_tokens,
            context.resource_type.as_deref() == Some("instance"),
            "{context:?}"
        );
        assert_eq!(
            context.get("aws:PrincipalArn"),
            Some(&ContextValue::single(DEV))
        );
        assert_eq!(
            context.get("aws:RequestedRegion"),
            Some(&ContextValue::single("us-east-1"))
        );
        assert_eq!(context.resource_account, "111122223333");
    }
    let image = &contexts[0];
    assert_eq!(
        image.resource,
        "arn:aws:ec2:us-east-1::image/example-imageid"
    );
}

#[test]
fn optional_resources_only_when_touched() {
    let contexts = launch(None)
        .touch("volume")
        .resource(
            "key-pair",
            ResourceSpec {
                placeholders: [("KeyPairName".to_string(), "ops".to_string())].into(),
                ..ResourceSpec::default()
            },
        )
        .contexts(kb())
        .unwrap();
    assert!(types(&contexts).contains(&"volume"));
    let key_pair = contexts
        .iter()
        .find(|context| context.resource_type.as_deref() == Some("key-pair"))
        .unwrap();
    assert_eq!(
        key_pair.resource,
        "arn:aws:ec2:us-east-1:111122223333:key-pair/ops"
    );
}

#[test]
fn resource_specific_values_and_types() {
    let contexts = launch(None)
        .value("aws:TagKeys", "env")
        .resource(
            "image",
            ResourceSpec::arn("arn:aws:ec2:us-east-1::image/ami-0abc").with("ec2:Owner", "amazon"),
        )
        .contexts(kb())
        .unwrap();
    let image = &contexts[0];
    assert_eq!(image.resource, "arn:aws:ec2:us-east-1::image/ami-0abc");
    assert_eq!(
        image.get("ec2:Owner"),
        Some(&ContextValue::single("amazon"))
    );
    // The image's table lists aws:TagKeys for CreateTags; RunInstances tags
    // the instance, not the image.
    assert!(image.get("aws:TagKeys").is_none());
    let instance = &contexts[1];
    assert_eq!(
        instance.get("aws:TagKeys"),
        Some(&ContextValue::multi(["env"]))
    );
    assert!(instance.get("ec2:Owner").is_none());
}

#[test]
fn mistakes_are_errors() {
    let unknown_type = launch(None).touch("bucket").contexts(kb()).unwrap_err();
    assert!(
        matches!(unknown_type, CallError::UnknownResourceType { .. }),
        "{unknown_type}"
    );
    let stray_key = launch(None)
        .value("s3:prefix", "x")
        .contexts(kb())
        .unwrap_err();
    assert!(
        matches!(stray_key, CallError::KeyNotApplicable { .. }),
        "{stray_key}"
    );
    let wrong_resource_key = launch(None)
        .resource(
            "subnet",
            ResourceSpec::default().with("ec2:Owner", "amazon"),
        )
        .contexts(kb())
        .unwrap_err();
    assert!(matches!(
        wrong_resource_key,
        CallError::ResourceKeyNotApplicable { .. }
    ));
    let list = launch(None)
        .value("ec2:MetadataHttpTokens", ContextValue::multi(["a", "b"]))
        .contexts(kb())
        .unwrap_err();
    assert!(matches!(list, CallError::SingleValuedKey { .. }));
    let action = ApiCall::new("ec2:LaunchRockets", DEV)
        .contexts(kb())
        .unwrap_err();
    assert!(matches!(action, CallError::UnknownAction { .. }));
    let principal = ApiCall::new("ec2:RunInstances", "dev")
        .contexts(kb())
        .unwrap_err();
    assert!(matches!(principal, CallError::Principal { .. }));
}

#[test]
fn wildcard_only_actions_have_one_context_on_star() {
    let contexts = ApiCall::new("ec2:DescribeInstances", DEV)
        .value("aws:SourceIp", "203.0.113.7")
        .contexts(kb())
        .unwrap();
    assert_eq!(contexts.len(), 1);
    assert_eq!(contexts[0].resource, "*");
    assert!(contexts[0].get("aws:SourceIp").is_some());
    let named = ApiCall::new("ec2:DescribeInstances", DEV)
        .touch("instance")
        .contexts(kb())
        .unwrap_err();
    assert!(
        matches!(named, CallError::UnknownResourceType { .. }),
        "{named}"
    );
}

fn scp_set(resource: &str) -> PolicySet {
    let scp = Policy::from_value(
        "require-imdsv2",
        PolicyKind::ServiceControl,
        &json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "RequireImdsV2", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": resource,
            "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}}]}),
    )
    .unwrap();
    let admin = Policy::from_value(
        "admin",
        PolicyKind::Identity,
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    .unwrap();
    PolicySet {
        identity: vec![admin],
        scps: vec![ScpLevel::with_full_aws_access("root", vec![scp])],
        ..PolicySet::default()
    }
}

#[test]
fn imdsv2_scp_on_every_resource_denies_every_launch() {
    let set = scp_set("*");
    let compliant = set.evaluate_call(&launch(Some("required")).contexts(kb()).unwrap());
    assert_eq!(compliant.outcome, Outcome::ExplicitlyDenied, "{compliant}");
    let denied: Vec<_> = compliant
        .deciding()
        .filter_map(|r| r.resource_type.as_deref())
        .collect();
    assert_eq!(
        denied,
        ["image", "network-interface", "security-group", "subnet"]
    );
}

#[test]
fn imdsv2_scp_scoped_to_instances_allows_only_compliant_launches() {
    let set = scp_set("arn:aws:ec2:*:*:instance/*");
    let outcome = |tokens| {
        set.evaluate_call(&launch(tokens).contexts(kb()).unwrap())
            .outcome
    };
    assert_eq!(outcome(Some("required")), Outcome::Allowed);
    assert_eq!(outcome(Some("optional")), Outcome::ExplicitlyDenied);
    // Omitted: the default (optional) is insecure and the key is absent.
    assert_eq!(outcome(None), Outcome::ExplicitlyDenied);
}

#[test]
fn a_model_invocation_is_authorised_against_the_named_model_only() {
    let model = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1";
    let all = ApiCall::new("bedrock:InvokeModel", DEV)
        .contexts(kb())
        .unwrap();
    assert!(all.len() > 1, "{:?}", types(&all));
    let call = ApiCall::new("bedrock:InvokeModel", DEV)
        .resource("foundation-model", ResourceSpec::arn(model))
        .only_named();
    let contexts = call.contexts(kb()).unwrap();
    assert_eq!(types(&contexts), ["foundation-model"]);
    assert_eq!(contexts[0].resource, model);
    // Without a named resource, only_named changes nothing.
    let unnamed = ApiCall::new("bedrock:InvokeModel", DEV).only_named();
    assert_eq!(unnamed.contexts(kb()).unwrap().len(), all.len());
}

#[test]
fn a_global_key_applies_exactly_when_a_scan_of_the_global_keys_finds_it() {
    let kb = kb();
    let scan = |key: &str| {
        kb.global_condition_keys().iter().any(|global| {
            !RESOURCE_SCOPED_GLOBALS.contains(&global.name.as_str())
                && gensec_kb::paths::key_matches(&global.name, key)
        })
    };
    let mut asked: Vec<String> = kb
        .global_condition_keys()
        .iter()
        .map(|global| global.name.replace("${TagKey}", "env"))
        .collect();
    asked.extend(
        [
            "AWS:SourceIp",
            "aws:RequestTag/env",
            "aws:ResourceTag/env",
            "aws:TagKeys",
            "aws:PrincipalTag/team",
            "aws:Unknown",
            "s3:prefix",
            "no-colon",
        ]
        .map(String::from),
    );
    for key in &asked {
        assert_eq!(global_applies(kb, key).unwrap(), scan(key), "{key}");
    }
    assert!(asked.iter().any(|key| scan(key)) && asked.iter().any(|key| !scan(key)));
}
