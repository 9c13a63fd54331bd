//! The catalogue's whole-input fixes executed: each rendered jq edit is run
//! by jq on a saved read shaped like the AWS CLI's output (describe-only
//! members, absent settings, values already compliant), and the result must
//! be exactly the write's input: every member the write takes and the read
//! holds passed on, the members taken under another name or from a nested
//! path, the deprecated member dropped, only the control's setting changed,
//! and nothing the write does not take (checked against the API model).
#![allow(clippy::unwrap_used)]

use gensec_kb::api_model::ApiModel;
use gensec_kb::controls::{ControlCatalogue, ReadModifyWrite, WholeInput};
use gensec_remediate::cli::{RenderedCli, render_fix};
use gensec_remediate::finding::Finding;
use serde_json::{Value, json};

fn finding(arn: &str, asff_type: &str) -> Finding {
    serde_json::from_value(json!({
        "SchemaVersion": "2018-10-08",
        "Id": "f-1",
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
        "GeneratorId": "security-control/X.1",
        "AwsAccountId": "123456789012",
        "Title": "t",
        "Description": "d",
        "CreatedAt": "2024-05-01T10:00:00Z",
        "UpdatedAt": "2024-05-01T10:00:00Z",
        "Severity": {"Label": "HIGH"},
        "Resources": [{"Type": asff_type, "Id": arn, "Region": "eu-west-1"}]
    }))
    .unwrap()
}

fn fix(id: &str, asff_type: &str) -> ReadModifyWrite {
    let catalogue = ControlCatalogue::embedded().unwrap();
    let (_, remediation) = catalogue
        .remediation_for_resource(id, Some(asff_type))
        .unwrap_or_else(|| panic!("{id} is remediated"));
    let fix = remediation
        .read_modify_write
        .clone()
        .expect("read-modify-write");
    assert!(fix.whole_input.is_some(), "{id}: a whole-input fix");
    fix
}

fn rendered(id: &str, arn: &str, asff_type: &str) -> RenderedCli {
    render_fix(&[], Some(&fix(id, asff_type)), &finding(arn, asff_type))
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// The jq line of a rendered fix run by jq on `current`.
fn run_jq(rendered: &RenderedCli, current: &Value) -> Value {
    let filter = rendered.commands[1]
        .strip_prefix("jq '")
        .and_then(|rest| rest.strip_suffix("' current.json > config.json"))
        .expect("jq line")
        .replace(r"'\''", "'");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("current.json");
    std::fs::write(&input, current.to_string()).unwrap();
    let output = std::process::Command::new("jq")
        .arg("-c")
        .arg(&filter)
        .arg(&input)
        .output()
        .expect("jq runs (install jq)");
    assert!(
        output.status.success(),
        "{filter}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every member of the edited input is a parameter of the write (the
/// botocore model held in the KB), so the CLI does not refuse the file.
fn assert_the_write_takes(service: &str, operation: &str, input: &Value) {
    let model = ApiModel::embedded().unwrap();
    let write = model.operation(service, operation).unwrap();
    for member in input.as_object().unwrap().keys() {
        assert!(
            write.parameters.iter().any(|p| &p.member == member),
            "aws {service} {operation} takes no {member}"
        );
    }
}

fn task_definition_finding() -> Finding {
    finding(
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/payments-api:12",
        "AwsEcsTaskDefinition",
    )
}

/// The catalogue's whole-input fix of an ECS task definition control.
fn catalogue_revision_fix(id: &str) -> ReadModifyWrite {
    fix(id, "AwsEcsTaskDefinition")
}

/// A describe-task-definition output as the CLI prints it (with
/// `--include TAGS`): two containers, an EFS volume and every
/// describe-only member.
fn saved_task_definition() -> Value {
    json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/payments-api:12",
            "containerDefinitions": [
                {"name": "app", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments:4.2",
                 "cpu": 256, "memory": 512, "essential": true, "privileged": true,
                 "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                 "environment": [{"name": "MODE", "value": "prod"}],
                 "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/payments"}}},
                {"name": "sidecar", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40",
                 "essential": false, "readonlyRootFilesystem": false}
            ],
            "family": "payments-api",
            "taskRoleArn": "arn:aws:iam::123456789012:role/payments-task",
            "executionRoleArn": "arn:aws:iam::123456789012:role/payments-exec",
            "networkMode": "awsvpc",
            "revision": 12,
            "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0abc", "rootDirectory": "/"}},
                        {"name": "scratch", "host": {}}],
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.task-iam-role"}],
            "placementConstraints": [],
            "compatibilities": ["EC2"],
            "requiresCompatibilities": ["EC2"],
            "cpu": "512",
            "memory": "1024",
            "pidMode": "host",
            "registeredAt": "2024-05-01T10:00:00.000000+00:00",
            "registeredBy": "arn:aws:sts::123456789012:assumed-role/deploy/ci",
            "enableFaultInjection": false
        },
        "tags": [{"key": "team", "value": "payments"}]
    })
}

