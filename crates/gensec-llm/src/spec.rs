//! Which model to use, as written on the command line or in `GENSEC_LLM`:
//!
//! - `bedrock` or `bedrock:MODEL` (a Bedrock model id, a cross-region
//!   inference profile id such as `us.anthropic.claude-3-5-haiku-20241022-v1:0`,
//!   or an inference profile ARN), with options `,region=R` and `,endpoint=URL`;
//!   the model defaults to `GENSEC_BEDROCK_MODEL_ID`, then [`DEFAULT_BEDROCK_MODEL`].
//! - `openai=URL` (any OpenAI-compatible chat-completions server: OpenAI,
//!   Ollama, vLLM, llama.cpp), with options `,model=NAME`, `,key_env=VAR`
//!   (default `OPENAI_API_KEY`) and `,format=json_schema|json_object|none`;
//!   the model defaults to `GENSEC_OPENAI_MODEL`, then [`DEFAULT_OPENAI_MODEL`].
//!   `openai` alone uses `OPENAI_BASE_URL`, then [`DEFAULT_OPENAI_URL`].
//! - `none` or `off`: no model (the default).

use std::fmt;

pub const DEFAULT_BEDROCK_MODEL: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_OPENAI_URL: &str = "https://api.openai.com/v1";

/// How an OpenAI-compatible server is asked for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFormat {
    /// `response_format: {type: json_schema}` with the answer's schema.
    JsonSchema,
    /// `response_format: {type: json_object}`.
    JsonObject,
    /// No `response_format`; the prompt alone asks for JSON.
    None,
}

impl JsonFormat {
    /// The next weaker format, for servers that refuse this one.
    pub fn weaker(self) -> Option<Self> {
        match self {
            JsonFormat::JsonSchema => Some(JsonFormat::JsonObject),
            JsonFormat::JsonObject => Some(JsonFormat::None),
            JsonFormat::None => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmSpec {
    Bedrock {
        model_id: String,
        region: Option<String>,
        endpoint_url: Option<String>,
    },
    OpenAi {
        base_url: String,
        model: String,
        /// Environment variable holding the API key (never the key itself).
        api_key_env: String,
        format: JsonFormat,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--llm {spec:?}: {message}")]
pub struct SpecError {
    pub spec: String,
    pub message: String,
}

impl fmt::Display for LlmSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmSpec::Bedrock { model_id, .. } => write!(f, "bedrock:{model_id}"),
            LlmSpec::OpenAi {
                base_url, model, ..
            } => write!(f, "openai={base_url},model={model}"),
        }
    }
}

impl LlmSpec {
    /// Parse a spec; `Ok(None)` means no model. `env` reads defaults.
    pub fn parse(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, SpecError> {
        let mut parts = text.trim().split(',');
        let head = parts.next().unwrap_or_default().trim();
        let mut options = Options {
            spec: text,
            pairs: Vec::new(),
        };
        for option in parts {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| options.error(format!("option {option:?} is not key=value")))?;
            options
                .pairs
                .push((key.trim().to_string(), value.trim().to_string()));
        }
        let non_empty = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        match head {
            "" | "none" | "off" => Ok(None),
            _ if head == "bedrock" || head.starts_with("bedrock:") => {
                bedrock(head, &options, &non_empty).map(Some)
            }
            _ if head == "openai" || head.starts_with("openai=") => {
                openai(head, &options, &non_empty).map(Some)
            }
            other => Err(options.error(format!(
                "{other:?} is not a backend; use bedrock[:MODEL], openai=URL[,model=NAME] or none"
            ))),
        }
    }
}

/// The `key=value` options after a spec's backend.
struct Options<'a> {
    /// The whole spec, as given, for errors.
    spec: &'a str,
    pairs: Vec<(String, String)>,
}

impl Options<'_> {
    fn error(&self, message: String) -> SpecError {
        SpecError {
            spec: self.spec.to_string(),
            message,
        }
    }

