//! Live refresh from AWS's published sources, for the AWS deployment.
//!
//! Three sources, each refreshed on its own so one failing never blocks the
//! others:
//!
//! - `cloudformation-schemas`: the per-region zip of resource provider schemas
//!   (`cfn_schemas.rs`),
//! - `iam-service-reference`: the Service Authorization Reference JSON
//!   (`iam_reference.rs`),
//! - `config-managed-rules`: the AWS Config developer guide's rule pages
//!   (`config_docs.rs`).
//!
//! A source that answers replaces its part of the document and its
//! `SourceStatus` says `live` (or `cache` when every body came from the cache
//! or a 304) with the fetch time. A source that fails (HTTP error, timeout,
//! unparsable body) leaves the baseline in place, records a warning on its
//! `SourceStatus` and returns it to the caller. A source that answers only in
//! part (one IAM prefix, one rule page) uses what it got and records the rest
//! as a warning. Bodies are cached in the object store under
//! [`CACHE_PREFIX`] (`http_cache.rs`).

mod cfn_schemas;
mod config_docs;
mod http_cache;
mod iam_reference;
pub mod settings;

pub use http_cache::{CACHE_PREFIX, cache_key};
pub use settings::LiveSources;

use chrono::{DateTime, SecondsFormat, Utc};
use gensec_core::ErrorKind;
use gensec_core::ports::ObjectStore;
use gensec_kb::ingest::IngestError;
use gensec_kb::{Kb, ServiceDocumentation, SourceStatus};
use http_cache::{HttpCache, Stamp};
use std::sync::Arc;
use std::time::Duration;

pub use gensec_kb::{SOURCE_CFN, SOURCE_CONFIG, SOURCE_IAM};

/// Where the live sources are and how patiently to ask them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// Zip of every resource provider schema of one region.
    pub cfn_schema_url: String,
    /// Region the schema zip describes; recorded as the only known region of
    /// resource types the baseline does not have.
    pub cfn_schema_region: String,
    /// Index of the Service Authorization Reference (a JSON list of services).
    pub iam_reference_url: String,
    /// The Config developer guide's list of managed rules.
    pub config_rules_url: String,
    /// Per request, including reading the body.
    pub timeout: Duration,
    /// How long a cached body is used without asking the server.
    pub cache_ttl: Duration,
    /// Extra attempts after a timeout, connection failure or 5xx.
    pub retries: u32,
    pub retry_backoff: Duration,
    /// At most this many Config rule pages per refresh (the service's own
    /// rules first, then newly listed ones).
    pub max_config_rule_pages: usize,
    /// Rule pages fetched at the same time.
    pub max_concurrent_requests: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self::for_region("us-east-1")
    }
}

impl LiveConfig {
    /// AWS's real endpoints, with the CloudFormation schemas of `region`.
    pub fn for_region(region: &str) -> Self {
        Self {
            cfn_schema_url: format!(
                "https://schema.cloudformation.{region}.amazonaws.com/CloudformationSchema.zip"
            ),
            cfn_schema_region: region.to_string(),
            iam_reference_url: "https://servicereference.us-east-1.amazonaws.com/".into(),
            config_rules_url: "https://docs.aws.amazon.com/config/latest/developerguide/managed-rules-by-aws-config.html".into(),
            timeout: Duration::from_secs(60),
            cache_ttl: Duration::from_secs(24 * 60 * 60),
            retries: 1,
            retry_backoff: Duration::from_millis(500),
            max_config_rule_pages: 150,
            max_concurrent_requests: 8,
        }
    }

    /// All three sources on one mirror that keeps AWS's paths (tests, proxies).
    pub fn with_base_url(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Self {
            cfn_schema_url: format!("{base}/CloudformationSchema.zip"),
            iam_reference_url: format!("{base}/"),
            config_rules_url: format!(
                "{base}/config/latest/developerguide/managed-rules-by-aws-config.html"
            ),
            ..Self::default()
        }
    }
}

/// Why a live source could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),

    #[error("GET {url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },

    #[error("{url}: {message}")]
    Unparsable { url: String, message: String },

    #[error("{url}: not JSON of the expected shape: {source}")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("{url}: not a readable zip archive: {source}")]
    Zip {
        url: String,
        #[source]
        source: zip::result::ZipError,
    },

    #[error("{url}: {source}")]
    Ingest {
        url: String,
        #[source]
        source: IngestError,
    },
}