/// What a register input made from the saved revision must be: the
/// revision without its describe-only members, the tags beside it.
fn register_input(current: &Value) -> Value {
    let mut input = current["taskDefinition"].clone();
    let fields = input.as_object_mut().expect("object");
    for describe_only in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
    ] {
        fields.remove(describe_only);
    }
    if current["tags"].as_array().is_some_and(|t| !t.is_empty()) {
        fields.insert("tags".into(), current["tags"].clone());
    }
    input
}

#[test]
fn a_new_task_definition_revision_is_read_edited_and_registered() {
    let rendered = render_fix(
        &[],
        Some(&catalogue_revision_fix("ECS.4")),
        &task_definition_finding(),
    )
    .expect("renders");
    assert_eq!(rendered.commands.len(), 3);
    assert_eq!(
        rendered.commands[0],
        "aws ecs describe-task-definition --task-definition payments-api --include TAGS --region eu-west-1 > current.json"
    );
    assert_eq!(
        rendered.commands[2],
        "aws ecs register-task-definition --cli-input-json file://config.json --region eu-west-1"
    );
}

/// Each ECS fix run by jq on a saved revision: only its setting changes,
/// the describe-only members are dropped, the tags are passed on.
#[test]
fn a_revision_changes_only_its_setting_and_drops_describe_only_members() {
    let current = saved_task_definition();
    let base = register_input(&current);
    for (id, change) in [
        (
            "ECS.4",
            &(|input: &mut Value| {
                // Only the container that was privileged changes.
                input["containerDefinitions"][0]["privileged"] = json!(false);
            }) as &dyn Fn(&mut Value),
        ),
        ("ECS.5", &|input: &mut Value| {
            input["containerDefinitions"][0]["readonlyRootFilesystem"] = json!(true);
            input["containerDefinitions"][1]["readonlyRootFilesystem"] = json!(true);
        }),
        ("ECS.3", &|input: &mut Value| {
            input["pidMode"] = json!("task");
        }),
        ("ECS.18", &|input: &mut Value| {
            // Only the EFS volume gets transit encryption.
            input["volumes"][0]["efsVolumeConfiguration"]["transitEncryption"] = json!("ENABLED");
        }),
        ("ECS.9", &|input: &mut Value| {
            // Only the container without a log configuration gets one;
            // the app's own awslogs settings stay.
            input["containerDefinitions"][1]["logConfiguration"] = json!({
                "logDriver": "awslogs",
                "options": {"awslogs-group": "<LOG_GROUP>", "awslogs-region": "eu-west-1",
                            "awslogs-stream-prefix": "payments-api"}});
        }),
    ] {
        let rendered = render_fix(
            &[],
            Some(&catalogue_revision_fix(id)),
            &task_definition_finding(),
        )
        .expect("renders");
        let mut expected = base.clone();
        change(&mut expected);
        assert_eq!(run_jq(&rendered, &current), expected, "{id}");
    }
    // No tags: none are passed (an empty list is dropped); a revision
    // already compliant is registered unchanged.
    let mut untagged = current.clone();
    untagged["tags"] = json!([]);
    untagged["taskDefinition"]["pidMode"] = json!("task");
    let rendered = render_fix(
        &[],
        Some(&catalogue_revision_fix("ECS.3")),
        &task_definition_finding(),
    )
    .expect("renders");
    let edited = run_jq(&rendered, &untagged);
    assert_eq!(edited, register_input(&untagged));
    assert!(edited.get("tags").is_none());
}

