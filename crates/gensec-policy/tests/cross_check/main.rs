//! Cross-check of gensec's IAM evaluator against an independent one,
//! `@cloud-copilot/iam-simulate` (AGPL-3.0-or-later, run as a separate Node
//! program from tests/iam-simulate/; test-only, never shipped or linked).
//!
//! The corpus is generated systematically (every operator x key state x
//! form, set operators, Null, actions, resources, SCP patterns, resource
//! policies and boundaries, policy variables, multi-resource calls from the
//! knowledge base), and extended with every `*.json` corpus file in
//! `GENSEC_POLICY_CORPUS_DIR`. Both evaluators decide every case; they must
//! agree on all of them, except documented divergences (where gensec follows
//! AWS's documentation; the simulator's different answer is asserted) and
//! cases the simulator cannot express (listed), together under 5%.
//!
//! Needs Node.js and npm (the test runs `npm ci` when the pinned packages
//! are missing). `GENSEC_SKIP_IAM_SIMULATE=1` skips the simulator on a
//! developer machine, loudly; gensec's own expectations are still checked.
#![allow(clippy::unwrap_used)]

mod common;
mod gen_access;
mod gen_calls;
mod gen_catalogue;
mod gen_conditions;
mod gen_elements;
mod gen_persona;
mod gen_scp;
mod gen_variables;
mod harness;

