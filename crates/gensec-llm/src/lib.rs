//! Adapters for the `Llm` port ([`gensec_core::llm::Llm`]): Amazon Bedrock
//! (Converse, [`bedrock`]) and OpenAI-compatible chat completions
//! ([`openai`]), chosen by a spec such as `bedrock:MODEL` or
//! `openai=URL,model=NAME` ([`spec`]).
//!
//! [`Client`] wraps either backend with what every run needs: retries with
//! backoff for throttling and timeouts ([`retry`]), a response cache keyed by
//! the prompt's fingerprint in an object store ([`cache`]), the model's price
//! from a configurable table ([`price`]) and the per-run token budget that
//! stages enforce. Parsing and checking answers is the stages' job (with
//! `gensec_core::llm::json` and the knowledge-base validators).
//!
//! Environment: `GENSEC_LLM` (the spec), `GENSEC_BEDROCK_MODEL_ID`,
//! `GENSEC_BEDROCK_REGION`, `GENSEC_OPENAI_MODEL`, `OPENAI_BASE_URL`,
//! `OPENAI_API_KEY`, `GENSEC_LLM_BUDGET` (`INPUT,OUTPUT` tokens per run),
//! `GENSEC_LLM_PRICES` (a JSON price file), `GENSEC_LLM_TIMEOUT_SECS`,
//! `GENSEC_LLM_ATTEMPTS`.

pub mod bedrock;
pub mod cache;
pub mod env;
pub mod openai;
pub mod price;
pub mod retry;
pub mod spec;

use async_trait::async_trait;
use gensec_core::llm::{Llm, LlmError, LlmRequest, LlmResponse, ModelPrice, TokenBudget};
use gensec_core::ports::ObjectStore;
use std::sync::Arc;
use std::time::Duration;

pub use cache::ResponseCache;
pub use price::PriceTable;
pub use retry::RetryPolicy;
pub use spec::{JsonFormat, LlmSpec, SpecError};

/// A backend with retries, cache, price and budget.
#[derive(Debug)]
pub struct Client {
    backend: Arc<dyn Llm>,
    retry: RetryPolicy,
    cache: Option<ResponseCache>,
    price: Option<ModelPrice>,
    budget: Option<TokenBudget>,
}

impl Client {
    pub fn new(backend: Arc<dyn Llm>) -> Self {
        Self {
            backend,
            retry: RetryPolicy::default(),
            cache: None,
            price: None,
            budget: Some(TokenBudget::default()),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_cache(mut self, cache: Option<ResponseCache>) -> Self {
        self.cache = cache;
        self
    }

    pub fn with_price(mut self, price: Option<ModelPrice>) -> Self {
        self.price = price;
        self
    }

    pub fn with_budget(mut self, budget: Option<TokenBudget>) -> Self {
        self.budget = budget;
        self
    }
}

#[async_trait]
impl Llm for Client {
    fn model_id(&self) -> &str {
        self.backend.model_id()
    }

    fn price(&self) -> Option<ModelPrice> {
        self.price
    }

    fn run_budget(&self) -> Option<TokenBudget> {
        self.budget
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let model_id = self.backend.model_id();
        if let Some(cache) = &self.cache
            && let Some(hit) = cache.get(model_id, request).await
        {
            tracing::info!("LLM answer served from the cache");
            return Ok(hit);
        }
        let response = self.retry.run(|| self.backend.complete(request)).await?;
        if let Some(cache) = &self.cache {
            cache.put(model_id, request, &response).await;
        }
        Ok(response)
    }
}

/// Why a model could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Backend(#[from] LlmError),
}

/// Everything [`build`] needs.
#[derive(Clone)]
pub struct LlmOptions {
    pub spec: LlmSpec,
    /// `None` leaves runs unlimited.
    pub budget: Option<TokenBudget>,
    pub prices: PriceTable,
    pub retry: RetryPolicy,
    /// Longest wait for one call (local models on a CPU are slow).
    pub timeout: Duration,
    pub cache: Option<ResponseCache>,
    /// The OpenAI API key, when the spec's `key_env` variable holds one.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for LlmOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmOptions")
            .field("spec", &self.spec)
            .field("budget", &self.budget)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Read an environment variable (the process's, or a test's).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `INPUT,OUTPUT` (or `INPUT/OUTPUT`) tokens per run; `none` for no budget.
pub fn parse_budget(text: &str) -> Result<Option<TokenBudget>, String> {
    let text = text.trim();
    if matches!(text, "none" | "off" | "unlimited") {
        return Ok(None);
    }
    let (input, output) = text
        .split_once([',', '/'])
        .ok_or_else(|| format!("token budget {text:?} is not INPUT,OUTPUT"))?;
    let number = |part: &str| {
        part.trim()
            .replace('_', "")
            .parse::<u64>()
            .map_err(|_| format!("token budget {text:?}: {part:?} is not a number"))
    };
    Ok(Some(TokenBudget {
        input_tokens: number(input)?,
        output_tokens: number(output)?,
    }))
}

impl LlmOptions {
    /// Options for `spec` with defaults, overridden by the environment.
    pub fn from_env(spec: LlmSpec, env: Env<'_>) -> Result<Self, SetupError> {
        let mut options = Self {
            api_key: match &spec {
                LlmSpec::OpenAi { api_key_env, .. } => env(api_key_env),
                LlmSpec::Bedrock { .. } => None,
            },
            spec,
            budget: Some(TokenBudget::default()),
            prices: PriceTable::builtin(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(300),
            cache: None,
        };
        if let Some(budget) = env(env::LLM_BUDGET) {
            options.budget = parse_budget(&budget).map_err(SetupError::Config)?;
        }
        if let Some(path) = env(env::LLM_PRICES) {
            options = options.with_price_file(std::path::Path::new(&path))?;
        }
        if let Some(seconds) = env(env::LLM_TIMEOUT_SECS) {
            let seconds: u64 = seconds.trim().parse().map_err(|_| {
                SetupError::Config(format!(
                    "{}={seconds:?} is not a number",
                    env::LLM_TIMEOUT_SECS
                ))
            })?;
            options.timeout = Duration::from_secs(seconds.max(1));
        }
        if let Some(attempts) = env(env::LLM_ATTEMPTS) {
            options.retry.attempts = attempts.trim().parse().map_err(|_| {
                SetupError::Config(format!(
                    "{}={attempts:?} is not a number",
                    env::LLM_ATTEMPTS
                ))
            })?;
        }
        Ok(options)
    }

    /// Add the prices of a JSON price file to the table.
    pub fn with_price_file(mut self, path: &std::path::Path) -> Result<Self, SetupError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| SetupError::Config(format!("reading {}: {err}", path.display())))?;
        let table = PriceTable::from_json(&text)
            .map_err(|err| SetupError::Config(format!("{}: {err}", path.display())))?;
        self.prices = self.prices.merged(table);
        Ok(self)
    }