/// Cognito.2 run by jq on a saved identity pool: the whole definition
/// is written back with guest access off, providers and tags unchanged.
#[test]
fn an_identity_pool_is_written_back_whole_with_guest_access_off() {
    let pool_finding = finding(
        "arn:aws:cognito-identity:eu-west-1:123456789012:identitypool/eu-west-1:6f2b9d41-8c3e-4a57-b1d0-7e9a2c5f3b86",
        "AwsCognitoIdentityPool",
    );
    let rendered = render_fix(
        &[],
        Some(&fix("Cognito.2", "AwsCognitoIdentityPool")),
        &pool_finding,
    )
    .expect("renders");
    assert_eq!(
        rendered.commands[0],
        "aws cognito-identity describe-identity-pool --identity-pool-id eu-west-1:6f2b9d41-8c3e-4a57-b1d0-7e9a2c5f3b86 --region eu-west-1 > current.json"
    );
    assert_eq!(
        rendered.commands[2],
        "aws cognito-identity update-identity-pool --cli-input-json file://config.json --region eu-west-1"
    );
    let current = json!({
        "IdentityPoolId": "eu-west-1:6f2b9d41-8c3e-4a57-b1d0-7e9a2c5f3b86",
        "IdentityPoolName": "mobile_app",
        "AllowUnauthenticatedIdentities": true,
        "AllowClassicFlow": false,
        "SupportedLoginProviders": {"accounts.google.com": "123-abc.apps.googleusercontent.com"},
        "CognitoIdentityProviders": [{"ProviderName": "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", "ClientId": "5k2j", "ServerSideTokenCheck": false}],
        "IdentityPoolTags": {"team": "mobile"}
    });
    let mut expected = current.clone();
    expected["AllowUnauthenticatedIdentities"] = json!(false);
    assert_eq!(run_jq(&rendered, &current), expected);
    // Already off: written back unchanged.
    assert_eq!(run_jq(&rendered, &expected), expected);
}

#[test]
fn a_whole_input_fix_is_checked_against_the_model() {
    let finding = task_definition_finding();
    // A kept member the write does not take.
    let mut fix = catalogue_revision_fix("ECS.4");
    fix.whole_input
        .as_mut()
        .expect("whole")
        .keep
        .push("revision".into());
    let err = render_fix(&[], Some(&fix), &finding).expect_err("describe-only");
    assert!(
        err.to_string().contains("no input member \"revision\""),
        "{err}"
    );
    // A member the read holds and the write takes, left out: reset.
    let mut fix = catalogue_revision_fix("ECS.4");
    fix.whole_input
        .as_mut()
        .expect("whole")
        .keep
        .retain(|m| m != "volumes");
    let err = render_fix(&[], Some(&fix), &finding).expect_err("dropped");
    assert!(
        err.to_string().contains("volumes is held by the read"),
        "{err}"
    );
    // A beside member the read does not return.
    let mut fix = catalogue_revision_fix("ECS.4");
    fix.whole_input.as_mut().expect("whole").beside = vec!["labels".into()];
    let err = render_fix(&[], Some(&fix), &finding).expect_err("beside");
    assert!(err.to_string().contains("no member \"labels\""), "{err}");
    // A path outside the kept members, a wrong type, a wrong write.
    let mut fix = catalogue_revision_fix("ECS.4");
    fix.set[0].path = ".containerDefinitions[].privileges".into();
    assert!(render_fix(&[], Some(&fix), &finding).is_err());
    let mut fix = catalogue_revision_fix("ECS.4");
    fix.set[0].value = json!("false");
    assert!(render_fix(&[], Some(&fix), &finding).is_err());
    let mut fix = catalogue_revision_fix("ECS.3");
    fix.set[0].value = json!("none");
    let err = render_fix(&[], Some(&fix), &finding).expect_err("enum");
    assert!(err.to_string().contains("is not one of"), "{err}");
    let mut fix = catalogue_revision_fix("ECS.4");
    fix.write = "--container-definitions".into();
    assert!(render_fix(&[], Some(&fix), &finding).is_err());
}

const POOL_ARN: &str = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Qx7LmN2pA";

