//! `functions.json`, the one definition of the deployment's Lambda functions
//! (the CDK app builds each function, its environment and its role from it),
//! held against this crate: the file matches its schema; its binaries are
//! exactly the `[[bin]]` targets and each serves the handler the file names;
//! its variables are the constants the code reads them through, and the code
//! reads no other; and every binary starts with only its required variables
//! and with everything the stack sets, but not without any one required one.
#![allow(clippy::unwrap_used)]

use gensec_core::contract::stage::{PIPELINE, StageId};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFINITION: &str = include_str!("../functions.json");
const SCHEMA: &str = include_str!("../functions.schema.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    #[serde(rename = "$schema")]
    _schema: String,
    _comment: String,
    every_function: EveryFunction,
    environment: BTreeMap<String, Variable>,
    functions: BTreeMap<String, Function>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EveryFunction {
    environment: Vec<String>,
    key: Vec<String>,
    log_group: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Variable {
    means: String,
    required: bool,
    default: Option<String>,
    value: Option<String>,
    constant_in: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Function {
    binary: String,
    description: String,
    handler: String,
    asl_substitution: Option<String>,
    memory_mb: u32,
    timeout_seconds: u32,
    environment: Vec<String>,
    dead_letter_queue: Option<serde_json::Value>,
    touches: serde_json::Value,
}

fn definition() -> Definition {
    serde_json::from_str(DEFINITION).unwrap()
}

impl Definition {
    /// Every variable the function reads: its own, then every function's.
    fn variables_of<'a>(&'a self, function: &'a Function) -> impl Iterator<Item = &'a str> {
        function
            .environment
            .iter()
            .chain(&self.every_function.environment)
            .map(String::as_str)
    }
}

#[test]
fn the_definition_matches_its_schema_and_a_broken_one_does_not() {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(DEFINITION).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&file)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let def = definition();
    assert!(!def.every_function.key.is_empty() && !def.every_function.log_group.is_empty());
    for (id, function) in &def.functions {
        assert!(!function.description.is_empty(), "{id}");
        assert!(
            function.memory_mb >= 128 && function.timeout_seconds >= 1,
            "{id}"
        );
        assert!(function.touches.is_object(), "{id}");
    }

    file["functions"]["trigger"]["memory_mb"] = "256".into();
    file["functions"]["iam"]["touches"]["tables"][0]["actions"][0] = "dynamodb:*".into();
    let broken: BTreeSet<String> = validator
        .iter_errors(&file)
        .map(|e| e.instance_path().to_string())
        .collect();
    assert_eq!(
        broken,
        BTreeSet::from([
            "/functions/iam/touches/tables/0/actions/0".to_string(),
            "/functions/trigger/memory_mb".to_string()
        ])
    );
}

#[test]
fn the_catalogue_is_complete_and_every_entry_is_read() {
    let def = definition();
    let mut read = BTreeSet::new();
    for (id, function) in &def.functions {
        for name in def.variables_of(function) {
            assert!(
                def.environment.contains_key(name),
                "{id} reads {name}, which the catalogue lacks"
            );
            read.insert(name.to_string());
        }
    }
    let catalogued: BTreeSet<String> = def.environment.keys().cloned().collect();
    assert_eq!(read, catalogued, "catalogued variables no function reads");
    for (name, variable) in &def.environment {
        assert!(!variable.means.is_empty(), "{name}");
        assert!(
            !(variable.required && variable.default.is_some()),
            "{name}: required with a default"
        );
    }
}

/// `cargo metadata`'s view of this package's binary targets: name -> source.
fn bin_targets() -> BTreeMap<String, PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == env!("CARGO_PKG_NAME"))
        .unwrap();
    package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| {
            let name = t["name"].as_str().unwrap().to_string();
            (name, PathBuf::from(t["src_path"].as_str().unwrap()))
        })
        .collect()
}

#[test]
fn binaries_are_exactly_the_bin_targets_and_serve_the_named_handler() {
    let def = definition();
    let targets = bin_targets();
    let binaries: BTreeSet<&String> = def.functions.values().map(|f| &f.binary).collect();
    assert_eq!(
        binaries,
        targets.keys().collect(),
        "functions.json vs [[bin]]"
    );
    assert_eq!(
        binaries.len(),
        def.functions.len(),
        "a binary serves two functions"
    );

    let mut stages = Vec::new();
    for (id, function) in &def.functions {
        let call = match function.handler.as_str() {
            "trigger" => "serve::trigger()".to_string(),
            "finalize" => "serve::finalize()".to_string(),
            "batch" => "serve::batch()".to_string(),
            "record-failure" => "serve::record_failure()".to_string(),
            "remediation" => "serve::remediate()".to_string(),
            other => {
                let name = other
                    .strip_prefix("stage:")
                    .unwrap_or_else(|| panic!("{id}: {other}"));
                let stage: StageId = serde_json::from_value(name.into())
                    .unwrap_or_else(|_| panic!("{id}: {name} is not a pipeline stage"));
                stages.push(stage);
                format!("serve::stage(gensec_core::contract::stage::StageId::{stage:?})")
            }
        };
        let source = std::fs::read_to_string(&targets[&function.binary]).unwrap();
        assert!(
            source.contains(&call),
            "{}: expected {call}",
            function.binary
        );
        let invoked_by_state_machine =
            function.handler != "trigger" && function.handler != "remediation";
        assert_eq!(
            function.asl_substitution.is_some(),
            invoked_by_state_machine,
            "{id}"
        );
        assert_eq!(
            function.dead_letter_queue.is_some(),
            !invoked_by_state_machine,
            "{id}"
        );
    }
    stages.sort();
    let mut pipeline = PIPELINE.to_vec();
    pipeline.sort();
    assert_eq!(stages, pipeline, "one function per pipeline stage");
}

