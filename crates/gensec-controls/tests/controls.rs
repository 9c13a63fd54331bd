//! Controls that do not behave are rejected with the reason, never emitted.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_controls::{guard, proactive, selftest};
use gensec_core::contract::analysis::{
    Confidence, Expectation, Priority, Recommendation, SecurityDomain, StrideThreat,
};
use gensec_core::contract::stage::{StageId, Verdicts};
use serde_json::json;

fn recommendation(expectation: Expectation, value: serde_json::Value) -> Recommendation {
    Recommendation {
        configuration_id: "CFG-S3-BUCKET-VERSIONING".into(),
        control_id: "s3-bucket-versioning".into(),
        service_id: "s3".into(),
        service_name: "Amazon S3".into(),
        resource_type: "AWS::S3::Bucket".into(),
        title: "Keep previous versions >> always".into(),
        property: "VersioningConfiguration.Status".into(),
        expectation,
        recommended_value: value,
        security_domain: SecurityDomain::Resilience,
        threat_vector: StrideThreat::Tampering,
        priority: Priority::Medium,
        rationale: "Versioning makes deletes recoverable.".into(),
        confidence: Confidence::Curated,
        detective: None,
        security_hub_controls: vec![],
        preventive: None,
        compliance: vec![],
        operational: None,
        model: None,
        applies_to: Vec::new(),
        when_set: None,
    }
}

#[test]
fn a_rule_that_passes_its_compliant_case_and_fails_the_others_is_kept() {
    let mut report = Verdicts::new(StageId::Controls);
    let good = recommendation(Expectation::Equals(json!("Enabled")), json!("Enabled"));
    let out = proactive::build("s3", "header", &[good], None, &mut report);
    assert_eq!(out.controls.len(), 1);
    assert!(out.controls[0].cases.iter().all(|c| c.passed()));
    assert_eq!(out.cases.len(), 3);
    assert!(report.rejected.is_empty());
    let rules = out.rules_file.unwrap();
    // The message survives a title containing the block terminator.
    assert!(
        rules.contains("Keep previous versions > > always"),
        "{rules}"
    );
    assert_eq!(
        selftest::verify(&rules, "cfg_s3_bucket_versioning", &out.cases)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_setting_of_one_variant_skips_the_others_and_fails_its_own_when_insecure() {
    // FSx: a file system of one type carries that type's block alone.
    let mut rec = recommendation(Expectation::Equals(json!(true)), json!(true));
    rec.configuration_id = "CFG-FSX-FILESYSTEM-OPENZFS-COPY-TAGS-TO-BACKUPS".into();
    rec.resource_type = "AWS::FSx::FileSystem".into();
    rec.property = "OpenZFSConfiguration.CopyTagsToBackups".into();
    rec.when_set = Some("OpenZFSConfiguration".into());
    let mut report = Verdicts::new(StageId::Controls);
    let out = proactive::build("fsx", "header", &[rec], None, &mut report);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let rules = out.rules_file.unwrap();
    let rule = "cfg_fsx_filesystem_openzfs_copy_tags_to_backups";
    let outcome = |properties: serde_json::Value| {
        let template = json!({"Resources": {"FileSystem": {
            "Type": "AWS::FSx::FileSystem", "Properties": properties}}});
        selftest::evaluate(&rules, rule, &template).unwrap()
    };
    use selftest::Outcome;
    assert_eq!(
        outcome(json!({"LustreConfiguration": {"CopyTagsToBackups": true}})),
        Outcome::Skip
    );
    assert_eq!(
        outcome(json!({"OpenZFSConfiguration": {"CopyTagsToBackups": true}})),
        Outcome::Pass
    );
    // The block present without the setting (AWS's default is false) or with it off fails.
    assert_eq!(
        outcome(json!({"OpenZFSConfiguration": {"DeploymentType": "MULTI_AZ_1"}})),
        Outcome::Fail
    );
    assert_eq!(
        outcome(json!({"OpenZFSConfiguration": {"CopyTagsToBackups": false}})),
        Outcome::Fail
    );
    // The shipped cases include the other variant, expected to skip.
    assert!(
        out.cases
            .iter()
            .any(|c| c.expectations.rules.get(rule) == Some(&Outcome::Skip)),
        "{:?}",
        out.cases
    );
}

#[test]
fn a_rule_whose_compliant_case_fails_is_rejected_with_the_reason() {
    let mut report = Verdicts::new(StageId::Controls);
    // The recommended value contradicts the expectation: the compliant case fails.
    let broken = recommendation(Expectation::Equals(json!("Enabled")), json!("Suspended"));
    let out = proactive::build("s3", "header", &[broken], None, &mut report);
    assert!(out.controls.is_empty());
    assert!(out.rules_file.is_none());
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0]
            .reason
            .contains("does not meet the expectation"),
        "{:?}",
        report.rejected
    );
}

