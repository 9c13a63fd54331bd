//! `gensec requests`: the request tracking table, one request with every
//! attempt, and reaping attempts whose runner died (`--reap`).

use crate::library_view::{print_safe_json, safe};
use crate::output::print_text;
use anyhow::Context;
use gensec_core::ports::RequestTracker;
use gensec_core::tracking::{DEFAULT_STALE_AFTER_MINUTES, RequestRecord};
use gensec_local::SqliteDb;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    /// One request, with all its attempts.
    #[arg(long)]
    id: Option<String>,
    /// How many recent requests to list.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long, default_value = "gensec.db")]
    db: PathBuf,
    #[arg(long)]
    json: bool,
    /// Mark unfinished attempts whose process is gone (or that were silent
    /// for longer than --stale-after) ABANDONED, and list them.
    #[arg(long)]
    reap: bool,
    /// Minutes without a heartbeat after which an unfinished attempt counts as
    /// abandoned, with --reap.
    #[arg(long, value_name = "MINUTES", default_value_t = DEFAULT_STALE_AFTER_MINUTES, requires = "reap")]
    stale_after: i64,
}

const TIME: &str = "%Y-%m-%d %H:%M:%S";

pub async fn run(args: RequestsArgs) -> anyhow::Result<()> {
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    if args.reap {
        return reap(&db, &args).await;
    }
    if let Some(id) = &args.id {
        let record = db.request(id).await?.ok_or_else(|| {
            gensec_core::InputError::new(
                "--id",
                "$",
                format!("no request {id:?} in {}", args.db.display()),
            )
        })?;
        if args.json {
            return print_safe_json(&[&record]);
        }
        return print_text(&attempts_text(&record));
    }
    let records = db.recent_requests(args.limit).await?;
    if args.json {
        return print_safe_json(&records);
    }
    if records.is_empty() {
        return print_text("no requests yet; run `gensec run --service S3`");
    }
    let mut text = format!(
        "{:<32} {:<14} {:<10} {:>7}  {:<20} {}\n",
        "REQUEST", "SERVICE", "STATE", "ATTEMPT", "UPDATED", "STAGE / ERROR"
    );
    for record in &records {
        let latest = record.latest();
        let detail = latest
            .and_then(|a| a.error.clone().or_else(|| a.stage.clone()))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{:<32} {:<14} {:<10} {:>7}  {:<20} {}",
            safe(&record.request_id),
            safe(&record.service_id),
            record.state.as_str(),
            latest.map_or(0, |a| a.attempt),
            latest.map_or_else(String::new, |a| a.updated_at.format(TIME).to_string()),
            safe(&detail)
        );
    }
    print_text(text.trim_end())
}

/// A request and every attempt: state, stage reached, runner, times, error.
fn attempts_text(record: &RequestRecord) -> String {
    let mut text = format!(
        "{} ({} \"{}\", profile {}, by {}): {}\n",
        safe(&record.request_id),
        safe(&record.service_id),
        safe(&record.service_name),
        safe(&record.profile_id),
        safe(&record.requester),
        record.state.as_str()
    );
    if let Some(prefix) = &record.output_prefix {
        let _ = writeln!(text, "output: {}", safe(prefix));
    }
    let _ = writeln!(
        text,
        "{:>7}  {:<10} {:<14} {:<20} {:<20} {:<20} {:<28} ERROR",
        "ATTEMPT", "STATE", "STAGE", "STARTED", "UPDATED", "FINISHED", "RUNNER"
    );
    for attempt in &record.attempts {
        let _ = writeln!(
            text,
            "{:>7}  {:<10} {:<14} {:<20} {:<20} {:<20} {:<28} {}",
            attempt.attempt,
            attempt.state.as_str(),
            safe(attempt.stage.as_deref().unwrap_or("-")),
            attempt.started_at.format(TIME),
            attempt.updated_at.format(TIME),
            attempt
                .finished_at
                .map_or_else(|| "-".to_string(), |t| t.format(TIME).to_string()),
            safe(
                &attempt
                    .runner
                    .as_ref()
                    .map_or_else(|| "-".to_string(), ToString::to_string)
            ),
            safe(attempt.error.as_deref().unwrap_or(""))
        );
    }
    text.trim_end().to_string()
}

async fn reap(db: &SqliteDb, args: &RequestsArgs) -> anyhow::Result<()> {
    if args.stale_after < 1 {
        return Err(gensec_core::InputError::new(
            "--stale-after",
            "$",
            format!("expected at least 1 minute, got {}", args.stale_after),
        )
        .into());
    }
    let reaped = db
        .reap_abandoned(
            chrono::Utc::now(),
            chrono::Duration::minutes(args.stale_after),
        )
        .await?;
    if args.json {
        return print_safe_json(&reaped);
    }
    if reaped.is_empty() {
        return print_text("no abandoned attempts");
    }
    let mut text = String::new();
    for attempt in &reaped {
        let _ = writeln!(
            text,
            "{} attempt {}: ABANDONED at stage {} ({})",
            safe(&attempt.request_id),
            attempt.attempt,
            safe(attempt.stage.as_deref().unwrap_or("none")),
            safe(&attempt.reason)
        );
    }
    print_text(text.trim_end())
}
