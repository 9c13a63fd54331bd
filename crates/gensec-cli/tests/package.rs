//! The generated package, checked from the outside: for the services the
//! analysis issue names, every name in every output exists in AWS's
//! specifications, every Guard test case behaves when executed against the
//! whole rules file, SCPs fit the limit, and re-running does not duplicate
//! library entries. Snapshot tests pin the S3 package.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use chrono::TimeZone;
use gensec_analysis::AnalysisStage;
use gensec_controls::ControlsStage;
use gensec_controls::selftest::{Outcome, evaluate};
use gensec_core::ServiceRequest;
use gensec_core::contract::analysis::{Expectation, Preventive, RecommendationSet};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{RunContext, Stage, StageId, StagePorts};
use gensec_core::contract::validation::ValidationReport;
use gensec_core::pipeline::run_pipeline;
use gensec_core::ports::{ControlLibrary, ObjectStore};
use gensec_docs::DocumentationStage;
use gensec_iac::IacStage;
use gensec_iam::IamStage;
use gensec_kb::{Kb, validate};
use gensec_local::{DirStore, SqliteDb};
use gensec_report::ReportStage;
use gensec_testkit::{SERVICES, example_profile, services_with_templates};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| Arc::new(Kb::embedded().unwrap())).clone()
}

struct Run {
    store: DirStore,
    db: SqliteDb,
    ctx: RunContext,
    _dir: tempfile::TempDir,
}

async fn run(service: &str, request_id: &str) -> Run {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let db = SqliteDb::in_memory().unwrap();
    let entry = kb.resolve_service(service).unwrap();
    let request = ServiceRequest {
        request_id: request_id.into(),
        requester: "tests".into(),
        timestamp: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        service_name: service.into(),
        profile_id: None,
    };
    let ctx = RunContext::new(
        request,
        example_profile(),
        &entry.id,
        &entry.display_name,
        kb.stamp(),
    );
    execute(&kb, &store, &db, &ctx).await;
    Run {
        store,
        db,
        ctx,
        _dir: dir,
    }
}

async fn execute(kb: &Arc<Kb>, store: &DirStore, db: &SqliteDb, ctx: &RunContext) {
    let documentation = DocumentationStage::new(kb.clone());
    let analysis = AnalysisStage::new(kb.clone()).unwrap();
    let controls = ControlsStage::new(kb.clone());
    let iac = IacStage::new(kb.clone());
    let iam = IamStage::new(kb.clone());
    let report = ReportStage::new(kb.clone());
    let stages: Vec<&dyn Stage> = vec![&documentation, &analysis, &controls, &iac, &iam, &report];
    let ports = StagePorts { store, library: db };
    run_pipeline(&stages, ctx, &ports, db, &|_| {})
        .await
        .unwrap();
}

async fn read(run: &Run, relative: &str) -> Option<Vec<u8>> {
    run.store.get(&run.ctx.key(relative)).await.unwrap()
}

async fn json(run: &Run, relative: &str) -> Value {
    serde_json::from_slice(
        &read(run, relative)
            .await
            .unwrap_or_else(|| panic!("{relative} missing")),
    )
    .unwrap()
}

fn check_condition_block(kb: &Kb, action: &str, condition: &Value, problems: &mut Vec<String>) {
    for block in condition
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
    {
        for key in block.as_object().unwrap().keys() {
            if let Err(err) = validate::condition_key_for_action(kb, action, key) {
                problems.push(err);
            }
        }
    }
}

