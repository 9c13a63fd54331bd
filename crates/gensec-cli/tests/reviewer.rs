//! What a new user and a reviewer meet first: the embedded profile from any
//! directory, `gensec init`, the decision in the run summary, summary.md and
//! manifest.json agreeing, the run summary and validation report agreeing
//! on what was checked and rejected, plurals, and README links that resolve.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gensec(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("gensec").unwrap();
    command.current_dir(dir).env_remove("GENSEC_KB");
    command
}

fn stdout_of(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The single run directory under `<dir>/gensec-out/<service>/`.
fn run_dir(dir: &Path, service: &str) -> PathBuf {
    let base = dir.join("gensec-out").join(service);
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.join("manifest.json").exists())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.pop().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The number before `word` in `text` (`233 checked` -> 233).
fn figure(text: &str, word: &str) -> u64 {
    let at = text
        .find(word)
        .unwrap_or_else(|| panic!("{word:?} in {text}"));
    text[..at]
        .split_whitespace()
        .last()
        .unwrap()
        .trim_matches(',')
        .parse()
        .unwrap()
}

#[test]
fn a_run_from_any_directory_uses_the_embedded_profile_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // No config-example here: only the binary's own profile can be used.
    assert!(!dir.path().join("config-example").exists());
    let text = stdout_of(
        &gensec(dir.path())
            .args(["run", "--service", "s3"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("profile: embedded example profile (example-corp.json)"),
        "{text}"
    );
    assert!(text.contains("  decision: "), "{text}");
    let run = run_dir(dir.path(), "s3");
    let manifest = json(&run.join("manifest.json"));
    assert_eq!(manifest["profile_id"], "example-corp");

    // The decision is the same in the summary, summary.md and the manifest.
    let decision = &manifest["decision"];
    let readiness = decision["readiness"].as_str().unwrap();
    assert!(
        ["ready", "ready_with_conditions", "not_ready"].contains(&readiness),
        "{decision}"
    );
    let label = readiness.replace('_', " ");
    let summary = std::fs::read_to_string(run.join("summary.md")).unwrap();
    let first_line = summary.lines().next().unwrap().to_ascii_lowercase();
    assert!(first_line.contains(&label), "{first_line} vs {label}");
    let decision_line = text
        .lines()
        .find(|l| l.starts_with("  decision: "))
        .unwrap()
        .to_ascii_lowercase();
    assert!(decision_line.contains(&label), "{decision_line}");
    let reasons = decision["reasons"].as_array().unwrap();
    for reason in reasons {
        assert!(
            summary.contains(reason["rule"].as_str().unwrap()),
            "{reason} not in summary.md"
        );
    }
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "summary.md")
    );

    // A request naming another profile is refused without --profile.
    let request = dir.path().join("r.json");
    std::fs::write(
        &request,
        r#"{"request_id":"REQ-X","requester":"a","timestamp":"2024-01-01T00:00:00Z","service_name":"S3","profile_id":"startup-sandbox"}"#,
    )
    .unwrap();
    let output = gensec(dir.path())
        .args(["run", "--request"])
        .arg(&request)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("startup-sandbox") && err.contains("--profile"),
        "{err}"
    );
}

#[test]
fn init_writes_inputs_that_run_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("mine");
    let text = stdout_of(
        &gensec(dir.path())
            .args(["init"])
            .arg(&inputs)
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("security-profile/example-corp.json"),
        "{text}"
    );
    for file in [
        "security-profile/example-corp.json",
        "service-request/s3.json",
        "GENSEC.md",
    ] {
        assert!(inputs.join(file).is_file(), "{file}");
    }
    // The written profile is the embedded one, byte for byte.
    assert_eq!(
        std::fs::read(inputs.join("security-profile/example-corp.json")).unwrap(),
        std::fs::read(repo_root().join("config-example/security-profile/example-corp.json"))
            .unwrap()
    );
    // A second init refuses (exit 2) and names the files; --force replaces.
    std::fs::write(inputs.join("GENSEC.md"), "mine").unwrap();
    let again = gensec(dir.path())
        .args(["init"])
        .arg(&inputs)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("GENSEC.md") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(inputs.join("GENSEC.md")).unwrap(),
        "mine"
    );
    stdout_of(
        &gensec(dir.path())
            .args(["init", "--force"])
            .arg(&inputs)
            .output()
            .unwrap(),
    );
    assert_ne!(
        std::fs::read_to_string(inputs.join("GENSEC.md")).unwrap(),
        "mine"
    );

    // The written request runs with the written profile directory.
    let text = stdout_of(
        &gensec(dir.path())
            .args(["run", "--request"])
            .arg(inputs.join("service-request/s3.json"))
            .arg("--profile")
            .arg(inputs.join("security-profile"))
            .output()
            .unwrap(),
    );
    assert!(text.contains("security-profile"), "{text}");
}

