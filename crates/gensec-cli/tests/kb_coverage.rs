//! `gensec kb coverage` on the real knowledge base and control catalogue.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use assert_cmd::Command;

fn gensec(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("gensec")
        .unwrap()
        .env_remove("GENSEC_KB")
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let output = gensec(args);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn count(value: &serde_json::Value, field: &str) -> u64 {
    value[field].as_u64().unwrap()
}

#[test]
fn fsbp_totals_add_up_over_the_services() {
    let report = json(&["kb", "coverage", "--json"]);
    assert_eq!(report["standard"], "fsbp");
    let totals = &report["totals"];
    assert!(count(totals, "applicable") >= 350, "{totals}");
    assert_eq!(
        count(totals, "applicable"),
        count(totals, "checked") + count(totals, "operational_only") + count(totals, "missed")
    );
    let services = report["services"].as_array().unwrap();
    for field in ["applicable", "checked", "operational_only", "missed"] {
        let sum: u64 = services.iter().map(|s| count(&s["counts"], field)).sum();
        assert_eq!(sum, count(totals, field), "{field}");
    }
    for service in services {
        assert_eq!(
            service["controls"].as_array().unwrap().len() as u64,
            count(&service["counts"], "applicable")
        );
    }
}

#[test]
fn a_covered_control_is_answered_and_an_uncovered_one_is_listed() {
    let ec2 = json(&[
        "kb",
        "coverage",
        "--standard",
        "all",
        "--service",
        "EC2",
        "--json",
    ]);
    let services = ec2["services"].as_array().unwrap();
    assert_eq!(services.len(), 1);
    let control = |id: &str| {
        services[0]["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap()
    };
    let ssh = control("EC2.13");
    assert_eq!(ssh["answer"], "checked");
    assert!(!ssh["answered_by"].as_array().unwrap().is_empty());

    // Amazon S3: S3.6 (other accounts' principals limited by bucket policy) is
    // answered only by an operational control and its Config rule.
    let output = gensec(&["kb", "coverage", "--service", "s3"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Amazon S3 (s3)"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("operational S3.6 ")),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.contains("missed S3.5 ")), "{text}");
    // DMS.1 (public replication instances) is in no catalogue control.
    let output = gensec(&["kb", "coverage", "--service", "dms"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("missed DMS.1 ")),
        "{text}"
    );
}

#[test]
fn a_service_list_keeps_its_order_and_names_resolve_like_run() {
    let report = json(&[
        "kb",
        "coverage",
        "--service",
        "Amazon Simple Storage Service, ELBv2,Secrets Manager",
        "--json",
    ]);
    let ids: Vec<&str> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s3", "elb", "secretsmanager"]);
}

#[test]
fn bad_standard_and_service_are_invalid_input() {
    let output = gensec(&["kb", "coverage", "--standard", "soc2"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fsbp, cis, pci, nist, all"), "{stderr}");
    let output = gensec(&["kb", "coverage", "--service", "NoSuchService"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown service"));
}