    /// Cache answers in `store` under `prefix`.
    pub fn with_cache(mut self, store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        self.cache = Some(ResponseCache::new(store, prefix));
        self
    }
}

/// Models served from this machine cost nothing per token.
fn is_local(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    host == "localhost" || host.starts_with("127.") || url.contains("://[::1]")
}

/// The configured model, ready for the stages.
pub async fn build(options: LlmOptions) -> Result<Arc<dyn Llm>, SetupError> {
    let (backend, local): (Arc<dyn Llm>, bool) = match &options.spec {
        LlmSpec::Bedrock {
            model_id,
            region,
            endpoint_url,
        } => (
            Arc::new(
                bedrock::BedrockBackend::new(
                    model_id,
                    region.as_deref(),
                    endpoint_url.as_deref(),
                    options.timeout,
                )
                .await,
            ),
            false,
        ),
        LlmSpec::OpenAi {
            base_url,
            model,
            format,
            ..
        } => (
            Arc::new(openai::OpenAiBackend::new(
                base_url,
                model,
                options.api_key.clone(),
                *format,
                options.timeout,
            )?),
            is_local(base_url),
        ),
    };
    let price = options.prices.lookup(backend.model_id()).or_else(|| {
        local.then_some(ModelPrice {
            input_per_mtok: 0.0,
            output_per_mtok: 0.0,
        })
    });
    Ok(Arc::new(
        Client::new(backend)
            .with_retry(options.retry)
            .with_cache(options.cache)
            .with_price(price)
            .with_budget(options.budget),
    ))
}

/// The model `GENSEC_LLM` names, if any, configured from the environment
/// (for the Lambdas, whose configuration is their environment), answers
/// cached in `cache` (the output bucket under `llm-cache/`, say).
pub async fn from_env(
    env: Env<'_>,
    cache: Option<ResponseCache>,
) -> Result<Option<Arc<dyn Llm>>, SetupError> {
    let Some(text) = env(env::LLM) else {
        return Ok(None);
    };
    match LlmSpec::parse(&text, env)? {
        None => Ok(None),
        Some(spec) => {
            let mut options = LlmOptions::from_env(spec, env)?;
            options.cache = cache;
            Ok(Some(build(options).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn the_environment_configures_the_model() {
        assert!(from_env(&|_| None, None).await.unwrap().is_none());
        let none = |name: &str| (name == "GENSEC_LLM").then(|| "none".to_string());
        assert!(from_env(&none, None).await.unwrap().is_none());
        let env = |name: &str| match name {
            "GENSEC_LLM" => Some("openai=https://api.openai.com/v1".to_string()),
            "GENSEC_OPENAI_MODEL" => Some("gpt-4o-mini".to_string()),
            "GENSEC_LLM_BUDGET" => Some("15000,4000".to_string()),
            "OPENAI_API_KEY" => Some("sk-test".to_string()),
            _ => None,
        };
        let llm = from_env(&env, None).await.unwrap().unwrap();
        assert_eq!(llm.model_id(), "gpt-4o-mini");
        assert_eq!(llm.price().unwrap().input_per_mtok, 0.15);
        assert_eq!(llm.run_budget().unwrap().output_tokens, 4_000);
        assert!(!format!("{llm:?}").contains("sk-test"));
        let bad = |name: &str| (name == "GENSEC_LLM").then(|| "gemini".to_string());
        assert!(matches!(
            from_env(&bad, None).await,
            Err(SetupError::Spec(_))
        ));
    }

    #[test]
    fn budgets_and_local_urls() {
        assert_eq!(
            parse_budget("15000,4000").unwrap(),
            Some(TokenBudget {
                input_tokens: 15_000,
                output_tokens: 4_000
            })
        );
        assert_eq!(
            parse_budget("20_000/5_000").unwrap().unwrap().input_tokens,
            20_000
        );
        assert_eq!(parse_budget("none").unwrap(), None);
        assert!(parse_budget("lots").is_err());
        assert!(is_local("http://127.0.0.1:11434/v1"));
        assert!(is_local("http://localhost:8000/v1"));
        assert!(!is_local("https://api.openai.com/v1"));
    }
}
