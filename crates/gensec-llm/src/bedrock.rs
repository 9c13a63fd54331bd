//! Amazon Bedrock through the Converse API (aws-sdk-bedrockruntime). The
//! model id may be a foundation model id, a cross-region inference profile id
//! (`us.anthropic...`) or an inference profile ARN. The SDK's own retries are
//! off: [`crate::Client`] retries both backends the same way.
//!
//! JSON answers are asked for with Converse structured output
//! (`outputConfig.textFormat` with the answer's JSON schema); a model that
//! rejects it (`ValidationException`) is asked again without, and the prompt
//! alone asks for JSON from then on.

use async_trait::async_trait;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Region};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, JsonSchemaDefinition,
    Message, OutputConfig, OutputFormat, OutputFormatStructure, OutputFormatType, StopReason,
    SystemContentBlock,
};
use gensec_core::llm::{FinishReason, Llm, LlmError, LlmRequest, LlmResponse, Role, TokenUsage};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A Bedrock model.
#[derive(Debug)]
pub struct BedrockBackend {
    client: Client,
    model_id: String,
    /// Whether to ask for structured output; cleared when the model refuses it.
    structured: AtomicBool,
}

impl BedrockBackend {
    /// A client from the usual AWS configuration (environment, profile, role),
    /// optionally in another region or at another endpoint.
    pub async fn new(
        model_id: &str,
        region: Option<&str>,
        endpoint_url: Option<&str>,
        timeout: Duration,
    ) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_bedrockruntime::config::Builder::from(&shared)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(timeout)
                    .build(),
            );
        if let Some(endpoint) = endpoint_url {
            config = config.endpoint_url(endpoint);
        }
        Self::from_client(Client::from_conf(config.build()), model_id)
    }

    /// Use a configured client (tests point one at a local endpoint).
    pub fn from_client(client: Client, model_id: &str) -> Self {
        Self {
            client,
            model_id: model_id.to_string(),
            structured: AtomicBool::new(true),
        }
    }

    async fn converse(
        &self,
        request: &LlmRequest,
        structured: bool,
    ) -> Result<LlmResponse, Failure> {
        let mut messages = Vec::new();
        for message in &request.messages {
            let role = match message.role {
                Role::User => ConversationRole::User,
                Role::Assistant => ConversationRole::Assistant,
            };
            messages.push(
                Message::builder()
                    .role(role)
                    .content(ContentBlock::Text(message.content.clone()))
                    .build()
                    .map_err(|err| Failure::Other(LlmError::Refused(err.to_string())))?,
            );
        }
        let mut call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(request.system.clone()))
            .set_messages(Some(messages))
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
                    .temperature(request.temperature)
                    .build(),
            );
        if let (Some(schema), true) = (&request.response_schema, structured) {
            let definition = JsonSchemaDefinition::builder()
                .name("answer")
                .schema(schema.to_string())
                .build()
                .map_err(|err| Failure::Other(LlmError::Refused(err.to_string())))?;
            let format = OutputFormat::builder()
                .r#type(OutputFormatType::JsonSchema)
                .structure(OutputFormatStructure::JsonSchema(definition))
                .build()
                .map_err(|err| Failure::Other(LlmError::Refused(err.to_string())))?;
            call = call.output_config(OutputConfig::builder().text_format(format).build());
        }
        let output = call.send().await.map_err(classify)?;
        let text = match output.output() {
            Some(ConverseOutput::Message(message)) => message
                .content()
                .iter()
                .filter_map(|block| match block {
                    ContentBlock::Text(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(""),
            _ => {
                return Err(Failure::Other(LlmError::InvalidResponse(
                    "the Converse response has no message".into(),
                )));
            }
        };
        let finish = match output.stop_reason() {
            StopReason::EndTurn | StopReason::StopSequence => FinishReason::Stop,
            StopReason::MaxTokens => FinishReason::Length,
            other => FinishReason::Other(other.as_str().to_string()),
        };
        let usage = output
            .usage()
            .map_or_else(TokenUsage::default, |usage| TokenUsage {
                input_tokens: u64::try_from(usage.input_tokens()).unwrap_or(0),
                output_tokens: u64::try_from(usage.output_tokens()).unwrap_or(0),
            });
        Ok(LlmResponse {
            text,
            usage,
            model_id: self.model_id.clone(),
            finish,
            cached: false,
        })
    }
}

/// A failed call: a request the model refused as invalid (maybe because of
/// structured output), or anything else.
enum Failure {
    Validation(String),
    Other(LlmError),
}

fn classify<E, R>(error: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let message = format!(
                "Bedrock {code}: {}",
                service.err().message().unwrap_or("no message")
            );
            match code.as_str() {
                "ThrottlingException"
                | "ServiceQuotaExceededException"
                | "TooManyRequestsException" => Failure::Other(LlmError::Throttled {
                    message,
                    retry_after: None,
                }),
                "ModelTimeoutException"
                | "ServiceUnavailableException"
                | "InternalServerException"
                | "ModelNotReadyException"
                | "ModelErrorException" => Failure::Other(LlmError::Unavailable(message)),
                "ValidationException" => Failure::Validation(message),
                _ => Failure::Other(LlmError::Refused(message)),
            }
        }
        SdkError::TimeoutError(_) => {
            Failure::Other(LlmError::Unavailable("Bedrock call timed out".into()))
        }
        SdkError::DispatchFailure(failure) => Failure::Other(LlmError::Unavailable(format!(
            "Bedrock unreachable: {failure:?}"
        ))),
        SdkError::ResponseError(_) => Failure::Other(LlmError::Unavailable(format!(
            "Bedrock response unreadable: {error}"
        ))),
        _ => Failure::Other(LlmError::Refused(format!("Bedrock request: {error}"))),
    }
}

#[async_trait]
impl Llm for BedrockBackend {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let structured =
            request.response_schema.is_some() && self.structured.load(Ordering::Relaxed);
        match self.converse(request, structured).await {
            Ok(response) => Ok(response),
            Err(Failure::Validation(message)) if structured => {
                // Models without structured output refuse the request; the
                // prompt itself asks for JSON, and the answer is parsed anyway.
                tracing::info!(%message, "model refused structured output; asking without");
                self.structured.store(false, Ordering::Relaxed);
                self.converse(request, false)
                    .await
                    .map_err(|failure| match failure {
                        Failure::Validation(message) => LlmError::Refused(message),
                        Failure::Other(error) => error,
                    })
            }
            Err(Failure::Validation(message)) => Err(LlmError::Refused(message)),
            Err(Failure::Other(error)) => Err(error),
        }
    }
}
