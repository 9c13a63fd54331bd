//! Hostile text in the inputs cannot change a generated file's structure.
//!
//! Two properties, over strings built from the fragments that break formats
//! (line separators, quotes, `${`, `%{`, `}}`, heredoc and YAML indicators,
//! Markdown and HTML markup, control characters, very long runs):
//!
//! 1. Every string field of the profile and the request is either refused
//!    with an error naming that field's path, or kept verbatim.
//! 2. A whole run with every accepted field hostile writes the same files as
//!    a plain run, each with the same structure: JSON and YAML skeletons, HCL
//!    blocks and attributes, Guard rule results on the template, the Markdown
//!    event tree and the HTML element tree. Only text may differ.
//!
//! `GENSEC_HOSTILE_PARSE_CASES` and `GENSEC_HOSTILE_PIPELINE_CASES` override
//! the case counts.
#![allow(clippy::unwrap_used)]

use gensec_core::contract::paths;
use gensec_core::contract::stage::StagePorts;
use gensec_core::input::{parse_profile, parse_request};
use gensec_core::pipeline::run_pipeline;
use gensec_kb::Kb;
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::{Stages, run_context};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

static KB: LazyLock<Arc<Kb>> = LazyLock::new(|| Arc::new(Kb::embedded().unwrap()));

const PROFILE: &str = include_str!("../../../config-example/security-profile/example-corp.json");

/// Fragments that end a line, a string, a comment, an interpolation, a
/// heredoc, a code span or an element in one format or another.
const FRAGMENTS: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\t",
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\u{202e}",
    "\u{feff}",
    "\"",
    "'",
    "\\",
    "\\n",
    "${",
    "${aws:username}",
    "%{",
    "%{ if x }",
    "}}",
    "{{",
    "<<EOF",
    "EOF",
    "`",
    "```",
    "<script>alert(1)</script>",
    "</details>",
    "<!--",
    "-->",
    "&amp;",
    "&#32;",
    "|",
    "||",
    "# ",
    "## H",
    "- ",
    "* ",
    "+ ",
    "1. ",
    "2) ",
    "> ",
    "**",
    "__",
    "_",
    "~~",
    "[x](https://e.invalid)",
    "![i](x)",
    "<https://e.invalid>",
    "---",
    "...",
    ": ",
    "key: value",
    "!Ref ",
    "!Sub ",
    "&anchor ",
    "*alias",
    "? ",
    "@",
    "%",
    "= ",
    "==",
    "[[",
    "]]",
    "Fn::Sub",
    "Transform: AWS::Include",
    " ",
    "  ",
    "é",
    "日本",
    "😀",
    "a",
    "Acme",
    "0",
];

/// A hostile string: fragments and arbitrary characters, sometimes very long.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
        1 => "\\PC{1,6}",
        1 => any::<char>().prop_map(String::from),
    ];
    let short = proptest::collection::vec(piece, 1..10).prop_map(|parts| parts.concat());
    prop_oneof![
        9 => short,
        1 => (proptest::sample::select(FRAGMENTS), 50usize..400)
            .prop_map(|(fragment, times)| fragment.repeat(times)),
    ]
}

/// A string field of an input document: its JSON pointer in the example
/// document and the path errors must name.
#[derive(Debug, Clone, Copy)]
struct Field {
    pointer: &'static str,
    path: &'static str,
}

const PROFILE_FIELDS: &[Field] = &[
    Field {
        pointer: "/profile_id",
        path: "$.profile_id",
    },
    Field {
        pointer: "/organization_name",
        path: "$.organization_name",
    },
    Field {
        pointer: "/environment_type",
        path: "$.environment_type",
    },
    Field {
        pointer: "/threat_modeling",
        path: "$.threat_modeling",
    },
    Field {
        pointer: "/allowed_regions/0",
        path: "$.allowed_regions[0]",
    },
    Field {
        pointer: "/compliance_requirements/0",
        path: "$.compliance_requirements[0]",
    },
    Field {
        pointer: "/security_operations/logging/third_party_integration",
        path: "$.security_operations.logging.third_party_integration",
    },
    Field {
        pointer: "/security_operations/secrets_management/rotation_frequency",
        path: "$.security_operations.secrets_management.rotation_frequency",
    },
    Field {
        pointer: "/security_operations/access_management/password_policy",
        path: "$.security_operations.access_management.password_policy",
    },
    Field {
        pointer: "/security_controls/scp_exemptions/break_glass_principal_arns/0",
        path: "$.security_controls.scp_exemptions.break_glass_principal_arns[0]",
    },
    Field {
        pointer: "/security_controls/scp_exemptions/deployer_principal_arns/0",
        path: "$.security_controls.scp_exemptions.deployer_principal_arns[0]",
    },
    Field {
        pointer: "/security_controls/detective",
        path: "$.security_controls.detective",
    },
    Field {
        pointer: "/data_protection/key_management",
        path: "$.data_protection.key_management",
    },
    Field {
        pointer: "/data_protection/minimum_tls_version",
        path: "$.data_protection.minimum_tls_version",
    },
    Field {
        pointer: "/tagging/required_tags/0/key",
        path: "$.tagging.required_tags[0].key",
    },
    Field {
        pointer: "/tagging/required_tags/1/allowed_values/0",
        path: "$.tagging.required_tags[1].allowed_values[0]",
    },
];

