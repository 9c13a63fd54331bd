//! Config managed rules, the Config/CloudFormation alias table,
//! configuration-item shapes and Security Hub controls in the committed
//! baseline: counts, cross-references and known facts. One KB load per binary.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_kb::{CiShapeKind, CiValueType, FSBP_STANDARD, Kb};
use std::sync::LazyLock;

static KB: LazyLock<Kb> = LazyLock::new(|| Kb::embedded().expect("embedded baseline loads"));

#[test]
fn counts_meet_the_floor() {
    let counts = &KB.meta().counts;
    assert!(counts.config_rules >= 700, "{counts:?}");
    assert!(counts.config_rules_with_details >= 700, "{counts:?}");
    assert!(counts.config_rules_with_parameters >= 250, "{counts:?}");
    assert!(counts.security_hub_fsbp >= 350, "{counts:?}");
    assert!(counts.security_hub_active >= 550, "{counts:?}");
    assert!(counts.config_types >= 500, "{counts:?}");
    assert!(counts.ci_shape_types >= 400, "{counts:?}");
    assert_eq!(KB.config_rules().len() as u64, counts.config_rules);
    assert_eq!(
        KB.security_hub_controls().len() as u64,
        counts.security_hub_controls
    );
    assert_eq!(
        KB.configuration_item_types().count() as u64,
        counts.ci_shape_types
    );
}

#[test]
fn every_rule_is_complete_or_says_what_is_missing() {
    for rule in KB.config_rules() {
        assert!(!rule.name.is_empty(), "{}", rule.identifier);
        assert_eq!(
            rule.description.is_empty(),
            rule.missing.contains(&"description".to_string()),
            "{}",
            rule.identifier
        );
        assert_eq!(
            rule.triggers.is_empty(),
            rule.missing.contains(&"triggers".to_string())
        );
        let unknown_flags = rule.parameters.iter().any(|p| !p.optional_known);
        assert_eq!(
            unknown_flags,
            rule.missing
                .contains(&"parameter_optional_flags".to_string()),
            "{}",
            rule.identifier
        );
        assert!(
            rule.provenance.contains_key("identifier"),
            "{}",
            rule.identifier
        );
        assert_eq!(
            KB.config_rule_by_name(&rule.name).unwrap().identifier,
            rule.identifier
        );
    }
}

#[test]
fn every_rule_resource_type_is_known() {
    for rule in KB.config_rules() {
        for type_name in &rule.resource_types {
            let known = KB.cfn_type_for_config(type_name).is_some()
                || KB
                    .config_types()
                    .iter()
                    .any(|a| &a.config_type == type_name)
                || KB.resource_type(type_name).unwrap().is_some();
            assert!(
                known,
                "{} evaluates unknown type {type_name}",
                rule.identifier
            );
        }
    }
}

#[test]
fn every_managed_rule_a_control_uses_exists() {
    for control in KB.security_hub_controls() {
        if let Some(identifier) = &control.config_rule_identifier {
            let rule = KB.config_rule(identifier).unwrap();
            assert_eq!(
                Some(&rule.name),
                control.config_rule.as_ref(),
                "{}",
                control.id
            );
        } else if control.config_rule.is_some() {
            assert!(control.config_rule_custom, "{}", control.id);
        }
        for cfn in &control.cfn_resource_types {
            assert!(
                KB.resource_type(cfn).unwrap().is_some(),
                "{} {cfn}",
                control.id
            );
        }
    }
}

#[test]
fn known_rule_facts() {
    let tags = KB.config_rule("REQUIRED_TAGS").unwrap();
    let key = tags
        .parameters
        .iter()
        .find(|p| p.name == "tag1Key")
        .unwrap();
    assert!(!key.optional && key.optional_known);
    let ssl = KB.config_rule("S3_BUCKET_SSL_REQUESTS_ONLY").unwrap();
    assert_eq!(ssl.name, "s3-bucket-ssl-requests-only");
    assert_eq!(ssl.resource_types, ["AWS::S3::Bucket"]);
    assert_eq!(ssl.triggers, ["configuration_changes"]);
    // The kebab name is not always the identifier in lower case.
    assert_eq!(
        KB.config_rule_by_name("restricted-common-ports")
            .unwrap()
            .identifier,
        "RESTRICTED_INCOMING_TRAFFIC"
    );
}

