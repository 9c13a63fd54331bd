//! Responses cached by prompt fingerprint ([`LlmRequest::fingerprint`]: the
//! model id, instructions, messages, schema and limits) in an object store, a
//! directory locally or S3 in AWS. An identical re-run is answered from the
//! cache and spends no tokens. Only complete answers are kept; a cache that
//! cannot be read or written is skipped, never fatal.

use gensec_core::llm::{FinishReason, LlmRequest, LlmResponse};
use gensec_core::ports::ObjectStore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
struct Entry {
    model_id: String,
    fingerprint: String,
    response: LlmResponse,
}

#[derive(Clone)]
pub struct ResponseCache {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ResponseCache {
    /// Entries live under `prefix` (`llm-cache/`) in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Self { store, prefix }
    }

    fn key(&self, fingerprint: &str) -> String {
        format!("{}{}/{fingerprint}.json", self.prefix, &fingerprint[..2])
    }

    /// The cached answer, marked `cached`.
    pub async fn get(&self, model_id: &str, request: &LlmRequest) -> Option<LlmResponse> {
        let fingerprint = request.fingerprint(model_id);
        let body = match self.store.get(&self.key(&fingerprint)).await {
            Ok(body) => body?,
            Err(error) => {
                tracing::warn!(%error, "LLM cache unreadable; asking the model");
                return None;
            }
        };
        let entry: Entry = serde_json::from_slice(&body).ok()?;
        (entry.fingerprint == fingerprint && entry.model_id == model_id).then_some(LlmResponse {
            cached: true,
            ..entry.response
        })
    }

    /// Keep a complete answer.
    pub async fn put(&self, model_id: &str, request: &LlmRequest, response: &LlmResponse) {
        if response.finish != FinishReason::Stop || response.cached {
            return;
        }
        let fingerprint = request.fingerprint(model_id);
        let entry = Entry {
            model_id: model_id.to_string(),
            fingerprint: fingerprint.clone(),
            response: response.clone(),
        };
        let Ok(body) = serde_json::to_vec_pretty(&entry) else {
            return;
        };
        if let Err(error) = self
            .store
            .put(&self.key(&fingerprint), body, "application/json")
            .await
        {
            tracing::warn!(%error, "LLM cache not written");
        }
    }
}
