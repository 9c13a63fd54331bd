//! `gensec library`: review the Security Control Library.

use crate::output::{print_json, print_text};
use anyhow::Context;
use gensec_core::library::{EntryStatus, LibraryEntry};
use gensec_core::ports::ControlLibrary;
use gensec_local::SqliteDb;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LibraryArgs {
    /// SQLite database holding the library.
    #[arg(long, global = true, default_value = "gensec.db")]
    db: PathBuf,
    #[command(subcommand)]
    command: LibraryCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Proposed,
    Approved,
    Rejected,
    Deprecated,
}

impl From<StatusArg> for EntryStatus {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Proposed => EntryStatus::Proposed,
            StatusArg::Approved => EntryStatus::Approved,
            StatusArg::Rejected => EntryStatus::Rejected,
            StatusArg::Deprecated => EntryStatus::Deprecated,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Decision {
    /// Configuration id, e.g. CFG-S3-BUCKET-VERSIONING.
    id: String,
    /// Who decides.
    #[arg(long)]
    by: String,
    /// Why.
    #[arg(long)]
    reason: String,
    /// Refuse if the entry changed since this version was reviewed.
    #[arg(long)]
    version: Option<u32>,
}

#[derive(Debug, clap::Subcommand)]
pub enum LibraryCommand {
    /// List entries.
    List {
        #[arg(long)]
        service: Option<String>,
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Show one entry with its history.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve an entry.
    Approve(Decision),
    /// Reject an entry.
    Reject(Decision),
    /// Mark an entry deprecated.
    Deprecate(Decision),
    /// Export entries (all fields and history) as JSON or CSV.
    Export {
        #[arg(long)]
        service: Option<String>,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Write to a file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn csv_text(entries: &[LibraryEntry]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "configuration_id",
        "service_id",
        "service_name",
        "security_domain",
        "threat_vector",
        "priority",
        "status",
        "version",
        "rationale",
        "recommended_configuration",
        "detective_controls",
        "preventive_controls",
        "proactive_controls",
        "compliance",
        "source_request_id",
        "updated_at",
        "history",
    ])?;
    for e in entries {
        let history = e
            .history
            .iter()
            .map(|h| {
                format!(
                    "v{} {} by {} at {}{}",
                    h.version,
                    h.status.as_str(),
                    h.actor,
                    h.at.to_rfc3339(),
                    h.note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(" | ");
        writer.write_record([
            e.configuration_id.clone(),
            e.service_id.clone(),
            e.service_name.clone(),
            e.security_domain.clone(),
            e.threat_vector.clone(),
            e.priority.clone(),
            e.status.as_str().to_string(),
            e.version.to_string(),
            e.rationale.clone(),
            e.recommended_configuration.to_string(),
            e.detective_controls.join("; "),
            e.preventive_controls.join("; "),
            e.proactive_controls.join("; "),
            e.compliance.to_string(),
            e.source_request_id.clone(),
            e.updated_at.to_rfc3339(),
            history,
        ])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

fn table(entries: &[LibraryEntry]) -> String {
    let mut text = format!(
        "{:<52} {:<9} {:<10} {:>3}  {:<24} {}\n",
        "CONFIGURATION", "PRIORITY", "STATUS", "V", "DOMAIN", "PROPERTY"
    );
    for e in entries {
        let property = e.recommended_configuration["property"]
            .as_str()
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{:<52} {:<9} {:<10} {:>3}  {:<24} {}",
            e.configuration_id,
            e.priority,
            e.status.as_str(),
            e.version,
            e.security_domain,
            property
        );
    }
    let _ = write!(text, "{} entries", entries.len());
    text
}

fn not_found(id: &str) -> gensec_core::InputError {
    gensec_core::InputError::new(
        "library",
        "$.configuration_id",
        format!("no entry {id:?}; see `gensec library list`"),
    )
}

pub async fn run(args: LibraryArgs) -> anyhow::Result<()> {
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    match args.command {
        LibraryCommand::List {
            service,
            status,
            format,
        } => {
            let mut entries = db.entries(service.as_deref()).await?;
            if let Some(status) = status {
                let status = EntryStatus::from(status);
                entries.retain(|e| e.status == status);
            }
            match format {
                Format::Table => print_text(&table(&entries)),
                Format::Json => print_json(&entries),
                Format::Csv => print_text(csv_text(&entries)?.trim_end()),
            }
        }
        LibraryCommand::Show { id, json } => {
            let entry = db.entry(&id).await?.ok_or_else(|| not_found(&id))?;
            if json {
                return print_json(&entry);
            }
            let mut text = String::new();
            let _ = writeln!(
                text,
                "{} (version {}, {})",
                entry.configuration_id,
                entry.version,
                entry.status.as_str()
            );
            let _ = writeln!(
                text,
                "  service: {} ({})",
                entry.service_name, entry.service_id
            );
            let _ = writeln!(
                text,
                "  domain: {}; threat: {}; priority: {}",
                entry.security_domain, entry.threat_vector, entry.priority
            );
            let _ = writeln!(text, "  configuration: {}", entry.recommended_configuration);
            let _ = writeln!(text, "  rationale: {}", entry.rationale);
            let _ = writeln!(text, "  detective: {}", entry.detective_controls.join(", "));
            let _ = writeln!(
                text,
                "  preventive: {}",
                entry.preventive_controls.join(", ")
            );
            let _ = writeln!(text, "  proactive: {}", entry.proactive_controls.join(", "));
            let _ = writeln!(text, "  compliance: {}", entry.compliance);
            let _ = writeln!(text, "  history:");
            for h in &entry.history {
                let _ = writeln!(
                    text,
                    "    v{} {} by {} at {}{}",
                    h.version,
                    h.status.as_str(),
                    h.actor,
                    h.at.format("%Y-%m-%d %H:%M"),
                    h.note
                        .as_ref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                );
            }
            print_text(text.trim_end())
        }
        LibraryCommand::Approve(decision) => decide(&db, decision, EntryStatus::Approved).await,
        LibraryCommand::Reject(decision) => decide(&db, decision, EntryStatus::Rejected).await,
        LibraryCommand::Deprecate(decision) => decide(&db, decision, EntryStatus::Deprecated).await,
        LibraryCommand::Export {
            service,
            format,
            out,
        } => {
            let entries = db.entries(service.as_deref()).await?;
            let text = match format {
                Format::Csv => csv_text(&entries)?,
                Format::Json | Format::Table => serde_json::to_string_pretty(&entries)?,
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    print_text(&format!(
                        "exported {} entries to {}",
                        entries.len(),
                        path.display()
                    ))
                }
                None => print_text(text.trim_end()),
            }
        }
    }
}

async fn decide(db: &SqliteDb, decision: Decision, status: EntryStatus) -> anyhow::Result<()> {
    if db.entry(&decision.id).await?.is_none() {
        return Err(not_found(&decision.id).into());
    }
    let entry = db
        .set_status(
            &decision.id,
            status,
            &decision.by,
            Some(&decision.reason),
            decision.version,
        )
        .await?;
    print_text(&format!(
        "{} is {} (version {})",
        entry.configuration_id,
        entry.status.as_str(),
        entry.version
    ))
}