#[test]
fn values_guard_cannot_express_are_rejected() {
    let mut report = Verdicts::new(StageId::Controls);
    let object = recommendation(Expectation::Equals(json!({"a": 1})), json!({"a": 1}));
    proactive::build("s3", "header", &[object], None, &mut report);
    assert!(
        report.rejected[0].reason.contains("cannot compare"),
        "{:?}",
        report.rejected
    );
}

#[test]
fn paths_arrays_and_odd_keys_are_written_in_guard_syntax() {
    assert_eq!(guard::guard_path("A.B[].C"), "A.B[*].C");
    assert_eq!(
        guard::guard_path("Condition.Bool.aws:SecureTransport"),
        "Condition.Bool.\"aws:SecureTransport\""
    );
    assert_eq!(
        guard::literal(&json!("say \"hi\"")).unwrap(),
        "\"say \\\"hi\\\"\""
    );
    assert_eq!(guard::literal(&json!(["a", 1])).unwrap(), "[\"a\", 1]");
    let mut properties = serde_json::Map::new();
    selftest::set_path(&mut properties, "Rules[].Sse.Algorithm", json!("aws:kms"));
    assert_eq!(
        json!(properties),
        json!({"Rules": [{"Sse": {"Algorithm": "aws:kms"}}]})
    );
}

#[test]
fn a_list_rule_refuses_an_open_ingress_element_and_allows_the_others() {
    use gensec_core::contract::analysis::ElementCondition;
    let condition = |field: &str, expect| ElementCondition {
        field: field.into(),
        expect,
    };
    let mut open_ssh = recommendation(
        Expectation::NoElement(vec![
            condition("CidrIp", Expectation::Equals(json!("0.0.0.0/0"))),
            condition("FromPort", Expectation::AtMost(22.0)),
            condition("ToPort", Expectation::AtLeast(22.0)),
        ]),
        serde_json::Value::Null,
    );
    open_ssh.configuration_id = "CFG-EC2-SECURITYGROUP-INGRESS-SSH".into();
    open_ssh.resource_type = "AWS::EC2::SecurityGroup".into();
    open_ssh.property = "SecurityGroupIngress".into();
    let mut report = Verdicts::new(StageId::Controls);
    let out = proactive::build("ec2", "header", &[open_ssh], None, &mut report);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(out.controls.len(), 1);
    // Missing list, an open element, one element per differing condition,
    // and one whose CidrIp is a map (Guard's `!=` between a map and a string
    // fails, so the rule has to say a non-string differs).
    assert_eq!(out.cases.len(), 6, "{:#?}", out.cases);
    let rules = out.rules_file.unwrap();
    let rule = "cfg_ec2_securitygroup_ingress_ssh";
    let sg = |ingress: serde_json::Value| json!({"Resources": {"Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": ingress}}}});
    let open =
        sg(json!([{"CidrIp": "0.0.0.0/0", "FromPort": 0, "ToPort": 65535, "IpProtocol": "tcp"}]));
    let office =
        sg(json!([{"CidrIp": "10.0.0.0/8", "FromPort": 22, "ToPort": 22, "IpProtocol": "tcp"}]));
    let https =
        sg(json!([{"CidrIp": "0.0.0.0/0", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}]));
    assert_eq!(
        selftest::evaluate(&rules, rule, &open).unwrap(),
        selftest::Outcome::Fail
    );
    assert_eq!(
        selftest::evaluate(&rules, rule, &office).unwrap(),
        selftest::Outcome::Pass
    );
    assert_eq!(
        selftest::evaluate(&rules, rule, &https).unwrap(),
        selftest::Outcome::Pass
    );
    assert_eq!(
        selftest::evaluate(&rules, rule, &sg(json!([]))).unwrap(),
        selftest::Outcome::Pass
    );
    let parameter = sg(
        json!([{"CidrIp": {"Ref": "AdminCidr"}, "FromPort": 22, "ToPort": 22, "IpProtocol": "tcp"}]),
    );
    assert_eq!(
        selftest::evaluate(&rules, rule, &parameter).unwrap(),
        selftest::Outcome::Pass
    );
}
