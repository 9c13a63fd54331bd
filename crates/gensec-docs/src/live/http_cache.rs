//! HTTP GET with a cache kept in the run's object store.
//!
//! A fetched body lives under `cache/docs/<sha256 of url>` with a JSON sidecar
//! (`.meta`) holding the URL, the validators (ETag, Last-Modified) and the
//! fetch time. Within the TTL a body is served from the cache without a
//! request; after it, the request is conditional and a 304 reuses the body.
//! Callers store a body with [`HttpCache::keep`] only once they have parsed
//! it, so an unparsable answer is never served from the cache later.

use super::LiveError;
use chrono::{DateTime, Utc};
use gensec_core::ports::ObjectStore;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{Client, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Prefix of cached bodies and their sidecars in the object store.
pub const CACHE_PREFIX: &str = "cache/docs";

/// Object key of a URL's cached body; the sidecar is the same key plus `.meta`.
pub fn cache_key(url: &str) -> String {
    format!(
        "{CACHE_PREFIX}/{}",
        hex::encode(Sha256::digest(url.as_bytes()))
    )
}

fn meta_key(url: &str) -> String {
    format!("{}.meta", cache_key(url))
}

/// The sidecar of a cached body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CacheMeta {
    pub(crate) url: String,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    /// When the body was last fetched or revalidated.
    pub(crate) fetched_at: DateTime<Utc>,
}

/// How a body was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// A 200 answer.
    Network,
    /// From the cache, within the TTL, without a request.
    Cache,
    /// From the cache after the server answered 304.
    Revalidated,
}

/// Where one body used for a source came from, for its `SourceStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) from_network: bool,
    pub(crate) fetched_at: DateTime<Utc>,
}

/// A body and how it was obtained.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
    pub(crate) served: Served,
    meta: CacheMeta,
}

impl Fetched {
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp {
            from_network: self.served == Served::Network,
            fetched_at: self.meta.fetched_at,
        }
    }

    pub(crate) fn text(&self) -> Result<&str, LiveError> {
        std::str::from_utf8(&self.body).map_err(|err| LiveError::Unparsable {
            url: self.url.clone(),
            message: format!("body is not UTF-8: {err}"),
        })
    }
}

/// What one request returned.
enum Reply {
    NotModified,
    Body {
        etag: Option<String>,
        last_modified: Option<String>,
        body: Vec<u8>,
    },
}

/// GETs through the object-store cache, with a small retry on transient failures.
#[derive(Clone, Copy)]
pub(crate) struct HttpCache<'a> {
    pub(crate) client: &'a Client,
    pub(crate) store: &'a dyn ObjectStore,
    pub(crate) ttl: Duration,
    pub(crate) retries: u32,
    pub(crate) retry_backoff: Duration,
}

impl std::fmt::Debug for HttpCache<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpCache")
            .field("ttl", &self.ttl)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .finish_non_exhaustive()
    }
}

