//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI
//! itself, and local servers such as Ollama, vLLM and llama.cpp. One call per
//! `complete`; retries are the [`crate::Client`]'s job.
//!
//! JSON answers are asked for with `response_format` (`json_schema`, falling
//! back to `json_object` and then none when a server refuses the format).

use crate::spec::JsonFormat;
use async_trait::async_trait;
use gensec_core::llm::{FinishReason, Llm, LlmError, LlmRequest, LlmResponse, Role, TokenUsage};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

/// An OpenAI-compatible server.
pub struct OpenAiBackend {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<String>,
    /// The strongest format the server accepted so far.
    format: Mutex<JsonFormat>,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("OpenAiBackend")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl OpenAiBackend {
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        format: JsonFormat,
        timeout: Duration,
    ) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .build()
            .map_err(|err| LlmError::Refused(format!("HTTP client: {err}")))?;
        Ok(Self {
            http,
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            model: model.to_string(),
            api_key: api_key.filter(|key| !key.is_empty()),
            format: Mutex::new(format),
        })
    }

    fn body(&self, request: &LlmRequest, format: JsonFormat) -> Value {
        let mut messages = vec![json!({"role": "system", "content": request.system})];
        for message in &request.messages {
            let role = match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": message.content}));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        });
        match (&request.response_schema, format) {
            (Some(schema), JsonFormat::JsonSchema) => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": schema, "strict": false}
                });
            }
            (Some(_), JsonFormat::JsonObject) => {
                body["response_format"] = json!({"type": "json_object"});
            }
            _ => {}
        }
        body
    }

    async fn post(
        &self,
        body: &Value,
    ) -> Result<(reqwest::StatusCode, Option<Duration>, Vec<u8>), LlmError> {
        let mut call = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let response = call
            .send()
            .await
            .map_err(|err| LlmError::Unavailable(format!("{}: {}", self.url, error_chain(&err))))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|err| LlmError::Unavailable(format!("{}: {}", self.url, error_chain(&err))))?;
        Ok((status, retry_after, bytes.to_vec()))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The server's error message, shortened.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("message"))
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
        })
        .unwrap_or_else(|| text.to_string());
    message.chars().take(300).collect()
}

fn refuses_format(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("response_format") || text.contains("json_schema") || text.contains("json_object")
}

fn parse(model: &str, body: &[u8]) -> Result<LlmResponse, LlmError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| LlmError::InvalidResponse(format!("not JSON: {err}")))?;
    let choice = value
        .pointer("/choices/0")
        .ok_or_else(|| LlmError::InvalidResponse("no choices in the response".into()))?;
    let text = match choice.pointer("/message/content") {
        Some(Value::String(text)) => text.clone(),
        _ => match choice.pointer("/message/refusal").and_then(Value::as_str) {
            Some(refusal) => {
                return Err(LlmError::Refused(format!("the model refused: {refusal}")));
            }
            None => return Err(LlmError::InvalidResponse("no message content".into())),
        },
    };
    let finish = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("stop") | None => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_string()),
    };
    let tokens = |name: &str| {
        value
            .pointer(&format!("/usage/{name}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok(LlmResponse {
        text,
        usage: TokenUsage {
            input_tokens: tokens("prompt_tokens"),
            output_tokens: tokens("completion_tokens"),
        },
        model_id: value
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(model)
            .to_string(),
        finish,
        cached: false,
    })
}

#[async_trait]
impl Llm for OpenAiBackend {
    fn model_id(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let mut format = *self
            .format
            .lock()
            .map_err(|_| LlmError::Refused("poisoned".into()))?;
        loop {
            let (status, retry_after, body) = self.post(&self.body(request, format)).await?;
            if status.is_success() {
                return parse(&self.model, &body);
            }
            let message = format!("HTTP {status} from {}: {}", self.url, excerpt(&body));
            match status.as_u16() {
                429 => {
                    return Err(LlmError::Throttled {
                        message,
                        retry_after,
                    });
                }
                408 | 500..=599 => return Err(LlmError::Unavailable(message)),
                400 | 422 if request.response_schema.is_some() && refuses_format(&body) => {
                    // Not every compatible server knows every response_format.
                    match format.weaker() {
                        Some(weaker) => {
                            tracing::info!(?format, ?weaker, "server refused the JSON format");
                            format = weaker;
                            if let Ok(mut remembered) = self.format.lock() {
                                *remembered = weaker;
                            }
                        }
                        None => return Err(LlmError::Refused(message)),
                    }
                }
                _ => return Err(LlmError::Refused(message)),
            }
        }
    }
}