#[test]
fn known_control_facts() {
    let s3_5 = KB.security_hub_control("S3.5").unwrap();
    assert_eq!(
        s3_5.config_rule.as_deref(),
        Some("s3-bucket-ssl-requests-only")
    );
    assert_eq!(
        s3_5.config_rule_identifier.as_deref(),
        Some("S3_BUCKET_SSL_REQUESTS_ONLY")
    );
    assert!(s3_5.is_fsbp() && !s3_5.retired);
    assert_eq!(s3_5.asff_resource_types, ["AwsS3Bucket"]);
    assert_eq!(
        KB.security_hub_control("EC2.19").unwrap().severity,
        "CRITICAL"
    );
    let ec2_2 = KB.security_hub_control("ec2.2").unwrap();
    assert_eq!(ec2_2.severity, "HIGH");
    let cis = ec2_2
        .standards
        .iter()
        .find(|s| s.standard == "CIS AWS Foundations Benchmark v1.4.0")
        .unwrap();
    assert_eq!(cis.control_id, "5.3");
    let pci = KB.security_hub_control("S3.1").unwrap();
    assert!(pci.standards.iter().any(|s| s.control_id == "PCI.S3.6"));
    assert!(
        KB.security_hub_controls_for_rule("S3_BUCKET_SSL_REQUESTS_ONLY")
            .iter()
            .any(|c| c.id == "S3.5")
    );
    assert!(
        KB.security_hub_controls_for_resource_type("AWS::OpenSearchService::Domain")
            .iter()
            .any(|c| c.id.starts_with("Opensearch") || c.id.starts_with("OpenSearch"))
    );
}

#[test]
fn fsbp_controls_apply_to_a_service() {
    let s3 = KB.resolve_service("S3").unwrap();
    let controls = KB.fsbp_controls_for_service(s3);
    assert!(controls.iter().any(|c| c.id == "S3.5"));
    assert!(controls.iter().all(|c| c.in_standard(FSBP_STANDARD)));
    assert!(!controls.iter().any(|c| c.id.starts_with("EC2.")));
}

#[test]
fn config_and_cloudformation_names_map_both_ways() {
    assert_eq!(
        KB.config_type_for_cfn("AWS::OpenSearchService::Domain"),
        Some("AWS::OpenSearch::Domain")
    );
    assert_eq!(
        KB.cfn_type_for_config("AWS::OpenSearch::Domain"),
        Some("AWS::OpenSearchService::Domain")
    );
    assert_eq!(
        KB.cfn_type_for_config("AWS::ACM::Certificate"),
        Some("AWS::CertificateManager::Certificate")
    );
    assert_eq!(
        KB.config_type_for_cfn("AWS::S3::Bucket"),
        Some("AWS::S3::Bucket")
    );
    assert!(KB.config_records("AWS::Elasticsearch::Domain"));
    assert!(!KB.config_records("AWS::CloudFormation::WaitCondition"));
    assert_eq!(
        KB.cfn_type_for_config("AWS::Config::ResourceCompliance"),
        None
    );
}