#[test]
fn the_run_summary_validation_report_and_manifest_agree_on_counts() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(
        &gensec(dir.path())
            .args(["run", "--service", "ec2"])
            .output()
            .unwrap(),
    );
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("validators:"))
        .unwrap();
    let run = run_dir(dir.path(), "ec2");
    let report = json(&run.join("validation-report.json"));
    let manifest = json(&run.join("manifest.json"));
    let rejected_listed = report["rejected"].as_array().unwrap().len() as u64;
    assert_eq!(figure(line, "checked"), report["totals"]["checked"]);
    assert_eq!(figure(line, "passed"), report["totals"]["accepted"]);
    assert_eq!(figure(line, "rejected"), report["totals"]["rejected"]);
    assert_eq!(
        report["totals"]["rejected"], rejected_listed,
        "every rejection is listed"
    );
    assert_eq!(manifest["validation"], report["totals"]);
    // The report shows the same figures.
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    let checked = report["totals"]["checked"].as_u64().unwrap();
    assert!(
        html.contains(&format!("{checked} checked, ")),
        "report.html validation figures"
    );
}

#[test]
fn counted_nouns_agree_with_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout_of(
        &gensec(dir.path())
            .args(["run", "--service", "kms"])
            .output()
            .unwrap(),
    );
    for wrong in [
        " 1 documents",
        " 1 rules",
        " 1 cases",
        " 1 files",
        " 1 personas",
        " 1 statements",
        " 1 entries",
        " 1 warnings",
        " 1 items",
        " 1 blockers",
        " 1 conditions",
        " 1 resources",
        " 1 parameters",
        " 1 types",
    ] {
        assert!(!text.contains(wrong), "{wrong:?} in {text}");
    }
    let summary = std::fs::read_to_string(run_dir(dir.path(), "kms").join("summary.md")).unwrap();
    for wrong in [" 1 blockers", " 1 conditions", " 1 controls", " 1 items"] {
        assert!(!summary.contains(wrong), "{wrong:?} in summary.md");
    }
}

/// Top-level directories of the repository whose files the READMEs name.
const TRACKED_DIRS: [&str; 6] = [
    "crates",
    "cdk",
    "config-example",
    "scripts",
    "tests",
    "docs",
];

/// `[text](target)` links in a Markdown file, targets only.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = markdown;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

#[test]
fn every_relative_link_in_the_readmes_resolves() {
    let root = repo_root();
    let mut readmes = vec![
        root.join("README.md"),
        root.join("crates/README.md"),
        root.join("docs/architecture.md"),
    ];
    for dir in ["cdk", "tests", "crates/gensec-policy/tests/iam-simulate"] {
        readmes.push(root.join(dir).join("README.md"));
    }
    let mut checked = 0;
    for readme in readmes.iter().filter(|p| p.exists()) {
        let text = std::fs::read_to_string(readme).unwrap();
        let base = readme.parent().unwrap();
        for target in links(&text) {
            let target = target.split_whitespace().next().unwrap_or_default();
            if target.is_empty()
                || target.starts_with('#')
                || target.contains("://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let path = target.split('#').next().unwrap();
            assert!(
                base.join(path).exists(),
                "{}: link to {target} does not resolve",
                readme.display()
            );
            checked += 1;
        }
        // Repository paths named in prose (`crates/gensec-aws/tables.json`,
        // `docs/architecture.md`) must exist; package paths (`research/...`) and
        // GENSEC.md (written by `gensec init`) are not repository files.
        for word in text.split(|c: char| c.is_whitespace() || "`()[],;\"'".contains(c)) {
            let word = word.trim_end_matches(['.', ':']);
            if word.contains("://") || word.contains(['<', '*', '{', '$', '=']) {
                continue;
            }
            let first = word.split('/').next().unwrap_or_default();
            let repository_path = word.contains('/')
                && TRACKED_DIRS.contains(&first)
                && word
                    .rsplit('/')
                    .next()
                    .is_some_and(|name| name.contains('.'));
            let stem = word.strip_suffix(".md").unwrap_or_default();
            let repository_doc = !stem.is_empty()
                && !stem.contains('/')
                && stem == stem.to_ascii_uppercase()
                && word != "GENSEC.md";
            if !repository_path && !repository_doc {
                continue;
            }
            assert!(
                base.join(word).exists() || root.join(word).exists(),
                "{}: {word} does not exist",
                readme.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no link was checked");
}
