//! The committed baseline: complete, consistent and queryable.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use gensec_kb::Kb;

fn kb() -> Kb {
    Kb::embedded().expect("embedded baseline loads")
}

#[test]
fn counts_meet_the_coverage_floor() {
    let kb = kb();
    let counts = &kb.meta().counts;
    assert!(counts.resource_types >= 1_800, "{counts:?}");
    assert!(counts.iam_actions >= 20_000, "{counts:?}");
    assert!(counts.config_rules >= 280, "{counts:?}");
    assert!(counts.iam_services >= 400, "{counts:?}");
    assert_eq!(
        kb.resource_type_names().count() as u64,
        counts.resource_types
    );
    assert!(!kb.meta().data_date.is_empty());
}

#[test]
fn resolves_the_services_named_in_the_seeds() {
    let kb = kb();
    for (name, id) in [
        ("S3", "s3"),
        ("Amazon S3", "s3"),
        ("Simple Storage Service", "s3"),
        ("QuickSight", "quicksight"),
        ("RDS", "rds"),
        ("Lambda", "lambda"),
        ("AWS Lambda", "lambda"),
        ("EC2", "ec2"),
        ("IAM", "iam"),
        ("KMS", "kms"),
        ("AWS::OpenSearchService", "opensearch"),
        ("Step Functions", "stepfunctions"),
        ("states", "stepfunctions"),
        ("ALB", "elb"),
    ] {
        assert_eq!(kb.resolve_service(name).unwrap().id, id, "{name}");
    }
}

#[test]
fn every_namespace_resolves_to_a_service_owning_it() {
    let kb = kb();
    let mut namespaces: Vec<&str> = kb
        .resource_type_names()
        .map(|name| name.rsplit_once("::").unwrap().0)
        .collect();
    namespaces.dedup();
    for namespace in namespaces {
        let entry = kb.resolve_service(namespace).unwrap();
        assert!(
            entry.cfn_namespaces.iter().any(|n| n == namespace),
            "{namespace} resolved to {}",
            entry.id
        );
    }
}

#[test]
fn unknown_services_get_suggestions() {
    let err = kb().resolve_service("Quiksight").unwrap_err().to_string();
    assert!(err.contains("did you mean"), "{err}");
    assert!(err.to_lowercase().contains("quicksight"), "{err}");
}

#[test]
fn property_paths_types_and_enums_are_real() {
    let kb = kb();
    let bucket = kb.resource_type("AWS::S3::Bucket").unwrap().unwrap();
    let algorithm = bucket
        .resolve("BucketEncryption.ServerSideEncryptionConfiguration[].ServerSideEncryptionByDefault.SSEAlgorithm")
        .expect("SSE algorithm path");
    assert!(algorithm.enum_values.contains(&"\"aws:kms\"".to_string()));
    assert!(bucket.resolve("VersioningConfiguration.Status").is_some());
    assert!(
        bucket
            .resolve("PublicAccessBlockConfiguration.BlockPublicAcls")
            .is_some()
    );
    assert!(bucket.resolve("EncryptionEverywhere").is_none());
    assert!(bucket.create_only.contains(&"BucketName".to_string()));
    assert!(bucket.read_only.contains(&"Arn".to_string()));
    assert!(bucket.regions.len() > 20);
}

#[test]
fn iam_actions_and_condition_keys_are_real() {
    let kb = kb();
    let get_object = kb.action("s3:GetObject").unwrap().unwrap();
    assert_eq!(get_object.access_level(), gensec_kb::AccessLevel::Read);
    assert!(kb.action("s3:GetObjects").unwrap().is_none());
    assert!(kb.action("iam:passrole").unwrap().is_some());
    assert!(kb.condition_key("aws:SecureTransport").unwrap().is_some());
    assert!(
        kb.condition_key("aws:RequestTag/CostCenter")
            .unwrap()
            .is_some()
    );
    assert!(
        kb.condition_key("s3:x-amz-server-side-encryption")
            .unwrap()
            .is_some()
    );
    assert!(kb.condition_key("s3:NoSuchKey").unwrap().is_none());
    let s3 = kb.iam_service("s3").unwrap().unwrap();
    let bucket = s3
        .resource_types
        .iter()
        .find(|r| r.name == "bucket")
        .unwrap();
    assert!(bucket.arn_formats[0].starts_with("arn:${Partition}:s3:::"));
}

#[test]
fn config_rules_have_details_and_map_to_services() {
    let kb = kb();
    let rule = kb.config_rule("S3_BUCKET_VERSIONING_ENABLED").unwrap();
    assert_eq!(rule.resource_types, vec!["AWS::S3::Bucket"]);
    assert!(
        rule.parameters
            .iter()
            .any(|p| p.name == "isMfaDeleteEnabled")
    );
    let with_details = kb.config_rules().iter().filter(|r| r.details_known).count();
    assert!(with_details * 10 >= kb.config_rules().len() * 9);
    let s3 = kb.resolve_service("s3").unwrap();
    assert!(
        s3.config_rules
            .iter()
            .any(|r| r == "S3_BUCKET_VERSIONING_ENABLED")
    );
    let iam = kb.resolve_service("iam").unwrap();
    assert!(
        iam.config_rules
            .iter()
            .any(|r| r == "ROOT_ACCOUNT_MFA_ENABLED")
    );
}

#[test]
fn config_rule_resource_types_exist_in_the_schemas() {
    // Config evaluates a few types CloudFormation cannot create; those are listed
    // here by name so a new gap shows up as a failure.
    let kb = kb();
    let known: std::collections::HashSet<&str> = kb.resource_type_names().collect();
    let mut missing: Vec<String> = kb
        .config_rules()
        .iter()
        .flat_map(|rule| rule.resource_types.iter())
        .filter(|t| !known.contains(t.as_str()))
        .cloned()
        .collect();
    missing.sort();
    missing.dedup();
    assert!(missing.len() <= 40, "{missing:?}");
}

#[test]
fn a_full_load_decodes_every_chunk() {
    let kb = kb();
    assert!(kb.load_all().unwrap() > 700);
}

#[test]
fn corrupt_or_foreign_files_are_refused_with_a_reason() {
    let err = Kb::from_bytes(
        std::borrow::Cow::Owned(b"not a kb at all".to_vec()),
        "x".into(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("truncated") || err.contains("magic"), "{err}");
    let mut bytes = gensec_kb::EMBEDDED_BASELINE.to_vec();
    bytes.truncate(bytes.len() / 2);
    let err = Kb::from_bytes(std::borrow::Cow::Owned(bytes), "half".into())
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
}
