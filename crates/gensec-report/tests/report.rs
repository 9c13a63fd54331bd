//! The report stage on a real run's outputs (the s3 fixture): every file is
//! written, the profile has every section and cites only what the
//! documentation contains, and the HTML is self-contained and inert.
#![allow(clippy::unwrap_used)]

mod common;

use common::{run, run_with, write};
use gensec_core::contract::figures::{ReportFigures, StageFigures};
use gensec_core::contract::paths::{
    REPORT_HTML as REPORT_HTML_PATH, RESEARCH_PROFILE_JSON as PROFILE_JSON_PATH,
    RESEARCH_PROFILE_MARKDOWN as PROFILE_MARKDOWN_PATH,
};
use gensec_report::evidence::path_in_schema;
use gensec_report::html::SECTION_IDS;
use gensec_report::profile::{NOT_GENERATED, ServiceProfile};
use serde_json::Value;

fn figures(outcome: &gensec_core::contract::stage::StageOutcome) -> &ReportFigures {
    match &outcome.figures {
        StageFigures::Report(figures) => figures,
        other => panic!("not the report's figures: {other:?}"),
    }
}

#[tokio::test]
async fn every_output_is_written_and_summarised() {
    let run = run().await;
    let written: Vec<&str> = run.outcome.files.iter().map(|f| f.path.as_str()).collect();
    let summary_path = gensec_core::contract::paths::SUMMARY_MARKDOWN;
    assert_eq!(
        written,
        [
            PROFILE_JSON_PATH,
            PROFILE_MARKDOWN_PATH,
            REPORT_HTML_PATH,
            summary_path
        ]
    );
    let figures = figures(&run.outcome);
    for path in [
        PROFILE_JSON_PATH,
        PROFILE_MARKDOWN_PATH,
        REPORT_HTML_PATH,
        summary_path,
    ] {
        let bytes = std::fs::metadata(run.run_dir().join(path)).unwrap().len();
        assert!(bytes > 1000, "{path} has {bytes} bytes");
        assert_eq!(figures.bytes[path], bytes, "{path}");
    }
    let profile: ServiceProfile = serde_json::from_str(&run.read(PROFILE_JSON_PATH)).unwrap();
    assert_eq!(profile.service_id, "s3");
    assert_eq!(
        profile.enablement.production.len() as u64,
        figures.recommendations_shown
    );
    assert!(figures.recommendations_shown >= 15);
    assert_eq!(figures.research_profile_sections.len(), 10);
    assert!(!figures.iac_included);
    assert!(
        run.outcome.warnings.is_empty(),
        "{:?}",
        run.outcome.warnings
    );
}

#[tokio::test]
async fn markdown_has_every_section() {
    let run = run().await;
    let md = run.read(PROFILE_MARKDOWN_PATH);
    for heading in [
        "# Service Research Profile: Amazon S3",
        "## 1. Overview",
        "## 2. Data protection",
        "### Encryption at rest",
        "### Encryption in transit",
        "## 3. Network controls",
        "### VPC support",
        "### VPC endpoints",
        "### Public exposure",
        "## 4. Access controls",
        "### Resource-based policies",
        "### Condition keys",
        "## 5. Logging and monitoring",
        "### AWS Config managed rules",
        "## 6. Compliance mapping",
        "### SOC2",
        "### PCI\\_DSS",
        "### GDPR",
        "## 7. STRIDE threat model",
        "## 8. Enablement checklist: rapid pilot vs production",
        "### Rapid pilot (sandbox): 16 items",
        "### Production: 22 items",
        "## 9. Controls summary",
        "## 10. Related artifacts",
    ] {
        assert!(
            md.lines().any(|line| line == heading),
            "missing {heading:?}"
        );
    }
    // Frameworks in the profile's order.
    let soc2 = md.find("### SOC2").unwrap();
    let pci = md.find("### PCI\\_DSS").unwrap();
    let gdpr = md.find("### GDPR").unwrap();
    assert!(soc2 < pci && pci < gdpr);
    // Every section names its source.
    for section in md.split("\n## ").skip(1) {
        assert!(
            section.contains("_source: ") || section.starts_with("10. "),
            "no source in {}",
            section.lines().next().unwrap()
        );
    }
    assert!(md.contains("- [ ] **CFG-S3-BUCKET-BLOCK-PUBLIC-ACLS** (Critical)"));
    assert!(md.contains("| `aws:SecureTransport` | Bool | global |"));
    assert!(md.contains("| `s3:TlsVersion` | Numeric | service |"));
    assert!(md.contains("| AWS::S3::BucketPolicy | `PolicyDocument` |"));
    assert!(md.contains("| CloudFormation Guard rules | 22 | controls/proactive/s3.guard (22) |"));
}

