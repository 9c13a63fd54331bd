//! Slack and generic JSON webhook delivery against local fake endpoints on
//! 127.0.0.1: the payload's shape, send-once, and a failed delivery (HTTP
//! 500, a timeout) retried on the next run — never lost, never sent twice.
//! The webhook URL (a secret) appears in no error and no debug output.
#![allow(clippy::unwrap_used)]

use gensec_local::SqliteDb;
use gensec_remediate::event::{Batch, parse_input};
use gensec_remediate::webhook::{WebhookKind, WebhookNotifier};
use gensec_remediate::{ProcessConfig, process};
use serde_json::Value;
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET_PATH: &str = "/services/T000/B000/secret-token-xyz";

fn batch() -> Batch {
    let name = "s3_8_event.json";
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let batch = parse_input(&text, name);
    assert!(batch.rejected.is_empty());
    batch
}

fn notifier(kind: WebhookKind, server: &MockServer, timeout: Duration) -> WebhookNotifier {
    WebhookNotifier::new(
        kind,
        &format!("{}{SECRET_PATH}", server.uri()),
        "--webhook-url",
        timeout,
    )
    .unwrap()
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn slack_gets_a_header_and_sections_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SECRET_PATH))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let slack = notifier(WebhookKind::Slack, &server, Duration::from_secs(5));
    let db = SqliteDb::in_memory().unwrap();
    let config = ProcessConfig::default();
    let report = process(batch(), &config, &db, &slack, None, None)
        .await
        .unwrap();
    assert_eq!(report.messages_sent, 1);
    assert_eq!(report.sent[0].location, "slack (200)");
    let again = process(batch(), &config, &db, &slack, None, None)
        .await
        .unwrap();
    assert_eq!(again.messages_sent, 0);
    assert_eq!(again.duplicates.len(), 1);
    let received = bodies(&server).await;
    assert_eq!(received.len(), 1, "sent exactly once");
    let body = &received[0];
    let subject = report.sent[0].subject.as_str();
    assert_eq!(body["text"], subject);
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], subject);
    assert!(blocks.len() >= 2 && blocks.len() <= 50);
    let sections: Vec<&str> = blocks[1..]
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "section");
            assert_eq!(b["text"]["type"], "mrkdwn");
            b["text"]["text"].as_str().unwrap()
        })
        .collect();
    assert!(sections.iter().all(|s| s.chars().count() <= 3000));
    let all = sections.join("\n");
    assert!(all.contains("S3.8"), "{all}");
    assert!(all.contains("aws s3api put-public-access-block"), "{all}");
}

#[tokio::test]
async fn a_failed_webhook_delivery_is_retried_next_run_and_never_sent_twice() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let webhook = notifier(WebhookKind::Json, &server, Duration::from_secs(5));
    let db = SqliteDb::in_memory().unwrap();
    let config = ProcessConfig::default();
    let err = process(batch(), &config, &db, &webhook, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), gensec_core::ErrorKind::Retryable, "{err}");
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert!(!err.to_string().contains("secret-token"), "{err}");
    // The next run delivers it, the one after knows it was sent.
    let retry = process(batch(), &config, &db, &webhook, None, None)
        .await
        .unwrap();
    assert_eq!(retry.messages_sent, 1);
    let third = process(batch(), &config, &db, &webhook, None, None)
        .await
        .unwrap();
    assert_eq!((third.messages_sent, third.duplicates.len()), (0, 1));
    let received = bodies(&server).await;
    assert_eq!(received.len(), 2, "one failed attempt, one delivery");
    let body = &received[1];
    assert_eq!(body["source"], "gensec");
    assert_eq!(body["subject"], retry.sent[0].subject);
    assert_eq!(body["finding_ids"][0], retry.sent[0].finding_id);
    assert!(body["text"].as_str().unwrap().contains("S3.8"));
    assert!(
        body["html"]
            .as_str()
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
}

#[tokio::test]
async fn a_timed_out_delivery_is_retried_next_run() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let webhook = notifier(WebhookKind::Json, &server, Duration::from_millis(300));
    let db = SqliteDb::in_memory().unwrap();
    let config = ProcessConfig::default();
    let err = process(batch(), &config, &db, &webhook, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), gensec_core::ErrorKind::Retryable, "{err}");
    assert!(!format!("{err:?}").contains("secret-token"), "{err:?}");
    let retry = process(batch(), &config, &db, &webhook, None, None)
        .await
        .unwrap();
    assert_eq!(retry.messages_sent, 1);
    let third = process(batch(), &config, &db, &webhook, None, None)
        .await
        .unwrap();
    assert_eq!(third.messages_sent, 0);
}

#[test]
fn the_url_is_a_secret() {
    let notifier = WebhookNotifier::new(
        WebhookKind::Slack,
        "https://hooks.slack.com/services/T000/B000/secret-token-xyz",
        "--slack-webhook",
        Duration::from_secs(1),
    )
    .unwrap();
    assert!(!format!("{notifier:?}").contains("secret-token"));
    for bad in [
        "http://hooks.slack.com/services/secret-token-xyz",
        "not a url secret-token-xyz",
        "ftp://127.0.0.1/secret-token-xyz",
    ] {
        let err = WebhookNotifier::new(
            WebhookKind::Json,
            bad,
            "--webhook-url",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--webhook-url"), "{err}");
        assert!(!err.to_string().contains("secret-token"), "{err}");
    }
}
