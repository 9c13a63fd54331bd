//! `gensec remediate`: Security Hub findings (ASFF or OCSF; a file, JSON
//! lines or stdin) to remediation e-mails in an outbox directory, by SMTP, to
//! a Slack incoming webhook or a JSON webhook, or on stdout; each failing finding once (SQLite state). Malformed input is
//! kept in `rejected/` and makes the run fail (exit 2) after the valid
//! findings were handled, saying how many were rejected. `--stdout` is a
//! preview: it runs against a copy of the state, so it uses up nothing.
//! With `--llm` (the same options as `gensec run`), controls outside the
//! catalogue and non-control findings also go to the language model; what it
//! writes is checked and marked, and an unreachable model changes nothing.

use crate::run_cmd::{LlmArgs, language_model};
use anyhow::{Context, Result};
use clap::Args;
use gensec_core::ports::{EmailMessage, Notifier};
use gensec_core::{Error, InputError};
use gensec_local::SqliteDb;
use gensec_remediate::event::{keep_rejected, parse_input};
use gensec_remediate::filter::FilterConfig;
use gensec_remediate::finding::Severity;
use gensec_remediate::notify::{Addresses, MemoryNotifier, OutboxNotifier, SmtpNotifier};
use gensec_remediate::webhook::{WebhookKind, WebhookNotifier};
use gensec_remediate::{ProcessConfig, process};
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct RemediateArgs {
    /// One finding, event or array of them (JSON).
    #[arg(long, value_name = "FILE", conflicts_with = "events")]
    finding: Option<PathBuf>,
    /// EventBridge events or findings, one JSON document per line.
    #[arg(long, value_name = "FILE.jsonl")]
    events: Option<PathBuf>,
    /// Outbox directory for .eml files (and rejected/).
    #[arg(long, default_value = "gensec-outbox")]
    out_dir: PathBuf,
    /// Send by SMTP instead (smtp://host:25, smtps://user:pass@host).
    #[arg(long, value_name = "URL", conflicts_with_all = ["slack_webhook", "webhook_url"])]
    smtp: Option<String>,
    /// Post to a Slack incoming webhook instead (https://hooks.slack.com/...;
    /// a secret: prefer the environment variable, never logged).
    #[arg(
        long,
        value_name = "URL",
        env = "GENSEC_SLACK_WEBHOOK_URL",
        hide_env_values = true,
        conflicts_with = "webhook_url"
    )]
    slack_webhook: Option<String>,
    /// Post gensec's JSON message ({source, subject, text, html, finding_ids})
    /// to a webhook instead (https://; a secret, never logged).
    #[arg(
        long,
        value_name = "URL",
        env = "GENSEC_WEBHOOK_URL",
        hide_env_values = true
    )]
    webhook_url: Option<String>,
    /// Seconds one webhook delivery may take; a slower one is retried next run.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    webhook_timeout: u64,
    /// State database (once-per-finding memory).
    #[arg(long, default_value = "gensec.db")]
    db: PathBuf,
    /// Lowest severity notified.
    #[arg(long, default_value = "HIGH")]
    severity: String,
    /// One digest e-mail when several findings arrive in one run.
    #[arg(long)]
    digest: bool,
    /// Print the e-mails (RFC 5322) instead of delivering them.
    #[arg(long)]
    stdout: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Sender address.
    #[arg(long, default_value = "gensec <gensec@localhost>")]
    from: String,
    /// Recipient address.
    #[arg(long, default_value = "security-team@localhost")]
    to: String,
    /// Accounts never notified (repeatable).
    #[arg(long = "exclude-account", value_name = "ID")]
    exclude_accounts: Vec<String>,
    /// Resource tag (KEY or KEY=VALUE) that excludes a finding (repeatable).
    #[arg(long = "exclude-tag", value_name = "KEY[=VALUE]")]
    exclude_tags: Vec<String>,
    /// Language model for controls outside the catalogue (answers cached in
    /// `<out-dir>/.llm-cache` unless `--llm-cache` says otherwise).
    #[command(flatten)]
    llm: LlmArgs,
}

