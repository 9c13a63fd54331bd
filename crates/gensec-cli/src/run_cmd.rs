//! `gensec run`: one service request through the pipeline, in-process.

use crate::inputs::{load_profile, load_request};
use crate::output::{print_json, print_text};
use anyhow::Context;
use chrono::Utc;
use gensec_core::ServiceRequest;
use gensec_core::pipeline::{PipelineEvent, RunContext, Stage, output_prefix, run_pipeline};
use gensec_core::ports::ObjectStore;
use gensec_docs::DocumentationStage;
use gensec_kb::Kb;
use gensec_local::{DirStore, SqliteDb};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["request", "service"])))]
pub struct RunArgs {
    /// Security profile file, or a directory of profiles (picked by the request's profile_id).
    #[arg(
        long,
        default_value = "config-example/security-profile/example-corp.json"
    )]
    profile: PathBuf,
    /// Service request file.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// Service name (S3, "Amazon QuickSight", AWS::RDS, ...); makes a request on the fly.
    #[arg(long, value_name = "NAME")]
    service: Option<String>,
    /// Who is asking, for requests made with --service.
    #[arg(long, default_value = "gensec-cli")]
    requester: String,
    /// Output directory.
    #[arg(long, default_value = "gensec-out")]
    out: PathBuf,
    /// SQLite database for the control library and request tracking.
    #[arg(long, default_value = "gensec.db")]
    db: PathBuf,
    /// Print the manifest as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

fn request_for_service(name: &str, service_id: &str, requester: &str) -> ServiceRequest {
    let now = Utc::now();
    ServiceRequest {
        request_id: format!("REQ-{}-{service_id}", now.format("%Y%m%d-%H%M%S")),
        requester: requester.to_string(),
        timestamp: now,
        service_name: name.to_string(),
        profile_id: None,
    }
}

pub async fn run(kb_path: Option<&Path>, args: RunArgs) -> anyhow::Result<()> {
    // Everything is read and checked before anything is written.
    let kb = Arc::new(Kb::open(kb_path).map_err(gensec_core::Error::from)?);
    let request = match (&args.request, &args.service) {
        (Some(path), _) => load_request(path)?,
        (None, Some(name)) => {
            let entry = kb.resolve_service(name)?;
            request_for_service(name, &entry.id, &args.requester)
        }
        (None, None) => unreachable!("clap requires --request or --service"),
    };
    let service = kb.resolve_service(&request.service_name)?.clone();
    let profile = load_profile(&args.profile, request.profile_id.as_deref())?;
    let ctx = RunContext {
        output_prefix: output_prefix(&service.id, &request.request_id),
        service_id: service.id.clone(),
        service_display_name: service.display_name.clone(),
        request,
        profile,
        kb: kb.stamp(),
    };

    let store = DirStore::new(&args.out);
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let documentation = DocumentationStage::new(kb.clone());
    let stages: Vec<&dyn Stage> = vec![&documentation];

    let progress = if args.json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(stages.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    };
    let on_event = |event: PipelineEvent| match event {
        PipelineEvent::StageStarted { stage, .. } => progress.set_message(stage.as_str()),
        PipelineEvent::StageFinished { .. } => progress.inc(1),
    };
    let report = run_pipeline(&stages, &ctx, &store, &db, &on_event).await;
    progress.finish_and_clear();
    let report = report.with_context(|| format!("request {}", ctx.request.request_id))?;

    if args.json {
        return print_json(&serde_json::json!({
            "request_id": ctx.request.request_id,
            "attempt": report.attempt,
            "output": store.locate(&ctx.output_prefix),
            "manifest": report.manifest,
        }));
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} ({}) for {} [{}], request {}, attempt {}",
        service.display_name,
        service.id,
        ctx.profile.organization_name,
        ctx.profile.profile_id,
        ctx.request.request_id,
        report.attempt
    );
    for stage in &report.manifest.stages {
        let figures: Vec<String> = stage
            .summary
            .iter()
            .filter(|(_, value)| value.is_number())
            .map(|(name, value)| format!("{} {name}", value))
            .collect();
        let _ = writeln!(text, "  {}: {}", stage.stage, figures.join(", "));
    }
    let validation = &report.manifest.validation;
    let warnings: usize = report
        .manifest
        .stages
        .iter()
        .map(|s| s.warnings.len())
        .sum();
    let _ = writeln!(
        text,
        "  checks: {} checked, {} passed, {} flagged; {warnings} warnings (see manifest.json)",
        validation.checked, validation.accepted, validation.rejected
    );
    let _ = writeln!(
        text,
        "  wrote {} files to {}",
        report.manifest.files.len() + 1,
        store.locate(&ctx.output_prefix)
    );
    for file in &report.manifest.files {
        let _ = writeln!(text, "    {:<48} {:>9} bytes", file.path, file.bytes);
    }
    let _ = writeln!(text, "    {:<48}", "manifest.json");
    let _ = write!(text, "  done in {:.2} s", report.elapsed.as_secs_f64());
    print_text(&text)
}