/// describe-user-pool as the CLI prints it: read-only members, the
/// deprecated UnusedAccountValidityDays beside TemporaryPasswordValidityDays.
fn saved_user_pool() -> Value {
    json!({"UserPool": {
        "Id": "eu-west-1_Qx7LmN2pA",
        "Name": "customers",
        "Policies": {"PasswordPolicy": {"MinimumLength": 14, "RequireUppercase": true,
            "RequireLowercase": true, "RequireNumbers": true, "RequireSymbols": true,
            "TemporaryPasswordValidityDays": 7}, "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]}},
        "DeletionProtection": "INACTIVE",
        "LambdaConfig": {"PreSignUp": "arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up"},
        "LastModifiedDate": "2024-05-01T10:00:00+00:00",
        "CreationDate": "2023-01-10T09:00:00+00:00",
        "SchemaAttributes": [{"Name": "email", "AttributeDataType": "String", "Mutable": true, "Required": true}],
        "AutoVerifiedAttributes": ["email"],
        "UsernameAttributes": ["email"],
        "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"},
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
        "MfaConfiguration": "OPTIONAL",
        "EstimatedNumberOfUsers": 5120,
        "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "UserPoolTags": {"team": "identity"},
        "Domain": "customers-login",
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": false, "UnusedAccountValidityDays": 7},
        "UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"},
        "UsernameConfiguration": {"CaseSensitive": false},
        "Arn": POOL_ARN,
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
        "UserPoolTier": "PLUS"
    }})
}

/// The update input made from the saved pool: its settings without the
/// read-only members, Name as PoolName, no UnusedAccountValidityDays.
fn update_input(current: &Value) -> Value {
    let pool = current["UserPool"].as_object().unwrap();
    let mut input = serde_json::Map::new();
    for (member, value) in pool {
        match member.as_str() {
            "Id"
            | "LastModifiedDate"
            | "CreationDate"
            | "SchemaAttributes"
            | "UsernameAttributes"
            | "EstimatedNumberOfUsers"
            | "Domain"
            | "UsernameConfiguration"
            | "Arn" => {}
            "Name" => {
                input.insert("PoolName".into(), value.clone());
            }
            _ => {
                input.insert(member.clone(), value.clone());
            }
        }
    }
    input["AdminCreateUserConfig"]
        .as_object_mut()
        .unwrap()
        .remove("UnusedAccountValidityDays");
    Value::Object(input)
}

#[test]
fn a_user_pool_is_written_back_whole_with_its_name_and_without_the_deprecated_member() {
    let current = saved_user_pool();
    for (id, change) in [
        (
            "Cognito.6",
            &(|input: &mut Value| input["DeletionProtection"] = json!("ACTIVE"))
                as &dyn Fn(&mut Value),
        ),
        ("Cognito.1", &|input: &mut Value| {
            input["UserPoolAddOns"]["AdvancedSecurityMode"] = json!("ENFORCED")
        }),
        ("Cognito.4", &|input: &mut Value| {
            input["UserPoolAddOns"]["AdvancedSecurityAdditionalFlows"] =
                json!({"CustomAuthMode": "ENFORCED"})
        }),
    ] {
        let rendered = rendered(id, POOL_ARN, "AwsCognitoUserPool");
        assert_eq!(
            rendered.commands[0],
            "aws cognito-idp describe-user-pool --user-pool-id eu-west-1_Qx7LmN2pA --region eu-west-1 > current.json",
            "{id}"
        );
        assert_eq!(
            rendered.commands[2],
            "aws cognito-idp update-user-pool --user-pool-id eu-west-1_Qx7LmN2pA --cli-input-json file://config.json --region eu-west-1",
            "{id}"
        );
        let edited = run_jq(&rendered, &current);
        let mut expected = update_input(&current);
        change(&mut expected);
        assert_eq!(edited, expected, "{id}");
        assert_the_write_takes("cognito-idp", "update-user-pool", &edited);
    }
}

fn whole_of(fix: &mut ReadModifyWrite) -> &mut WholeInput {
    fix.whole_input.as_mut().unwrap()
}

#[test]
fn take_and_drop_are_checked_against_the_model() {
    let finding = finding(POOL_ARN, "AwsCognitoUserPool");
    let base = fix("Cognito.6", "AwsCognitoUserPool");
    let refused = |edit: &dyn Fn(&mut ReadModifyWrite)| {
        let mut fix = base.clone();
        edit(&mut fix);
        render_fix(&[], Some(&fix), &finding)
            .expect_err("refused")
            .to_string()
    };
    // A path the read does not have, a value of another type, a member the
    // write does not take, a member given twice.
    for (member, path, reason) in [
        ("PoolName", ".Nmae", "take .Nmae"),
        ("PoolName", ".Policies", "a structure at .Policies"),
        ("Label", ".Name", "no input member \"Label\""),
        ("DeletionProtection", ".Name", "given twice"),
    ] {
        let err = refused(&|f| {
            whole_of(f).take.insert(member.into(), path.into());
        });
        assert!(err.contains(reason), "{member} from {path}: {err}");
    }
    // A drop outside the kept members, or of a member the read lacks.
    let err = refused(&|f| whole_of(f).drop.push(".Domain".into()));
    assert!(err.contains("not inside a kept member"), "{err}");
    let err = refused(&|f| whole_of(f).drop = vec![".AdminCreateUserConfig.Unused".into()]);
    assert!(err.contains("drop .AdminCreateUserConfig.Unused"), "{err}");
}