#[test]
fn variables_are_the_constants_the_code_reads_them_through() {
    let def = definition();
    let named_in = |module: &str| -> BTreeSet<&str> {
        def.environment
            .iter()
            .filter(|(_, v)| v.constant_in == module)
            .map(|(name, _)| name.as_str())
            .collect()
    };
    let set = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<_>>();
    assert_eq!(named_in("gensec_lambda::env"), set(gensec_lambda::env::ALL));
    assert_eq!(named_in("gensec_llm::env"), set(gensec_llm::env::ALL));
    assert_eq!(
        named_in("tracing_subscriber::EnvFilter::DEFAULT_ENV"),
        set(&[tracing_subscriber::EnvFilter::DEFAULT_ENV])
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Names in this crate's sources go through `env::` constants: no variable
/// name is written out anywhere but `src/env.rs`, and every constant is used.
#[test]
fn the_crate_reads_variables_only_through_its_constants_and_uses_each() {
    let def = definition();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let env_rs = src.join("env.rs");
    let constants: Vec<String> = std::fs::read_to_string(&env_rs)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.strip_prefix("pub const ")?
                .split(':')
                .next()
                .map(str::to_string)
        })
        .filter(|name| name != "ALL")
        .collect();
    assert_eq!(constants.len(), gensec_lambda::env::ALL.len());
    let mut used = BTreeSet::new();
    for file in files.iter().filter(|f| **f != env_rs) {
        let text = std::fs::read_to_string(file).unwrap();
        for name in def.environment.keys() {
            assert!(
                !text.contains(&format!("\"{name}\"")),
                "{} writes out {name}",
                file.display()
            );
        }
        for literal in ["env::var(\"", "env::var_os(\"", "setting(\"", "\"GENSEC_"] {
            assert!(
                !text.contains(literal),
                "{} reads a variable by a literal name",
                file.display()
            );
        }
        for constant in &constants {
            if text.contains(&format!("env::{constant}")) {
                used.insert(constant.clone());
            }
        }
    }
    let all: BTreeSet<String> = constants.into_iter().collect();
    assert_eq!(used, all, "constants no handler uses");
}

/// A stand-in for what the stack would set (names and ARNs of nothing real).
fn stand_in(variable: &Variable) -> Option<String> {
    let (kind, rest) = variable.value.as_deref()?.split_once(':')?;
    Some(match kind {
        "bucket" | "table" => format!("gensec-{rest}"),
        "state_machine" => "arn:aws:states:us-east-1:123456789012:stateMachine:gensec".into(),
        "batch_state_machine" => {
            "arn:aws:states:us-east-1:123456789012:stateMachine:gensec-batch".into()
        }
        "topic" => "arn:aws:sns:us-east-1:123456789012:gensec-alerts".into(),
        "literal" => rest.into(),
        // A context value: its documented default, or any value (the model id).
        _ => variable
            .default
            .clone()
            .unwrap_or_else(|| "stand-in".into()),
    })
}

/// How a binary's cold start ended: it polled the Runtime API for its first
/// event, or it exited (with its stderr).
#[derive(Debug)]
enum Start {
    Polled,
    Exited(String),
}

/// Runs the binary with exactly `vars` (plus what Lambda itself provides)
/// against a stand-in Runtime API on 127.0.0.1 that never answers.
fn start(binary: &Path, vars: &BTreeMap<String, String>) -> Start {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    api.set_nonblocking(true).unwrap();
    let mut child = Command::new(binary)
        .env_clear()
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            api.local_addr().unwrap().to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "gensec-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "local")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(vars)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let outcome = loop {
        if let Ok((mut stream, _)) = api.accept() {
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut head = [0u8; 256];
            let n = stream.read(&mut head).unwrap_or(0);
            if String::from_utf8_lossy(&head[..n]).contains("/runtime/invocation/next") {
                break Start::Polled;
            }
        }
        if child.try_wait().unwrap().is_some() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            break Start::Exited(stderr);
        }
        assert!(
            Instant::now() < deadline,
            "{} neither polled nor exited",
            binary.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// Cargo builds the package's binaries next to the integration tests' directory.
fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(name)
}

#[test]
fn each_binary_starts_with_its_required_variables_and_not_without_one() {
    let def = definition();
    for (id, function) in &def.functions {
        let binary = binary_path(&function.binary);
        let stack_sets: BTreeMap<String, String> = def
            .variables_of(function)
            .filter_map(|name| Some((name.to_string(), stand_in(&def.environment[name])?)))
            .collect();
        let required: BTreeMap<String, String> = stack_sets
            .iter()
            .filter(|(name, _)| def.environment[name.as_str()].required)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert!(
            def.variables_of(function)
                .filter(|name| def.environment[*name].required)
                .all(|name| required.contains_key(name)),
            "{id}: a required variable the stack does not set"
        );
        for vars in [&stack_sets, &required] {
            let started = start(&binary, vars);
            assert!(
                matches!(started, Start::Polled),
                "{id} with {vars:?}: {started:?}"
            );
        }
        for name in required.keys() {
            let mut without = required.clone();
            without.remove(name);
            match start(&binary, &without) {
                Start::Exited(stderr) => {
                    assert!(stderr.contains(name), "{id} without {name}: {stderr}")
                }
                Start::Polled => {
                    panic!("{id} started without {name}, which functions.json says it requires")
                }
            }
        }
    }
}
