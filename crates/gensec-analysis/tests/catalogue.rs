//! Every catalogue entry is checked against the knowledge base: the property
//! exists and is settable, every value fits its type and enum, Config rules
//! exist with their parameters and evaluate the type, SCP actions and
//! condition keys exist and apply.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_analysis::catalogue::{self, CatalogueEntry};
use gensec_analysis::check;
use gensec_core::input::parse_profile;
use gensec_kb::Kb;
use std::collections::BTreeSet;

fn profiles() -> Vec<gensec_core::SecurityProfile> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config-example/security-profile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            parse_profile(
                &path.display().to_string(),
                &std::fs::read_to_string(path).unwrap(),
            )
            .unwrap()
        })
        .collect()
}

fn problems(kb: &Kb, entry: &CatalogueEntry) -> Vec<String> {
    let mut problems = Vec::new();
    for profile in profiles() {
        if let Err(err) = check::property_and_values(kb, entry, &profile) {
            problems.push(err);
        }
        if let Some(rule) = &entry.config_rule {
            let result =
                check::rule_parameters(&rule.parameters, &profile).and_then(|parameters| {
                    check::detective(kb, &entry.resource_type, &rule.identifier, &parameters)
                });
            if let Err(err) = result {
                problems.push(err);
            }
        }
    }
    if let Some(preventive) = &entry.preventive
        && let Err(err) = check::preventive(kb, preventive)
    {
        problems.push(err);
    }
    for id in &entry.security_hub {
        if let Err(err) = check::security_hub_id(id) {
            problems.push(err);
        }
    }
    if entry.rationale.len() < 40 {
        problems.push("rationale is too short to explain the control".into());
    }
    if entry.compliance.values().all(Vec::is_empty) {
        problems.push("no compliance mapping".into());
    }
    if !entry
        .key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(format!(
            "key {:?} must be lower-case letters, digits and '-'",
            entry.key
        ));
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn every_entry_is_valid_against_the_knowledge_base() {
    let kb = Kb::embedded().unwrap();
    let entries = catalogue::load().unwrap();
    let mut failures = Vec::new();
    let mut keys = BTreeSet::new();
    for entry in &entries {
        if !keys.insert((entry.resource_type.clone(), entry.key.clone())) {
            failures.push(format!(
                "{} {}: duplicate key",
                entry.resource_type, entry.key
            ));
        }
        for problem in problems(&kb, entry) {
            failures.push(format!("{} {}: {problem}", entry.resource_type, entry.key));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