const POLICY_ARN: &str =
    "arn:aws:network-firewall:eu-west-1:123456789012:firewall-policy/egress-policy";

fn saved_firewall_policy(stateless: Value, description: Option<&str>) -> Value {
    let mut response = json!({
        "FirewallPolicyName": "egress-policy",
        "FirewallPolicyArn": POLICY_ARN,
        "FirewallPolicyId": "4f7c9a2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
        "FirewallPolicyStatus": "ACTIVE",
        "NumberOfAssociations": 2,
        "EncryptionConfiguration": {"KeyId": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "Type": "CUSTOMER_KMS"}
    });
    if let Some(text) = description {
        response["Description"] = json!(text);
    }
    json!({
        "UpdateToken": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "FirewallPolicyResponse": response,
        "FirewallPolicy": {
            "StatelessDefaultActions": stateless,
            "StatelessFragmentDefaultActions": ["aws:pass"],
            "StatelessRuleGroupReferences": [{"ResourceArn": "arn:aws:network-firewall:eu-west-1:123456789012:stateless-rulegroup/allow-dns", "Priority": 10}],
            "StatefulRuleGroupReferences": [{"ResourceArn": "arn:aws:network-firewall:eu-west-1:123456789012:stateful-rulegroup/domains"}]
        }
    })
}

#[test]
fn a_firewall_policy_is_written_back_under_its_token_with_its_description_and_key() {
    let rendered_4 = rendered(
        "NetworkFirewall.4",
        POLICY_ARN,
        "AwsNetworkFirewallFirewallPolicy",
    );
    assert_eq!(
        rendered_4.commands[2],
        format!(
            "aws network-firewall update-firewall-policy --firewall-policy-arn {POLICY_ARN} --cli-input-json file://config.json --region eu-west-1"
        )
    );
    let current = saved_firewall_policy(json!(["aws:pass"]), Some("egress filtering"));
    let edited = run_jq(&rendered_4, &current);
    let mut expected = json!({
        "UpdateToken": current["UpdateToken"],
        "FirewallPolicy": current["FirewallPolicy"],
        "Description": "egress filtering",
        "EncryptionConfiguration": current["FirewallPolicyResponse"]["EncryptionConfiguration"],
    });
    expected["FirewallPolicy"]["StatelessDefaultActions"] = json!(["aws:forward_to_sfe"]);
    assert_eq!(edited, expected);
    assert_the_write_takes("network-firewall", "update-firewall-policy", &edited);
    // NetworkFirewall.5 changes the fragment list only.
    let edited = run_jq(
        &rendered(
            "NetworkFirewall.5",
            POLICY_ARN,
            "AwsNetworkFirewallFirewallPolicy",
        ),
        &current,
    );
    assert_eq!(
        edited["FirewallPolicy"]["StatelessFragmentDefaultActions"],
        json!(["aws:forward_to_sfe"])
    );
    assert_eq!(
        edited["FirewallPolicy"]["StatelessDefaultActions"],
        json!(["aws:pass"])
    );
    // No description: none is passed. Custom actions beside aws:pass: left
    // for the owner, the policy written back unchanged.
    let current = saved_firewall_policy(json!(["aws:pass", "PublishMetrics"]), None);
    let edited = run_jq(&rendered_4, &current);
    assert!(edited.get("Description").is_none());
    assert_eq!(edited["FirewallPolicy"], current["FirewallPolicy"]);
}