#[test]
fn configuration_item_shapes() {
    let rds = KB
        .configuration_item_shape("AWS::RDS::DBInstance")
        .unwrap()
        .unwrap();
    assert_eq!(
        rds.path("configuration.storageEncrypted"),
        Some(CiValueType::Boolean)
    );
    assert_eq!(rds.shape, CiShapeKind::Legacy);
    assert_eq!(rds.path("resourceId"), Some(CiValueType::String));
    let bucket = KB
        .configuration_item_shape("AWS::S3::Bucket")
        .unwrap()
        .unwrap();
    assert!(
        bucket
            .iter()
            .any(|(path, _)| path.starts_with("supplementaryConfiguration."))
    );
    // Reached by its CloudFormation name too.
    let domain = KB
        .configuration_item_shape("AWS::OpenSearchService::Domain")
        .unwrap()
        .unwrap();
    assert_eq!(domain.config_type, "AWS::OpenSearch::Domain");
    let workgroup = KB
        .configuration_item_shape("AWS::Athena::WorkGroup")
        .unwrap()
        .unwrap();
    assert_eq!(workgroup.shape, CiShapeKind::Registry);
    assert!(
        KB.configuration_item_shape("AWS::Nope::Nothing")
            .unwrap()
            .is_none()
    );
}

#[test]
fn cloudformation_paths_map_onto_what_config_records() {
    let path = |t: &str, p: &str| KB.configuration_item_path(t, p);
    let rds = path("AWS::RDS::DBInstance", "StorageEncrypted").unwrap();
    assert_eq!(rds.path, "configuration.storageEncrypted");
    assert_eq!(rds.value_type, Some(CiValueType::Boolean));
    assert_eq!(
        path("AWS::RDS::DBInstance", "EnableIAMDatabaseAuthentication")
            .unwrap()
            .path,
        "configuration.iAMDatabaseAuthenticationEnabled"
    );
    assert_eq!(
        path(
            "AWS::S3::Bucket",
            "BucketEncryption.ServerSideEncryptionConfiguration[].ServerSideEncryptionByDefault.SSEAlgorithm"
        )
        .unwrap()
        .path,
        "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules[].applyServerSideEncryptionByDefault.sseAlgorithm"
    );
    assert_eq!(
        path(
            "AWS::S3::Bucket",
            "PublicAccessBlockConfiguration.BlockPublicAcls"
        )
        .unwrap()
        .path,
        "supplementaryConfiguration.PublicAccessBlockConfiguration.blockPublicAcls"
    );
    let opensearch = path(
        "AWS::OpenSearchService::Domain",
        "EncryptionAtRestOptions.Enabled",
    );
    assert_eq!(
        opensearch.as_ref().map(|p| p.config_type.as_str()),
        Ok("AWS::OpenSearch::Domain"),
        "{opensearch:?}"
    );
    let unrecorded = path("AWS::Lambda::Permission", "Principal").unwrap_err();
    assert!(
        unrecorded.contains("Config does not record AWS::Lambda::Permission"),
        "{unrecorded}"
    );
    // A shape alone does not make a type recorded: Config's type list decides.
    assert!(
        KB.configuration_item_shape("AWS::SageMaker::NotebookInstance")
            .unwrap()
            .is_some()
    );
    assert!(!KB.config_records("AWS::SageMaker::NotebookInstance"));
    let notebook = path("AWS::SageMaker::NotebookInstance", "DirectInternetAccess").unwrap_err();
    assert!(
        notebook.starts_with("Config does not record AWS::SageMaker::NotebookInstance"),
        "{notebook}"
    );
    let missing = path("AWS::KMS::Key", "BypassPolicyLockoutSafetyCheck").unwrap_err();
    assert!(
        missing.contains("Config does not record BypassPolicyLockoutSafetyCheck"),
        "{missing}"
    );
}

#[test]
fn every_curated_ci_path_exception_is_in_its_types_shape() {
    let exceptions = gensec_kb::ci_path_exceptions().unwrap();
    assert!(!exceptions.is_empty());
    for exception in exceptions {
        let shape = KB
            .configuration_item_shape(&exception.config_type)
            .unwrap()
            .unwrap_or_else(|| panic!("{} has no shape", exception.config_type));
        let stripped = exception.ci_path.replace("[]", "");
        assert!(
            shape
                .paths
                .keys()
                .any(|p| p == &stripped || p.starts_with(&format!("{stripped}."))),
            "{exception:?}"
        );
        assert!(!exception.source.is_empty());
    }
}
