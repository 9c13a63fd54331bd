//! The whole pipeline with a language model behind the real adapters: a fake
//! Bedrock Converse endpoint (the real aws-sdk-bedrockruntime client) and a
//! fake OpenAI-compatible server on 127.0.0.1, answering the analysis and
//! report prompts. Usage is counted by the fakes from the prompts they get
//! (characters / 4), so the figures printed here are the run's token costs.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use gensec_core::contract::analysis::{Confidence, RecommendationSet};
use gensec_core::contract::paths;
use gensec_core::contract::stage::StagePorts;
use gensec_core::contract::validation::ValidationReport;
use gensec_core::input::parse_profile;
use gensec_core::llm::Llm;
use gensec_core::manifest::Manifest;
use gensec_core::pipeline::{PublishedRun, run_pipeline};
use gensec_core::ports::RequestTracker;
use gensec_core::{SecurityProfile, ServiceRequest};
use gensec_kb::Kb;
use gensec_llm::bedrock::BedrockBackend;
use gensec_llm::openai::OpenAiBackend;
use gensec_llm::{Client, JsonFormat, ResponseCache, RetryPolicy};
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::{Stages, run_context};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| Arc::new(Kb::embedded().unwrap())).clone()
}

fn profile() -> SecurityProfile {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config-example/security-profile/example-corp.json"
    );
    parse_profile(path, &std::fs::read_to_string(path).unwrap()).unwrap()
}

fn answer(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/llm/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(Clone, Copy)]
enum Api {
    OpenAi,
    Bedrock,
}

/// A model behind a fake endpoint: it tells the analysis prompt from the
/// report prompt by their data blocks and wraps the answer in the API's
/// response shape, with usage counted from what it was sent.
struct FakeModel {
    api: Api,
    analysis: Value,
    report: Value,
}

fn texts(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => items.iter().for_each(|item| texts(item, out)),
        Value::Object(fields) => fields.values().for_each(|v| texts(v, out)),
        _ => {}
    }
}

impl Respond for FakeModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let mut prompt = String::new();
        match self.api {
            Api::OpenAi => {
                texts(&body["messages"], &mut prompt);
                prompt.push_str(&body["response_format"].to_string());
            }
            Api::Bedrock => {
                texts(&body["system"], &mut prompt);
                texts(&body["messages"], &mut prompt);
                texts(&body["outputConfig"], &mut prompt);
            }
        }
        let answer = if prompt.contains("<<<BEGIN service-facts>>>") {
            &self.report
        } else {
            &self.analysis
        };
        let text = serde_json::to_string_pretty(answer).unwrap();
        let input = (prompt.chars().count() as u64).div_ceil(4);
        let output = (text.chars().count() as u64).div_ceil(4);
        let envelope = match self.api {
            Api::OpenAi => json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1741569952,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": null},
                             "logprobs": null, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}
            }),
            Api::Bedrock => json!({
                "metrics": {"latencyMs": 1800},
                "output": {"message": {"content": [{"text": text}], "role": "assistant"}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output}
            }),
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/json")
            .set_body_json(envelope)
    }
}

async fn fake(api: Api, analysis: &str, report: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(FakeModel {
            api,
            analysis: answer(analysis),
            report: answer(report),
        })
        .mount(&server)
        .await;
    server
}

const BEDROCK_MODEL: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

fn bedrock(server: &MockServer) -> Arc<dyn Llm> {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDGENSECTEST",
            "secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(server.uri())
        .retry_config(RetryConfig::disabled())
        .build();
    let backend = BedrockBackend::from_client(
        aws_sdk_bedrockruntime::Client::from_conf(config),
        BEDROCK_MODEL,
    );
    Arc::new(
        Client::new(Arc::new(backend))
            .with_retry(RetryPolicy::immediate(2))
            .with_price(gensec_llm::PriceTable::builtin().lookup(BEDROCK_MODEL)),
    )
}

fn openai(url: &str, cache: Option<ResponseCache>) -> Arc<dyn Llm> {
    let backend = OpenAiBackend::new(
        url,
        "gpt-4o-mini",
        None,
        JsonFormat::JsonSchema,
        Duration::from_secs(5),
    )
    .unwrap();
    Arc::new(
        Client::new(Arc::new(backend))
            .with_retry(RetryPolicy::immediate(2))
            .with_cache(cache)
            .with_price(gensec_llm::PriceTable::builtin().lookup("gpt-4o-mini")),
    )
}

struct Output {
    root: PathBuf,
    report: PublishedRun,
    prefix: String,
}

