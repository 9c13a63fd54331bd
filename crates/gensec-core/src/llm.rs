//! The `Llm` port: an optional language model that improves what a reviewer
//! reads. Adapters (Bedrock Converse, OpenAI-compatible chat completions) live
//! in `gensec-llm`; stages only see this trait.
//!
//! Nothing a model writes is trusted: stages parse answers with [`json`],
//! check every AWS name in them with [`names`] and the knowledge-base
//! validators, and fall back to their deterministic result whenever the model
//! is unavailable, over budget or unintelligible. [`session`] holds the
//! per-stage accounting (tokens, cost, budget) that ends up in the manifest
//! and the request tracking record.

pub mod json;
pub mod names;
pub mod prompt;
pub mod session;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// One completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmRequest {
    /// Instructions. Holds no user-supplied text: data goes in `messages`,
    /// inside [`prompt::data_block`]s.
    pub system: String,
    pub messages: Vec<Message>,
    /// JSON Schema of the answer, when a JSON answer is wanted. Adapters pass
    /// it to backends that can constrain output; the answer is parsed and
    /// checked either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<serde_json::Value>,
    pub max_tokens: u32,
    pub temperature: f32,
}

impl LlmRequest {
    /// Characters of instructions and messages, for estimates.
    pub fn prompt_chars(&self) -> usize {
        self.system.chars().count()
            + self
                .messages
                .iter()
                .map(|m| m.content.chars().count())
                .sum::<usize>()
            + self
                .response_schema
                .as_ref()
                .map_or(0, |schema| schema.to_string().len())
    }

    /// Input tokens estimated at four characters a token (the usual rule of
    /// thumb for English and JSON with GPT and Claude tokenizers).
    pub fn estimated_input_tokens(&self) -> u64 {
        (self.prompt_chars() as u64).div_ceil(4)
    }

    /// sha256 of everything that shapes the answer, with the model id: the
    /// response cache key, and what records cite instead of the prompt text.
    pub fn fingerprint(&self, model_id: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(model_id.as_bytes());
        hasher.update([0]);
        // Serialising a struct of strings, numbers and JSON values cannot fail.
        hasher.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(hasher.finalize())
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A complete answer.
    Stop,
    /// Cut off at `max_tokens`: the answer may be truncated.
    Length,
    /// Anything else the backend reported (content filter, guardrail, ...).
    Other(String),
}

/// Tokens of one call, as the backend reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmResponse {
    pub text: String,
    pub usage: TokenUsage,
    /// The model that answered, as the backend named it.
    pub model_id: String,
    pub finish: FinishReason,
    /// Served from the response cache: `usage` is what the original call
    /// cost, and nothing new was spent.
    #[serde(default)]
    pub cached: bool,
}

/// Why a completion failed. Stages never fail because of one: they record
/// the reason and keep their deterministic result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// Rate limited (HTTP 429, `ThrottlingException`); worth retrying.
    #[error("throttled: {message}")]
    Throttled {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Timeouts, connection failures, 5xx: worth retrying.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The backend refused the request (credentials, unknown model, bad
    /// request); retrying the same request fails the same way.
    #[error("refused: {0}")]
    Refused(String),
    /// The run's token budget does not cover the call.
    #[error("token budget exhausted: {0}")]
    Budget(String),
    /// The backend answered something that is not a completion.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl LlmError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, LlmError::Throttled { .. } | LlmError::Unavailable(_))
    }
}

/// Prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl ModelPrice {
    /// Cost of `usage`, in millionths of a dollar (integers keep tracking
    /// records exact and comparable).
    pub fn cost_micro_usd(&self, usage: TokenUsage) -> u64 {
        let dollars = usage.input_tokens as f64 * self.input_per_mtok / 1e6
            + usage.output_tokens as f64 * self.output_per_mtok / 1e6;
        (dollars * 1e6).round().max(0.0) as u64
    }
}

/// Most tokens one run may spend, over all stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBudget {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Default for TokenBudget {
    /// Above the 15k/4k a one-service run is built to need, so normal runs
    /// never meet it; it stops runaway prompts and repeated calls.
    fn default() -> Self {
        Self {
            input_tokens: 30_000,
            output_tokens: 8_000,
        }
    }
}

/// Token usage of a stage or a run. `input_tokens`/`output_tokens` are new
/// (billed) tokens; answers served from the cache count under `cached_*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmUsage {
    pub calls: u32,
    pub cache_hits: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_input_tokens: u64,
    #[serde(default)]
    pub cached_output_tokens: u64,
    /// Estimated cost of the new tokens, in millionths of a US dollar, from
    /// the configured price table; absent when the model has no price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost_micro_usd: Option<u64>,
}

impl LlmUsage {
    /// Count one answer.
    pub fn record(&mut self, response: &LlmResponse, price: Option<ModelPrice>) {
        self.calls += 1;
        if response.cached {
            self.cache_hits += 1;
            self.cached_input_tokens += response.usage.input_tokens;
            self.cached_output_tokens += response.usage.output_tokens;
            // A cached answer costs nothing, which is a known cost.
            if price.is_some() {
                self.estimated_cost_micro_usd.get_or_insert(0);
            }
            return;
        }
        self.input_tokens += response.usage.input_tokens;
        self.output_tokens += response.usage.output_tokens;
        if let Some(price) = price {
            *self.estimated_cost_micro_usd.get_or_insert(0) += price.cost_micro_usd(response.usage);
        }
    }

    /// Add another stage's usage.
    pub fn add(&mut self, other: &LlmUsage) {
        self.calls += other.calls;
        self.cache_hits += other.cache_hits;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cached_output_tokens += other.cached_output_tokens;
        if let Some(cost) = other.estimated_cost_micro_usd {
            *self.estimated_cost_micro_usd.get_or_insert(0) += cost;
        }
    }

