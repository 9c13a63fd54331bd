//! SCP statements executed as IAM evaluates them: every statement of the
//! control catalogue passes its cases; the failure modes found when the
//! packages were tried (an IMDS deny on every resource of a launch, an
//! outright deny of a call our own template makes) are caught and dropped.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_controls::preventive::{self, execute};
use gensec_core::contract::analysis::{Preventive, PreventiveSpec, WhenOmitted};
use gensec_core::input::ScpExemptions;
use gensec_kb::Kb;
use gensec_kb::controls::ControlCatalogue;
use gensec_policy::Outcome;
use serde_json::json;
use std::sync::OnceLock;

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| Kb::embedded().unwrap())
}

fn example_exemptions() -> ScpExemptions {
    ScpExemptions {
        break_glass_principal_arns: vec!["arn:aws:iam::*:role/SecurityBreakGlass".into()],
        deployer_principal_arns: vec!["arn:aws:iam::*:role/cicd-deployer".into()],
    }
}

/// The example profile's allowed models: a foundation model id and a
/// cross-Region inference profile with the foundation model it routes to.
fn lists() -> preventive::ProfileLists {
    preventive::ProfileLists {
        bedrock_models: Some(vec![
            "arn:*:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
            "arn:*:bedrock:*:*:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0"
                .into(),
        ]),
    }
}

fn spec_of(control_id: &str) -> Vec<PreventiveSpec> {
    let catalogue = ControlCatalogue::embedded().unwrap();
    match &catalogue.control(control_id).unwrap().preventive {
        Some(Preventive::Scp(specs)) => specs.clone(),
        other => panic!("{control_id} has no SCP: {other:?}"),
    }
}

#[test]
fn every_catalogue_statement_passes_its_cases() {
    for exemptions in [ScpExemptions::default(), example_exemptions()] {
        let cases = preventive::catalogue_corpus(kb(), &exemptions, &lists()).unwrap();
        let mut failures = Vec::new();
        for case in &cases {
            let decision = case.evaluate().unwrap();
            if Some(decision.outcome) != case.expected {
                failures.push(format!("{}: {decision}", case.id));
            }
        }
        let statements: std::collections::BTreeSet<&str> = cases
            .iter()
            .map(|case| case.id.split('/').nth(1).unwrap())
            .collect();
        eprintln!(
            "{} catalogue SCP statements, {} cases (exempt principals: {})",
            statements.len(),
            cases.len(),
            !exemptions.is_empty()
        );
        assert!(statements.len() >= 70, "{}", statements.len());
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

#[test]
fn the_imds_statement_is_scoped_to_instances_and_allows_a_compliant_launch() {
    let exemptions = example_exemptions();
    let spec = &spec_of("ec2-instance-imdsv2")[0];
    let candidate = preventive::candidate(kb(), "imds", spec, &exemptions, &lists()).unwrap();
    assert_eq!(
        candidate.statement["Resource"],
        json!("arn:*:ec2:*:*:instance/*")
    );
    let execution = execute::execute(
        kb(),
        std::slice::from_ref(&candidate),
        &["AWS::EC2::Instance".into()],
        &exemptions,
    )
    .unwrap();
    assert!(execution.dropped.is_empty(), "{:?}", execution.dropped);
    let names: Vec<&str> = execution.passed[&0]
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("compliant request")),
        "{names:?}"
    );
    assert!(
        execution
            .template_calls
            .iter()
            .any(|c| c.name.starts_with("ec2:RunInstances by the deployer")),
        "{:?}",
        execution.template_calls
    );

    // The same deny on every resource of the launch denies compliant launches too.
    let mut unscoped = spec.clone();
    unscoped.resource_type = None;
    let candidate =
        preventive::candidate(kb(), "imds-unscoped", &unscoped, &exemptions, &lists()).unwrap();
    let execution = execute::execute(kb(), &[candidate], &[], &exemptions).unwrap();
    let reason = &execution.dropped[&0];
    assert!(reason.contains("compliant request"), "{reason}");
    assert!(
        reason.contains("image") || reason.contains("subnet"),
        "{reason}"
    );
}

#[test]
fn an_outright_deny_of_a_call_the_template_needs_is_dropped_unless_the_deployer_is_exempt() {
    let spec = &spec_of("s3-bucket-block-public-acls")[0];
    let bucket = vec!["AWS::S3::Bucket".to_string()];
    let candidate =
        preventive::candidate(kb(), "bpa", spec, &ScpExemptions::default(), &lists()).unwrap();
    let execution =
        execute::execute(kb(), &[candidate], &bucket, &ScpExemptions::default()).unwrap();
    let reason = &execution.dropped[&0];
    assert!(reason.contains("s3:PutBucketPublicAccessBlock"), "{reason}");
    assert!(reason.contains("AWS::S3::Bucket create"), "{reason}");

    let exemptions = example_exemptions();
    let candidate = preventive::candidate(kb(), "bpa", spec, &exemptions, &lists()).unwrap();
    let execution = execute::execute(kb(), &[candidate], &bucket, &exemptions).unwrap();
    assert!(execution.dropped.is_empty(), "{:?}", execution.dropped);
    let cases = &execution.passed[&0];
    assert!(cases.iter().any(|c| c.name.contains("any principal")));
    assert!(cases.iter().any(|c| c.name.contains("exempt principal")));
}