#[test]
fn a_rule_group_gets_metrics_on_every_rule_under_its_lock_token() {
    let arn = "arn:aws:wafv2:eu-west-1:123456789012:regional/rulegroup/custom-rules/b2c3d4e5-6789-01ab-cdef-222222222222";
    let rendered = rendered("WAF.12", arn, "AwsWafv2RuleGroup");
    assert_eq!(
        rendered.commands[0],
        format!("aws wafv2 get-rule-group --arn {arn} --region eu-west-1 > current.json")
    );
    assert!(
        rendered.commands[2].contains("update-rule-group --scope <SCOPE> "),
        "{}",
        rendered.commands[2]
    );
    assert!(rendered.fill_in.iter().any(|f| f.starts_with("SCOPE")));
    let rule = |name: &str, metrics: bool| {
        json!({"Name": name, "Priority": 1, "Action": {"Block": {}},
               "Statement": {"ByteMatchStatement": {"SearchString": "YWRtaW4=", "FieldToMatch": {"UriPath": {}},
                             "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "CONTAINS"}},
               "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": metrics, "MetricName": name}})
    };
    let current = json!({
        "RuleGroup": {
            "Name": "custom-rules", "Id": "b2c3d4e5-6789-01ab-cdef-222222222222", "Capacity": 50, "ARN": arn,
            "Rules": [rule("block-admin", false), rule("block-wp", true)],
            "VisibilityConfig": {"SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": "custom-rules"},
            "LabelNamespace": "awswaf:123456789012:rulegroup:custom-rules:",
            "AvailableLabels": [], "ConsumedLabels": []
        },
        "LockToken": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6"
    });
    let edited = run_jq(&rendered, &current);
    assert_eq!(
        edited,
        json!({
            "Name": "custom-rules", "Id": "b2c3d4e5-6789-01ab-cdef-222222222222",
            "Rules": [rule("block-admin", true), rule("block-wp", true)],
            "VisibilityConfig": current["RuleGroup"]["VisibilityConfig"],
            "LockToken": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6"
        })
    );
    assert_the_write_takes("wafv2", "update-rule-group", &edited);
}

#[test]
fn sagemaker_copies_are_created_beside_the_old_resource_under_a_new_name() {
    let arn = "arn:aws:sagemaker:eu-west-1:123456789012:model/churn-xgboost-2024-05";
    let rendered_model = rendered("SageMaker.5", arn, "Other");
    assert_eq!(
        rendered_model.commands[2],
        "aws sagemaker create-model --cli-input-json file://config.json --region eu-west-1"
    );
    let current = json!({
        "ModelName": "churn-xgboost-2024-05",
        "PrimaryContainer": {"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1.7", "ModelDataUrl": "s3://models/churn/model.tar.gz", "Environment": {}},
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker-churn",
        "VpcConfig": {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0a", "subnet-0b"]},
        "CreationTime": "2024-05-01T10:00:00+00:00",
        "ModelArn": arn,
        "EnableNetworkIsolation": false
    });
    let edited = run_jq(&rendered_model, &current);
    let mut expected = current.clone();
    for read_only in ["CreationTime", "ModelArn"] {
        expected.as_object_mut().unwrap().remove(read_only);
    }
    expected["ModelName"] = json!("churn-xgboost-2024-05-isolated");
    expected["EnableNetworkIsolation"] = json!(true);
    assert_eq!(edited, expected);
    assert_the_write_takes("sagemaker", "create-model", &edited);

    // A job definition without a network configuration gets one, for each
    // of the four monitoring job types and each setting the catalogue fixes.
    for (id, job, prefix, name, setting) in [
        (
            "SageMaker.9",
            "data-quality",
            "DataQuality",
            "encrypted",
            "EnableInterContainerTrafficEncryption",
        ),
        (
            "SageMaker.11",
            "data-quality",
            "DataQuality",
            "isolated",
            "EnableNetworkIsolation",
        ),
        (
            "SageMaker.10",
            "model-explainability",
            "ModelExplainability",
            "encrypted",
            "EnableInterContainerTrafficEncryption",
        ),
        (
            "SageMaker.12",
            "model-bias",
            "ModelBias",
            "isolated",
            "EnableNetworkIsolation",
        ),
        (
            "SageMaker.15",
            "model-bias",
            "ModelBias",
            "encrypted",
            "EnableInterContainerTrafficEncryption",
        ),
        (
            "SageMaker.13",
            "model-quality",
            "ModelQuality",
            "encrypted",
            "EnableInterContainerTrafficEncryption",
        ),
    ] {
        let arn =
            format!("arn:aws:sagemaker:eu-west-1:123456789012:{job}-job-definition/recommender-dq");
        let mut current = json!({
            "JobDefinitionArn": arn,
            "JobDefinitionName": "recommender-dq",
            "CreationTime": "2024-05-01T10:00:00+00:00",
            "JobResources": {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
            "RoleArn": "arn:aws:iam::123456789012:role/monitoring",
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}
        });
        current[format!("{prefix}AppSpecification")] = json!({"ImageUri": "156813124566.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"});
        current[format!("{prefix}JobInput")] = json!({"EndpointInput": {"EndpointName": "recommender", "LocalPath": "/opt/ml/processing/input"}});
        current[format!("{prefix}JobOutputConfig")] = json!({"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://monitoring/recommender", "LocalPath": "/opt/ml/processing/output"}}]});
        let rendered = rendered(id, &arn, "Other");
        let edited = run_jq(&rendered, &current);
        let mut expected = current.clone();
        for read_only in ["CreationTime", "JobDefinitionArn"] {
            expected.as_object_mut().unwrap().remove(read_only);
        }
        expected["JobDefinitionName"] = json!(format!("recommender-dq-{name}"));
        expected["NetworkConfig"] = json!({ setting: true });
        assert_eq!(edited, expected, "{id}");
        assert_the_write_takes(
            "sagemaker",
            &format!("create-{job}-job-definition"),
            &edited,
        );
    }
}