/// Every name and value in a service's package, checked against the KB.
async fn unknown_names(run: &Run) -> Vec<String> {
    let kb = kb();
    let mut problems = Vec::new();
    let set: RecommendationSet =
        serde_json::from_value(json(run, "analysis/recommendations.json").await).unwrap();
    assert!(
        !set.recommendations.is_empty(),
        "{} has no recommendations",
        run.ctx.service_id
    );
    // An operational control names no property; its Config rule and SCP
    // are checked where the controls are.
    for rec in set.recommendations.iter().filter(|r| !r.is_operational()) {
        match validate::document_path(&kb, &rec.resource_type, &rec.property) {
            // A null value means "leave it unset" (no ingress rule, no principal).
            Ok((schema, property, false))
                if !matches!(rec.expectation, Expectation::Contains(_))
                    && !rec.recommended_value.is_null() =>
            {
                if let Err(err) = validate::value(schema, property, &rec.recommended_value) {
                    problems.push(format!("{}: {err}", rec.configuration_id));
                }
            }
            Ok(_) => {}
            Err(err) => problems.push(format!("{}: {err}", rec.configuration_id)),
        }
        if let Some(rule) = &rec.detective
            && let Err(err) = validate::config_rule(&kb, &rule.identifier, &rule.parameters)
        {
            problems.push(err);
        }
        for spec in match &rec.preventive {
            Some(Preventive::Scp(specs)) => specs.as_slice(),
            _ => &[],
        } {
            for action in &spec.actions {
                if let Err(err) = validate::action(&kb, action) {
                    problems.push(err);
                }
                if let Some(condition) = &spec.condition {
                    check_condition_block(&kb, action, condition, &mut problems);
                }
            }
        }
    }
    if let Some(body) = read(run, "controls/detective/config-rules.yaml").await {
        let template: Value = serde_yaml::from_slice(&body).unwrap();
        for (name, resource) in template["Resources"].as_object().unwrap() {
            assert_eq!(resource["Type"], "AWS::Config::ConfigRule");
            problems.extend(
                validate::resource(&kb, "AWS::Config::ConfigRule", &resource["Properties"])
                    .unwrap(),
            );
            let source = &resource["Properties"]["Source"];
            if source["Owner"] == "AWS" {
                let identifier = source["SourceIdentifier"].as_str().unwrap();
                match kb.config_rule(identifier) {
                    Some(rule) => {
                        for parameter in resource["Properties"]["InputParameters"]
                            .as_object()
                            .into_iter()
                            .flatten()
                        {
                            if !rule.parameters.iter().any(|p| &p.name == parameter.0) {
                                problems.push(format!(
                                    "{name}: {identifier} has no parameter {}",
                                    parameter.0
                                ));
                            }
                        }
                    }
                    None => problems.push(format!("{name}: unknown Config rule {identifier}")),
                }
            }
        }
    }
    for index in 1.. {
        let Some(body) = read(run, &format!("controls/preventive/scp-{index}.json")).await else {
            break;
        };
        let scp: Value = serde_json::from_slice(&body).unwrap();
        let minified = scp.to_string();
        assert!(
            minified.len() <= 5_120,
            "scp-{index}.json has {} characters",
            minified.len()
        );
        for statement in scp["Statement"].as_array().unwrap() {
            for action in statement["Action"].as_array().unwrap() {
                let action = action.as_str().unwrap();
                if let Err(err) = validate::action(&kb, action) {
                    problems.push(err);
                }
                check_condition_block(&kb, action, &statement["Condition"], &mut problems);
            }
        }
    }
    problems
}

/// Every case of the test file, executed against the whole rules file.
async fn guard_cases_misbehaving(run: &Run) -> (usize, Vec<String>) {
    let id = &run.ctx.service_id;
    let rules = String::from_utf8(
        read(run, &format!("controls/proactive/{id}.guard"))
            .await
            .unwrap(),
    )
    .unwrap();
    let cases: Vec<Value> = serde_yaml::from_slice(
        &read(run, &format!("controls/proactive/{id}_tests.yaml"))
            .await
            .unwrap(),
    )
    .unwrap();
    let mut wrong = Vec::new();
    for case in &cases {
        for (rule, expected) in case["expectations"]["rules"].as_object().unwrap() {
            let expected = match expected.as_str() {
                Some("PASS") => Outcome::Pass,
                Some("SKIP") => Outcome::Skip,
                _ => Outcome::Fail,
            };
            let found = evaluate(&rules, rule, &case["input"]).unwrap();
            if found != expected {
                wrong.push(format!("{}: {found:?}", case["name"]));
            }
        }
    }
    (cases.len(), wrong)
}