impl Output {
    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.root.join(&self.prefix).join(relative)).unwrap()
    }

    /// Every output of the run but the validation report and its section of
    /// report.html (which list what was rejected, by design).
    fn outputs(&self) -> Vec<(String, String)> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.root.join(&self.prefix), &mut files);
        files
            .into_iter()
            .filter(|path| !path.ends_with(paths::VALIDATION_REPORT))
            .map(|path| {
                let mut text = std::fs::read_to_string(&path).unwrap_or_default();
                if let (Some(start), Some(end)) = (
                    text.find("<section id=\"validation\">"),
                    text.find("<section id=\"profile\">"),
                ) {
                    text.replace_range(start..end, "");
                }
                (path.display().to_string(), text)
            })
            .collect()
    }
}

async fn run(llm: Option<Arc<dyn Llm>>, root: &Path, db: &SqliteDb, request_id: &str) -> Output {
    let kb = kb();
    let request = ServiceRequest {
        request_id: request_id.into(),
        requester: "tests".into(),
        timestamp: "2025-01-01T00:00:00Z".parse().unwrap(),
        service_name: "S3".into(),
        profile_id: None,
    };
    let ctx = run_context(&kb, request, profile()).unwrap();
    let stages = Stages::with_llm(&kb, llm).unwrap();
    let store = DirStore::new(root);
    let ports = StagePorts {
        store: &store,
        library: db,
    };
    let report = run_pipeline(&stages.all(), &ctx, &ports, db, &|_| {})
        .await
        .unwrap();
    Output {
        root: root.to_path_buf(),
        report,
        prefix: ctx.package_prefix.clone(),
    }
}

const INVENTED: &[&str] = &[
    "QUANTUM",
    "Quantum",
    "quantum",
    "FOREVER",
    "production-quantum",
];

