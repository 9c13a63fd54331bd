//! The OpenAI-compatible adapter against a fake server on 127.0.0.1 serving
//! responses recorded in the shape of the real API: answers, truncation,
//! rate limits, a refused response_format, a bad key, a dead port, a slow
//! server, and the response cache.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_core::llm::{FinishReason, Llm, LlmError, LlmRequest, LlmUsage, Message, TokenBudget};
use gensec_llm::{Client, JsonFormat, ResponseCache, RetryPolicy, openai::OpenAiBackend};
use gensec_local::DirStore;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn request() -> LlmRequest {
    LlmRequest {
        system: "Answer with JSON.".into(),
        messages: vec![Message::user("<<<BEGIN facts>>>\nnothing\n<<<END facts>>>")],
        response_schema: Some(json!({"type": "object"})),
        max_tokens: 3_000,
        temperature: 0.0,
    }
}

fn backend(server: &MockServer, key: Option<&str>) -> OpenAiBackend {
    OpenAiBackend::new(
        &format!("{}/v1", server.uri()),
        "gpt-4o-mini",
        key.map(str::to_string),
        JsonFormat::JsonSchema,
        Duration::from_secs(5),
    )
    .unwrap()
}

fn client(server: &MockServer) -> Client {
    Client::new(Arc::new(backend(server, None))).with_retry(RetryPolicy::immediate(3))
}

fn bodies(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_completion_is_read_with_its_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .and(body_partial_json(json!({
            "model": "gpt-4o-mini",
            "max_tokens": 3000,
            "response_format": {"type": "json_schema"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("chat-completion.json")))
        .expect(1)
        .mount(&server)
        .await;
    let response = backend(&server, Some("sk-test"))
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(response.finish, FinishReason::Stop);
    assert_eq!(response.usage.input_tokens, 4873);
    assert_eq!(response.usage.output_tokens, 19);
    assert_eq!(response.model_id, "gpt-4o-mini-2024-07-18");
    assert!(response.text.contains("additional_recommendations"));
    let sent = &bodies(&server.received_requests().await.unwrap())[0];
    // Instructions go first as the system message; data stays in the user message.
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][1]["role"], "user");
    assert!(
        sent["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("<<<BEGIN facts>>>")
    );
}

#[tokio::test]
async fn truncation_is_reported_as_length() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("truncated.json")))
        .mount(&server)
        .await;
    let response = backend(&server, None).complete(&request()).await.unwrap();
    assert_eq!(response.finish, FinishReason::Length);
    assert_eq!(response.usage.output_tokens, 3000);
}

#[tokio::test]
async fn rate_limits_are_retried_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(fixture("rate-limited.json")),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("chat-completion.json")))
        .with_priority(2)
        .mount(&server)
        .await;
    let response = client(&server).complete(&request()).await.unwrap();
    assert_eq!(response.usage.input_tokens, 4873);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn persistent_throttling_and_server_errors_give_up_after_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(fixture("rate-limited.json")))
        .mount(&server)
        .await;
    let error = client(&server).complete(&request()).await.unwrap_err();
    assert!(matches!(error, LlmError::Throttled { .. }), "{error}");
    assert!(error.to_string().contains("gave up after 3 attempts"));
    assert!(error.to_string().contains("Rate limit reached"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream overloaded"))
        .mount(&server)
        .await;
    let error = client(&server).complete(&request()).await.unwrap_err();
    assert!(matches!(error, LlmError::Unavailable(_)), "{error}");
}

#[tokio::test]
async fn a_refused_response_format_falls_back_to_json_object() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"response_format": {"type": "json_schema"}}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("bad-response-format.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"response_format": {"type": "json_object"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("chat-completion.json")))
        .mount(&server)
        .await;
    let backend = backend(&server, None);
    backend.complete(&request()).await.unwrap();
    // The weaker format is remembered: the next call goes straight to it.
    backend.complete(&request()).await.unwrap();
    let formats: Vec<Value> = bodies(&server.received_requests().await.unwrap())
        .iter()
        .map(|b| b["response_format"]["type"].clone())
        .collect();
    assert_eq!(
        formats,
        vec![
            json!("json_schema"),
            json!("json_object"),
            json!("json_object")
        ]
    );
}

#[tokio::test]
async fn a_bad_key_is_refused_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(fixture("unauthorized.json")))
        .mount(&server)
        .await;
    let error = client(&server).complete(&request()).await.unwrap_err();
    assert!(matches!(error, LlmError::Refused(_)), "{error}");
    assert!(error.to_string().contains("Incorrect API key"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn nothing_listening_and_a_slow_server_are_unavailable() {
    // A port that was just free: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = OpenAiBackend::new(
        &format!("http://127.0.0.1:{port}/v1"),
        "m",
        None,
        JsonFormat::JsonSchema,
        Duration::from_secs(2),
    )
    .unwrap();
    let error = Client::new(Arc::new(dead))
        .with_retry(RetryPolicy::immediate(2))
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Unavailable(_)), "{error}");
    assert!(error.is_retryable());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("chat-completion.json"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let slow = OpenAiBackend::new(
        &format!("{}/v1", server.uri()),
        "m",
        None,
        JsonFormat::JsonSchema,
        Duration::from_millis(300),
    )
    .unwrap();
    let error = slow.complete(&request()).await.unwrap_err();
    assert!(matches!(error, LlmError::Unavailable(_)), "{error}");
}

#[tokio::test]
async fn an_identical_request_is_answered_from_the_cache() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("chat-completion.json")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cache = ResponseCache::new(Arc::new(DirStore::new(dir.path())), "llm-cache");
    let llm = Client::new(Arc::new(backend(&server, None)))
        .with_cache(Some(cache.clone()))
        .with_budget(Some(TokenBudget::default()));
    let mut usage = LlmUsage::default();
    let first = llm.complete(&request()).await.unwrap();
    usage.record(&first, None);
    // A new client over the same store, as in a second run.
    let again = Client::new(Arc::new(backend(&server, None))).with_cache(Some(cache));
    let second = again.complete(&request()).await.unwrap();
    usage.record(&second, None);
    assert!(!first.cached && second.cached);
    assert_eq!(second.text, first.text);
    assert_eq!((usage.input_tokens, usage.output_tokens), (4873, 19));
    assert_eq!((usage.cached_input_tokens, usage.cache_hits), (4873, 1));
    // A different prompt is a miss.
    let mut other = request();
    other.max_tokens = 100;
    assert!(again.complete(&other).await.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
