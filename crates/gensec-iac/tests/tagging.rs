//! The organisation's required tags in the hardened templates: every taggable
//! resource of the CloudFormation template carries them (values from
//! parameters limited to the profile's allowed values), untaggable ones do
//! not, and Terraform sets them once in the provider's default_tags. (The
//! package tests run the tagging control's Guard rule on real templates.)
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{
    Confidence, Expectation, Priority, Recommendation, SecurityDomain, StrideThreat,
};
use gensec_core::input::Tagging;
use gensec_iac::{cloudformation, terraform};
use gensec_kb::Kb;
use gensec_kb::tags::{TAGGING_CONTROL_ID, tag_keys, tag_pairs, tag_shape, tag_value};
use serde_json::{Value, json};
use std::path::PathBuf;

fn profile() -> SecurityProfile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config-example/security-profile/example-corp.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn recommendation(
    control_id: &str,
    resource_type: &str,
    property: &str,
    expectation: Expectation,
    value: Value,
) -> Recommendation {
    Recommendation {
        configuration_id: format!("CFG-TEST-{}", property.to_ascii_uppercase()),
        control_id: control_id.into(),
        service_id: "s3".into(),
        service_name: "Amazon S3".into(),
        resource_type: resource_type.into(),
        title: control_id.into(),
        property: property.into(),
        expectation,
        recommended_value: value,
        security_domain: SecurityDomain::DataProtection,
        threat_vector: StrideThreat::InformationDisclosure,
        priority: Priority::High,
        rationale: String::new(),
        confidence: Confidence::Curated,
        detective: None,
        security_hub_controls: vec![],
        preventive: None,
        compliance: vec![],
        operational: None,
        model: None,
        applies_to: vec![],
        when_set: None,
    }
}

/// A small S3 package: a KMS-encrypted bucket, its policy (not taggable) and
/// the tagging recommendation as the analysis writes it.
fn package(kb: &Kb, profile: &SecurityProfile) -> Vec<Recommendation> {
    let pairs: Vec<(String, Value)> = profile
        .tagging
        .keys()
        .map(|key| {
            (
                key.to_string(),
                json!({"Ref": Tagging::parameter_name(key)}),
            )
        })
        .collect();
    let bucket = tag_shape(kb.resource_type("AWS::S3::Bucket").unwrap().unwrap()).unwrap();
    let mut tagging = recommendation(
        TAGGING_CONTROL_ID,
        "AWS::S3::Bucket",
        "Tags",
        Expectation::Present,
        tag_value(bucket, &pairs),
    );
    tagging.applies_to = vec!["AWS::S3::Bucket".into(), "AWS::S3::AccessPoint".into()];
    vec![
        recommendation(
            "s3-bucket-sse-kms",
            "AWS::S3::Bucket",
            "BucketEncryption.ServerSideEncryptionConfiguration[].ServerSideEncryptionByDefault.KMSMasterKeyID",
            Expectation::Present,
            json!({"Ref": "KmsKeyArn"}),
        ),
        recommendation(
            "s3-bucketpolicy-deny-insecure-transport",
            "AWS::S3::BucketPolicy",
            "PolicyDocument.Statement",
            Expectation::Contains(json!({"Effect": "Deny"})),
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        ),
        tagging,
    ]
}

