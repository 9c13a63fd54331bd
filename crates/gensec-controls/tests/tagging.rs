//! The tagging control's Guard rule: written for every taggable type of a
//! service in its own tag shape, kept only when its self-test holds, passing
//! a template whose resources carry every required key and failing one that
//! leaves a key out.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_controls::selftest::{Outcome, evaluate};
use gensec_controls::tagging::TagRule;
use gensec_controls::{guard, proactive};
use gensec_core::contract::analysis::{
    Confidence, Expectation, Priority, Recommendation, SecurityDomain, StrideThreat,
};
use gensec_core::contract::stage::{StageId, Verdicts};
use gensec_core::input::{RequiredTag, Tagging};
use gensec_kb::Kb;
use gensec_kb::tags::{TAGGING_CONTROL_ID, tag_shape, tag_value};
use serde_json::{Value, json};
use std::sync::OnceLock;

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| Kb::embedded().unwrap())
}

fn standard() -> Tagging {
    Tagging {
        required_tags: vec![
            RequiredTag {
                key: "owner".into(),
                allowed_values: vec![],
            },
            RequiredTag {
                key: "data-classification".into(),
                allowed_values: vec!["public".into(), "internal".into(), "confidential".into()],
            },
        ],
        persona_scope_key: "owner".into(),
    }
}

/// The tagging recommendation as the analysis writes it, over `types`.
fn tagging_recommendation(types: &[&str]) -> Recommendation {
    let pairs: Vec<(String, Value)> = standard()
        .keys()
        .map(|key| {
            (
                key.to_string(),
                json!({"Ref": Tagging::parameter_name(key)}),
            )
        })
        .collect();
    let shape = tag_shape(kb().resource_type(types[0]).unwrap().unwrap()).unwrap();
    Recommendation {
        configuration_id: "CFG-TEST-REQUIRED-TAGS".into(),
        control_id: TAGGING_CONTROL_ID.into(),
        service_id: "test".into(),
        service_name: "Test".into(),
        resource_type: types[0].into(),
        title: "Tag every resource".into(),
        property: "Tags".into(),
        expectation: Expectation::Present,
        recommended_value: tag_value(shape, &pairs),
        security_domain: SecurityDomain::ConfigurationManagement,
        threat_vector: StrideThreat::ElevationOfPrivilege,
        priority: Priority::Medium,
        rationale: "Inventory.".into(),
        confidence: Confidence::Curated,
        detective: None,
        security_hub_controls: vec![],
        preventive: None,
        compliance: vec![],
        operational: None,
        model: None,
        applies_to: types.iter().map(|t| t.to_string()).collect(),
        when_set: None,
    }
}

fn template(resources: &[(&str, Value)]) -> Value {
    let resources: serde_json::Map<String, Value> = resources
        .iter()
        .enumerate()
        .map(|(i, (t, properties))| {
            (
                format!("R{i}"),
                json!({"Type": t, "Properties": properties}),
            )
        })
        .collect();
    json!({"Resources": resources})
}

#[test]
fn the_rule_passes_every_required_key_and_fails_a_missing_one_in_both_shapes() {
    // S3 buckets keep tags as a Key/Value list, SSM parameters as a map.
    let types = ["AWS::S3::Bucket", "AWS::SSM::Parameter"];
    let recommendation = tagging_recommendation(&types);
    let mut report = Verdicts::new(StageId::Controls);
    let out = proactive::build(
        "test",
        "header",
        std::slice::from_ref(&recommendation),
        Some((kb(), &standard())),
        &mut report,
    );
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(out.controls.len(), 1);
    let control = &out.controls[0];
    assert_eq!(control.resource_types, types);
    assert!(
        control.cases.iter().all(|c| c.passed()),
        "{:?}",
        control.cases
    );
    assert!(control.cases.len() >= 8, "{:?}", control.cases);
    // Each compliant case carries a resource of each shape.
    for case in out.cases.iter().filter(|c| c.name.contains("compliant")) {
        let resources = case.input["Resources"].as_object().unwrap();
        let carried: Vec<&Value> = resources.values().map(|r| &r["Type"]).collect();
        assert_eq!(carried, types, "{}", case.name);
    }
    let rules = out.rules_file.unwrap();
    let name = guard::rule_name(&recommendation);

    let list = json!([
        {"Key": "owner", "Value": {"Ref": "TagOwner"}},
        {"Key": "data-classification", "Value": "internal"}
    ]);
    let map = json!({"owner": "team-a", "data-classification": {"Ref": "TagDataClassification"}});
    let compliant = template(&[
        (types[0], json!({"Tags": list})),
        (
            types[1],
            json!({"Type": "String", "Value": "v", "Tags": map}),
        ),
    ]);
    assert_eq!(evaluate(&rules, &name, &compliant).unwrap(), Outcome::Pass);

    let without_owner = template(&[
        (
            types[0],
            json!({"Tags": [{"Key": "data-classification", "Value": "internal"}]}),
        ),
        (
            types[1],
            json!({"Type": "String", "Value": "v", "Tags": map}),
        ),
    ]);
    assert_eq!(
        evaluate(&rules, &name, &without_owner).unwrap(),
        Outcome::Fail
    );

    let map_without_class = template(&[
        (types[0], json!({"Tags": list})),
        (
            types[1],
            json!({"Type": "String", "Value": "v", "Tags": {"owner": "team-a"}}),
        ),
    ]);
    assert_eq!(
        evaluate(&rules, &name, &map_without_class).unwrap(),
        Outcome::Fail
    );

    let wrong_class = template(&[(
        types[0],
        json!({"Tags": [
            {"Key": "owner", "Value": "team-a"},
            {"Key": "data-classification", "Value": "secret"}
        ]}),
    )]);
    assert_eq!(
        evaluate(&rules, &name, &wrong_class).unwrap(),
        Outcome::Fail
    );

    let untagged = template(&[(types[0], json!({}))]);
    assert_eq!(evaluate(&rules, &name, &untagged).unwrap(), Outcome::Fail);

    let unrelated = template(&[("AWS::SQS::Queue", json!({}))]);
    assert_eq!(evaluate(&rules, &name, &unrelated).unwrap(), Outcome::Skip);
}

