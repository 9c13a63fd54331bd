//! The hardened templates deploy: for the test services (the 21 of the
//! package tests and the storage coverage issue's 16) and two profiles
//! that differ in minimum TLS, log retention and key choice, every resource
//! of a type the deployable data lists carries what a real create needs,
//! the profile's values are on every resource whose type takes them, and
//! the template deploys into moto's CloudFormation (`GENSEC_MOTO_ENDPOINT`)
//! after the network, roles, cluster, model, queue, buckets and code its
//! Parameters ask for exist: every stack reaches CREATE_COMPLETE and each
//! resource is present (a physical id in DescribeStackResources, or, for the
//! types moto gives none, the service's own describe call). Where moto reads
//! a property differently from AWS the deployed copy is adapted
//! (`adapted_for_moto`, each case explained). Bucket and topic policies,
//! which moto's CloudFormation skips, are put through the S3 and SNS APIs and
//! read back. The other types moto's CloudFormation cannot create are listed,
//! with the reason, in `tests/moto-not-exercised.json`.
#![allow(clippy::unwrap_used)]

mod support;

use aws_sdk_cloudformation::types::{Parameter, StackStatus};
use gensec_core::SecurityProfile;
use gensec_core::contract::paths;
use gensec_core::input::KeyManagement;
use gensec_iac::deployable::{self, Deployable};
use gensec_kb::Kb;
use gensec_stages::Stages;
use gensec_testkit::{profile, services_with_templates};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use support::{THROUGH_IAC, run_stages};

/// The example profile (TLS 1.2, 365 days, customer-managed key, central
/// logging) and a fixture that differs in each (TLS 1.3, 90 days, AWS-managed keys).
const PROFILES: &[&str] = &[
    "config-example/security-profile/example-corp.json",
    "crates/gensec-stages/tests/fixtures/profiles/tls13-aws-managed.json",
];

fn deployable_data() -> &'static Deployable {
    &gensec_iac::data::curated().unwrap().deployable
}

/// Stages 1-4 of one service under one profile: the hardened template.
async fn template(
    kb: &Arc<Kb>,
    stages: &Stages,
    service: &str,
    profile: &SecurityProfile,
) -> Value {
    let run = run_stages(kb, stages, service, profile, "REQ-DEPLOY", THROUGH_IAC).await;
    // A run whose analysis opens no resource writes no template.
    match std::fs::read(run.path(paths::TEMPLATE_JSON)) {
        Ok(body) => serde_json::from_slice(&body).unwrap(),
        Err(_) => Value::Null,
    }
}

/// Every template of every profile (nextest runs each test in its own process).
async fn templates() -> Vec<(String, usize, Value)> {
    let kb = Arc::new(Kb::embedded().unwrap());
    let stages = Stages::new(&kb).unwrap();
    let mut all = Vec::new();
    for (index, path) in PROFILES.iter().enumerate() {
        let profile = profile(path);
        for service in services_with_templates() {
            all.push((
                (*service).to_string(),
                index,
                template(&kb, &stages, service, &profile).await,
            ));
        }
    }
    all
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"].as_object().into_iter().flatten()
}

