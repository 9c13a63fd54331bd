//! The Bedrock adapter: the real aws-sdk-bedrockruntime client, with static
//! test credentials, pointed at a fake Converse endpoint on 127.0.0.1 that
//! serves responses shaped like Bedrock's (answers, `max_tokens`,
//! `ThrottlingException`, a model without structured output, no access).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use gensec_core::llm::{FinishReason, Llm, LlmError, LlmRequest, Message};
use gensec_llm::bedrock::BedrockBackend;
use gensec_llm::{Client, RetryPolicy};
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MODEL: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/bedrock/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The SDK client as the Lambda would build it, but at the fake endpoint.
fn backend(server: &MockServer) -> BedrockBackend {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDGENSECTEST",
            "gensec-test-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(server.uri())
        .retry_config(RetryConfig::disabled())
        .build();
    BedrockBackend::from_client(aws_sdk_bedrockruntime::Client::from_conf(config), MODEL)
}

fn error(status: u16, kind: &str, fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header(
            "x-amzn-ErrorType",
            format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/").as_str(),
        )
        .insert_header("content-type", "application/json")
        .set_body_json(fixture(fixture_name))
}

fn ok(fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_json(fixture(fixture_name))
}

fn request() -> LlmRequest {
    LlmRequest {
        system: "Answer with JSON.".into(),
        messages: vec![Message::user("<<<BEGIN facts>>>\nnothing\n<<<END facts>>>")],
        response_schema: Some(json!({"type": "object", "additionalProperties": false})),
        max_tokens: 3_000,
        temperature: 0.0,
    }
}

fn bodies(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn converse_answers_are_read_with_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/model/[^/]+/converse$"))
        .respond_with(ok("converse.json"))
        .expect(1)
        .mount(&server)
        .await;
    let response = backend(&server).complete(&request()).await.unwrap();
    assert_eq!(response.finish, FinishReason::Stop);
    assert_eq!(response.usage.input_tokens, 5127);
    assert_eq!(response.usage.output_tokens, 24);
    assert_eq!(response.model_id, MODEL);
    assert!(response.text.contains("rationales"));

    let received = server.received_requests().await.unwrap();
    let sent = &received[0];
    // The inference profile id travels in the path, and the request is signed.
    assert!(
        sent.url
            .path()
            .contains("us.anthropic.claude-3-5-haiku-20241022-v1")
    );
    assert!(
        sent.headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDGENSECTEST/")
    );
    let body = &bodies(&received)[0];
    assert_eq!(body["system"][0]["text"], "Answer with JSON.");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["inferenceConfig"]["maxTokens"], 3000);
    assert_eq!(body["outputConfig"]["textFormat"]["type"], "json_schema");
    let schema: Value = serde_json::from_str(
        body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(schema["additionalProperties"], false);
}

#[tokio::test]
async fn max_tokens_is_reported_as_length() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok("converse-max-tokens.json"))
        .mount(&server)
        .await;
    let response = backend(&server).complete(&request()).await.unwrap();
    assert_eq!(response.finish, FinishReason::Length);
    assert!(response.text.starts_with("```json"));
}

#[tokio::test]
async fn throttling_is_retried_and_then_given_up() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(429, "ThrottlingException", "throttling.json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok("converse.json"))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = Client::new(Arc::new(backend(&server))).with_retry(RetryPolicy::immediate(3));
    assert!(client.complete(&request()).await.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(429, "ThrottlingException", "throttling.json"))
        .mount(&server)
        .await;
    let client = Client::new(Arc::new(backend(&server))).with_retry(RetryPolicy::immediate(3));
    let failure = client.complete(&request()).await.unwrap_err();
    assert!(matches!(failure, LlmError::Throttled { .. }), "{failure}");
    assert!(failure.to_string().contains("ThrottlingException"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(408, "ModelTimeoutException", "throttling.json"))
        .mount(&server)
        .await;
    let client = Client::new(Arc::new(backend(&server))).with_retry(RetryPolicy::immediate(2));
    assert!(matches!(
        client.complete(&request()).await,
        Err(LlmError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_model_without_structured_output_is_asked_again_without_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("outputConfig"))
        .respond_with(error(
            400,
            "ValidationException",
            "validation-structured-output.json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok("converse.json"))
        .mount(&server)
        .await;
    let backend = backend(&server);
    backend.complete(&request()).await.unwrap();
    backend.complete(&request()).await.unwrap();
    let with_output_config: Vec<bool> = bodies(&server.received_requests().await.unwrap())
        .iter()
        .map(|b| b.get("outputConfig").is_some())
        .collect();
    assert_eq!(with_output_config, vec![true, false, false]);
}

#[tokio::test]
async fn no_access_is_refused_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(403, "AccessDeniedException", "access-denied.json"))
        .mount(&server)
        .await;
    let client = Client::new(Arc::new(backend(&server))).with_retry(RetryPolicy::immediate(3));
    let failure = client.complete(&request()).await.unwrap_err();
    assert!(matches!(failure, LlmError::Refused(_)), "{failure}");
    assert!(failure.to_string().contains("don't have access"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