#[test]
fn the_self_test_covers_each_key_and_each_allowed_value_list() {
    let recommendation = tagging_recommendation(&["AWS::S3::Bucket"]);
    let rule = TagRule::for_recommendation(kb(), &recommendation, &standard()).unwrap();
    let cases = rule.cases("r");
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    for wanted in [
        "r: compliant, a type of each tag shape",
        "r: compliant, values from template parameters",
        "r: AWS::S3::Bucket without Tags",
        "r: AWS::S3::Bucket without tag owner",
        "r: AWS::S3::Bucket without tag data-classification",
        "r: AWS::S3::Bucket with tag owner empty",
        "r: AWS::S3::Bucket with tag data-classification outside its allowed values",
        "r: no taggable resource of the service",
    ] {
        assert!(names.contains(&wanted), "{wanted} not in {names:?}");
    }
    // owner has no allowed values: no such case for it.
    assert!(!names.iter().any(|n| n.contains("owner outside")));
}

/// The compliant cases carry a type per tag shape; the case without Tags the
/// failing resource and one compliant resource of another type (the rule
/// fails although another resource passes); every other failing case the
/// failing resource alone: the self-test's cost does not grow with the
/// service's types.
#[test]
fn failing_cases_hold_the_failing_resource_and_the_untagged_one_a_compliant_neighbour() {
    let types = ["AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::SNS::Topic"];
    let recommendation = tagging_recommendation(&types);
    let rule = TagRule::for_recommendation(kb(), &recommendation, &standard()).unwrap();
    let resources =
        |case: &gensec_controls::selftest::Case| case.input["Resources"].as_object().unwrap().len();
    let mut untagged = 0;
    for case in rule.cases("r") {
        let outcome = case.expectations.rules["r"];
        match outcome {
            // A type per tag shape (all three carry a Key/Value list).
            Outcome::Pass => assert_eq!(resources(&case), 1, "{}", case.name),
            Outcome::Fail if case.name.ends_with("without Tags") => {
                untagged += 1;
                assert_eq!(resources(&case), 2, "{}", case.name);
                let resources = &case.input["Resources"];
                assert_ne!(
                    resources["Resource1"]["Type"],
                    resources["Resource2"]["Type"]
                );
            }
            Outcome::Fail => assert_eq!(resources(&case), 1, "{}", case.name),
            Outcome::Skip => assert_eq!(resources(&case), 1, "{}", case.name),
        }
    }
    assert_eq!(untagged, 1);
}

#[test]
fn a_tagging_recommendation_without_the_standard_or_taggable_types_is_rejected() {
    let mut report = Verdicts::new(StageId::Controls);
    let recommendation = tagging_recommendation(&["AWS::S3::Bucket"]);
    let out = proactive::build(
        "test",
        "header",
        std::slice::from_ref(&recommendation),
        None,
        &mut report,
    );
    assert!(out.controls.is_empty());
    assert!(
        report.rejected[0].reason.contains("tag shapes"),
        "{:?}",
        report.rejected
    );

    let mut untaggable = recommendation;
    untaggable.applies_to = vec!["AWS::S3::BucketPolicy".into()];
    let mut report = Verdicts::new(StageId::Controls);
    proactive::build(
        "test",
        "header",
        &[untaggable],
        Some((kb(), &standard())),
        &mut report,
    );
    assert!(
        report.rejected[0].reason.contains("can carry tags"),
        "{:?}",
        report.rejected
    );
}
