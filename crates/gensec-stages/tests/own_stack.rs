//! Our own stack passes our own controls: the CDK app (`cdk/`) is
//! synthesised now (`cdk synth -c skipBundling=true`, the CDK app's npm
//! packages installed by `npm ci` in `cdk/`), and its template is evaluated
//! with the proactive Guard rules gensec generates, under the example
//! profile, for every service the stack uses. A failing rule is either fixed
//! in `cdk/lib` or listed, with its reason, in `cdk/guard-exceptions.json`
//! and in the CDK README beside the cdk-nag suppressions.
#![allow(clippy::unwrap_used)]

mod support;

use gensec_core::contract::paths;
use gensec_kb::Kb;
use gensec_kb::guard::{Outcome, evaluate_all};
use gensec_stages::Stages;
use gensec_testkit::{example_profile, repo_root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use support::{THROUGH_CONTROLS, run_stages};

/// The services whose resources the stack creates (`cdk/README.md`, "What
/// the stack creates"); each must own at least one resource type of the
/// synthesised template.
const SERVICES: &[&str] = &[
    "S3",
    "DynamoDB",
    "Lambda",
    "SQS",
    "SNS",
    "KMS",
    "Step Functions",
    "EventBridge",
    "CloudWatch Logs",
    "IAM",
];

/// The stack's template, synthesised by the CDK app as it is now.
fn synthesised_template() -> Value {
    let cdk = repo_root().join("cdk");
    assert!(
        cdk.join("node_modules/.bin/cdk").exists(),
        "the CDK app's packages are not installed: run `npm ci` in cdk/ (scripts/test does)"
    );
    let out = tempfile::tempdir().unwrap();
    let synth = Command::new("npx")
        .current_dir(&cdk)
        .args([
            "--no-install",
            "cdk",
            "synth",
            "-c",
            "skipBundling=true",
            "--quiet",
            "-o",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        synth.status.success(),
        "cdk synth failed:\n{}",
        String::from_utf8_lossy(&synth.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.path().join("Gensec.template.json")).unwrap())
        .unwrap()
}

/// One listed exception: a rule the stack fails on purpose, the resources
/// (logical ids) that fail it, and why.
struct Exception {
    rule: String,
    resources: Vec<String>,
    reason: String,
}

fn exceptions() -> Vec<Exception> {
    let text = std::fs::read_to_string(repo_root().join("cdk/guard-exceptions.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    entries
        .iter()
        .map(|e| Exception {
            rule: e["rule"].as_str().unwrap().to_string(),
            resources: e["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect(),
            reason: e["reason"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Stages 1-3 of one service under the example profile: its proactive rules.
async fn proactive_rules(kb: &Arc<Kb>, stages: &Stages, service: &str) -> (String, String) {
    let run = run_stages(
        kb,
        stages,
        service,
        &example_profile(),
        "REQ-OWN-STACK",
        THROUGH_CONTROLS,
    )
    .await;
    let id = run.service_id().to_string();
    let rules = std::fs::read_to_string(run.path(&paths::guard_rules(&id)))
        .unwrap_or_else(|err| panic!("{service}: no proactive rules: {err}"));
    (id, rules)
}

/// The resources a failing rule fails on: the rule run on the template with,
/// of the resources of the checked types, only that one left.
fn failing_resources(rules: &str, rule: &str, template: &Value, types: &[&str]) -> Vec<String> {
    let checked = |r: &Value| r["Type"].as_str().is_some_and(|t| types.contains(&t));
    let resources = template["Resources"].as_object().unwrap();
    resources
        .iter()
        .filter(|(_, r)| checked(r))
        .filter(|(id, _)| {
            let mut alone = template.clone();
            alone["Resources"]
                .as_object_mut()
                .unwrap()
                .retain(|other, r| other == *id || !checked(r));
            gensec_kb::guard::evaluate(rules, rule, &alone).unwrap() == Outcome::Fail
        })
        .map(|(id, _)| id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cdk_stack_passes_the_proactive_rules_of_its_services() {
    let template = synthesised_template();
    let stack_types: BTreeSet<&str> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    let exceptions = exceptions();
    let readme = std::fs::read_to_string(repo_root().join("cdk/README.md")).unwrap();
    let kb = Arc::new(Kb::embedded().unwrap());
    let stages = Stages::new(&kb).unwrap();
    let mut counts = BTreeMap::<String, usize>::new();
    // (rule, logical id) -> service id
    let mut failing = BTreeMap::<(String, String), String>::new();
    for service in SERVICES {
        let (id, rules) = proactive_rules(&kb, &stages, service).await;
        let types: Vec<&str> = stack_types
            .iter()
            .copied()
            .filter(|t| rules.contains(&format!("'{t}'")) || rules.contains(&format!("\"{t}\"")))
            .collect();
        assert!(
            !types.is_empty(),
            "{service} ({id}): none of its rules checks a resource type of the stack"
        );
        let results = evaluate_all(&rules, &template).unwrap();
        assert!(!results.is_empty(), "{service}: no rule evaluated");
        eprintln!(
            "{service} ({id}): {} rules on {}",
            results.len(),
            types.join(", ")
        );
        for (rule, outcome) in results {
            *counts.entry(format!("{outcome:?}")).or_default() += 1;
            if outcome == Outcome::Fail {
                let resources = failing_resources(&rules, &rule, &template, &types);
                assert!(!resources.is_empty(), "{rule} fails on no single resource");
                for resource in resources {
                    failing.insert((rule.clone(), resource), id.clone());
                }
            }
        }
    }
    let listed: BTreeSet<(String, String)> = exceptions
        .iter()
        .flat_map(|e| e.resources.iter().map(|r| (e.rule.clone(), r.clone())))
        .collect();
    let mut problems = Vec::new();
    for ((rule, resource), service) in &failing {
        if !listed.contains(&(rule.clone(), resource.clone())) {
            problems.push(format!(
                "{resource} fails {rule} ({service}): fix cdk/lib or list it in cdk/guard-exceptions.json"
            ));
        }
    }
    for (rule, resource) in &listed {
        if !failing.contains_key(&(rule.clone(), resource.clone())) {
            problems.push(format!(
                "{rule} on {resource} is listed as an exception but does not fail: remove it"
            ));
        }
    }
    for exception in &exceptions {
        if exception.reason.trim().is_empty() || !readme.contains(&format!("`{}`", exception.rule))
        {
            problems.push(format!(
                "{}: a reason in guard-exceptions.json and a row in cdk/README.md",
                exception.rule
            ));
        }
    }
    eprintln!(
        "{} services: {counts:?}; {} (rule, resource) failures, {} listed",
        SERVICES.len(),
        failing.len(),
        listed.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        counts.get("Pass").is_some_and(|n| *n >= 20),
        "too few rules passed: {counts:?}"
    );
}