#[test]
fn an_omission_claimed_insecure_must_be_denied() {
    // `Bool` is false when the key is absent: claiming the statement denies
    // a request that leaves the field out is caught.
    let mut spec = spec_of("rds-dbinstance-storage-encrypted")[0].clone();
    spec.when_omitted = WhenOmitted::Insecure;
    let candidate =
        preventive::candidate(kb(), "rds", &spec, &ScpExemptions::default(), &lists()).unwrap();
    let execution = execute::execute(kb(), &[candidate], &[], &ScpExemptions::default()).unwrap();
    let reason = &execution.dropped[&0];
    assert!(
        reason.contains("request without rds:StorageEncrypted"),
        "{reason}"
    );
}

#[test]
fn a_conditional_statement_without_a_compliant_request_is_not_written() {
    let mut spec = spec_of("kms-key-single-region")[0].clone();
    spec.compliant.clear();
    let candidate =
        preventive::candidate(kb(), "kms", &spec, &ScpExemptions::default(), &lists()).unwrap();
    let execution = execute::execute(kb(), &[candidate], &[], &ScpExemptions::default()).unwrap();
    assert!(execution.dropped[&0].contains("compliant request"));
}

#[test]
fn break_glass_principals_are_exempt_from_conditional_statements() {
    let exemptions = example_exemptions();
    let spec = &spec_of("lambda-permission-no-public-principal")[0];
    let candidate = preventive::candidate(kb(), "lambda", spec, &exemptions, &lists()).unwrap();
    assert_eq!(
        candidate.statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!(["arn:aws:iam::*:role/SecurityBreakGlass"])
    );
    let cases = execute::corpus_cases(kb(), &candidate, &exemptions).unwrap();
    let break_glass = cases.iter().find(|c| c.id.contains("break-glass")).unwrap();
    assert_eq!(break_glass.expected, Some(Outcome::Allowed));
    assert_eq!(break_glass.evaluate().unwrap().outcome, Outcome::Allowed);
}

#[test]
fn the_model_statement_denies_unlisted_models_and_allows_the_listed_ones() {
    let exemptions = example_exemptions();
    let spec = &spec_of("bedrock-invoke-approved-models-only")[0];
    let candidate = preventive::candidate(kb(), "models", spec, &exemptions, &lists()).unwrap();
    assert_eq!(
        candidate.statement["NotResource"],
        json!(lists().bedrock_models.unwrap())
    );
    assert!(candidate.statement.get("Resource").is_none());
    // Only break-glass principals are exempt: the deployer invokes no model.
    assert_eq!(
        candidate.statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!(["arn:aws:iam::*:role/SecurityBreakGlass"])
    );
    let cases = execute::corpus_cases(kb(), &candidate, &exemptions).unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    // Per action: the unlisted model, two listed resources, break-glass.
    assert_eq!(cases.len(), 8, "{names:#?}");
    for case in &cases {
        let decision = case.evaluate().unwrap();
        assert_eq!(
            Some(decision.outcome),
            case.expected,
            "{}: {decision}",
            case.id
        );
        let expected = if case.id.contains("unlisted") && !case.id.contains("break-glass") {
            Outcome::ExplicitlyDenied
        } else {
            Outcome::Allowed
        };
        assert_eq!(case.expected, Some(expected), "{}", case.id);
        // Each call is authorised against the one model it names.
        assert_eq!(case.requests.len(), 1, "{}", case.id);
    }
    // Executed with the package's own template calls too.
    let execution = execute::execute(
        kb(),
        &[candidate],
        &["AWS::Bedrock::Guardrail".to_string()],
        &exemptions,
    )
    .unwrap();
    assert!(execution.dropped.is_empty(), "{:?}", execution.dropped);
    assert!(!execution.template_calls.is_empty());
}

#[test]
fn without_the_profile_list_the_model_statement_is_not_written() {
    let spec = &spec_of("bedrock-invoke-approved-models-only")[0];
    let err = preventive::candidate(
        kb(),
        "models",
        spec,
        &ScpExemptions::default(),
        &preventive::ProfileLists::default(),
    )
    .unwrap_err();
    assert!(err.contains("allowed_bedrock_models"), "{err}");
}