impl LiveError {
    /// Timeouts, connection failures and 5xx may pass on their own.
    pub fn is_transient(&self) -> bool {
        match self {
            LiveError::Request { source, .. } => source.is_timeout() || source.is_connect(),
            LiveError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Network trouble is worth retrying later; a body that does not parse
    /// (or a 4xx) will not get better by itself.
    pub fn kind(&self) -> ErrorKind {
        if self.is_transient() || matches!(self, LiveError::Request { .. }) {
            ErrorKind::Retryable
        } else {
            ErrorKind::Fatal
        }
    }

    /// The message with its causes, for warnings (`reqwest` keeps the
    /// interesting part, such as "operation timed out", in a source).
    pub fn describe(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let message = cause.to_string();
            if !text.contains(&message) {
                text.push_str(": ");
                text.push_str(&message);
            }
            source = cause.source();
        }
        text
    }
}

/// What one source produced: new data, or `None` to keep the baseline.
#[derive(Debug)]
pub(crate) struct Refreshed<T> {
    pub(crate) data: Option<T>,
    /// Every body the new data was built from.
    pub(crate) stamps: Vec<Stamp>,
    /// Warnings, without the source name.
    pub(crate) problems: Vec<String>,
}

impl<T> Refreshed<T> {
    pub(crate) fn failed(error: &LiveError) -> Self {
        Self {
            data: None,
            stamps: Vec::new(),
            problems: vec![format!("{}; keeping the baseline", error.describe())],
        }
    }

    /// Nothing to refresh (the service has no such facts).
    pub(crate) fn nothing() -> Self {
        Self {
            data: None,
            stamps: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Fetches fresher facts for one service from AWS's published sources.
#[derive(Clone)]
pub struct LiveCollector {
    config: LiveConfig,
    client: reqwest::Client,
    /// Where bodies are cached; the run's store when `None`.
    cache_store: Option<Arc<dyn ObjectStore>>,
}

impl std::fmt::Debug for LiveCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCollector")
            .field("config", &self.config)
            .field("own_cache_store", &self.cache_store.is_some())
            .finish_non_exhaustive()
    }
}

impl LiveCollector {
    pub fn new(config: LiveConfig) -> Result<Self, LiveError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("gensec/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(LiveError::Client)?;
        Ok(Self {
            config,
            client,
            cache_store: None,
        })
    }

    /// Cache bodies in `store` (under [`CACHE_PREFIX`]) instead of the run's
    /// store, e.g. a directory beside the CLI's packages.
    pub fn with_cache_store(mut self, store: Arc<dyn ObjectStore>) -> Self {
        self.cache_store = Some(store);
        self
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// Replace the document's facts with live ones where a source answers;
    /// returns warnings for sources that failed (the baseline stays in place).
    pub async fn refresh(
        &self,
        kb: &Kb,
        doc: &mut ServiceDocumentation,
        store: &dyn ObjectStore,
    ) -> Vec<String> {
        let cache = HttpCache {
            client: &self.client,
            store: self.cache_store.as_deref().unwrap_or(store),
            ttl: self.config.cache_ttl,
            retries: self.config.retries,
            retry_backoff: self.config.retry_backoff,
        };
        // The sources only read the document while fetching; it is changed afterwards.
        let (cfn, iam, config) = {
            let snapshot: &ServiceDocumentation = doc;
            tokio::join!(
                cfn_schemas::refresh(&cache, &self.config, snapshot),
                iam_reference::refresh(&cache, &self.config, snapshot),
                config_docs::refresh(&cache, &self.config, kb, snapshot),
            )
        };
        let mut warnings = Vec::new();
        if let Some(data) = apply(doc, SOURCE_CFN, cfn, &mut warnings) {
            doc.resource_types = data;
        }
        if let Some(data) = apply(doc, SOURCE_IAM, iam, &mut warnings) {
            doc.iam_services = data;
        }
        if let Some(data) = apply(doc, SOURCE_CONFIG, config, &mut warnings) {
            doc.config_rules = data;
        }
        warnings
    }
}

/// Record a source's outcome on its `SourceStatus` and in `warnings`; returns
/// the data to put in the document, if any.
fn apply<T>(
    doc: &mut ServiceDocumentation,
    source: &str,
    refreshed: Refreshed<T>,
    warnings: &mut Vec<String>,
) -> Option<T> {
    let Refreshed {
        data,
        stamps,
        problems,
    } = refreshed;
    if data.is_none() && problems.is_empty() {
        return None;
    }
    let index = match doc
        .sources
        .iter()
        .position(|status| status.source == source)
    {
        Some(index) => index,
        None => {
            doc.sources.push(SourceStatus {
                source: source.to_string(),
                origin: "baseline".into(),
                as_of: doc.kb_data_date.clone(),
                warning: None,
            });
            doc.sources.len() - 1
        }
    };
    let status = &mut doc.sources[index];
    status.warning = (!problems.is_empty()).then(|| problems.join("; "));
    warnings.extend(
        problems
            .iter()
            .map(|problem| format!("{source}: {problem}")),
    );
    if data.is_some() {
        let from_network = stamps.iter().any(|stamp| stamp.from_network);
        status.origin = if from_network { "live" } else { "cache" }.into();
        // The oldest body bounds how current the data is.
        let as_of: DateTime<Utc> = stamps
            .iter()
            .map(|stamp| stamp.fetched_at)
            .min()
            .unwrap_or_else(Utc::now);
        status.as_of = as_of.to_rfc3339_opts(SecondsFormat::Secs, true);
    }
    data
}