#[tokio::test(flavor = "multi_thread")]
async fn named_services_emit_only_names_that_exist_and_controls_that_behave() {
    let mut failures = Vec::new();
    for service in SERVICES {
        let run = run(service, "REQ-VERIFY").await;
        for problem in unknown_names(&run).await {
            failures.push(format!("{service}: {problem}"));
        }
        let (cases, wrong) = guard_cases_misbehaving(&run).await;
        assert!(cases >= 6, "{service}: only {cases} Guard test cases");
        failures.extend(wrong.into_iter().map(|w| format!("{service}: {w}")));
        let report: ValidationReport =
            serde_json::from_value(json(&run, paths::VALIDATION_REPORT).await).unwrap();
        let curated_rejections: Vec<_> = report
            .rejected
            .iter()
            // Cross-source mismatches of the KB's own facts (documentation)
            // and the personas' handler actions are reported, not curated.
            .filter(|r| matches!(r.stage, StageId::Analysis | StageId::Controls))
            .filter(|r| !r.reason.contains("above the maximum"))
            // Inferred items left out by the 30% cap are a choice, not a fault.
            .filter(|r| {
                !r.reason
                    .starts_with(gensec_analysis::recommend::INFERRED_CAP_REASON)
            })
            .collect();
        assert!(
            curated_rejections.is_empty(),
            "{service}: {curated_rejections:?}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The hardened template: schema-valid, passes every Guard rule of its run,
/// and removing any hardening property makes the matching rule fail.
async fn iac_problems(run: &Run) -> Vec<String> {
    let kb = kb();
    let mut problems = Vec::new();
    let template = json(run, "iac/cloudformation/template.json").await;
    let yaml: Value =
        serde_yaml::from_slice(&read(run, "iac/cloudformation/template.yaml").await.unwrap())
            .unwrap();
    assert_eq!(yaml, template, "YAML and JSON templates differ");
    problems.extend(gensec_iac::cloudformation::schema_problems(&kb, &template));
    // The package key's policy was executed: its services use it, nothing else can.
    let index: gensec_core::contract::iac::IacIndex =
        serde_json::from_value(json(run, paths::IAC_INDEX).await).unwrap();
    if template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .any(|r| r["Type"] == "AWS::KMS::Key" && r["Properties"]["KeyPolicy"].is_object())
    {
        if index.key_policy_cases.len() < 3 {
            problems.push("the key policy was not executed".into());
        }
        for case in index.key_policy_cases.iter().filter(|c| !c.passed()) {
            problems.push(format!("key policy case {case:?}"));
        }
    }
    let id = &run.ctx.service_id;
    let rules = String::from_utf8(
        read(run, &format!("controls/proactive/{id}.guard"))
            .await
            .unwrap(),
    )
    .unwrap();
    for (rule, outcome) in gensec_kb::guard::evaluate_all(&rules, &template).unwrap() {
        if outcome == Outcome::Fail {
            problems.push(format!("template fails {rule}"));
        }
    }
    let set: RecommendationSet =
        serde_json::from_value(json(run, "analysis/recommendations.json").await).unwrap();
    for rec in set
        .recommendations
        .iter()
        // An operational control sets nothing in the template.
        .filter(|r| {
            r.confidence == gensec_core::contract::analysis::Confidence::Curated
                && !r.is_operational()
        })
    {
        let rule = gensec_controls::guard::rule_name(rec);
        if !gensec_iac::data::curated()
            .unwrap()
            .deployable
            .builds_type(&rec.resource_type)
        {
            // A type the package checks without building it (a Classic Load
            // Balancer, a launch configuration): the template has none and
            // the rule skips it.
            let built = template["Resources"]
                .as_object()
                .unwrap()
                .values()
                .any(|r| r["Type"] == rec.resource_type.as_str());
            if built {
                problems.push(format!("{} is built, though not_built", rec.resource_type));
            } else if evaluate(&rules, &rule, &template).unwrap() != Outcome::Skip {
                problems.push(format!(
                    "{rule} does not skip the template without {}",
                    rec.resource_type
                ));
            }
            continue;
        }
        if let Some(block) = &rec.when_set {
            // A setting of a variant the template does not build (another
            // FSx file system type): the template leaves the block unset and
            // the rule skips it.
            let resources = template["Resources"].as_object().unwrap().values();
            let of_type: Vec<&Value> = resources
                .filter(|r| r["Type"] == rec.resource_type.as_str())
                .collect();
            if of_type
                .iter()
                .all(|r| gensec_kb::paths::get_property(&r["Properties"], block).is_none())
            {
                if evaluate(&rules, &rule, &template).unwrap() != Outcome::Skip {
                    problems.push(format!("{rule} does not skip the template without {block}"));
                }
                continue;
            }
        }
        if rec.expectation.is_met_by(None) {
            // Met by leaving the property unset: the template must meet it as written.
            for resource in template["Resources"].as_object().unwrap().values() {
                if resource["Type"] == rec.resource_type.as_str()
                    && !rec.expectation.is_met_by(gensec_kb::paths::get_property(
                        &resource["Properties"],
                        &rec.property,
                    ))
                {
                    problems.push(format!(
                        "{} is not met by the template",
                        rec.configuration_id
                    ));
                }
            }
            continue;
        }
        let mut stripped = template.clone();
        let mut removed = false;
        for resource in stripped["Resources"].as_object_mut().unwrap().values_mut() {
            if resource["Type"] == rec.resource_type.as_str() {
                removed |=
                    gensec_kb::paths::remove_property(&mut resource["Properties"], &rec.property);
            }
        }
        if !removed {
            problems.push(format!(
                "{} is not set in the template",
                rec.configuration_id
            ));
            continue;
        }
        if evaluate(&rules, &rule, &stripped).unwrap() != Outcome::Fail {
            problems.push(format!("removing {} does not fail {rule}", rec.property));
        }
    }
    let main_tf = String::from_utf8(read(run, "iac/terraform/main.tf").await.unwrap()).unwrap();
    if let Err(err) = hcl::from_str::<hcl::Body>(&main_tf) {
        problems.push(format!("main.tf does not parse: {err}"));
    }
    problems
}

/// Every persona policy: real actions only (wildcards expand to real actions), keys that apply.
async fn iam_problems(run: &Run) -> Vec<String> {
    let kb = kb();
    let mut problems = Vec::new();
    let model: gensec_core::contract::iam::IamModel =
        serde_json::from_value(json(run, "iam/iam-model.json").await).unwrap();
    assert_eq!(model.personas.len(), 5);
    let keys = run.store.list(&run.ctx.key("iam/policies/")).await.unwrap();
    assert!(keys.len() >= 4, "{keys:?}");
    // Services with a data plane give their applications something to do.
    if [
        "s3",
        "rds",
        "lambda",
        "dynamodb",
        "kms",
        "sqs",
        "sns",
        "opensearch",
    ]
    .contains(&run.ctx.service_id.as_str())
    {
        assert!(
            keys.iter().any(|k| k.contains("application-runtime")),
            "{}: no application-runtime policy",
            run.ctx.service_id
        );
    }
    for key in keys {
        let policy: Value =
            serde_json::from_slice(&run.store.get(&key).await.unwrap().unwrap()).unwrap();
        // IAM does not count whitespace towards the 6,144-character limit.
        let size = policy
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count();
        assert!(size <= 6_144, "{key} has {size} characters");
        for statement in policy["Statement"].as_array().unwrap() {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            // `prefix:Verb*` stands for every action it matches in the IAM reference.
            let expanded: Vec<String> = actions
                .iter()
                .flat_map(|action| match action.strip_suffix('*') {
                    None => vec![(*action).to_string()],
                    Some(stem) => {
                        let (prefix, verb) = stem.split_once(':').unwrap_or((stem, ""));
                        kb.iam_service(prefix)
                            .ok()
                            .flatten()
                            .into_iter()
                            .flat_map(|service| &service.actions)
                            .filter(|a| a.name.starts_with(verb))
                            .map(|a| format!("{prefix}:{}", a.name))
                            .collect()
                    }
                })
                .collect();
            if expanded.is_empty() {
                problems.push(format!("{key}: {actions:?} match no action"));
            }
            for action in &expanded {
                if let Err(err) = validate::action(&kb, action) {
                    problems.push(format!("{key}: {err}"));
                }
                check_condition_block(&kb, action, &statement["Condition"], &mut problems);
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread")]
async fn named_services_get_valid_templates_and_least_privilege_policies() {
    let mut failures = Vec::new();
    for service in SERVICES {
        let run = run(service, "REQ-IAC").await;
        failures.extend(
            iac_problems(&run)
                .await
                .into_iter()
                .map(|p| format!("{service}: {p}")),
        );
        failures.extend(
            iam_problems(&run)
                .await
                .into_iter()
                .map(|p| format!("{service}: {p}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The SCPs as written, every statement's executed cases, and every call
/// CloudFormation makes to create and update the resource types of the
/// template as written (companions included), evaluated against the
/// written documents with gensec-policy.
async fn scp_problems(run: &Run) -> (usize, usize, Vec<String>) {
    use gensec_controls::preventive::execute;
    use gensec_core::contract::controls::{ControlKind, ControlSet};
    use gensec_policy::{Outcome, Policy, PolicyKind, PolicySet, ScpLevel};
    let kb = kb();
    let mut problems = Vec::new();
    let controls: ControlSet =
        serde_json::from_value(json(run, paths::CONTROLS_INDEX).await).unwrap();
    let statements: Vec<_> = controls
        .controls
        .iter()
        .filter(|c| c.kind == ControlKind::ScpStatement)
        .collect();
    for statement in &statements {
        if statement.cases.is_empty() {
            problems.push(format!(
                "{} was written without executed cases",
                statement.name
            ));
        }
        for case in statement.cases.iter().filter(|c| !c.passed()) {
            problems.push(format!("{}: case {} failed", statement.name, case.name));
        }
    }
    let mut policies = Vec::new();
    for number in 1.. {
        let Some(body) = read(run, &paths::scp(number)).await else {
            break;
        };
        let text = String::from_utf8(body).unwrap();
        policies.push(
            Policy::parse(&format!("scp-{number}"), PolicyKind::ServiceControl, &text).unwrap(),
        );
    }
    let template: Value =
        serde_yaml::from_slice(&read(run, paths::TEMPLATE_YAML).await.unwrap()).unwrap();
    let mut types: Vec<String> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["Type"].as_str().map(str::to_string))
        .collect();
    types.sort();
    types.dedup();
    let set: RecommendationSet =
        serde_json::from_value(json(run, paths::RECOMMENDATIONS).await).unwrap();
    let specs: Vec<_> = set
        .recommendations
        .iter()
        .filter_map(|r| match &r.preventive {
            Some(Preventive::Scp(specs)) => Some(specs.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    let deployer = execute::deployer_principal(&run.ctx.profile.security_controls.scp_exemptions);
    let calls = execute::template_calls(&kb, &types, &specs, &deployer).unwrap();
    let admin = Policy::parse(
        "admin",
        PolicyKind::Identity,
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    )
    .unwrap();
    let evaluator = PolicySet {
        identity: vec![admin],
        scps: vec![ScpLevel::with_full_aws_access("root", policies)],
        ..PolicySet::default()
    };
    for (name, call) in &calls {
        let decision = evaluator.evaluate_call(&call.contexts(&kb).unwrap());
        if decision.outcome == Outcome::ExplicitlyDenied {
            problems.push(format!("the SCPs deny {name}: {decision}"));
        }
    }
    (statements.len(), calls.len(), problems)
}

#[tokio::test(flavor = "multi_thread")]
async fn scps_pass_their_cases_and_allow_every_call_of_the_packages_own_template() {
    let mut failures = Vec::new();
    let mut totals = (0, 0);
    // The seventeen and the services beyond them whose SCPs and templates must agree.
    for service in services_with_templates() {
        let run = run(service, "REQ-SCP").await;
        let (statements, calls, problems) = scp_problems(&run).await;
        eprintln!("{service}: {statements} SCP statements, {calls} template calls allowed");
        totals = (totals.0 + statements, totals.1 + calls);
        failures.extend(problems.into_iter().map(|p| format!("{service}: {p}")));
        if service == "EC2" {
            let scp: Value = json(&run, &paths::scp(1)).await;
            let imds = scp["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Condition"]["StringNotEquals"]["ec2:MetadataHttpTokens"] == "required")
                .expect("the EC2 package denies launches without IMDSv2");
            assert_eq!(imds["Resource"], "arn:*:ec2:*:*:instance/*");
        }
        if service == "Bedrock" {
            // The example profile's allowed models: every other model is denied.
            let scp: Value = json(&run, &paths::scp(1)).await;
            let models = scp["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s.get("NotResource").is_some())
                .expect("the Bedrock package restricts model invocation");
            assert_eq!(
                models["Action"],
                json!([
                    "bedrock:InvokeModel",
                    "bedrock:InvokeModelWithResponseStream"
                ])
            );
            assert_eq!(
                models["NotResource"],
                json!(run.ctx.profile.bedrock_model_arn_patterns().unwrap())
            );
        }
    }
    eprintln!("{} SCP statements, {} template calls", totals.0, totals.1);
    assert!(totals.0 >= 20 && totals.1 >= 100, "{totals:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn rerunning_a_request_updates_library_entries_instead_of_duplicating() {
    let first = run("S3", "REQ-RERUN").await;
    let entries = first.db.entries(Some("s3")).await.unwrap();
    assert!(entries.len() >= 10);
    assert!(entries.iter().all(|e| e.version == 1));
    execute(&kb(), &first.store, &first.db, &first.ctx).await;
    let again = first.db.entries(Some("s3")).await.unwrap();
    assert_eq!(again.len(), entries.len());
    assert!(
        again.iter().all(|e| e.version == 1),
        "unchanged content must keep its version"
    );
    let versioning = again
        .iter()
        .find(|e| e.configuration_id == "CFG-S3-BUCKET-VERSIONING")
        .unwrap();
    assert_eq!(
        versioning.detective_controls,
        vec!["gensec-s3-s3-bucket-versioning-enabled"]
    );
    assert!(versioning.proactive_controls[0].ends_with("#cfg_s3_bucket_versioning"));
}

#[tokio::test]
async fn the_profile_chooses_control_types() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let db = SqliteDb::in_memory().unwrap();
    let mut base = run("SQS", "REQ-BASE").await.ctx;
    base.profile.security_controls.detective = gensec_core::input::DetectiveControl::None;
    base.profile.security_controls.preventive = gensec_core::input::PreventiveControl::None;
    execute(&kb, &store, &db, &base).await;
    let keys = store.list(&base.package_prefix).await.unwrap();
    assert!(
        keys.iter()
            .all(|k| !k.contains("controls/detective") && !k.contains("controls/preventive")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.ends_with("controls/proactive/sqs.guard"))
    );
}

#[tokio::test]
async fn s3_package_snapshots() {
    let run = run("S3", "REQ-SNAPSHOT").await;
    let text = |bytes: Option<Vec<u8>>| String::from_utf8(bytes.unwrap()).unwrap();
    insta::assert_json_snapshot!(
        "s3_recommendations",
        json(&run, "analysis/recommendations.json").await
    );
    insta::assert_snapshot!(
        "s3_guard_rules",
        text(read(&run, "controls/proactive/s3.guard").await)
    );
    insta::assert_snapshot!(
        "s3_config_rules",
        text(read(&run, "controls/detective/config-rules.yaml").await)
    );
    insta::assert_json_snapshot!("s3_scp", json(&run, "controls/preventive/scp-1.json").await);
    insta::assert_json_snapshot!(
        "s3_scp_coverage",
        json(&run, "controls/preventive/coverage.json").await
    );
}
