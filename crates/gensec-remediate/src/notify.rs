//! Notifiers: an outbox directory of `.eml` files (local default), SMTP via
//! lettre, and an in-memory one for tests and `--stdout`.

use crate::email::to_message;
use async_trait::async_trait;
use gensec_core::ports::{EmailMessage, Notifier};
use gensec_core::{Error, Result};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Mutex;

/// Sender and recipient addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    pub from: String,
    pub to: String,
}

impl Default for Addresses {
    fn default() -> Self {
        Self {
            from: "gensec <gensec@localhost>".into(),
            to: "security-team@localhost".into(),
        }
    }
}

fn fatal(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Fatal(format!("{what}: {err}"))
}

/// Writes each message as `<dir>/<stamp>-<n>.eml`.
#[derive(Debug)]
pub struct OutboxNotifier {
    dir: PathBuf,
    addresses: Addresses,
    counter: std::sync::atomic::AtomicUsize,
}

impl OutboxNotifier {
    pub fn new(dir: impl Into<PathBuf>, addresses: Addresses) -> Self {
        Self {
            dir: dir.into(),
            addresses,
            counter: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Notifier for OutboxNotifier {
    async fn send(&self, message: &EmailMessage) -> Result<String> {
        let bytes = crate::email::to_rfc5322(message, &self.addresses.from, &self.addresses.to)
            .map_err(|err| fatal("building the e-mail", err))?;
        std::fs::create_dir_all(&self.dir).map_err(|err| {
            Error::storage(format!("creating {}", self.dir.display()), false, err)
        })?;
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let path = self
            .dir
            .join(format!("{stamp}-{}-{n}.eml", std::process::id()));
        let partial = path.with_extension("eml.partial");
        std::fs::write(&partial, bytes)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|err| Error::storage(format!("writing {}", path.display()), false, err))?;
        Ok(path.display().to_string())
    }
}

/// Sends by SMTP (`smtp://host:25`, `smtps://user:pass@host`, `smtp://host?tls=required`).
#[derive(Debug)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    addresses: Addresses,
}

impl SmtpNotifier {
    pub fn new(url: &str, addresses: Addresses) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| {
                Error::Input(gensec_core::InputError::new("--smtp", "$", err.to_string()))
            })?
            .build();
        Ok(Self {
            transport,
            addresses,
        })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, message: &EmailMessage) -> Result<String> {
        let message = to_message(message, &self.addresses.from, &self.addresses.to)
            .map_err(|err| fatal("building the e-mail", err))?;
        let response = self.transport.send(message).await.map_err(|err| {
            let retryable = err.is_transient() || err.is_timeout();
            Error::storage("sending by SMTP", retryable, err)
        })?;
        Ok(format!(
            "smtp: {}",
            response.message().collect::<Vec<_>>().join(" ")
        ))
    }
}

/// Keeps messages in memory.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    sent: Mutex<Vec<EmailMessage>>,
}

impl MemoryNotifier {
    /// The messages sent so far.
    pub fn sent(&self) -> Vec<EmailMessage> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn send(&self, message: &EmailMessage) -> Result<String> {
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| Error::Fatal("notifier lock poisoned".into()))?;
        sent.push(message.clone());
        Ok(format!("memory:{}", sent.len()))
    }
}
