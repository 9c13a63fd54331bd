//! Every catalogued control's remediation, pinned: for a realistic finding of
//! each control (the fixtures under `tests/fixtures`, one per control), the
//! title, risk, generated Terraform (or why there is none), imports, manual
//! steps and documentation link must equal `fixtures/remediation_golden.json`
//! byte for byte. `GENSEC_UPDATE_FIXTURES=1` rewrites the file; review the diff.
#![allow(clippy::unwrap_used)]

use gensec_remediate::controls::{self, ControlCatalogue};
use gensec_remediate::event::parse_input;
use gensec_remediate::remediate;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

fn fixtures_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One remediation's fields, in key order (a map keeps its keys sorted
/// whatever serde_json's `preserve_order` feature says).
type Record = BTreeMap<&'static str, Value>;

/// What each fixture finding of a control produces, keyed by control id.
fn remediations() -> BTreeMap<String, Record> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.ends_with("_finding.json")
                || name.ends_with("_event.json")
                || name == "catalogue_findings.jsonl"
        })
        .collect();
    names.sort();
    let mut out = BTreeMap::new();
    for name in names {
        let text = std::fs::read_to_string(fixtures_dir().join(&name)).unwrap();
        let batch = parse_input(&text, &name);
        assert!(batch.rejected.is_empty(), "{name}: {:?}", batch.rejected);
        for located in batch.findings {
            let Some(control) = located.finding.control_id() else {
                continue;
            };
            let r = remediate(&located.finding);
            let record = Record::from([
                ("fixture", json!(name)),
                ("title", json!(r.title)),
                ("risk", json!(r.risk)),
                ("terraform", json!(r.terraform)),
                ("plan_checklist", json!(r.plan_checklist)),
                ("no_fix_reason", json!(r.no_fix_reason)),
                ("cli", json!(r.cli)),
                ("fill_in", json!(r.fill_in)),
                ("no_cli_reason", json!(r.no_cli_reason)),
                ("check_before", json!(r.check_before)),
                ("manual_steps", json!(r.manual_steps)),
                ("verify", json!(r.verify)),
                ("documentation", json!(r.documentation)),
            ]);
            assert!(
                out.insert(control.clone(), record).is_none(),
                "{control} has two fixture findings"
            );
        }
    }
    out
}

#[test]
fn every_catalogued_control_produces_its_pinned_remediation() {
    let produced = remediations();
    let catalogue = ControlCatalogue::embedded().unwrap();
    let missing: Vec<&str> = controls::remediated(catalogue)
        .map(|c| c.security_hub_id)
        .filter(|id| !produced.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "controls without a fixture finding: {missing:?}"
    );
    let text = serde_json::to_string_pretty(&produced).unwrap() + "\n";
    let path = fixtures_dir().join("remediation_golden.json");
    if std::env::var_os("GENSEC_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    assert!(
        golden == text,
        "remediations differ from {} (GENSEC_UPDATE_FIXTURES=1 rewrites it; review the diff)",
        path.display()
    );
}