const REQUEST_FIELDS: &[Field] = &[
    Field {
        pointer: "/request_id",
        path: "$.request_id",
    },
    Field {
        pointer: "/requester",
        path: "$.requester",
    },
    Field {
        pointer: "/timestamp",
        path: "$.timestamp",
    },
    Field {
        pointer: "/service_name",
        path: "$.service_name",
    },
    Field {
        pointer: "/profile_id",
        path: "$.profile_id",
    },
];

fn base_profile() -> Value {
    let mut profile: Value = serde_json::from_str(PROFILE).unwrap();
    profile["allowed_regions"] = serde_json::json!(["eu-west-1", "us-east-1"]);
    profile
}

fn base_request(service: &str) -> Value {
    serde_json::json!({
        "request_id": format!("REQ-HOSTILE-{service}"),
        "requester": "platform-team",
        "timestamp": "2024-02-01T09:00:00Z",
        "service_name": service,
        "profile_id": "example-corp",
    })
}

fn set(document: &mut Value, pointer: &str, value: &str) {
    *document.pointer_mut(pointer).unwrap() = Value::String(value.to_string());
}

fn env_count(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Property 1: refused naming the field, or kept verbatim.
#[test]
fn every_string_field_is_refused_by_path_or_kept_verbatim() {
    let fields: Vec<(bool, Field)> = PROFILE_FIELDS
        .iter()
        .map(|field| (true, *field))
        .chain(REQUEST_FIELDS.iter().map(|field| (false, *field)))
        .collect();
    let cases = env_count("GENSEC_HOSTILE_PARSE_CASES", 12_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let tally: RefCell<BTreeMap<String, (u32, u32)>> = RefCell::default();
    let strategy = (0..fields.len(), hostile());
    runner
        .run(&strategy, |(index, text)| {
            let (is_profile, field) = fields[index];
            let (parsed, source) = if is_profile {
                let mut document = base_profile();
                set(&mut document, field.pointer, &text);
                let parsed = parse_profile("hostile.json", &document.to_string())
                    .map(|profile| serde_json::to_value(profile).unwrap());
                (parsed, "hostile.json")
            } else {
                let mut document = base_request("S3");
                set(&mut document, field.pointer, &text);
                let parsed = parse_request("hostile-request.json", &document.to_string())
                    .map(|request| serde_json::to_value(request).unwrap());
                (parsed, "hostile-request.json")
            };
            let mut tally = tally.borrow_mut();
            let document = if is_profile { "profile" } else { "request" };
            let entry = tally
                .entry(format!("{document} {}", field.path))
                .or_default();
            match parsed {
                Err(err) => {
                    entry.0 += 1;
                    prop_assert_eq!(&err.source_name, source);
                    prop_assert_eq!(&err.path, field.path, "{:?} refused as {}", text, err);
                    prop_assert!(!err.message.is_empty());
                }
                Ok(value) => {
                    entry.1 += 1;
                    let kept = value.pointer(field.pointer);
                    let verbatim = match (field.pointer, kept) {
                        // Timestamps are read as instants and written back in one form.
                        ("/timestamp", Some(Value::String(written))) => {
                            chrono::DateTime::parse_from_rfc3339(&text).ok()
                                == chrono::DateTime::parse_from_rfc3339(written).ok()
                        }
                        (_, Some(Value::String(written))) => *written == text,
                        _ => false,
                    };
                    prop_assert!(verbatim, "{:?} accepted but read as {:?}", text, kept);
                    if field.pointer == "/service_name" {
                        // An accepted name either resolves or is refused naming it.
                        if let Err(err) = KB.resolve_service(&text) {
                            let message = err.to_string();
                            prop_assert!(
                                message.contains("service"),
                                "unclear refusal of {:?}: {}",
                                text,
                                message
                            );
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    let refused: u32 = tally.values().map(|(refused, _)| refused).sum();
    let accepted: u32 = tally.values().map(|(_, accepted)| accepted).sum();
    eprintln!("{cases} cases: {refused} refused by path, {accepted} kept verbatim");
    for (path, (refused, accepted)) in &tally {
        eprintln!("  {path}: {refused} refused, {accepted} kept");
    }
    assert_eq!(refused + accepted, cases);
    assert_eq!(tally.len(), fields.len(), "every field was exercised");
}

/// The free-text fields that reach generated files, and whether a value was
/// accepted for them (refused ones keep the plain value).
const FREE_TEXT: &[&str] = &[
    "/organization_name",
    "/security_operations/logging/third_party_integration",
    "/security_operations/access_management/password_policy",
    "/tagging/required_tags/1/allowed_values/0",
    "/tagging/required_tags/1/allowed_values/1",
];

/// The files of a run, by layout path.
fn run_package(service: &str, profile: &Value, request: &Value) -> BTreeMap<String, Vec<u8>> {
    let profile = parse_profile("profile.json", &profile.to_string()).unwrap();
    let request = parse_request("request.json", &request.to_string()).unwrap();
    let ctx = run_context(&KB, request, profile).unwrap();
    let out = tempfile::tempdir().unwrap();
    let store = DirStore::new(out.path());
    let db = SqliteDb::in_memory().unwrap();
    let stages = Stages::new(&KB).unwrap();
    let ports = StagePorts {
        store: &store,
        library: &db,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let published = runtime
        .block_on(run_pipeline(&stages.all(), &ctx, &ports, &db, &|_| {}))
        .unwrap_or_else(|err| panic!("{service}: {err}"));
    let root = out.path().join(&published.package_prefix);
    published
        .manifest
        .files
        .iter()
        .map(|file| {
            (
                file.path.clone(),
                std::fs::read(root.join(&file.path)).unwrap(),
            )
        })
        .chain([(
            paths::MANIFEST.to_string(),
            std::fs::read(root.join(paths::MANIFEST)).unwrap(),
        )])
        .collect()
}

/// A JSON or YAML value with every scalar replaced by its kind.
fn skeleton(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), skeleton(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::String(_) => Value::String("string".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Null => Value::Null,
    }
}

fn yaml_skeleton(text: &str) -> Result<Value, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|err| err.to_string())?;
    let json = serde_json::to_value(yaml).map_err(|err| err.to_string())?;
    Ok(skeleton(&json))
}

/// Blocks (identifier and labels) and attribute names, nested.
fn hcl_skeleton(body: &hcl::Body) -> Vec<String> {
    let mut out = Vec::new();
    for structure in body.iter() {
        match structure {
            hcl::Structure::Attribute(attribute) => out.push(format!("{} =", attribute.key)),
            hcl::Structure::Block(block) => {
                let labels: Vec<&str> = block.labels.iter().map(|label| label.as_str()).collect();
                out.push(format!("{} {:?} {{", block.identifier, labels));
                out.extend(
                    hcl_skeleton(&block.body)
                        .into_iter()
                        .map(|line| format!("  {line}")),
                );
                out.push("}".into());
            }
        }
    }
    out
}

/// Markdown events, with text runs merged and their content dropped.
fn markdown_skeleton(text: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Options, Parser};
    let mut out: Vec<String> = Vec::new();
    for event in Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        let shape = match event {
            Event::Text(_) => "text".to_string(),
            Event::Code(_) => "code".to_string(),
            Event::Html(_) | Event::InlineHtml(_) => "html".to_string(),
            Event::Start(tag) => format!("start {tag:?}"),
            Event::End(tag) => format!("end {tag:?}"),
            other => format!("{other:?}"),
        };
        if shape == "text" && out.last().is_some_and(|last| last == "text") {
            continue;
        }
        out.push(shape);
    }
    out
}

/// Elements with their attribute names, in document order.
fn html_skeleton(text: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(text);
    document
        .root_element()
        .descendants()
        .filter_map(|node| node.value().as_element().map(|element| (node, element)))
        .map(|(node, element)| {
            let depth = node.ancestors().count();
            let mut names: Vec<&str> = element.attrs().map(|(name, _)| name).collect();
            names.sort_unstable();
            format!("{depth} {} {}", element.name(), names.join(","))
        })
        .collect()
}

/// The structure of one generated file, by its format.
fn structure(path: &str, body: &[u8], template: &Value) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|err| format!("not UTF-8: {err}"))?;
    let extension = Path::new(path)
        .extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or("");
    let shape = match extension {
        "json" => {
            let value: Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
            format!("{:#}", skeleton(&value))
        }
        "yaml" | "yml" => format!("{:#}", yaml_skeleton(text)?),
        "tf" => {
            let body: hcl::Body = hcl::from_str(text).map_err(|err| err.to_string())?;
            hcl_skeleton(&body).join("\n")
        }
        "guard" => {
            let results =
                gensec_kb::guard::evaluate_all(text, template).map_err(|err| err.to_string())?;
            format!("{results:?}")
        }
        "md" => markdown_skeleton(text).join("\n"),
        "html" => html_skeleton(text).join("\n"),
        other => return Err(format!("no structure check for .{other} files")),
    };
    Ok(shape)
}

/// The first line where two structures differ, with its neighbours.
fn first_difference(plain: &str, hostile: &str) -> String {
    let plain: Vec<&str> = plain.lines().collect();
    let hostile: Vec<&str> = hostile.lines().collect();
    let at = plain
        .iter()
        .zip(&hostile)
        .position(|(a, b)| a != b)
        .unwrap_or(plain.len().min(hostile.len()));
    let window =
        |lines: &[&str]| lines[at.saturating_sub(2)..(at + 3).min(lines.len())].join(" / ");
    format!(
        "line {at}: plain [{}], hostile [{}]",
        window(&plain),
        window(&hostile)
    )
}

/// Property 2: a run with hostile text writes the plain run's structures.
#[test]
fn hostile_text_keeps_every_generated_files_structure() {
    let cases = env_count("GENSEC_HOSTILE_PIPELINE_CASES", 40);
    for service in ["SQS", "S3"] {
        let plain = run_package(service, &base_profile(), &base_request(service));
        let template: Value = serde_json::from_slice(&plain[paths::TEMPLATE_JSON]).unwrap();
        let plain_shapes: BTreeMap<&str, String> = plain
            .iter()
            .map(|(path, body)| {
                let shape = structure(path, body, &template)
                    .unwrap_or_else(|err| panic!("plain {service} run, {path}: {err}"));
                (path.as_str(), shape)
            })
            .collect();

        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let accepted_fields = Cell::new(0u32);
        let strategy = (
            proptest::collection::vec(hostile(), FREE_TEXT.len()),
            hostile(),
        );
        runner
            .run(&strategy, |(texts, requester)| {
                let mut profile = base_profile();
                for (pointer, text) in FREE_TEXT.iter().zip(&texts) {
                    let mut candidate = profile.clone();
                    set(&mut candidate, pointer, text);
                    if parse_profile("p.json", &candidate.to_string()).is_ok() {
                        profile = candidate;
                        accepted_fields.set(accepted_fields.get() + 1);
                    }
                }
                let mut request = base_request(service);
                let mut candidate = request.clone();
                set(&mut candidate, "/requester", &requester);
                if parse_request("r.json", &candidate.to_string()).is_ok() {
                    request = candidate;
                    accepted_fields.set(accepted_fields.get() + 1);
                }
                let hostile_run = run_package(service, &profile, &request);
                let files: Vec<&String> = hostile_run.keys().collect();
                let expected: Vec<&String> = plain.keys().collect();
                prop_assert_eq!(files, expected, "a different set of files");
                let template: Value =
                    serde_json::from_slice(&hostile_run[paths::TEMPLATE_JSON]).unwrap();
                for (path, body) in &hostile_run {
                    let shape = structure(path, body, &template)
                        .map_err(|err| TestCaseError::fail(format!("{path}: {err}")))?;
                    let plain_shape = &plain_shapes[path.as_str()];
                    prop_assert!(
                        shape == *plain_shape,
                        "{} of {} changed structure: {}",
                        path,
                        service,
                        first_difference(plain_shape, &shape)
                    );
                }
                Ok(())
            })
            .unwrap();
        eprintln!(
            "{service}: {cases} hostile runs, {} hostile field values accepted, {} files each compared",
            accepted_fields.get(),
            plain.len()
        );
        assert!(
            accepted_fields.get() > cases,
            "too few hostile values were accepted to test anything"
        );
    }
}