fn input_error(source: &str, message: impl Into<String>) -> Error {
    Error::Input(InputError::new(source, "$", message))
}

pub async fn run(args: RemediateArgs) -> Result<()> {
    let min_severity = Severity::parse(&args.severity).ok_or_else(|| {
        input_error(
            "--severity",
            "expected INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL",
        )
    })?;
    // A bad --llm is refused before any input is read.
    let llm = language_model(&args.llm, &args.out_dir.join(".llm-cache")).await?;
    let (text, source) = read_input(&args)?;
    let batch = parse_input(&text, &source);
    let rejected_dir = args.out_dir.join("rejected");
    let kept = keep_rejected(&rejected_dir, &batch.rejected)
        .with_context(|| format!("keeping rejected input in {}", rejected_dir.display()))?;
    for (item, path) in batch.rejected.iter().zip(&kept) {
        eprintln!(
            "gensec: rejected {}: {} (kept in {})",
            item.source,
            item.error,
            path.display()
        );
    }
    let no_findings = batch.findings.is_empty();
    let config = process_config(&args, min_severity);
    // A preview works on a copy of the state: what it prints is what a
    // delivery would send now, and a later delivery still sends it.
    let preview = if args.stdout {
        Some(PreviewState::copy_of(&args.db)?)
    } else {
        None
    };
    let db = match &preview {
        Some(copy) => copy.open()?,
        None => SqliteDb::open(&args.db)?,
    };
    let addresses = Addresses {
        from: args.from.clone(),
        to: args.to.clone(),
    };
    let memory = MemoryNotifier::default();
    let notifier = notifier(&args, &memory, &addresses)?;
    // No Security Hub locally: findings' workflow is left as it is.
    let report = process(batch, &config, &db, notifier.as_ref(), None, llm.as_deref()).await?;
    for message in memory.sent() {
        let bytes = gensec_remediate::email::to_rfc5322(&message, &addresses.from, &addresses.to)
            .context("building the e-mail")?;
        println!("{}", String::from_utf8_lossy(&bytes));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    if let Some(first) = report.rejected.first() {
        return Err(input_error(
            &source,
            format!(
                "{} finding(s) rejected, first {}: {} (valid findings were handled; rejected input kept in {})",
                report.rejected.len(),
                first.source,
                first.error,
                rejected_dir.display()
            ),
        )
        .into());
    }
    if no_findings {
        return Err(input_error(&source, "the input holds no finding").into());
    }
    Ok(())
}

/// The input's text and its name for messages: `--finding`, `--events` or stdin.
fn read_input(args: &RemediateArgs) -> Result<(String, String)> {
    Ok(match args.finding.as_ref().or(args.events.as_ref()) {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|err| input_error(&path.display().to_string(), err.to_string()))?,
            path.display().to_string(),
        ),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            (text, "stdin".to_string())
        }
    })
}

/// The filters and the digest choice of the command line.
fn process_config(args: &RemediateArgs, min_severity: Severity) -> ProcessConfig {
    ProcessConfig {
        filter: FilterConfig {
            min_severity,
            exclude_accounts: args.exclude_accounts.iter().cloned().collect(),
            exclude_tags: args
                .exclude_tags
                .iter()
                .map(|tag| match tag.split_once('=') {
                    Some((key, value)) => (key.to_string(), Some(value.to_string())),
                    None => (tag.clone(), None),
                })
                .collect(),
        },
        digest: args.digest,
    }
}

/// Where the messages go: `memory` for a preview (`--stdout`), else SMTP, a
/// Slack or JSON webhook, or the outbox directory.
fn notifier<'a>(
    args: &RemediateArgs,
    memory: &'a MemoryNotifier,
    addresses: &Addresses,
) -> Result<Box<dyn Notifier + 'a>> {
    let webhook_timeout = Duration::from_secs(args.webhook_timeout.max(1));
    Ok(if args.stdout {
        Box::new(MemoryNotifierRef(memory))
    } else if let Some(url) = &args.smtp {
        Box::new(SmtpNotifier::new(url, addresses.clone())?)
    } else if let Some(url) = &args.slack_webhook {
        Box::new(WebhookNotifier::new(
            WebhookKind::Slack,
            url,
            "--slack-webhook",
            webhook_timeout,
        )?)
    } else if let Some(url) = &args.webhook_url {
        Box::new(WebhookNotifier::new(
            WebhookKind::Json,
            url,
            "--webhook-url",
            webhook_timeout,
        )?)
    } else {
        Box::new(OutboxNotifier::new(&args.out_dir, addresses.clone()))
    })
}