#[tokio::test]
async fn every_resource_carries_what_a_create_needs() {
    let data = deployable_data();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (service, index, template) in &templates().await {
        let profile = profile(PROFILES[*index]);
        checked += resources(template)
            .filter(|(_, r)| r["Type"].as_str().is_some_and(|t| data.of(t).is_some()))
            .count();
        failures.extend(
            deployable::missing_properties(data, template, &profile)
                .into_iter()
                .map(|missing| format!("{service} ({}): {missing}", profile.profile_id)),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 60, "only {checked} resources of listed types");
}

#[tokio::test]
async fn removing_a_deploy_property_is_reported() {
    let data = deployable_data();
    let profile = profile(PROFILES[0]);
    let kb = Arc::new(Kb::embedded().unwrap());
    let stages = Stages::new(&kb).unwrap();
    let rds = &template(&kb, &stages, "RDS", &profile).await;
    assert!(deployable::missing_properties(data, rds, &profile).is_empty());
    let (id, _) = resources(rds)
        .find(|(_, r)| r["Type"] == "AWS::RDS::DBInstance")
        .unwrap();
    for attribute in [
        "Properties.DBInstanceClass",
        "Properties.MasterUsername",
        "DeletionPolicy",
    ] {
        let mut stripped = rds.clone();
        let (parent, leaf) = attribute.rsplit_once('.').unwrap_or(("", attribute));
        let resource = &mut stripped["Resources"][id];
        let holder = if parent.is_empty() {
            resource
        } else {
            &mut resource[parent]
        };
        holder.as_object_mut().unwrap().remove(leaf).unwrap();
        let missing = deployable::missing_properties(data, &stripped, &profile);
        assert!(
            missing
                .iter()
                .any(|m| m.starts_with(&format!("{id}: {leaf}"))),
            "{attribute}: {missing:?}"
        );
    }
}

/// The profile's minimum TLS, retention and key choice on every resource
/// whose type takes them.
#[tokio::test]
async fn the_profile_is_applied() {
    let data = deployable_data();
    let mut failures = Vec::new();
    let mut seen = BTreeMap::<&str, usize>::new();
    for (service, index, template) in &templates().await {
        let profile = profile(PROFILES[*index]);
        let minimum = profile.data_protection.minimum_tls_version.as_str();
        let retention =
            deployable::log_retention(profile.security_operations.logging.retention_days);
        let customer_managed =
            profile.data_protection.key_management == KeyManagement::CustomerManaged;
        for (id, resource) in resources(template) {
            let properties = &resource["Properties"];
            for setting in data
                .tls
                .iter()
                .filter(|s| resource["Type"] == s.resource_type.as_str())
            {
                *seen.entry("tls").or_default() += 1;
                let expected = setting
                    .values
                    .get(minimum)
                    .or_else(|| setting.values.values().next_back())
                    .unwrap();
                let found = gensec_kb::paths::get_property(properties, &setting.property);
                let ok = if setting.append_statement {
                    found.and_then(Value::as_array).is_some_and(|statements| {
                        statements.iter().any(|s| {
                            s["Sid"] == expected["Sid"] && s["Condition"] == expected["Condition"]
                        })
                    })
                } else {
                    found == Some(expected)
                };
                if !ok {
                    failures.push(format!(
                        "{service} ({minimum}): {id} {} is {found:?}, not {expected}",
                        setting.property
                    ));
                }
            }
            if resource["Type"] == "AWS::Logs::LogGroup" {
                *seen.entry("log group").or_default() += 1;
                if properties["RetentionInDays"] != json!(retention) {
                    failures.push(format!(
                        "{service}: {id} keeps logs {}",
                        properties["RetentionInDays"]
                    ));
                }
                if customer_managed != properties.get("KmsKeyId").is_some() {
                    failures.push(format!(
                        "{service}: {id} key {:?}",
                        properties.get("KmsKeyId")
                    ));
                }
                let filtered = resources(template).any(|(_, r)| {
                    r["Type"] == "AWS::Logs::SubscriptionFilter"
                        && r["Properties"]["LogGroupName"] == json!({"Ref": id})
                });
                if filtered != profile.security_operations.logging.centralized_logging {
                    failures.push(format!("{service}: {id} subscription filter {filtered}"));
                }
            }
            // The package key appears only where the profile asks for one.
            if resource["Type"] == "AWS::KMS::Key" && id == "EncryptionKey" {
                *seen.entry("package key").or_default() += 1;
                if !customer_managed {
                    failures.push(format!("{service}: a package key under AWS-managed keys"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for kind in ["tls", "log group", "package key"] {
        assert!(seen.get(kind).is_some_and(|n| *n >= 2), "{kind}: {seen:?}");
    }
}

/// `tests/moto-not-exercised.json`: types moto's CloudFormation cannot create.
/// The entries of `tests/moto-not-exercised.json`.
fn not_exercised_entries() -> Vec<Value> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto-not-exercised.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The types of `tests/moto-not-exercised.json` that moto does create (so
/// their attributes resolve) but cannot be read back: `"created_by_moto": true`.
fn created_by_moto() -> BTreeSet<String> {
    not_exercised_entries()
        .iter()
        .filter(|e| e["created_by_moto"] == true)
        .map(|e| e["resource_type"].as_str().unwrap().to_string())
        .collect()
}

fn not_exercised() -> BTreeMap<String, String> {
    not_exercised_entries()
        .iter()
        .map(|e| {
            (
                e["resource_type"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What the inputs stack and the code upload made, for the Parameters.
struct Inputs {
    /// The inputs stack's outputs, by the name of the Parameter they answer.
    outputs: BTreeMap<String, String>,
    code_bucket: String,
    code_key: String,
}

/// A value for a Parameter without a default: the input created for the
/// test, else a value of the declared type and pattern.
fn parameter_value(name: &str, declaration: &Value, inputs: &Inputs) -> String {
    let pattern = declaration["AllowedPattern"].as_str().unwrap_or_default();
    let first_allowed = declaration["AllowedValues"].get(0).and_then(Value::as_str);
    let output = |key: &str| inputs.outputs[key].clone();
    match (declaration["Type"].as_str().unwrap_or("String"), name) {
        ("List<AWS::EC2::Subnet::Id>", _) => format!("{},{}", output("SubnetA"), output("SubnetB")),
        ("AWS::EC2::Subnet::Id", _) => output("SubnetA"),
        ("AWS::EC2::VPC::Id", _) => output("Vpc"),
        ("AWS::EC2::SecurityGroup::Id", _) => output("Clients"),
        ("AWS::EC2::Image::Id", _) => "ami-03cf127a".into(),
        (_, "FunctionCodeBucket") => inputs.code_bucket.clone(),
        (_, "FunctionCodeKey") => inputs.code_key.clone(),
        (_, "AvailabilityZone") => "us-east-1a".into(),
        _ if inputs.outputs.contains_key(name) => output(name),
        _ if first_allowed.is_some() => first_allowed.unwrap_or_default().to_string(),
        ("Number", _) => declaration["MinValue"].as_u64().unwrap_or(8).to_string(),
        // Role names (policy attachments): the inputs stack's role.
        ("CommaDelimitedList", _) => output("RoleName"),
        _ if pattern.contains(":iam::") || name.ends_with("RoleArn") => output("RoleArn"),
        _ if pattern.contains(":lambda:") => {
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
        }
        _ if pattern.contains(":logs:") => {
            format!("arn:aws:logs:us-east-1:123456789012:destination:{name}")
        }
        _ if pattern.contains(":quicksight:") => {
            format!("arn:aws:quicksight:us-east-1:123456789012:dataset/{name}")
        }
        _ if pattern.contains(":secretsmanager:") => {
            format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf")
        }
        _ if pattern.contains("vpce-") => "vpce-0123456789abcdef0".into(),
        _ if pattern.contains("fs-") => "fs-0123456789abcdef0".into(),
        _ if pattern.contains("amazonaws") => "lambda.amazonaws.com".into(),
        _ if name.ends_with("Arn") => output("RoleArn"),
        _ => format!("gensec-{}", name.to_lowercase()),
    }
}

/// What the templates' Parameters ask for: the network, a role every
/// service can assume (with its instance profile), a permissions boundary,
/// a group, an ECS cluster, a SageMaker model, a dead-letter queue and a log
/// bucket. Each output is named after the Parameter it answers.
const INPUTS_TEMPLATE: &str = r#"{
  "Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}},
    "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.20.1.0/24", "AvailabilityZone": "us-east-1a"}},
    "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.20.2.0/24", "AvailabilityZone": "us-east-1b"}},
    "Clients": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "clients", "VpcId": {"Ref": "Vpc"}}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "eks.amazonaws.com", "sagemaker.amazonaws.com", "ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}}},
    "InstanceProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "Role"}]}},
    "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}},
    "Group": {"Type": "AWS::IAM::Group", "Properties": {}},
    "EcsCluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
    "Model": {"Type": "AWS::SageMaker::Model", "Properties": {"ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:latest"}}},
    "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    "LogBucket": {"Type": "AWS::S3::Bucket", "Properties": {}}
  },
  "Outputs": {
    "Vpc": {"Value": {"Ref": "Vpc"}},
    "SubnetA": {"Value": {"Ref": "SubnetA"}},
    "SubnetB": {"Value": {"Ref": "SubnetB"}},
    "Clients": {"Value": {"Ref": "Clients"}},
    "RoleName": {"Value": {"Ref": "Role"}},
    "RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}},
    "InstanceProfileName": {"Value": {"Ref": "InstanceProfile"}},
    "PermissionsBoundaryArn": {"Value": {"Ref": "Boundary"}},
    "IamGroupName": {"Value": {"Ref": "Group"}},
    "EcsClusterName": {"Value": {"Ref": "EcsCluster"}},
    "SageMakerModelName": {"Value": {"Fn::GetAtt": ["Model", "ModelName"]}},
    "DeadLetterQueueArn": {"Value": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
    "LogBucketName": {"Value": {"Ref": "LogBucket"}},
    "AccessLogBucketName": {"Value": {"Ref": "LogBucket"}},
    "TrailS3BucketName": {"Value": {"Ref": "LogBucket"}}
  }
}"#;

/// The copy of a template deployed into moto, changed only where moto 5.2.5
/// reads CloudFormation differently from AWS (each change says where); what
/// the changed property does is still deployed.
fn adapted_for_moto(template: &Value) -> Value {
    let mut copy = template.clone();
    let parameter_groups: Vec<String> = resources(template)
        .filter(|(_, r)| r["Type"] == "AWS::RDS::DBParameterGroup")
        .map(|(id, _)| id.clone())
        .collect();
    for resource in copy["Resources"].as_object_mut().unwrap().values_mut() {
        let kind = resource["Type"].as_str().unwrap_or_default().to_string();
        let properties = &mut resource["Properties"];
        match kind.as_str() {
            // moto/kms/models.py hands CloudFormation's Key/Value tags to
            // the KMS API's tagger, which reads TagKey/TagValue.
            "AWS::KMS::Key" => {
                if let Some(tags) = properties.get_mut("Tags").and_then(Value::as_array_mut) {
                    for tag in tags {
                        *tag = json!({"TagKey": tag["Key"], "TagValue": tag["Value"]});
                    }
                }
                // moto requires KeyPolicy; AWS applies the default key policy
                // (the account may use and administer the key) when it is absent.
                if properties.get("KeyPolicy").is_none() {
                    properties["KeyPolicy"] = json!({"Version": "2012-10-17", "Statement": [{
                        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "kms:*", "Resource": "*"}]});
                }
            }
            // moto sizes every block device from VolumeSize; AWS takes the
            // root volume's size from the AMI's snapshot.
            "AWS::EC2::Instance" => {
                for mapping in properties["BlockDeviceMappings"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    if mapping["Ebs"].get("VolumeSize").is_none() {
                        mapping["Ebs"]["VolumeSize"] = json!(8);
                    }
                }
            }
            // The same for a launch template, whose mappings moto reads when
            // an Auto Scaling group launches its instances.
            "AWS::EC2::LaunchTemplate" => {
                for mapping in properties["LaunchTemplateData"]["BlockDeviceMappings"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    if mapping["Ebs"].is_object() && mapping["Ebs"].get("VolumeSize").is_none() {
                        mapping["Ebs"]["VolumeSize"] = json!(8);
                    }
                }
            }
            // CloudFormation generates a lower-case name for a repository
            // without RepositoryName (ECR refuses upper case); moto builds
            // it from the stack and logical ids as they are. The test's
            // stack names are lower case.
            "AWS::ECR::Repository" if properties.get("RepositoryName").is_none() => {
                properties["RepositoryName"] = json!({"Fn::Sub": "${AWS::StackName}-repository"});
            }
            // moto resolves a Ref to an AWS::RDS::DBParameterGroup to its
            // model object, not its name, and the instance's create fails on
            // it; the group itself is still created (and checked).
            "AWS::RDS::DBInstance"
                if properties["DBParameterGroupName"]["Ref"]
                    .as_str()
                    .is_some_and(|id| parameter_groups.iter().any(|g| g == id)) =>
            {
                properties
                    .as_object_mut()
                    .unwrap()
                    .remove("DBParameterGroupName");
            }
            _ => {}
        }
    }
    copy
}

async fn create_stack(
    client: &aws_sdk_cloudformation::Client,
    name: &str,
    body: &str,
    parameters: Vec<Parameter>,
) -> Result<BTreeMap<String, String>, String> {
    client
        .create_stack()
        .stack_name(name)
        .template_body(body)
        .set_parameters(Some(parameters))
        .send()
        .await
        .map_err(|err| {
            format!(
                "create_stack: {}",
                aws_sdk_cloudformation::error::DisplayErrorContext(err)
            )
        })?;
    let described = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|err| format!("describe_stacks: {err}"))?;
    let stack = &described.stacks()[0];
    if stack.stack_status() != Some(&StackStatus::CreateComplete) {
        return Err(format!(
            "{name}: {:?} {:?}",
            stack.stack_status(),
            stack.stack_status_reason()
        ));
    }
    Ok(stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_template_deploys_into_moto() {
    let endpoint = std::env::var("GENSEC_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("GENSEC_MOTO_ENDPOINT is not set: scripts/test starts a moto server on 127.0.0.1")
    });
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let rds = aws_sdk_rds::Client::new(&config);
    let redshift = aws_sdk_redshift::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let started = std::time::Instant::now();
    let run = format!("{}-{}", std::process::id(), chrono_free_suffix());
    let outputs = create_stack(
        &cloudformation,
        &format!("inputs-{run}"),
        INPUTS_TEMPLATE,
        vec![],
    )
    .await
    .unwrap();
    let code_bucket = format!("gensec-code-{run}");
    s3.create_bucket()
        .bucket(&code_bucket)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&code_bucket)
        .key("function.zip")
        .body(minimal_zip().into())
        .send()
        .await
        .unwrap();
    let inputs = Inputs {
        outputs,
        code_bucket,
        code_key: "function.zip".into(),
    };
    let not_exercised = not_exercised();
    let mut failures = Vec::new();
    let mut used_exclusions = BTreeSet::new();
    let mut created = BTreeMap::<&str, usize>::new();
    let mut stacks = 0;
    let mut via_api = BTreeMap::<String, usize>::new();
    let templates = templates().await;
    for (number, (service, index, template)) in templates.iter().enumerate() {
        if template.is_null() {
            eprintln!("{service} (profile {index}): no template");
            continue;
        }
        let parameters: Vec<Parameter> = template["Parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, declaration)| declaration.get("Default").is_none())
            .map(|(name, declaration)| {
                Parameter::builder()
                    .parameter_key(name)
                    .parameter_value(parameter_value(name, declaration, &inputs))
                    .build()
            })
            .collect();
        // Unique per run and per template: moto keeps stacks across runs.
        let stack = format!("svc{number}-{run}");
        // An event bus name is unique per account and Region, and the two
        // profiles' templates of one service both create their bus.
        let parameters: Vec<Parameter> = parameters
            .into_iter()
            .map(|p| match p.parameter_key() {
                Some("EventBusName") => Parameter::builder()
                    .parameter_key("EventBusName")
                    .parameter_value(format!(
                        "{}-{stack}",
                        p.parameter_value().unwrap_or_default()
                    ))
                    .build(),
                _ => p,
            })
            .collect();
        let body =
            without_attributes_of_unmodelled(&adapted_for_moto(template), &not_exercised, &stack)
                .to_string();
        if let Err(err) = create_stack(&cloudformation, &stack, &body, parameters).await {
            failures.push(format!("{service} (profile {index}): {err}"));
            continue;
        }
        stacks += 1;
        let described = cloudformation
            .describe_stack_resources()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let physical: BTreeMap<&str, &str> = described
            .stack_resources()
            .iter()
            .filter(|r| {
                r.resource_status()
                    .is_some_and(|s| s.as_str() == "CREATE_COMPLETE")
            })
            .filter_map(|r| Some((r.logical_resource_id()?, r.physical_resource_id()?)))
            .filter(|(_, id)| !id.is_empty())
            .collect();
        for (id, resource) in resources(template) {
            let resource_type = resource["Type"].as_str().unwrap();
            if not_exercised.contains_key(resource_type) {
                used_exclusions.insert(resource_type.to_string());
                continue;
            }
            // Types moto's CloudFormation skips but its service API takes:
            // created through the API with the template's properties, then
            // read back.
            if let Some(result) = create_through_api(&s3, &sns, template, resource, &physical).await
            {
                match result {
                    Ok(()) => *via_api.entry(resource_type.to_string()).or_default() += 1,
                    Err(err) => failures.push(format!(
                        "{service} (profile {index}): {id} ({resource_type}) through the API: {err}"
                    )),
                }
                continue;
            }
            let present = match physical.get(id.as_str()) {
                Some(_) => true,
                // moto gives these types no physical id: ask their service.
                None => {
                    let prefix = format!("{stack}-{id}-").to_lowercase();
                    let named = |name: Option<&str>| {
                        name.is_some_and(|n| n.to_lowercase().starts_with(&prefix))
                    };
                    match resource_type {
                        "AWS::Redshift::Cluster" => redshift
                            .describe_clusters()
                            .send()
                            .await
                            .unwrap()
                            .clusters()
                            .iter()
                            .any(|c| named(c.cluster_identifier())),
                        "AWS::Redshift::ClusterSubnetGroup" => redshift
                            .describe_cluster_subnet_groups()
                            .send()
                            .await
                            .unwrap()
                            .cluster_subnet_groups()
                            .iter()
                            .any(|g| named(g.cluster_subnet_group_name())),
                        "AWS::Redshift::ClusterParameterGroup" => redshift
                            .describe_cluster_parameter_groups()
                            .send()
                            .await
                            .unwrap()
                            .parameter_groups()
                            .iter()
                            .any(|g| named(g.parameter_group_name())),
                        "AWS::RDS::DBSubnetGroup" => rds
                            .describe_db_subnet_groups()
                            .send()
                            .await
                            .unwrap()
                            .db_subnet_groups()
                            .iter()
                            .any(|g| named(g.db_subnet_group_name())),
                        "AWS::RDS::DBParameterGroup" => rds
                            .describe_db_parameter_groups()
                            .send()
                            .await
                            .unwrap()
                            .db_parameter_groups()
                            .iter()
                            .any(|g| named(g.db_parameter_group_name())),
                        // The permission is a statement of its function's policy.
                        "AWS::Lambda::Permission" => {
                            let function = resource["Properties"]["FunctionName"]["Ref"]
                                .as_str()
                                .and_then(|f| physical.get(f))
                                .unwrap_or(&"");
                            let principal = resource["Properties"]["Principal"]
                                .as_str()
                                .unwrap_or_default();
                            lambda
                                .get_policy()
                                .function_name(*function)
                                .send()
                                .await
                                .ok()
                                .and_then(|p| p.policy().map(str::to_string))
                                .is_some_and(|policy| policy.contains(principal))
                        }
                        _ => false,
                    }
                }
            };
            if present {
                *created.entry(service.as_str()).or_default() += 1;
            } else {
                failures.push(format!(
                    "{service} (profile {index}): {id} ({resource_type}) was not created"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        via_api.len() == 2,
        "bucket and topic policies through the API: {via_api:?}"
    );
    let unused: Vec<_> = not_exercised
        .keys()
        .filter(|t| !used_exclusions.contains(*t))
        .collect();
    assert!(
        unused.is_empty(),
        "listed as not exercised but in no template: {unused:?}"
    );
    eprintln!(
        "{stacks} stacks CREATE_COMPLETE in {:?}; resources created per service: {created:?}; through the API: {via_api:?}; {} types not exercised",
        started.elapsed(),
        used_exclusions.len()
    );
}

/// moto's account, region and partition.
const MOTO_PSEUDO: [(&str, &str); 3] = [
    ("AWS::AccountId", "123456789012"),
    ("AWS::Region", "us-east-1"),
    ("AWS::Partition", "aws"),
];

/// The ARN of a deployed resource of the types the API path refers to.
fn arn_of(template: &Value, id: &str, physical: &BTreeMap<&str, &str>) -> Result<String, String> {
    let name = physical
        .get(id)
        .ok_or_else(|| format!("{id} was not created"))?;
    match template["Resources"][id]["Type"].as_str() {
        Some("AWS::S3::Bucket") => Ok(format!("arn:aws:s3:::{name}")),
        // A topic's physical id is its ARN.
        Some("AWS::SNS::Topic") => Ok((*name).to_string()),
        other => Err(format!("no ARN for {id} ({other:?})")),
    }
}

/// The template with every `Fn::GetAtt` of a resource whose type moto does
/// not model replaced by a stand-in text: moto skips such a resource, then
/// refuses the whole template for the dangling attribute. The resource itself
/// stays listed as not exercised.
fn without_attributes_of_unmodelled(
    template: &Value,
    not_exercised: &BTreeMap<String, String>,
    stack: &str,
) -> Value {
    // Unique per stack: a stand-in may name a resource (a log group).
    fn walk(value: &mut Value, unmodelled: &BTreeSet<String>, stack: &str) {
        match value {
            // `Fn::Sub` text naming an attribute: `${GraphQLApi.ApiId}`.
            Value::String(text) => {
                for target in unmodelled {
                    let opening = format!("${{{target}.");
                    while let Some(start) = text.find(&opening) {
                        let Some(length) = text[start..].find('}') else {
                            break;
                        };
                        text.replace_range(
                            start..start + length + 1,
                            &format!("not-modelled-by-moto-{target}-{stack}"),
                        );
                    }
                }
            }
            Value::Object(map) => {
                let target = map
                    .get("Fn::GetAtt")
                    .and_then(|attribute| attribute.get(0))
                    .and_then(Value::as_str)
                    .filter(|target| map.len() == 1 && unmodelled.contains(*target))
                    .map(str::to_string);
                match target {
                    Some(target) => {
                        *value = json!(format!("not-modelled-by-moto-{target}-{stack}"))
                    }
                    None => map.values_mut().for_each(|v| walk(v, unmodelled, stack)),
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, unmodelled, stack)),
            _ => {}
        }
    }
    let created_by_moto = created_by_moto();
    let unmodelled: BTreeSet<String> = resources(template)
        .map(|(id, r)| (id, r["Type"].as_str().unwrap_or_default()))
        .filter(|(_, kind)| not_exercised.contains_key(*kind) && !created_by_moto.contains(*kind))
        .map(|(id, _)| id.clone())
        .collect();
    let mut copy = template.clone();
    walk(&mut copy, &unmodelled, stack);
    copy
}

/// A template value with `Ref`, `Fn::GetAtt` (Arn) and `Fn::Sub` resolved
/// against the deployed stack.
fn resolved(
    value: &Value,
    template: &Value,
    physical: &BTreeMap<&str, &str>,
) -> Result<Value, String> {
    Ok(match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            let target = map["Ref"].as_str().unwrap_or_default();
            match MOTO_PSEUDO.iter().find(|(name, _)| *name == target) {
                Some((_, v)) => json!(v),
                None => json!(
                    physical
                        .get(target)
                        .ok_or_else(|| format!("{target} was not created"))?
                ),
            }
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::GetAtt") => {
            let target = map["Fn::GetAtt"][0].as_str().unwrap_or_default();
            json!(arn_of(template, target, physical)?)
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
            let mut text = map["Fn::Sub"]
                .as_str()
                .ok_or("Fn::Sub with variables")?
                .to_string();
            while let Some(start) = text.find("${") {
                let end = start + text[start..].find('}').ok_or("unclosed ${")?;
                let name = &text[start + 2..end];
                let value = match (
                    MOTO_PSEUDO.iter().find(|(n, _)| *n == name),
                    name.strip_suffix(".Arn"),
                ) {
                    (Some((_, v)), _) => (*v).to_string(),
                    (None, Some(target)) => arn_of(template, target, physical)?,
                    (None, None) => (*physical
                        .get(name)
                        .ok_or_else(|| format!("{name} was not created"))?)
                    .to_string(),
                };
                text.replace_range(start..=end, &value);
            }
            json!(text)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolved(v, template, physical)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolved(v, template, physical))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Bucket and topic policies: moto's CloudFormation skips them, so they are
/// put through the S3 and SNS APIs with the template's document and read
/// back. `None`: not a type this path creates.
async fn create_through_api(
    s3: &aws_sdk_s3::Client,
    sns: &aws_sdk_sns::Client,
    template: &Value,
    resource: &Value,
    physical: &BTreeMap<&str, &str>,
) -> Option<Result<(), String>> {
    let kind = resource["Type"].as_str()?;
    if kind != "AWS::S3::BucketPolicy" && kind != "AWS::SNS::TopicPolicy" {
        return None;
    }
    Some(
        async {
            let properties = resolved(&resource["Properties"], template, physical)?;
            let document = properties["PolicyDocument"].to_string();
            let statements = properties["PolicyDocument"]["Statement"]
                .as_array()
                .map_or(0, Vec::len);
            let read_back = if kind == "AWS::S3::BucketPolicy" {
                let bucket = properties["Bucket"].as_str().unwrap_or_default();
                s3.put_bucket_policy()
                    .bucket(bucket)
                    .policy(&document)
                    .send()
                    .await
                    .map_err(|e| format!("PutBucketPolicy: {e}"))?;
                s3.get_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| format!("GetBucketPolicy: {e}"))?
                    .policy()
                    .unwrap_or_default()
                    .to_string()
            } else {
                let mut last = String::new();
                for topic in properties["Topics"].as_array().into_iter().flatten() {
                    let topic = topic.as_str().unwrap_or_default();
                    sns.set_topic_attributes()
                        .topic_arn(topic)
                        .attribute_name("Policy")
                        .attribute_value(&document)
                        .send()
                        .await
                        .map_err(|e| format!("SetTopicAttributes: {e}"))?;
                    last = sns
                        .get_topic_attributes()
                        .topic_arn(topic)
                        .send()
                        .await
                        .map_err(|e| format!("GetTopicAttributes: {e}"))?
                        .attributes()
                        .and_then(|a| a.get("Policy"))
                        .cloned()
                        .unwrap_or_default();
                }
                last
            };
            let read: Value = serde_json::from_str(&read_back)
                .map_err(|e| format!("policy read back: {e}: {read_back}"))?;
            if read["Statement"].as_array().map_or(0, Vec::len) != statements {
                return Err(format!("policy read back differs: {read_back}"));
            }
            Ok(())
        }
        .await,
    )
}

/// A unique suffix without a clock dependency beyond the standard library.
fn chrono_free_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000
}

/// An empty zip archive (end-of-central-directory record only): the
/// function's code object must exist for moto to create the function.
fn minimal_zip() -> Vec<u8> {
    let mut zip = vec![0x50, 0x4b, 0x05, 0x06];
    zip.extend([0; 18]);
    zip
}

/// The workspace's `.venv` tool `name` (`scripts/test` installs it, as CI
/// does); absent is a failure, not a skip.
fn venv_tool(name: &str) -> std::path::PathBuf {
    let path = gensec_testkit::repo_root().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} not found (run scripts/test, which installs it into .venv)",
        path.display()
    );
    path
}

/// checkov's CKV_AWS_373 ("Bedrock Agent is encrypted with a CMK") on a
/// template: (passed, failed).
fn checkov_agent_encryption(template: &Value) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("template.json");
    std::fs::write(&file, serde_json::to_vec_pretty(template).unwrap()).unwrap();
    let output = std::process::Command::new(venv_tool("checkov"))
        .args(["--framework", "cloudformation", "--check", "CKV_AWS_373"])
        .args(["--output", "json", "--quiet", "--compact", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "checkov output: {err}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let count = |key: &str| report["summary"][key].as_u64().unwrap_or(0) as usize;
    (count("passed"), count("failed"))
}

/// The Bedrock package's agent runs with the organisation's key and a
/// published guardrail version, which the account enforces on every model
/// invocation; its knowledge-base ingestion uses the key,
/// and model invocation logging is turned on by a runbook whose one API call
/// Bedrock's own API (botocore's input validation, then moto's Bedrock)
/// accepts and records as the configuration. checkov's agent-encryption
/// check judges the template independently, and fails it without the key.
#[tokio::test(flavor = "multi_thread")]
async fn the_bedrock_package_guards_its_agent_and_logs_model_invocations() {
    let endpoint = std::env::var("GENSEC_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("GENSEC_MOTO_ENDPOINT is not set: scripts/test starts a moto server on 127.0.0.1")
    });
    let kb = Arc::new(Kb::embedded().unwrap());
    let stages = Stages::new(&kb).unwrap();
    let profile = profile(PROFILES[0]);
    let template = template(&kb, &stages, "Bedrock", &profile).await;
    let resources = &template["Resources"];
    let key = json!({"Fn::GetAtt": ["EncryptionKey", "Arn"]});

    let agent = &resources["Agent"]["Properties"];
    assert_eq!(agent["CustomerEncryptionKeyArn"], key);
    assert_eq!(
        agent["GuardrailConfiguration"],
        json!({
            "GuardrailIdentifier": {"Fn::GetAtt": ["Guardrail", "GuardrailId"]},
            "GuardrailVersion": {"Fn::GetAtt": ["GuardrailVersion", "Version"]}
        })
    );
    assert_eq!(
        resources["GuardrailVersion"]["Properties"]["GuardrailIdentifier"],
        json!({"Ref": "Guardrail"})
    );
    // The same published version is enforced on every model invocation of
    // the account, on all messages and system prompts.
    let enforced = &resources["EnforcedGuardrailConfiguration"]["Properties"];
    assert_eq!(
        enforced["GuardrailIdentifier"],
        agent["GuardrailConfiguration"]["GuardrailIdentifier"]
    );
    assert_eq!(
        enforced["GuardrailVersion"],
        agent["GuardrailConfiguration"]["GuardrailVersion"]
    );
    assert!(enforced.get("ModelEnforcement").is_none());
    assert_eq!(
        enforced["SelectiveContentGuarding"],
        json!({"Messages": "COMPREHENSIVE", "System": "COMPREHENSIVE"})
    );
    assert_eq!(
        agent["FoundationModel"],
        json!({"Ref": "AgentFoundationModel"})
    );
    // Only the profile's approved text models (no ARN, no embedding model).
    assert_eq!(
        template["Parameters"]["AgentFoundationModel"]["AllowedValues"],
        json!(["anthropic.claude-3-5-sonnet-20240620-v1:0"])
    );
    assert_eq!(
        resources["DataSource"]["Properties"]["ServerSideEncryptionConfiguration"]["KmsKeyArn"],
        key
    );
    assert_eq!(
        resources["InvocationLogGroup"]["Properties"]["KmsKeyId"],
        key
    );

    let (passed, failed) = checkov_agent_encryption(&template);
    assert_eq!(
        (passed, failed),
        (1, 0),
        "checkov CKV_AWS_373 on the package"
    );
    let mut unencrypted = template.clone();
    unencrypted["Resources"]["Agent"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("CustomerEncryptionKeyArn");
    assert_eq!(checkov_agent_encryption(&unencrypted), (0, 1));

    // The association passes the runbook exactly the parameters it declares.
    let association = &resources["InvocationLogging"]["Properties"];
    assert_eq!(
        association["Name"],
        json!({"Ref": "InvocationLoggingRunbook"})
    );
    let runbook = &resources["InvocationLoggingRunbook"]["Properties"]["Content"];
    let declared: BTreeSet<&String> = runbook["parameters"].as_object().unwrap().keys().collect();
    let passed_in: BTreeSet<&String> = association["Parameters"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(declared, passed_in);
    assert_eq!(
        association["Parameters"]["LogGroupName"],
        json!([{"Ref": "InvocationLogGroup"}])
    );
    let steps = runbook["mainSteps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["action"], "aws:executeAwsApi");
    let mut inputs = steps[0]["inputs"].as_object().unwrap().clone();
    assert_eq!(inputs.remove("Service"), Some(json!("bedrock")));
    assert_eq!(
        inputs.remove("Api"),
        Some(json!("PutModelInvocationLoggingConfiguration"))
    );
    // What the association fills in, as Automation would.
    let filled = serde_json::to_string(&inputs)
        .unwrap()
        .replace("{{ LogGroupName }}", "/gensec/test/model-invocations")
        .replace(
            "{{ DeliveryRoleArn }}",
            "arn:aws:iam::123456789012:role/gensec-test-invocation-logs",
        );
    assert!(
        !filled.contains("{{"),
        "unfilled runbook parameter: {filled}"
    );

    // boto3 validates the input against Bedrock's API model before moto
    // records it; the configuration read back must be what was put.
    const CALL: &str = r#"
import boto3, json, sys
bedrock = boto3.client("bedrock", endpoint_url=sys.argv[1], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
inputs = json.loads(sys.argv[2])
bedrock.put_model_invocation_logging_configuration(**inputs)
print(json.dumps(bedrock.get_model_invocation_logging_configuration()["loggingConfig"]))
"#;
    let output = std::process::Command::new(venv_tool("python3"))
        .args(["-c", CALL, &endpoint, &filled])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the runbook's call was refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recorded: Value = serde_json::from_slice(&output.stdout).unwrap();
    let put: Value = serde_json::from_str(&filled).unwrap();
    assert_eq!(recorded, put["loggingConfig"]);
}
