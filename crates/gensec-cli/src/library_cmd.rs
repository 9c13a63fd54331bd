//! `gensec library`: review the Security Control Library. Entries belong to
//! a profile: an id generated for several profiles is picked with
//! `--profile`. Filters ignore case and accept the documented spellings.

use crate::library_view::{
    csv_text, decision_text, entry_text, print_safe_json, safe, safe_text, table,
};
use crate::output::print_text;
use anyhow::Context;
use gensec_core::InputError;
use gensec_core::input::text::{NAME_MAX, TEXT_MAX, required_line, required_text};
use gensec_core::library::{EntryStatus, LibraryEntry, NewDecision, Verdict};
use gensec_core::ports::ControlLibrary;
use gensec_local::SqliteDb;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LibraryArgs {
    /// SQLite database holding the library.
    #[arg(long, global = true, default_value = "gensec.db")]
    db: PathBuf,
    #[command(subcommand)]
    command: LibraryCommand,
}

/// What `library list` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

/// What `library export` writes (a file format, not a terminal view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerdictArg {
    Approved,
    #[value(alias = "approved_with_conditions")]
    ApprovedWithConditions,
    Rejected,
}

impl From<VerdictArg> for Verdict {
    fn from(verdict: VerdictArg) -> Self {
        match verdict {
            VerdictArg::Approved => Verdict::Approved,
            VerdictArg::ApprovedWithConditions => Verdict::ApprovedWithConditions,
            VerdictArg::Rejected => Verdict::Rejected,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Decision {
    /// Configuration id, e.g. CFG-S3-BUCKET-VERSIONING.
    id: String,
    /// Who decides (not blank).
    #[arg(long)]
    by: String,
    /// Why (not blank).
    #[arg(long)]
    reason: String,
    /// Refuse if the entry changed since this version was reviewed.
    #[arg(long)]
    version: Option<u32>,
    /// The profile whose entry this is (needed when the id exists for several).
    #[arg(long)]
    profile: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ServiceDecisionArgs {
    /// Service id or name as the library lists it (s3, "Amazon S3"; any case).
    service: String,
    #[arg(long, value_enum, ignore_case = true)]
    decision: VerdictArg,
    /// What must hold (required with approved-with-conditions, refused otherwise).
    #[arg(long)]
    conditions: Option<String>,
    /// Who decides (not blank).
    #[arg(long)]
    by: String,
    /// Why (not blank).
    #[arg(long)]
    reason: String,
    /// The profile decided for (needed when the service has entries for several).
    #[arg(long)]
    profile: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum LibraryCommand {
    /// List entries, then the service decisions that concern them.
    List {
        /// Service id or name (any case).
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long, value_enum, ignore_case = true)]
        status: Option<StatusArg>,
        #[arg(long, value_enum, ignore_case = true, default_value = "table")]
        format: ListFormat,
    },
    /// Show one entry with its history.
    Show {
        id: String,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Approve an entry.
    Approve(Decision),
    /// Reject an entry.
    Reject(Decision),
    /// Mark an entry deprecated.
    Deprecate(Decision),
    /// Decide on a whole service for a profile (kept with its history).
    Decide(ServiceDecisionArgs),
    /// Service decisions with their history.
    Decisions {
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Export entries (all fields and history) as JSON or CSV.
    Export {
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long, value_enum, ignore_case = true, default_value = "json")]
        format: ExportFormat,
        /// Write to a file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Does `wanted` (as typed) name this service: its id or its name, any case.
fn names_service(wanted: &str, service_id: &str, service_name: &str) -> bool {
    let wanted = wanted.trim();
    wanted.eq_ignore_ascii_case(service_id) || wanted.eq_ignore_ascii_case(service_name)
}

/// Entries, filtered by service (id or name, any case) and profile.
async fn filtered(
    db: &SqliteDb,
    service: Option<&str>,
    profile: Option<&str>,
) -> anyhow::Result<Vec<LibraryEntry>> {
    let mut entries = db.entries(None).await?;
    if let Some(service) = service {
        entries.retain(|e| names_service(service, &e.service_id, &e.service_name));
    }
    if let Some(profile) = profile {
        entries.retain(|e| e.profile_id.eq_ignore_ascii_case(profile.trim()));
    }
    Ok(entries)
}

/// The one profile among `profiles` that `wanted` names, or the only one.
fn pick_profile(
    what: &str,
    mut profiles: Vec<String>,
    wanted: Option<&str>,
) -> Result<String, InputError> {
    profiles.sort();
    profiles.dedup();
    let listed = || safe(&profiles.join(", ")).into_owned();
    match wanted {
        Some(wanted) => profiles
            .iter()
            .find(|p| p.eq_ignore_ascii_case(wanted.trim()))
            .cloned()
            .ok_or_else(|| {
                InputError::new(
                    "--profile",
                    "$",
                    format!(
                        "{what} has no entry for profile {wanted:?}; it has {}",
                        listed()
                    ),
                )
            }),
        None if profiles.len() == 1 => Ok(profiles.remove(0)),
        None => Err(InputError::new(
            "--profile",
            "$",
            format!(
                "{what} exists for profiles {}; name one with --profile",
                listed()
            ),
        )),
    }
}

/// One entry by id, its profile picked as [`pick_profile`] does.
async fn one_entry(db: &SqliteDb, id: &str, profile: Option<&str>) -> anyhow::Result<LibraryEntry> {
    let mut entries = db.entries_with_id(id).await?;
    if entries.is_empty() {
        return Err(InputError::new(
            "library",
            "$.configuration_id",
            format!("no entry {id:?}; see `gensec library list`"),
        )
        .into());
    }
    let profiles = entries.iter().map(|e| e.profile_id.clone()).collect();
    let chosen = pick_profile(id, profiles, profile)?;
    let index = entries
        .iter()
        .position(|e| e.profile_id == chosen)
        .context("the chosen profile has an entry")?;
    Ok(entries.swap_remove(index))
}

pub async fn run(args: LibraryArgs) -> anyhow::Result<()> {
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    match args.command {
        LibraryCommand::List {
            service,
            profile,
            status,
            format,
        } => {
            let mut entries = filtered(&db, service.as_deref(), profile.as_deref()).await?;
            if let Some(status) = status {
                let status = EntryStatus::from(status);
                entries.retain(|e| e.status == status);
            }
            match format {
                ListFormat::Table => {
                    let decisions = db.decisions(None).await?;
                    print_text(&table(&entries, &decisions))
                }
                ListFormat::Json => print_safe_json(&entries),
                ListFormat::Csv => print_text(&safe_text(csv_text(&entries)?.trim_end())),
            }
        }
        LibraryCommand::Show { id, profile, json } => {
            let entry = one_entry(&db, &id, profile.as_deref()).await?;
            if json {
                return print_safe_json(&entry);
            }
            let decision = db.decision(&entry.service_id, &entry.profile_id).await?;
            print_text(&entry_text(&entry, decision.as_ref()))
        }
        LibraryCommand::Approve(decision) => review(&db, decision, EntryStatus::Approved).await,
        LibraryCommand::Reject(decision) => review(&db, decision, EntryStatus::Rejected).await,
        LibraryCommand::Deprecate(decision) => review(&db, decision, EntryStatus::Deprecated).await,
        LibraryCommand::Decide(args) => decide_service(&db, args).await,
        LibraryCommand::Decisions {
            service,
            profile,
            json,
        } => decisions(&db, service, profile, json).await,
        LibraryCommand::Export {
            service,
            profile,
            format,
            out,
        } => export(&db, service, profile, format, out).await,
    }
}

/// `library decisions`: the service decisions, for a service (by name or
/// through its entries) and a profile.
async fn decisions(
    db: &SqliteDb,
    service: Option<String>,
    profile: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let mut decisions = db.decisions(None).await?;
    if let Some(service) = &service {
        let entries = filtered(db, Some(service), None).await?;
        decisions.retain(|d| {
            d.service_id.eq_ignore_ascii_case(service.trim())
                || entries.iter().any(|e| e.service_id == d.service_id)
        });
    }
    if let Some(profile) = &profile {
        decisions.retain(|d| d.profile_id.eq_ignore_ascii_case(profile.trim()));
    }
    if json {
        return print_safe_json(&decisions);
    }
    if decisions.is_empty() {
        return print_text("no service decisions yet; see `gensec library decide`");
    }
    let text: Vec<String> = decisions.iter().map(decision_text).collect();
    print_text(text.join("\n").trim_end())
}

/// `library export`: the entries as JSON or CSV, to a file or stdout.
async fn export(
    db: &SqliteDb,
    service: Option<String>,
    profile: Option<String>,
    format: ExportFormat,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let entries = filtered(db, service.as_deref(), profile.as_deref()).await?;
    let text = match format {
        ExportFormat::Csv => csv_text(&entries)?,
        ExportFormat::Json => serde_json::to_string_pretty(&entries)?,
    };
    match out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            print_text(&format!(
                "exported {} entries to {}",
                entries.len(),
                path.display()
            ))
        }
        None if format == ExportFormat::Json => print_safe_json(&entries),
        None => print_text(&safe_text(text.trim_end())),
    }
}

/// `--by` and `--reason` must say something, in clean text.
fn check_reviewer(by: &str, reason: &str) -> Result<(), InputError> {
    required_line("--by", by, NAME_MAX)?;
    required_text("--reason", reason, TEXT_MAX)
}

async fn review(db: &SqliteDb, decision: Decision, status: EntryStatus) -> anyhow::Result<()> {
    check_reviewer(&decision.by, &decision.reason)?;
    let entry = one_entry(db, &decision.id, decision.profile.as_deref()).await?;
    let entry = db
        .set_status(
            &entry.configuration_id,
            &entry.profile_id,
            status,
            decision.by.trim(),
            Some(decision.reason.trim()),
            decision.version,
        )
        .await?;
    print_text(&format!(
        "{} ({}) is {} (version {})",
        entry.configuration_id,
        entry.profile_id,
        entry.status.as_str(),
        entry.version
    ))
}

async fn decide_service(db: &SqliteDb, args: ServiceDecisionArgs) -> anyhow::Result<()> {
    check_reviewer(&args.by, &args.reason)?;
    required_line("service", &args.service, NAME_MAX)?;
    let entries = filtered(db, Some(&args.service), None).await?;
    let Some(first) = entries.first() else {
        return Err(InputError::new(
            "service",
            "$",
            format!(
                "the library has no entries for service {:?}; run `gensec run --service {}` first",
                args.service,
                safe(&args.service)
            ),
        )
        .into());
    };
    let service_id = first.service_id.clone();
    let profiles = entries.iter().map(|e| e.profile_id.clone()).collect();
    let profile = pick_profile(&service_id, profiles, args.profile.as_deref())?;
    let verdict = Verdict::from(args.decision);
    let conditions = args.conditions.as_deref().map(str::trim);
    if let Some(conditions) = conditions {
        required_text("--conditions", conditions, TEXT_MAX)?;
    }
    let decided = db
        .decide(NewDecision {
            service_id: &service_id,
            profile_id: &profile,
            decision: verdict,
            conditions,
            actor: args.by.trim(),
            reason: args.reason.trim(),
        })
        .await
        .map_err(|err| match err {
            // Name the flag: the port says "conditions".
            gensec_core::Error::Input(input) if input.source_name == "conditions" => {
                InputError::new("--conditions", "$", input.message).into()
            }
            other => anyhow::Error::from(other),
        })?;
    print_text(&decision_text(&decided))
}