use gensec_kb::Kb;
use gensec_policy::corpus::{CORPUS_DIR_ENV, Case, Corpus, SimulatorMode};
use gensec_policy::{CallDecision, ContextValue, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn generated(kb: &Kb) -> Vec<Case> {
    let mut cases = gen_conditions::cases();
    cases.extend(gen_elements::cases());
    cases.extend(gen_access::cases());
    cases.extend(gen_scp::cases());
    cases.extend(gen_variables::cases());
    cases.extend(gen_calls::cases(kb));
    cases.extend(gen_catalogue::cases(kb));
    cases.extend(gen_persona::cases(kb));
    cases
}

/// Cases other suites exported, their ids prefixed with the file name.
fn external_cases() -> Vec<Case> {
    let Some(dir) = std::env::var_os(CORPUS_DIR_ENV) else {
        return Vec::new();
    };
    let dir = PathBuf::from(dir);
    let corpora = Corpus::read_dir(&dir).unwrap_or_else(|err| panic!("{CORPUS_DIR_ENV}: {err}"));
    let mut cases = Vec::new();
    for (path, corpus) in corpora {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        eprintln!(
            "cross-check: {} cases from {} ({})",
            corpus.cases.len(),
            path.display(),
            corpus.source
        );
        for mut case in corpus.cases {
            case.id = format!("{stem}:{}", case.id);
            if case.category.is_empty() {
                case.category = stem.clone();
            }
            cases.push(case);
        }
    }
    cases
}

/// Every context key must exist in the knowledge base, as a set exactly
/// when the key is multivalued (iam-simulate coerces by type, so a wrongly
/// typed value would test something else).
fn key_problems(kb: &Kb, case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    for request in &case.requests {
        for (key, value) in &request.values {
            match kb.condition_key(key) {
                Ok(Some(definition)) => {
                    let multivalued = definition.value_type.starts_with("ArrayOf");
                    if multivalued != matches!(value, ContextValue::Multi(_)) {
                        problems.push(format!(
                            "{}: key {key} is {} but the case gives {value:?}",
                            case.id, definition.value_type
                        ));
                    }
                }
                Ok(None) => problems.push(format!("{}: unknown condition key {key}", case.id)),
                Err(err) => problems.push(format!("{}: {err}", case.id)),
            }
        }
    }
    problems
}

/// gensec's decision per case, checked against the case's expectation.
fn decide_ourselves(
    kb: &Kb,
    cases: &[Case],
    problems: &mut Vec<String>,
) -> Vec<Option<CallDecision>> {
    let mut ids = BTreeSet::new();
    cases
        .iter()
        .map(|case| {
            if !ids.insert(case.id.as_str()) {
                problems.push(format!("{}: duplicate case id", case.id));
            }
            problems.extend(key_problems(kb, case));
            match case.evaluate() {
                Ok(decision) => {
                    if let Some(expected) = case.expected
                        && decision.outcome != expected
                    {
                        problems.push(format!(
                            "{}: gensec says {decision}, the case expects {expected}",
                            case.id
                        ));
                    }
                    Some(decision)
                }
                Err(err) => {
                    problems.push(format!("{}: {err}", case.id));
                    None
                }
            }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    compared: usize,
    agreed: usize,
    diverged: Vec<String>,
    skipped: Vec<String>,
    by_category: BTreeMap<String, usize>,
}

fn describe_disagreement(
    case: &Case,
    ours: &CallDecision,
    simulator: &[Option<Outcome>],
) -> String {
    let mut text = format!("DISAGREEMENT {}\n  gensec: {ours}\n", case.id);
    for (index, (request, resource)) in case.requests.iter().zip(&ours.resources).enumerate() {
        text.push_str(&format!(
            "  request {index} {} {} on {}: gensec {}, iam-simulate {:?}\n",
            request.principal,
            request.action,
            request.resource,
            resource.decision,
            simulator.get(index).copied().flatten()
        ));
    }
    text.push_str(&format!(
        "  case: {}\n",
        serde_json::to_string(case).unwrap()
    ));
    text
}

fn compare(
    cases: &[Case],
    ours: &[Option<CallDecision>],
    output: &harness::SimulatorOutput,
    problems: &mut Vec<String>,
) -> Tally {
    let mut tally = Tally::default();
    assert_eq!(
        output.results.len(),
        cases.len(),
        "the harness answered every case"
    );
    for ((case, ours), result) in cases.iter().zip(ours).zip(&output.results) {
        assert_eq!(case.id, result.id);
        let skip = matches!(case.simulator, SimulatorMode::Skip { .. });
        assert_eq!(
            skip, result.skipped,
            "{}: the harness skips exactly the skipped cases",
            case.id
        );
        if let SimulatorMode::Skip { reason } = &case.simulator {
            tally.skipped.push(format!("{}: {reason}", case.id));
            continue;
        }
        let Some(ours) = ours else { continue };
        let mut simulator = Vec::new();
        for (index, request) in result.requests.iter().enumerate() {
            if let Some(error) = &request.error {
                problems.push(format!(
                    "{} request {index}: iam-simulate error {error}",
                    case.id
                ));
            }
            // A documented divergence may be about the keys the simulator drops.
            let divergence = matches!(case.simulator, SimulatorMode::Diverges { .. });
            if !request.ignored_context_keys.is_empty() && !divergence {
                problems.push(format!(
                    "{} request {index}: iam-simulate ignored keys {:?} (not valid for the action and resource)",
                    case.id, request.ignored_context_keys
                ));
            }
            simulator.push(request.result);
        }
        let simulator_outcome = simulator
            .iter()
            .map(|outcome| outcome.unwrap_or(Outcome::ImplicitlyDenied))
            .reduce(Outcome::worst)
            .unwrap_or(Outcome::ImplicitlyDenied);
        match &case.simulator {
            SimulatorMode::Diverges {
                reason,
                simulator_outcome: documented,
                ..
            } => {
                if simulator_outcome != *documented || ours.outcome == *documented {
                    problems.push(format!(
                        "{}: documented divergence no longer holds (gensec {}, iam-simulate {simulator_outcome}, documented {documented}): {reason}",
                        case.id, ours.outcome
                    ));
                } else {
                    tally.diverged.push(format!("{}: {reason}", case.id));
                }
            }
            _ => {
                tally.compared += 1;
                let ours_per_request: Vec<Option<Outcome>> = ours
                    .resources
                    .iter()
                    .map(|r| Some(r.decision.outcome))
                    .collect();
                if ours_per_request == simulator {
                    tally.agreed += 1;
                    *tally.by_category.entry(case.category.clone()).or_default() += 1;
                } else {
                    problems.push(describe_disagreement(case, ours, &simulator));
                }
            }
        }
    }
    tally
}

fn report(cases: &[Case], tally: &Tally, versions: &BTreeMap<String, String>, tools: &str) {
    let total = cases.len();
    let percent = |count: usize| 100.0 * count as f64 / total.max(1) as f64;
    eprintln!("cross-check: {versions:?} ({tools})");
    eprintln!(
        "cross-check: {total} cases, {} compared, {} agreed ({:.1}% of compared), {} documented divergences, {} skipped ({:.1}% not compared)",
        tally.compared,
        tally.agreed,
        100.0 * tally.agreed as f64 / tally.compared.max(1) as f64,
        tally.diverged.len(),
        tally.skipped.len(),
        percent(tally.diverged.len() + tally.skipped.len()),
    );
    let requests: usize = cases.iter().map(|case| case.requests.len()).sum();
    eprintln!("cross-check: {requests} request contexts");
    for (category, count) in &tally.by_category {
        eprintln!("cross-check:   {category:24} {count:5} agreed");
    }
    for line in &tally.diverged {
        eprintln!("cross-check: DIVERGES (documented) {line}");
    }
    for line in &tally.skipped {
        eprintln!("cross-check: SKIPPED {line}");
    }
}

#[test]
fn gensec_agrees_with_iam_simulate() {
    let kb = Kb::embedded().unwrap();
    let mut cases = generated(&kb);
    cases.extend(external_cases());
    let mut problems = Vec::new();
    let started = std::time::Instant::now();
    let ours = decide_ourselves(&kb, &cases, &mut problems);
    eprintln!(
        "cross-check: gensec parsed and decided {} cases ({} request contexts, with key checks) in {:?}",
        cases.len(),
        cases.iter().map(|case| case.requests.len()).sum::<usize>(),
        started.elapsed()
    );
    let corpus_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("iam-simulate-corpus.json");
    Corpus::new("gensec-policy cross-check", cases.clone())
        .write(&corpus_path)
        .unwrap();

    if std::env::var(harness::SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("\n==================================================================");
        eprintln!(
            "SKIPPED: iam-simulate cross-check ({}=1).",
            harness::SKIP_ENV
        );
        eprintln!(
            "Only gensec's own expectations were checked ({} cases).",
            cases.len()
        );
        eprintln!("For developer machines only: CI must run the cross-check.");
        eprintln!("==================================================================\n");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        return;
    }
    let tools = harness::prepare().unwrap_or_else(|err| {
        panic!(
            "{err}\n\nThe IAM evaluator cross-check needs Node.js (>= 20) and npm, and the npm \
             registry once to install the pinned @cloud-copilot/iam-simulate. On a developer \
             machine without them, set {}=1 to skip it (CI must not).",
            harness::SKIP_ENV
        )
    });
    let output = harness::run(&corpus_path).unwrap_or_else(|err| panic!("{err}"));
    let tally = compare(&cases, &ours, &output, &mut problems);
    report(&cases, &tally, &output.simulator, &tools);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        tally.compared >= 500,
        "only {} cases compared",
        tally.compared
    );
    assert_eq!(tally.agreed, tally.compared);
    let not_compared = tally.diverged.len() + tally.skipped.len();
    assert!(
        not_compared * 20 < cases.len(),
        "{not_compared} of {} cases not compared (limit 5%)",
        cases.len()
    );
}
