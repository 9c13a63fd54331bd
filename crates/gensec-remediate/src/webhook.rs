//! Chat and webhook delivery behind the same [`Notifier`] port as e-mail:
//! a Slack incoming webhook (`{"text", "blocks"}` with the message as
//! sections) and a generic JSON webhook (`{"source", "subject", "text",
//! "html", "finding_ids"}`). A non-2xx answer, a timeout or a connection
//! failure is a retryable delivery error, so [`crate::process`] forgets the
//! findings and the next run sends them again; a 2xx answer records them as
//! sent. The URL is a secret (Slack's carries the token): it is never in a
//! `Debug` output, an error or the returned location.

use async_trait::async_trait;
use gensec_core::ports::{EmailMessage, Notifier};
use gensec_core::{Error, InputError, Result};
use serde_json::{Value, json};
use std::time::Duration;

/// Slack limits: a section's text, a header's text, blocks per message.
const SLACK_SECTION_MAX: usize = 3000;
const SLACK_HEADER_MAX: usize = 150;
const SLACK_BLOCKS_MAX: usize = 50;

/// How long one delivery may take before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which payload the endpoint expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// A Slack incoming webhook.
    Slack,
    /// Any endpoint taking gensec's JSON message.
    Json,
}

impl WebhookKind {
    fn name(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Json => "webhook",
        }
    }
}

/// Posts each message to a webhook URL.
pub struct WebhookNotifier {
    kind: WebhookKind,
    url: reqwest::Url,
    http: reqwest::Client,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("kind", &self.kind)
            .field("url", &"<redacted>")
            .finish()
    }
}

impl WebhookNotifier {
    /// A notifier for `url` (https://, or http:// for a local endpoint);
    /// `flag` names the option in errors, which never repeat the URL.
    pub fn new(kind: WebhookKind, url: &str, flag: &str, timeout: Duration) -> Result<Self> {
        let bad = |message: &str| Error::Input(InputError::new(flag, "$", message.to_string()));
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| bad("not a URL (the value is not shown: it is a secret)"))?;
        let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match parsed.scheme() {
            "https" => {}
            "http" if local => {}
            _ => {
                return Err(bad(
                    "must be an https:// URL (http:// only for 127.0.0.1 or localhost)",
                ));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|err| {
                Error::Fatal(format!("building the HTTP client: {}", err.without_url()))
            })?;
        Ok(Self {
            kind,
            url: parsed,
            http,
        })
    }

    /// The JSON body for a message.
    pub fn payload(&self, message: &EmailMessage) -> Value {
        match self.kind {
            WebhookKind::Slack => slack_payload(message),
            WebhookKind::Json => json!({
                "source": "gensec",
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
                "finding_ids": message.finding_ids,
            }),
        }
    }
}

/// Slack's mrkdwn escapes: `&`, `<` and `>` only.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// The Slack message: the subject as header and fallback text, the body in
/// sections of at most 3000 characters split at blank lines (code kept in
/// fenced blocks), at most 50 blocks.
pub fn slack_payload(message: &EmailMessage) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": clip(&message.subject, SLACK_HEADER_MAX)}
    })];
    let mut chunk = String::new();
    let mut chunks = Vec::new();
    for paragraph in message.text.split("\n\n") {
        let paragraph = slack_escape(paragraph.trim_matches('\n'));
        if paragraph.is_empty() {
            continue;
        }
        if !chunk.is_empty() && chunk.len() + paragraph.len() + 2 > SLACK_SECTION_MAX {
            chunks.push(std::mem::take(&mut chunk));
        }
        if !chunk.is_empty() {
            chunk.push_str("\n\n");
        }
        chunk.push_str(&paragraph);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    let room = SLACK_BLOCKS_MAX - 1;
    let total = chunks.len();
    for (index, chunk) in chunks.into_iter().enumerate() {
        if index + 1 == room && total > room {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
                "text": format!("… {} more sections: the full text is in the e-mail or webhook copy.", total - index)}}));
            break;
        }
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": clip(&chunk, SLACK_SECTION_MAX)}
        }));
    }
    json!({"text": clip(&message.subject, SLACK_SECTION_MAX), "blocks": blocks})
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn send(&self, message: &EmailMessage) -> Result<String> {
        let what = format!("delivering to the {} webhook", self.kind.name());
        let body = self.payload(message).to_string();
        let response = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            // Connection failures and timeouts are worth retrying; the
            // error is stripped of the URL, which is a secret.
            .map_err(|err| Error::storage(&what, true, err.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(format!("{} ({})", self.kind.name(), status.as_u16()));
        }
        // 429 and 5xx are transient; other answers will not change on retry
        // but still leave the finding unsent, so it is tried again.
        let retryable = status.as_u16() == 429 || status.is_server_error();
        Err(Error::Storage {
            what,
            message: format!("the endpoint answered HTTP {}", status.as_u16()),
            retryable,
            source: None,
        })
    }
}
