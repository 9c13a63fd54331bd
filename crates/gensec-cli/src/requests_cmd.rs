//! `gensec requests`: the request tracking table.

use crate::output::{print_json, print_text};
use anyhow::Context;
use gensec_core::ports::RequestTracker;
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
}

pub async fn run(args: RequestsArgs) -> anyhow::Result<()> {
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let records = match &args.id {
        Some(id) => vec![db.request(id).await?.ok_or_else(|| {
            gensec_core::InputError::new(
                "--id",
                "$",
                format!("no request {id:?} in {}", args.db.display()),
            )
        })?],
        None => db.recent_requests(args.limit).await?,
    };
    if args.json {
        return print_json(&records);
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
            record.request_id,
            record.service_id,
            record.state.as_str(),
            latest.map_or(0, |a| a.attempt),
            latest.map_or_else(String::new, |a| a
                .updated_at
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()),
            detail
        );
    }
    print_text(text.trim_end())
}