#[test]
fn every_taggable_resource_carries_the_required_tags_from_parameters() {
    let kb = Kb::embedded().unwrap();
    let profile = profile();
    let keys: Vec<String> = profile.tagging.keys().map(str::to_string).collect();
    let hardened = cloudformation::build(
        &kb,
        gensec_iac::data::curated().unwrap(),
        "test",
        &package(&kb, &profile),
        &profile,
    );
    let template = &hardened.template;
    let resources = template["Resources"].as_object().unwrap();
    // The tagging recommendation opens no resource of its own.
    assert!(
        !resources
            .values()
            .any(|r| r["Type"] == "AWS::S3::AccessPoint"),
        "{template:#}"
    );
    let mut tagged = 0;
    for (id, resource) in resources {
        let resource_type = resource["Type"].as_str().unwrap();
        let taggable = tag_shape(kb.resource_type(resource_type).unwrap().unwrap()).is_some();
        let tags = resource["Properties"].get("Tags");
        if !taggable {
            assert!(tags.is_none(), "{id} ({resource_type}) cannot carry tags");
            continue;
        }
        tagged += 1;
        assert_eq!(tag_keys(tags.unwrap()), keys, "{id}");
        for (key, value) in tag_pairs(tags.unwrap()) {
            let name = Tagging::parameter_name(&key);
            assert_eq!(value, json!({"Ref": name}), "{id} {key}");
            let parameter = &template["Parameters"][&name];
            assert_eq!(parameter["Type"], "String");
            assert_eq!(parameter["MinLength"], 1);
            let allowed = &profile
                .tagging
                .required_tags
                .iter()
                .find(|t| t.key == key)
                .unwrap()
                .allowed_values;
            if allowed.is_empty() {
                assert!(parameter.get("AllowedValues").is_none());
            } else {
                assert_eq!(parameter["AllowedValues"], json!(allowed));
            }
        }
    }
    // The bucket and the customer-managed key the profile asks for.
    assert_eq!(tagged, 2, "{template:#}");
    assert!(
        cloudformation::schema_problems(&kb, template).is_empty(),
        "{:?}",
        cloudformation::schema_problems(&kb, template)
    );
}

#[test]
fn tags_a_resource_already_has_are_kept_and_completed() {
    let kb = Kb::embedded().unwrap();
    let profile = profile();
    let mut recommendations = package(&kb, &profile);
    recommendations.push(recommendation(
        "cost-centre",
        "AWS::S3::Bucket",
        "Tags",
        Expectation::Contains(json!({"Key": "cost-centre"})),
        json!({"Key": "cost-centre", "Value": "42"}),
    ));
    let template = cloudformation::build(
        &kb,
        gensec_iac::data::curated().unwrap(),
        "test",
        &recommendations,
        &profile,
    )
    .template;
    let bucket = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::S3::Bucket")
        .unwrap();
    let mut expected = vec!["cost-centre".to_string()];
    expected.extend(profile.tagging.keys().map(str::to_string));
    assert_eq!(tag_keys(&bucket["Properties"]["Tags"]), expected);
}

#[test]
fn terraform_sets_the_required_tags_once_in_default_tags() {
    let kb = Kb::embedded().unwrap();
    let profile = profile();
    let recommendations = package(&kb, &profile);
    let template = cloudformation::build(
        &kb,
        gensec_iac::data::curated().unwrap(),
        "test",
        &recommendations,
        &profile,
    )
    .template;
    let tagging = recommendations.last().unwrap();
    let rendered = terraform::render_with_default_tags(
        &template,
        "header",
        &tag_pairs(&tagging.recommended_value),
    );
    let body: hcl::Body = hcl::from_str(&rendered.main_tf).unwrap();
    let provider = body
        .blocks()
        .find(|b| b.identifier() == "provider")
        .unwrap_or_else(|| panic!("no provider block:\n{}", rendered.main_tf));
    let default_tags = provider
        .body()
        .blocks()
        .find(|b| b.identifier() == "default_tags")
        .unwrap();
    let tags = hcl::format::to_string(
        default_tags
            .body()
            .attributes()
            .find(|a| a.key() == "tags")
            .unwrap()
            .expr(),
    )
    .unwrap();
    for key in profile.tagging.keys() {
        let variable = format!("var.tag_{}", key.replace('-', "_"));
        assert!(
            tags.contains(key) && tags.contains(&variable),
            "{key}: {tags}"
        );
        assert!(
            rendered
                .main_tf
                .contains(&format!("variable \"tag_{}\"", key.replace('-', "_"))),
            "{}",
            rendered.main_tf
        );
    }
    // No resource repeats them.
    for block in body.blocks().filter(|b| b.identifier() == "resource") {
        assert!(
            !block.body().attributes().any(|a| a.key() == "tags"),
            "{:?} repeats the default tags",
            block.labels()
        );
    }
    // Without default tags the resources carry them themselves.
    let plain = terraform::render(&template, "header");
    assert!(!plain.main_tf.contains("default_tags"));
    assert!(plain.main_tf.contains("tags = {"), "{}", plain.main_tf);
}