#[test]
fn an_appsync_api_gets_error_logging_and_keeps_a_stronger_level() {
    let arn = "arn:aws:appsync:eu-west-1:123456789012:apis/xq4mb7vt2ngh5jdrla6kc3wepy";
    let rendered = rendered("AppSync.2", arn, "AwsAppSyncGraphQlApi");
    assert_eq!(
        rendered.commands[0],
        "aws appsync get-graphql-api --api-id xq4mb7vt2ngh5jdrla6kc3wepy --region eu-west-1 > current.json"
    );
    let api = |log: Option<Value>| {
        let mut api = json!({
            "name": "orders-graphql", "apiId": "xq4mb7vt2ngh5jdrla6kc3wepy",
            "authenticationType": "AMAZON_COGNITO_USER_POOLS",
            "userPoolConfig": {"userPoolId": "eu-west-1_Qx7LmN2pA", "awsRegion": "eu-west-1", "defaultAction": "ALLOW"},
            "arn": arn, "uris": {"GRAPHQL": "https://example.appsync-api.eu-west-1.amazonaws.com/graphql"},
            "tags": {"team": "orders"}, "xrayEnabled": false, "visibility": "GLOBAL", "apiType": "GRAPHQL",
            "owner": "123456789012", "introspectionConfig": "ENABLED", "queryDepthLimit": 0, "resolverCountLimit": 0
        });
        if let Some(log) = log {
            api["logConfig"] = log;
        }
        json!({ "graphqlApi": api })
    };
    let input = |current: &Value| {
        let mut input = current["graphqlApi"].clone();
        for read_only in ["arn", "uris", "tags", "visibility", "apiType", "owner"] {
            input.as_object_mut().unwrap().remove(read_only);
        }
        input
    };
    // No logging: ERROR with the role to fill in.
    let current = api(None);
    let edited = run_jq(&rendered, &current);
    let mut expected = input(&current);
    expected["logConfig"] =
        json!({"fieldLogLevel": "ERROR", "cloudWatchLogsRoleArn": "<APPSYNC_LOGS_ROLE_ARN>"});
    assert_eq!(edited, expected);
    assert_the_write_takes("appsync", "update-graphql-api", &edited);
    // NONE with a role: ERROR, the role kept.
    let role = "arn:aws:iam::123456789012:role/appsync-logs";
    let current = api(Some(
        json!({"fieldLogLevel": "NONE", "cloudWatchLogsRoleArn": role, "excludeVerboseContent": true}),
    ));
    let edited = run_jq(&rendered, &current);
    assert_eq!(
        edited["logConfig"],
        json!({"fieldLogLevel": "ERROR", "cloudWatchLogsRoleArn": role, "excludeVerboseContent": true})
    );
    // ALL: kept.
    let current = api(Some(
        json!({"fieldLogLevel": "ALL", "cloudWatchLogsRoleArn": role}),
    ));
    assert_eq!(run_jq(&rendered, &current), input(&current));
}
