//! Request tracking keeps an attempt's language model usage (migration 3).
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use chrono::Utc;
use gensec_core::llm::LlmUsage;
use gensec_core::ports::RequestTracker;
use gensec_core::tracking::{NewAttempt, RequestState, StatusUpdate};
use gensec_local::SqliteDb;

fn new_attempt(request_id: &str) -> NewAttempt<'_> {
    NewAttempt {
        request_id,
        service_id: "s3",
        service_name: "S3",
        profile_id: "p",
        requester: "me",
        requested_at: Utc::now(),
    }
}

#[tokio::test]
async fn each_attempt_keeps_its_own_llm_usage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gensec.db");
    let db = SqliteDb::open(&path).unwrap();
    let usage = LlmUsage {
        calls: 2,
        cache_hits: 0,
        input_tokens: 9_000,
        output_tokens: 2_500,
        cached_input_tokens: 0,
        cached_output_tokens: 0,
        estimated_cost_micro_usd: Some(17_200),
    };
    db.begin_attempt(new_attempt("REQ-1")).await.unwrap();
    db.update(
        "REQ-1",
        1,
        StatusUpdate::LlmUsage {
            usage: usage.clone(),
        },
    )
    .await
    .unwrap();
    db.update(
        "REQ-1",
        1,
        StatusUpdate::Succeeded {
            output_prefix: "s3/REQ-1/".into(),
        },
    )
    .await
    .unwrap();
    // A second attempt without a model records nothing.
    db.begin_attempt(new_attempt("REQ-1")).await.unwrap();
    drop(db);

    let reopened = SqliteDb::open(&path).unwrap();
    let record = reopened.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(record.attempts[0].state, RequestState::Succeeded);
    assert_eq!(record.attempts[0].llm_usage.as_ref(), Some(&usage));
    assert_eq!(record.attempts[1].llm_usage, None);
    let unknown = reopened
        .update("REQ-404", 1, StatusUpdate::LlmUsage { usage })
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), gensec_core::ErrorKind::InvalidInput);
}
