//! Names of the environment variables [`crate::from_env`] and
//! [`crate::spec::LlmSpec::parse`] read. The Lambda deployment definition
//! (`crates/gensec-lambda/functions.json`) lists them for the functions that
//! may call a model, and its test compares that list with [`ALL`].

/// The model spec: `bedrock[:MODEL]`, `openai=URL[,...]` or `none`.
pub const LLM: &str = "GENSEC_LLM";
/// Bedrock model or inference profile id when the spec names none.
pub const BEDROCK_MODEL_ID: &str = "GENSEC_BEDROCK_MODEL_ID";
/// Bedrock region when the spec names none.
pub const BEDROCK_REGION: &str = "GENSEC_BEDROCK_REGION";
/// OpenAI-compatible model when the spec names none.
pub const OPENAI_MODEL: &str = "GENSEC_OPENAI_MODEL";
/// OpenAI-compatible base URL when the spec names none.
pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
/// The API key, unless the spec's `key_env` names another variable.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// Token budget per run: `INPUT,OUTPUT`.
pub const LLM_BUDGET: &str = "GENSEC_LLM_BUDGET";
/// A JSON price file added to the built-in prices.
pub const LLM_PRICES: &str = "GENSEC_LLM_PRICES";
/// Seconds before one model call times out.
pub const LLM_TIMEOUT_SECS: &str = "GENSEC_LLM_TIMEOUT_SECS";
/// Attempts per model call (retries on throttling and timeouts).
pub const LLM_ATTEMPTS: &str = "GENSEC_LLM_ATTEMPTS";

/// Every variable above.
pub const ALL: &[&str] = &[
    LLM,
    BEDROCK_MODEL_ID,
    BEDROCK_REGION,
    OPENAI_MODEL,
    OPENAI_BASE_URL,
    OPENAI_API_KEY,
    LLM_BUDGET,
    LLM_PRICES,
    LLM_TIMEOUT_SECS,
    LLM_ATTEMPTS,
];