/// The human summary on stderr: one line per message sent, per finding not
/// notified or already notified, the model's use, and the totals.
fn print_summary(report: &gensec_remediate::Report) {
    // One line per message: a digest is one send, whatever it carries.
    let mut messages: Vec<(usize, &str, &str, usize)> = Vec::new();
    for sent in &report.sent {
        match messages.last_mut() {
            Some((message, _, _, count)) if *message == sent.message => *count += 1,
            _ => messages.push((sent.message, &sent.subject, &sent.location, 1)),
        }
    }
    for (_, subject, location, count) in &messages {
        if *count > 1 {
            eprintln!("gensec: sent {subject} -> {location} ({count} findings)");
        } else {
            eprintln!("gensec: sent {subject} -> {location}");
        }
    }
    for filtered in &report.filtered {
        eprintln!(
            "gensec: not notified {}: {}",
            filtered.finding_id, filtered.reason
        );
    }
    for id in &report.duplicates {
        eprintln!("gensec: already notified {id}");
    }
    if let Some(model) = &report.llm {
        eprintln!(
            "gensec: llm {}: {} asked, {} answers used, {} fixes accepted, {} rejected, {} deterministic fallbacks; {} input + {} output tokens ({} from cache)",
            model.model_id,
            model.asked,
            model.answers_used,
            model.fixes_accepted,
            model.fixes_rejected,
            model.fallbacks,
            model.usage.input_tokens,
            model.usage.output_tokens,
            model.usage.cache_hits
        );
    }
    let sent = if report.messages_sent == report.sent.len() {
        format!("{} sent", report.messages_sent)
    } else {
        format!(
            "{} sent ({} findings)",
            report.messages_sent,
            report.sent.len()
        )
    };
    eprintln!(
        "gensec: {sent}, {} duplicate, {} filtered, {} rejected",
        report.duplicates.len(),
        report.filtered.len(),
        report.rejected.len()
    );
}

/// A copy of the state database in a directory of its own, removed on drop.
#[derive(Debug)]
struct PreviewState {
    dir: PathBuf,
    path: PathBuf,
}

impl PreviewState {
    /// Copy `db` (and its write-ahead log, which may hold the latest rows).
    fn copy_of(db: &std::path::Path) -> Result<Self> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("gensec-preview-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("state.db");
        let preview = Self { dir, path };
        if db.exists() {
            std::fs::copy(db, &preview.path)
                .with_context(|| format!("copying {} for the preview", db.display()))?;
            let mut wal = db.as_os_str().to_owned();
            wal.push("-wal");
            let wal = PathBuf::from(wal);
            if wal.exists() {
                let mut copy = preview.path.as_os_str().to_owned();
                copy.push("-wal");
                std::fs::copy(&wal, PathBuf::from(copy))
                    .with_context(|| format!("copying {} for the preview", wal.display()))?;
            }
        }
        Ok(preview)
    }

    fn open(&self) -> Result<SqliteDb> {
        Ok(SqliteDb::open(&self.path)?)
    }
}

impl Drop for PreviewState {
    fn drop(&mut self) {
        // Best effort: a leftover copy in the temp directory harms nothing.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Borrowing adapter so `--stdout` can print what was "sent".
#[derive(Debug)]
struct MemoryNotifierRef<'a>(&'a MemoryNotifier);

#[async_trait::async_trait]
impl Notifier for MemoryNotifierRef<'_> {
    async fn send(&self, message: &EmailMessage) -> gensec_core::Result<String> {
        self.0.send(message).await.map(|_| "stdout".to_string())
    }
}