#[tokio::test]
async fn bedrock_model_inventing_names_reaches_no_output() {
    let server = fake(
        Api::Bedrock,
        "analysis-invented.json",
        "report-invented.json",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::in_memory().unwrap();
    let out = run(Some(bedrock(&server)), dir.path(), &db, "REQ-LLM-BEDROCK").await;
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    for (path, text) in out.outputs() {
        for name in INVENTED {
            assert!(!text.contains(name), "{name} reached {path}");
        }
    }
    let validation: ValidationReport =
        serde_json::from_str(&out.read(paths::VALIDATION_REPORT)).unwrap();
    let listed: String = validation
        .rejected
        .iter()
        .map(|r| format!("{} | {}\n", r.item, r.reason))
        .collect();
    for name in [
        "CFG-S3-BUCKET-QUANTUM-SHIELD",
        "s3:PutBucketQuantumShield",
        "s3:x-amz-quantum-safe",
        "S3_BUCKET_QUANTUM_SHIELD_ENABLED",
        "QuantumShieldConfiguration.Enabled",
        "AWS::S3::QuantumVault",
        "S3_BUCKET_QUANTUM_LOCK_CHECK",
        "s3:PutQuantumLock",
        "s3:x-amz-object-lock-quantum",
        "FOREVER",
        "production-quantum",
    ] {
        assert!(listed.contains(name), "{name} not listed:\n{listed}");
    }
    let verdict = validation.llm.unwrap();
    assert!(verdict.names_unknown >= 10, "{verdict:?}");

    let manifest = &out.report.manifest;
    let llm = manifest.llm.as_ref().unwrap();
    assert_eq!(llm.models, vec![BEDROCK_MODEL.to_string()]);
    assert!(!llm.deterministic_fallback);
    assert_eq!(llm.usage.calls, 2);
    assert!(llm.hallucination_rate.unwrap() > 0.0);
    assert!(llm.estimated_cost_usd.unwrap() > 0.0);
    // The report's text checks count in the manifest and the report stage.
    let report_stage = manifest
        .stages
        .iter()
        .find(|s| s.stage == gensec_core::contract::stage::StageId::Report)
        .unwrap();
    assert!(report_stage.validation.rejected >= 3);
    let profile: Value = serde_json::from_str(&out.read(paths::RESEARCH_PROFILE_JSON)).unwrap();
    assert!(profile["model_written"]["overview"].is_null());
    assert_eq!(
        profile["model_written"]["checklist"][0]["id"],
        "production-ready"
    );

    let record = db.request("REQ-LLM-BEDROCK").await.unwrap().unwrap();
    let usage = record.latest().unwrap().llm_usage.clone().unwrap();
    assert_eq!(usage, llm.usage);
}

#[tokio::test]
async fn openai_model_answers_are_applied_and_a_rerun_is_served_from_the_cache() {
    let server = fake(Api::OpenAi, "analysis-good.json", "report-good.json").await;
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ResponseCache::new(Arc::new(DirStore::new(cache_dir.path())), "llm-cache/");
    let db = SqliteDb::in_memory().unwrap();
    let url = format!("{}/v1", server.uri());

    let first = run(
        Some(openai(&url, Some(cache.clone()))),
        dir.path(),
        &db,
        "REQ-LLM-1",
    )
    .await;
    let set: RecommendationSet =
        serde_json::from_str(&first.read("analysis/recommendations.json")).unwrap();
    assert!(
        set.recommendations
            .iter()
            .any(|r| r.confidence == Confidence::ModelProposed)
    );
    assert!(
        set.recommendations
            .iter()
            .filter(|r| r.model.is_some())
            .count()
            >= 3
    );
    let html = first.read("report.html");
    assert!(html.contains("Narrative overview (model-written)"));
    assert!(html.contains("Checklist answers (model-written)"));
    assert!(html.contains("Model-written rationale (gpt-4o-mini)"));
    let markdown = first.read(paths::RESEARCH_PROFILE_MARKDOWN);
    assert!(markdown.contains("### Language model (gpt-4o-mini)"));
    let llm = first.report.manifest.llm.clone().unwrap();
    assert_eq!((llm.usage.calls, llm.usage.cache_hits), (2, 0));
    assert_eq!(llm.names_unknown, 0);
    assert_eq!(llm.items_rejected, 0, "{llm:?}");

    // The same request again (a new request id): nothing new is spent.
    let second = run(
        Some(openai(&url, Some(cache))),
        dir.path(),
        &db,
        "REQ-LLM-2",
    )
    .await;
    let again = second.report.manifest.llm.clone().unwrap();
    assert_eq!((again.usage.calls, again.usage.cache_hits), (2, 2));
    assert_eq!(
        (again.usage.input_tokens, again.usage.output_tokens),
        (0, 0)
    );
    assert_eq!(again.usage.cached_input_tokens, llm.usage.input_tokens);
    assert_eq!(again.estimated_cost_usd, Some(0.0));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(
        second
            .read("analysis/recommendations.json")
            .replace("REQ-LLM-2", "REQ-LLM-1"),
        first.read("analysis/recommendations.json")
    );
    let tracked = db.request("REQ-LLM-2").await.unwrap().unwrap();
    assert_eq!(
        tracked
            .latest()
            .unwrap()
            .llm_usage
            .as_ref()
            .unwrap()
            .input_tokens,
        0
    );

    let per_stage: Vec<String> = first
        .report
        .manifest
        .stages
        .iter()
        .filter_map(|s| {
            let record = s.llm.as_ref()?;
            Some(format!(
                "{}: {} in / {} out",
                s.stage, record.usage.input_tokens, record.usage.output_tokens
            ))
        })
        .collect();
    println!(
        "S3 run with a model (tokens counted by the fake as characters / 4): {}; total {} input, {} output, estimated ${:.4} at gpt-4o-mini prices; re-run: {} new input, {} new output, {} cache hits",
        per_stage.join(", "),
        llm.usage.input_tokens,
        llm.usage.output_tokens,
        llm.estimated_cost_usd.unwrap_or_default(),
        again.usage.input_tokens,
        again.usage.output_tokens,
        again.usage.cache_hits
    );
    assert!(llm.usage.input_tokens < 15_000 && llm.usage.output_tokens < 4_000);
}

#[tokio::test]
async fn with_no_model_reachable_the_run_is_deterministic_and_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::in_memory().unwrap();
    let dead = openai(&format!("http://127.0.0.1:{port}/v1"), None);
    let out = run(Some(dead), dir.path(), &db, "REQ-LLM-DOWN").await;
    let plain = run(None, plain_dir.path(), &db, "REQ-LLM-DOWN").await;

    assert_eq!(
        out.read("analysis/recommendations.json"),
        plain.read("analysis/recommendations.json")
    );
    let manifest: Manifest = serde_json::from_str(&out.read("manifest.json")).unwrap();
    let llm = manifest.llm.unwrap();
    assert!(llm.deterministic_fallback);
    assert!(
        llm.notes[0].starts_with("analysis: LLM unavailable, deterministic result ("),
        "{:?}",
        llm.notes
    );
    assert!(llm.notes[1].contains("not asked: the model was unreachable in the analysis stage"));
    assert_eq!(llm.usage.input_tokens, 0);
    let html = out.read("report.html");
    assert!(html.contains("LLM unavailable, deterministic result"));
    let markdown = out.read(paths::RESEARCH_PROFILE_MARKDOWN);
    assert!(markdown.contains("LLM unavailable, deterministic result"));
    // Without a model: no trace of one anywhere.
    let plain_manifest = plain.read("manifest.json");
    assert!(!plain_manifest.contains("\"llm\""));
    assert!(!plain.read("report.html").contains("Language model"));
    assert!(!plain_dir.path().join("s3/REQ-LLM-DOWN/llm").exists());
}
