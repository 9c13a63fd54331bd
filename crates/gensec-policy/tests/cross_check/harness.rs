//! Running the Node harness around iam-simulate (tests/iam-simulate/).

use gensec_policy::Outcome;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that skips the cross-check on a developer
/// machine without Node.js. CI never sets it.
pub const SKIP_ENV: &str = "GENSEC_SKIP_IAM_SIMULATE";

#[derive(Debug, Deserialize)]
pub struct SimulatorOutput {
    /// Package versions, for the report.
    pub simulator: BTreeMap<String, String>,
    pub results: Vec<CaseResult>,
}

#[derive(Debug, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub skipped: bool,
    pub requests: Vec<RequestResult>,
}

#[derive(Debug, Deserialize)]
pub struct RequestResult {
    pub result: Option<Outcome>,
    #[serde(rename = "ignoredContextKeys", default)]
    pub ignored_context_keys: Vec<String>,
    pub error: Option<serde_json::Value>,
}

pub fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/iam-simulate")
}

fn tool_version(tool: &str) -> Option<String> {
    let output = Command::new(tool).arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The version `package.json` pins.
fn pinned_version() -> Result<String, String> {
    let path = harness_dir().join("package.json");
    let text =
        std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
    manifest["dependencies"]["@cloud-copilot/iam-simulate"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "{}: no @cloud-copilot/iam-simulate dependency",
                path.display()
            )
        })
}

fn installed_version() -> Option<String> {
    let path = harness_dir().join("node_modules/@cloud-copilot/iam-simulate/package.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    manifest["version"].as_str().map(str::to_string)
}

/// Node.js and npm present, and the pinned packages installed (`npm ci`
/// from the committed lock file when missing or stale).
pub fn prepare() -> Result<String, String> {
    let node = tool_version("node").ok_or("`node` was not found on PATH")?;
    let npm = tool_version("npm").ok_or("`npm` was not found on PATH")?;
    let pinned = pinned_version()?;
    if installed_version().as_deref() != Some(pinned.as_str()) {
        eprintln!(
            "cross-check: installing @cloud-copilot/iam-simulate {pinned} with `npm ci` (node {node}, npm {npm})"
        );
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(harness_dir())
            .output()
            .map_err(|err| format!("running npm ci: {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "npm ci in {} failed (is the npm registry reachable?):\n{}",
                harness_dir().display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    match installed_version() {
        Some(version) if version == pinned => Ok(format!("node {node}, npm {npm}")),
        other => Err(format!("iam-simulate {other:?} installed, {pinned} pinned")),
    }
}

pub fn run(corpus: &Path) -> Result<SimulatorOutput, String> {
    let output = Command::new("node")
        .arg(harness_dir().join("harness.mjs"))
        .arg(corpus)
        .output()
        .map_err(|err| format!("running node: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "the harness failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("reading the harness output: {err}"))
}