    /// The estimated cost in dollars.
    pub fn estimated_cost_usd(&self) -> Option<f64> {
        self.estimated_cost_micro_usd
            .map(|micro| micro as f64 / 1_000_000.0)
    }
}

/// A language model.
#[async_trait]
pub trait Llm: Send + Sync + std::fmt::Debug {
    /// The configured model id (a Bedrock model or inference profile id, or
    /// the model name an OpenAI-compatible server knows).
    fn model_id(&self) -> &str;

    /// Price of this model, when the price table knows it.
    fn price(&self) -> Option<ModelPrice> {
        None
    }

    /// Most tokens one run may spend with this model; `None` is unlimited.
    fn run_budget(&self) -> Option<TokenBudget> {
        None
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

/// Did a stage use the model's answer, or its deterministic result alone?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmOutcome {
    /// The answer was parsed and its validated parts applied.
    Applied,
    /// The model was unavailable, over budget or unintelligible: the stage's
    /// output is the deterministic result.
    Deterministic,
}

/// What one stage did with the model: written to `llm/<stage>.json` and kept
/// in the stage's outcome. Holds no prompt or answer text (the
/// answer may hold invented names; only validated parts reach the outputs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmStageRecord {
    pub stage: String,
    pub model_id: String,
    pub outcome: LlmOutcome,
    /// Why the stage kept its deterministic result, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The fallback was because the model could not be reached (after
    /// retries), so later stages of the run need not try again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
    pub usage: LlmUsage,
    /// [`LlmRequest::fingerprint`] of each call.
    pub prompt_sha256: Vec<String>,
    /// What the JSON parser had to repair (code fence, prose, truncation).
    #[serde(default)]
    pub repairs: Vec<String>,
    /// Items of the answer (rationales, adjustments, recommendations, answers).
    pub items_proposed: u64,
    pub items_accepted: u64,
    pub items_rejected: u64,
    /// AWS names the answer used, and how many of them do not exist.
    pub names_checked: u64,
    pub names_unknown: u64,
}

impl LlmStageRecord {
    pub fn new(stage: &str, model_id: &str) -> Self {
        Self {
            stage: stage.to_string(),
            model_id: model_id.to_string(),
            outcome: LlmOutcome::Deterministic,
            fallback_reason: None,
            unreachable: false,
            usage: LlmUsage::default(),
            prompt_sha256: Vec::new(),
            repairs: Vec::new(),
            items_proposed: 0,
            items_accepted: 0,
            items_rejected: 0,
            names_checked: 0,
            names_unknown: 0,
        }
    }

    /// Keep the deterministic result, saying why.
    pub fn fall_back(&mut self, reason: impl Into<String>) {
        self.outcome = LlmOutcome::Deterministic;
        self.fallback_reason = Some(reason.into());
    }

    /// Keep the deterministic result because a call failed.
    pub fn fall_back_on(&mut self, error: &LlmError) {
        self.fall_back(error.to_string());
        self.unreachable = error.is_retryable();
    }

    /// Unknown names over names checked; `None` before any name was checked.
    pub fn hallucination_rate(&self) -> Option<f64> {
        (self.names_checked > 0).then(|| self.names_unknown as f64 / self.names_checked as f64)
    }
}

/// The records of the stages before this one in this run, so a later stage,
/// possibly in another process, stays within the run's budget and knows
/// whether the model was reachable.
pub fn earlier_records(earlier: &[crate::contract::stage::StageOutcome]) -> Vec<LlmStageRecord> {
    earlier
        .iter()
        .filter_map(|outcome| outcome.llm.clone())
        .collect()
}

/// Write a stage's record to `llm/<stage>.json`.
pub async fn write_record(
    writer: &mut crate::contract::stage::PackageWriter<'_>,
    stage: crate::contract::stage::StageId,
    record: &LlmStageRecord,
) -> crate::Result<()> {
    writer
        .put_json(&crate::contract::paths::llm_record(stage), record)
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn response(cached: bool) -> LlmResponse {
        LlmResponse {
            text: "{}".into(),
            usage: TokenUsage {
                input_tokens: 10_000,
                output_tokens: 2_000,
            },
            model_id: "m".into(),
            finish: FinishReason::Stop,
            cached,
        }
    }

    #[test]
    fn usage_counts_new_and_cached_tokens_apart_and_prices_only_new_ones() {
        let price = ModelPrice {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
        };
        let mut usage = LlmUsage::default();
        usage.record(&response(false), Some(price));
        usage.record(&response(true), Some(price));
        assert_eq!((usage.calls, usage.cache_hits), (2, 1));
        assert_eq!((usage.input_tokens, usage.output_tokens), (10_000, 2_000));
        assert_eq!(usage.cached_input_tokens, 10_000);
        // 10k * $3/M + 2k * $15/M = $0.06
        assert_eq!(usage.estimated_cost_micro_usd, Some(60_000));
        assert_eq!(usage.estimated_cost_usd(), Some(0.06));
    }

    #[test]
    fn fingerprint_depends_on_model_and_prompt_only() {
        let request = LlmRequest {
            system: "s".into(),
            messages: vec![Message::user("u")],
            response_schema: None,
            max_tokens: 10,
            temperature: 0.0,
        };
        assert_eq!(request.fingerprint("a"), request.fingerprint("a"));
        assert_ne!(request.fingerprint("a"), request.fingerprint("b"));
        let mut other = request.clone();
        other.messages[0].content.push('!');
        assert_ne!(request.fingerprint("a"), other.fingerprint("a"));
    }
}