fn walk<'a>(value: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            out.push(map);
            map.values().for_each(|v| walk(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_resource_type_property_key_and_rule_in_the_profile_is_in_the_documentation() {
    let run = run().await;
    let doc = run.documentation();
    let kb = common::kb();
    let profile: Value = serde_json::from_str(&run.read(PROFILE_JSON_PATH)).unwrap();
    let schema = |name: &str| {
        doc.resource_types
            .iter()
            .find(|schema| schema.type_name == name)
            .unwrap_or_else(|| panic!("{name} is not in the documentation"))
    };
    let mut objects = Vec::new();
    walk(&profile, &mut objects);
    let (mut properties, mut keys, mut rules) = (0, 0, 0);
    for object in objects {
        if let Some(Value::String(type_name)) = object.get("resource_type") {
            let schema = schema(type_name);
            if let Some(Value::String(property)) = object.get("property") {
                assert!(
                    path_in_schema(schema, property),
                    "{type_name}.{property} is not in the documentation"
                );
                properties += 1;
            }
        }
        if let Some(Value::Array(types)) = object.get("resource_types") {
            for type_name in types {
                schema(type_name.as_str().unwrap());
            }
        }
        if let (Some(Value::String(name)), Some(Value::String(scope))) =
            (object.get("name"), object.get("scope"))
        {
            let known = if scope == "global" {
                kb.global_condition_keys().iter().any(|k| &k.name == name)
            } else {
                doc.iam_services
                    .iter()
                    .any(|s| s.condition_keys.iter().any(|k| &k.name == name))
            };
            assert!(
                known,
                "condition key {name} ({scope}) is not in the sources"
            );
            keys += 1;
        }
        if let (Some(Value::String(identifier)), Some(Value::String(_))) =
            (object.get("identifier"), object.get("description"))
        {
            assert!(
                doc.config_rules.iter().any(|r| &r.identifier == identifier),
                "Config rule {identifier} is not in the documentation"
            );
            rules += 1;
        }
    }
    assert!(
        properties > 50 && keys > 60 && rules > 20,
        "{properties} {keys} {rules}"
    );

    // Every resource type the Markdown names is one of the service's; the
    // controls' executed cases (collapsed blocks) may name the other types a
    // call touches (a KMS key), and are left out.
    let full = run.read(PROFILE_MARKDOWN_PATH);
    let mut md = String::new();
    let mut rest = full.as_str();
    while let Some(start) = rest.find("<details>") {
        md.push_str(&rest[..start]);
        let end = rest[start..].find("</details>").unwrap() + start + "</details>".len();
        rest = &rest[end..];
    }
    md.push_str(rest);
    let mut named = 0;
    for (start, _) in md.match_indices("AWS::") {
        let token: String = md[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
            .collect();
        if token.matches("::").count() == 2 {
            schema(&token);
            named += 1;
        }
    }
    assert!(named > 20);
}

#[tokio::test]
async fn the_report_is_self_contained() {
    let run = run().await;
    let html = run.read(REPORT_HTML_PATH);
    assert!(html.starts_with("<!DOCTYPE html>"));
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<link"), "no linked stylesheet or icon");
    assert!(!lower.contains("@import") && !lower.contains("url("));
    for attribute in ["src=", "href=", "action=", "srcset="] {
        for (start, _) in lower.match_indices(attribute) {
            let value = &lower[start + attribute.len()..];
            let value = value.trim_start_matches(['"', '\'']);
            assert!(
                !value.starts_with("http://")
                    && !value.starts_with("https://")
                    && !value.starts_with("//"),
                "external reference: {}",
                &html[start..(start + 80).min(html.len())]
            );
            if attribute == "href=" {
                assert!(
                    value.starts_with('#'),
                    "only in-page links: {}",
                    &html[start..start + 40]
                );
            }
        }
    }
    assert!(!lower.contains("src="), "nothing is loaded from anywhere");
    assert!(html.contains("Content-Security-Policy"));
    for id in SECTION_IDS {
        assert!(html.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    // The full table is there without JavaScript: no row starts hidden.
    assert_eq!(html.matches("<tr class=\"rec\"").count(), 22);
    assert!(!html.contains("<tr class=\"rec\" hidden"));
    assert!(html.contains("<div id=\"filters\" class=\"filters\" hidden>"));
    assert!(html.contains("Guard: cfg_s3_bucket_block_public_acls"));
    assert!(html.contains("Config: gensec-s3-s3-bucket-level-public-access-prohibited"));
    assert!(html.contains("SCP: scp-1.json#GensecS3Deny1"));
}

#[tokio::test]
async fn missing_optional_outputs_are_reported_as_not_generated() {
    let run = run_with(|dir| std::fs::remove_dir_all(dir.join("controls")).unwrap()).await;
    let md = run.read(PROFILE_MARKDOWN_PATH);
    assert!(md.contains(&format!("- CloudFormation template: {NOT_GENERATED}")));
    assert!(md.contains(&format!("- Terraform configuration: {NOT_GENERATED}")));
    assert!(md.contains(&format!("- IAM model: {NOT_GENERATED}")));
    assert!(md.contains(&format!("Controls: {NOT_GENERATED}.")));
    let html = run.read(REPORT_HTML_PATH);
    for what in [
        "CloudFormation template",
        "Terraform configuration",
        "IAM model",
        "Controls",
    ] {
        assert!(
            html.contains(&format!("{what}: {NOT_GENERATED}.")),
            "{what}"
        );
    }
    assert!(!figures(&run.outcome).controls_included);
}

const IAM_MODEL: &str = r#"{
  "service_id": "s3",
  "service_name": "Amazon S3",
  "actions_by_access_level": {"Read": ["s3:GetObject"]},
  "personas": [
    {"id": "read-only-auditor", "name": "Read-only auditor", "description": "Reads configuration",
     "policy_file": "iam/policies/read-only-auditor.json", "actions": 12,
     "condition_keys": ["aws:SecureTransport"], "approval": "Security team"}
  ],
  "risky_actions": [
    {"action": "s3:PutBucketPolicy", "category": "resource_exposure",
     "reason": "Can make a bucket public", "granted_to": ["administrator"]}
  ]
}"#;

#[tokio::test]
async fn iac_and_the_iam_model_are_embedded_when_present() {
    let run = run_with(|dir| {
        write(
            dir,
            "iac/cloudformation/template.yaml",
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket # <not-a-tag>\n",
        );
        write(
            dir,
            "iac/terraform/main.tf",
            "resource \"aws_s3_bucket\" \"b\" {}\n",
        );
        write(dir, "iam/iam-model.json", IAM_MODEL);
        write(
            dir,
            "iam/policies/read-only-auditor.json",
            r#"{"Version": "2012-10-17", "Statement": []}"#,
        );
    })
    .await;
    let html = run.read(REPORT_HTML_PATH);
    assert!(html.contains("Type: AWS::S3::Bucket # &lt;not-a-tag&gt;"));
    assert!(html.contains("resource &quot;aws_s3_bucket&quot; &quot;b&quot; {}"));
    assert!(html.contains("<code>read-only-auditor</code>"));
    assert!(
        html.contains("<code>s3:PutBucketPolicy</code><td>resource_exposure")
            || html.contains("<code>s3:PutBucketPolicy</code></td><td>resource_exposure")
    );
    assert!(html.contains("iam/policies/read-only-auditor.json"));
    // Policies are summarised per persona, their statements collapsed.
    assert!(html.contains("id=\"iam-policy-read-only-auditor\""));
    assert!(html.contains("<summary>0 statements: resources and conditions</summary>"));
    let md = run.read(PROFILE_MARKDOWN_PATH);
    assert!(md.contains("- CloudFormation template: `iac/cloudformation/template.yaml`"));
    assert!(md.contains("- Terraform configuration: `iac/terraform/main.tf`"));
    assert!(md.contains("(1 persona: read-only-auditor; 1 risky action flagged;"));
    assert!(figures(&run.outcome).iam_included);
    assert!(figures(&run.outcome).iac_included);
}

#[tokio::test]
async fn text_from_the_inputs_is_escaped() {
    let run = common::run_with_outcomes(
        |dir| {
            let path = dir.join("analysis/recommendations.json");
            let mut set: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let first = &mut set["recommendations"][0];
            first["title"] = "<script>alert('title')</script>".into();
            first["rationale"] = "<img src=x onerror=alert(1)> & \"quoted\"".into();
            first["recommended_value"] = "</code><script>alert('value')</script>".into();
            std::fs::write(&path, serde_json::to_vec(&set).unwrap()).unwrap();

            let path = dir.join("documentation/service-documentation.json");
            let mut doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            doc["display_name"] = "Amazon S3 <script>alert(\"service\")</script>".into();
            std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        },
        |outcomes| {
            outcomes[1].verdicts.accept();
            outcomes[1]
                .verdicts
                .reject("<b>item</b>", "<script>alert('reason')</script>");
        },
    )
    .await;
    let html = run.read(REPORT_HTML_PATH);
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script element"
    );
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>item"));
    assert!(html.contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;"));
    assert!(html.contains("Amazon S3 &lt;script&gt;alert(&quot;service&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;/code&gt;&lt;script&gt;"));
    // Markdown renders inline HTML too, except inside code spans.
    let md = run.read(PROFILE_MARKDOWN_PATH);
    let outside_code: String = md
        .lines()
        .flat_map(|line| line.split('`').step_by(2))
        .collect();
    // An escaped `\<` is text.
    assert!(!outside_code.replace("\\<", "").contains("<script"), "{md}");
    assert!(md.contains("\\<script\\>alert('title')"));
}

#[tokio::test]
async fn a_missing_recommendation_set_is_a_fatal_error() {
    let kb = common::kb();
    let dir = tempfile::tempdir().unwrap();
    let store = gensec_local::DirStore::new(dir.path());
    let db = gensec_local::SqliteDb::in_memory().unwrap();
    let ports = gensec_core::contract::stage::StagePorts {
        store: &store,
        library: &db,
    };
    let ctx = common::context(&kb);
    use gensec_core::contract::stage::Stage;
    let err = gensec_report::ReportStage::new(kb)
        .run(&ctx, &ports, &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), gensec_core::ErrorKind::Fatal);
    assert!(
        err.to_string()
            .contains("service-documentation.json is missing"),
        "{err}"
    );
}

#[tokio::test]
async fn research_profile_snapshot() {
    let run = run().await;
    insta::assert_snapshot!("security-research-profile", run.read(PROFILE_MARKDOWN_PATH));
}

fn decision_of(run: &common::Run) -> gensec_core::contract::decision::PackageDecision {
    figures(&run.outcome).decision.clone().unwrap()
}

#[tokio::test]
async fn the_summary_comes_first_with_the_decision_and_its_reasons() {
    use gensec_core::contract::decision::Readiness;
    let run = run().await;
    let decision = decision_of(&run);
    let html = run.read(REPORT_HTML_PATH);
    // The first section of the page is the summary, and the decision is in it.
    let first = html.find("<section").unwrap();
    assert!(html[first..].starts_with("<section id=\"summary\">"));
    let readiness = gensec_report::profile::serde_name(&decision.readiness);
    assert!(html.contains(&format!("data-readiness=\"{readiness}\"")));
    // Every reason's rule is named in the report and summary.md.
    let summary = run.read(gensec_core::contract::paths::SUMMARY_MARKDOWN);
    assert!(
        summary
            .lines()
            .next()
            .unwrap()
            .contains(&decision.headline())
    );
    for reason in &decision.reasons {
        assert!(
            html.contains(&format!("({})", reason.rule)),
            "{}",
            reason.rule
        );
        assert!(
            summary.contains(&format!("`{}`", reason.rule)),
            "{}",
            reason.rule
        );
    }
    // The readiness follows from the reasons.
    assert_eq!(
        decision.readiness,
        gensec_core::contract::decision::PackageDecision::readiness_of(&decision.reasons)
    );
    // The fixture's S3 controls answer every Critical recommendation.
    assert!(
        decision
            .reasons
            .iter()
            .all(|r| r.rule != "critical-uncovered")
    );
    assert_ne!(decision.readiness, Readiness::NotReady, "{decision:#?}");
    // Top risks carry the controls that answer them.
    assert!(!decision.top_risks.is_empty());
    assert!(
        decision
            .top_risks
            .iter()
            .any(|risk| risk.controls.iter().any(|c| c.starts_with("Config:")))
    );
    // The profile names its principals: the reviewer is asked to confirm them.
    assert!(
        decision
            .reviewer_inputs
            .iter()
            .any(|input| input.kind == "principal"
                && input.why.contains("arn:aws:iam::*:role/SecurityBreakGlass"))
    );
    // Every case of controls.json is counted, and all of them passed.
    let set: gensec_core::contract::controls::ControlSet =
        serde_json::from_str(&run.read("controls/controls.json")).unwrap();
    assert_eq!(decision.cases_executed, set.cases().count() as u64);
    assert!(decision.cases_executed > 0);
    assert_eq!(decision.cases_passed, decision.cases_executed);
    assert!(decision.recorded.is_none());
}

#[tokio::test]
async fn without_controls_a_critical_recommendation_makes_the_package_not_ready() {
    use gensec_core::contract::decision::{Readiness, Severity};
    let run = run_with(|dir| std::fs::remove_dir_all(dir.join("controls")).unwrap()).await;
    let decision = decision_of(&run);
    assert_eq!(decision.readiness, Readiness::NotReady);
    let blocker = decision
        .reasons
        .iter()
        .find(|r| r.rule == "critical-uncovered")
        .unwrap();
    assert_eq!(blocker.severity, Severity::Blocker);
    assert!(
        blocker
            .items
            .contains(&"CFG-S3-BUCKET-BLOCK-PUBLIC-ACLS".to_string())
    );
    // Blockers come first.
    assert_eq!(decision.reasons[0].severity, Severity::Blocker);
    assert!(run.read(REPORT_HTML_PATH).contains("decision-not-ready"));
}

#[tokio::test]
async fn a_failed_case_is_a_blocker_and_shown_as_failed() {
    use gensec_core::contract::decision::Readiness;
    let run = run_with(|dir| {
        let path = dir.join("controls/controls.json");
        let mut set: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let control = set["controls"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|c| {
                c["kind"] == "scp_statement" && c["cases"].as_array().is_some_and(|c| !c.is_empty())
            })
            .unwrap();
        let case = &mut control["cases"][0];
        case["actual"] = if case["expected"] == "denied" {
            "allowed".into()
        } else {
            "denied".into()
        };
        std::fs::write(&path, serde_json::to_string(&set).unwrap()).unwrap();
    })
    .await;
    let decision = decision_of(&run);
    assert_eq!(decision.readiness, Readiness::NotReady);
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.rule == "control-case-failed" && r.items.len() == 1)
    );
    assert_eq!(decision.cases_passed + 1, decision.cases_executed);
    let html = run.read(REPORT_HTML_PATH);
    assert!(
        html.contains("1 failed</summary>"),
        "the failing control's cases say so"
    );
}

#[tokio::test]
async fn each_control_shows_its_executed_cases_collapsed() {
    let run = run().await;
    let set: gensec_core::contract::controls::ControlSet =
        serde_json::from_str(&run.read("controls/controls.json")).unwrap();
    let html = run.read(REPORT_HTML_PATH);
    let md = run.read(PROFILE_MARKDOWN_PATH);
    let profile: ServiceProfile = serde_json::from_str(&run.read(PROFILE_JSON_PATH)).unwrap();
    assert_eq!(profile.controls.executed.len(), set.controls.len());
    for control in set.controls.iter().filter(|c| !c.cases.is_empty()) {
        let headline = if control.cases.len() == 1 {
            "1 case, passed".to_string()
        } else {
            format!("{} cases, all passed", control.cases.len())
        };
        // report.html: under Controls, in a closed <details>.
        assert!(
            html.contains(&format!(
                "<details class=\"cases\"><summary>{headline}</summary>"
            )),
            "{} {headline}",
            control.name
        );
        let first = &control.cases[0];
        assert!(
            html.contains(&gensec_report::escape::html(&first.name)),
            "{}",
            first.name
        );
        // The research profile: one collapsed block per control.
        assert!(
            md.contains(&format!(
                "<details><summary>{} {} ({}): {headline}</summary>",
                control.kind.label(),
                control.name,
                control.file
            )),
            "{}",
            control.name
        );
    }
    assert!(!html.contains("<details open"), "collapsed by default");
}

#[tokio::test]
async fn a_decision_recorded_in_the_library_is_shown() {
    use gensec_core::library::{NewDecision, Verdict};
    use gensec_core::ports::ControlLibrary;
    let kb = common::kb();
    let ctx = common::context(&kb);
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("s3").join(common::REQUEST_ID);
    common::copy_fixture(&run_dir);
    let store = gensec_local::DirStore::new(dir.path());
    let db = gensec_local::SqliteDb::in_memory().unwrap();
    db.decide(NewDecision {
        service_id: "s3",
        profile_id: &ctx.profile.profile_id,
        decision: Verdict::ApprovedWithConditions,
        conditions: Some("break-glass role named before rollout"),
        actor: "alice",
        reason: "reviewed the S3 package",
    })
    .await
    .unwrap();
    let ports = gensec_core::contract::stage::StagePorts {
        store: &store,
        library: &db,
    };
    let earlier = common::earlier_outcomes(&run_dir);
    use gensec_core::contract::stage::Stage;
    let outcome = gensec_report::ReportStage::new(kb)
        .run(&ctx, &ports, &earlier)
        .await
        .unwrap();
    let StageFigures::Report(figures) = &outcome.figures else {
        panic!("not the report's figures");
    };
    let recorded = figures
        .decision
        .as_ref()
        .unwrap()
        .recorded
        .as_ref()
        .unwrap();
    assert_eq!(recorded.decision, "APPROVED_WITH_CONDITIONS");
    assert_eq!(recorded.by, "alice");
    let html = std::fs::read_to_string(run_dir.join(REPORT_HTML_PATH)).unwrap();
    assert!(html.contains("APPROVED_WITH_CONDITIONS by alice"));
    assert!(html.contains("conditions: break-glass role named before rollout"));
    let summary = std::fs::read_to_string(run_dir.join("summary.md")).unwrap();
    assert!(summary.contains("APPROVED_WITH_CONDITIONS by alice"));
}