    /// An option outside `allowed` is an error.
    fn refuse_unknown(&self, allowed: &[&str]) -> Result<(), SpecError> {
        match self
            .pairs
            .iter()
            .find(|(key, _)| !allowed.contains(&key.as_str()))
        {
            Some((key, _)) => Err(self.error(format!(
                "unknown option {key:?}; allowed: {}",
                allowed.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The option's value, unless it is empty.
    fn get(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    }
}

/// `bedrock[:MODEL][,region=..][,endpoint=..]`; the environment
/// (`non_empty`: a variable's value unless blank) fills in the model and region.
fn bedrock(
    head: &str,
    options: &Options<'_>,
    non_empty: &dyn Fn(&str) -> Option<String>,
) -> Result<LlmSpec, SpecError> {
    options.refuse_unknown(&["region", "endpoint"])?;
    let model_id = head
        .strip_prefix("bedrock:")
        .map(str::trim)
        .filter(|model| !model.is_empty())
        .map(str::to_string)
        .or_else(|| non_empty(crate::env::BEDROCK_MODEL_ID))
        .unwrap_or_else(|| DEFAULT_BEDROCK_MODEL.to_string());
    Ok(LlmSpec::Bedrock {
        model_id,
        region: options
            .get("region")
            .or_else(|| non_empty(crate::env::BEDROCK_REGION)),
        endpoint_url: options.get("endpoint"),
    })
}

/// `openai[=URL][,model=..][,key_env=..][,format=..]`; the environment
/// (`non_empty`) fills in the URL and model.
fn openai(
    head: &str,
    options: &Options<'_>,
    non_empty: &dyn Fn(&str) -> Option<String>,
) -> Result<LlmSpec, SpecError> {
    options.refuse_unknown(&["model", "key_env", "format"])?;
    let base_url = head
        .strip_prefix("openai=")
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .or_else(|| non_empty(crate::env::OPENAI_BASE_URL))
        .unwrap_or_else(|| DEFAULT_OPENAI_URL.to_string());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(options.error(format!("{base_url:?} is not an http(s) URL")));
    }
    let format = match options.get("format").as_deref() {
        None | Some("json_schema") => JsonFormat::JsonSchema,
        Some("json_object") => JsonFormat::JsonObject,
        Some("none") => JsonFormat::None,
        Some(other) => {
            return Err(options.error(format!(
                "format {other:?} is not json_schema, json_object or none"
            )));
        }
    };
    Ok(LlmSpec::OpenAi {
        base_url: base_url.trim_end_matches('/').to_string(),
        model: options
            .get("model")
            .or_else(|| non_empty(crate::env::OPENAI_MODEL))
            .unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_string()),
        api_key_env: options
            .get("key_env")
            .unwrap_or_else(|| crate::env::OPENAI_API_KEY.into()),
        format,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn bedrock_specs_keep_colons_in_model_ids() {
        let spec = LlmSpec::parse(
            "bedrock:us.anthropic.claude-sonnet-4-20250514-v1:0,region=eu-west-1",
            &no_env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            spec,
            LlmSpec::Bedrock {
                model_id: "us.anthropic.claude-sonnet-4-20250514-v1:0".into(),
                region: Some("eu-west-1".into()),
                endpoint_url: None
            }
        );
        let from_env = LlmSpec::parse("bedrock", &|name| {
            (name == "GENSEC_BEDROCK_MODEL_ID").then(|| "amazon.nova-micro-v1:0".to_string())
        })
        .unwrap()
        .unwrap();
        assert_eq!(from_env.to_string(), "bedrock:amazon.nova-micro-v1:0");
        assert_eq!(
            LlmSpec::parse("bedrock", &no_env)
                .unwrap()
                .unwrap()
                .to_string(),
            format!("bedrock:{DEFAULT_BEDROCK_MODEL}")
        );
    }

    #[test]
    fn openai_specs_take_url_model_and_format() {
        let spec = LlmSpec::parse(
            "openai=http://127.0.0.1:11434/v1/,model=llama3.1:8b,format=json_object",
            &no_env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            spec,
            LlmSpec::OpenAi {
                base_url: "http://127.0.0.1:11434/v1".into(),
                model: "llama3.1:8b".into(),
                api_key_env: "OPENAI_API_KEY".into(),
                format: JsonFormat::JsonObject
            }
        );
        assert_eq!(
            LlmSpec::parse("openai", &no_env)
                .unwrap()
                .unwrap()
                .to_string(),
            format!("openai={DEFAULT_OPENAI_URL},model={DEFAULT_OPENAI_MODEL}")
        );
    }

    #[test]
    fn none_and_errors() {
        assert_eq!(LlmSpec::parse("none", &no_env).unwrap(), None);
        assert_eq!(LlmSpec::parse("", &no_env).unwrap(), None);
        for bad in [
            "gemini",
            "openai=ftp://x",
            "bedrock,colour=red",
            "openai=http://x,format=xml",
            "openai=http://x,model",
        ] {
            assert!(LlmSpec::parse(bad, &no_env).is_err(), "{bad}");
        }
    }
}