impl HttpCache<'_> {
    /// The body at `url`, from the cache when fresh, else from the network.
    pub(crate) async fn get(&self, url: &str) -> Result<Fetched, LiveError> {
        let cached = self.cached(url).await;
        let now = Utc::now();
        if let Some((meta, body)) = cached.as_ref().filter(|(meta, _)| self.is_fresh(meta, now)) {
            return Ok(Fetched {
                url: url.to_string(),
                body: body.clone(),
                served: Served::Cache,
                meta: meta.clone(),
            });
        }
        match self
            .send(url, cached.as_ref().map(|(meta, _)| meta))
            .await?
        {
            Reply::NotModified => {
                // Validators are only sent with a cached copy, so this is a server bug.
                let (mut meta, body) = cached.ok_or_else(|| LiveError::Unparsable {
                    url: url.to_string(),
                    message: "304 Not Modified to an unconditional request".into(),
                })?;
                meta.fetched_at = now;
                Ok(Fetched {
                    url: url.to_string(),
                    body,
                    served: Served::Revalidated,
                    meta,
                })
            }
            Reply::Body {
                etag,
                last_modified,
                body,
            } => Ok(Fetched {
                url: url.to_string(),
                body,
                served: Served::Network,
                meta: CacheMeta {
                    url: url.to_string(),
                    etag,
                    last_modified,
                    fetched_at: now,
                },
            }),
        }
    }

    /// Cache a body the caller could parse. Failures only cost a refetch
    /// later, so they are logged, not reported.
    pub(crate) async fn keep(&self, fetched: &Fetched) {
        if fetched.served == Served::Cache {
            return;
        }
        if fetched.served == Served::Network {
            let key = cache_key(&fetched.url);
            if let Err(err) = self
                .store
                .put(&key, fetched.body.clone(), "application/octet-stream")
                .await
            {
                tracing::warn!(url = %fetched.url, %key, error = %err, "caching a fetched document failed");
                return;
            }
        }
        // The sidecar goes last: a sidecar without its body would be a cache hit on nothing.
        let key = meta_key(&fetched.url);
        let meta = match serde_json::to_vec_pretty(&fetched.meta) {
            Ok(meta) => meta,
            Err(err) => {
                tracing::warn!(url = %fetched.url, error = %err, "serialising a cache sidecar failed");
                return;
            }
        };
        if let Err(err) = self.store.put(&key, meta, "application/json").await {
            tracing::warn!(url = %fetched.url, %key, error = %err, "writing a cache sidecar failed");
        }
    }

    fn is_fresh(&self, meta: &CacheMeta, now: DateTime<Utc>) -> bool {
        // A fetch time in the future (clock skew) is treated as stale.
        (now - meta.fetched_at)
            .to_std()
            .is_ok_and(|age| age < self.ttl)
    }

    /// The cached sidecar and body of `url`; any problem is a cache miss.
    async fn cached(&self, url: &str) -> Option<(CacheMeta, Vec<u8>)> {
        let meta = match self.store.get(&meta_key(url)).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!(url, error = %err, "reading the document cache failed");
                return None;
            }
        };
        let meta: CacheMeta = match serde_json::from_slice(&meta) {
            Ok(meta) => meta,
            Err(err) => {
                tracing::warn!(url, error = %err, "ignoring an unreadable cache sidecar");
                return None;
            }
        };
        if meta.url != url {
            return None;
        }
        match self.store.get(&cache_key(url)).await {
            Ok(Some(body)) => Some((meta, body)),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(url, error = %err, "reading the document cache failed");
                None
            }
        }
    }

    async fn send(&self, url: &str, validators: Option<&CacheMeta>) -> Result<Reply, LiveError> {
        let mut attempt = 0;
        loop {
            match self.send_once(url, validators).await {
                Err(err) if attempt < self.retries && err.is_transient() => {
                    attempt += 1;
                    tracing::debug!(url, error = %err, attempt, "retrying a live documentation request");
                    tokio::time::sleep(self.retry_backoff).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        url: &str,
        validators: Option<&CacheMeta>,
    ) -> Result<Reply, LiveError> {
        let request_error = |source: reqwest::Error| LiveError::Request {
            url: url.to_string(),
            source: source.without_url(),
        };
        let mut request = self.client.get(url);
        if let Some(meta) = validators {
            if let Some(etag) = &meta.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(last_modified) = &meta.last_modified {
                request = request.header(IF_MODIFIED_SINCE, last_modified);
            }
        }
        let response = request.send().await.map_err(request_error)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Reply::NotModified);
        }
        if !status.is_success() {
            return Err(LiveError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(ETAG);
        let last_modified = header(LAST_MODIFIED);
        let body = response.bytes().await.map_err(request_error)?.to_vec();
        Ok(Reply::Body {
            etag,
            last_modified,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_url_specific() {
        let a = cache_key("https://example.com/a");
        assert!(a.starts_with("cache/docs/"));
        assert_eq!(a.len(), "cache/docs/".len() + 64);
        assert_eq!(a, cache_key("https://example.com/a"));
        assert_ne!(a, cache_key("https://example.com/b"));
        assert_eq!(meta_key("https://example.com/a"), format!("{a}.meta"));
    }
}
