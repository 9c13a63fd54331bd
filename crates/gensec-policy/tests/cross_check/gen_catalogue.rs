//! Every SCP statement the control catalogue can produce, with the cases
//! the controls stage executes it against (insecure, omitted and compliant
//! requests, exempt principals), with and without exempt principals in the
//! profile. gensec decides these before writing a statement; the simulator
//! must decide them the same way. Likewise the package key's policy, for the
//! key's users of every test service and every curated namespace.

use gensec_core::input::ScpExemptions;
use gensec_kb::Kb;
use gensec_policy::corpus::Case;

pub fn cases(kb: &Kb) -> Vec<Case> {
    let exempt = ScpExemptions {
        break_glass_principal_arns: vec!["arn:aws:iam::*:role/SecurityBreakGlass".into()],
        deployer_principal_arns: vec!["arn:aws:iam::*:role/cicd-deployer".into()],
    };
    // Allowed Bedrock models as a profile lists them: a foundation model id
    // and an inference profile ARN (the NotResource statement's cases).
    let lists = gensec_controls::preventive::ProfileLists {
        bedrock_models: Some(vec![
            "arn:*:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0".into(),
            "arn:aws:bedrock:eu-west-1:*:inference-profile/eu.amazon.nova-pro-v1:0".into(),
        ]),
    };
    let mut cases = Vec::new();
    for (label, exemptions) in [
        ("no-exemptions", ScpExemptions::default()),
        ("exemptions", exempt),
    ] {
        let generated = gensec_controls::preventive::catalogue_corpus(kb, &exemptions, &lists)
            .unwrap_or_else(|err| panic!("the catalogue's SCPs: {err}"));
        for mut case in generated {
            case.id = format!("{label}/{}", case.id);
            cases.push(case);
        }
    }
    cases.extend(key_policy_cases(kb));
    cases
}

/// Resource types that use the package key, grouped as the test services'
/// templates group them, plus one per curated namespace, and none: the KMS
/// package's own key, whose use the account's IAM policies decide.
const KEY_USERS: &[&[&str]] = &[
    &[],
    &["AWS::S3::Bucket"],
    &["AWS::RDS::DBCluster", "AWS::RDS::DBInstance"],
    &[
        "AWS::EC2::Instance",
        "AWS::EC2::LaunchTemplate",
        "AWS::EC2::Volume",
    ],
    &["AWS::DynamoDB::Table"],
    &["AWS::Lambda::Function"],
    &["AWS::SNS::Topic"],
    &["AWS::SQS::Queue"],
    &["AWS::SecretsManager::Secret"],
    &[
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::NotebookInstance",
    ],
    &["AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::Guardrail"],
    &[
        "AWS::Elasticsearch::Domain",
        "AWS::OpenSearchService::Domain",
    ],
    &["AWS::CloudTrail::Trail"],
    &["AWS::Logs::LogGroup"],
    &[
        "AWS::EFS::FileSystem",
        "AWS::StepFunctions::StateMachine",
        "AWS::CodeBuild::Project",
    ],
];

fn key_policy_cases(kb: &Kb) -> Vec<Case> {
    let curated = gensec_iac::data::curated().unwrap_or_else(|err| panic!("IaC data: {err}"));
    let mut cases = Vec::new();
    for users in KEY_USERS {
        let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        cases.extend(
            gensec_iac::key_policy::corpus_cases(kb, curated, &users)
                .unwrap_or_else(|err| panic!("key policy for {users:?}: {err}")),
        );
    }
    cases
}
