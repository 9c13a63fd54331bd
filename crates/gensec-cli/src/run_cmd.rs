//! `gensec run`: one service request through the pipeline, in-process; or
//! several services (`--service all`, `--service s3,rds,ec2`), see [`several`].

mod several;

use crate::inputs::{ProfileSource, load_profile_or_embedded, load_request};
use crate::output::{print_json, print_text};
use anyhow::Context;
use chrono::Utc;
use gensec_core::ServiceRequest;
use gensec_core::contract::decision::Severity;
use gensec_core::contract::figures::{
    AnalysisFigures, ControlsFigures, DocumentationFigures, IacFigures, IamFigures,
};
use gensec_core::contract::paths;
use gensec_core::contract::stage::StagePorts;
use gensec_core::llm::Llm;
use gensec_core::manifest::Manifest;
use gensec_core::pipeline::{PipelineEvent, PublishedRun, run_pipeline};
use gensec_core::ports::{ObjectStore, RequestTracker};
use gensec_core::tracking::DEFAULT_STALE_AFTER_MINUTES;
use gensec_kb::Kb;
use gensec_llm::{LlmOptions, LlmSpec, ResponseCache};
use gensec_local::{DirStore, RequestLock, SqliteDb};
use gensec_stages::{Stages, run_context};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["request", "service"])))]
pub struct RunArgs {
    /// Security profile file, or a directory of profiles (picked by the request's
    /// profile_id). Default: the example profile compiled into gensec
    /// (`gensec init` writes it out for editing).
    #[arg(long, value_name = "FILE|DIR")]
    profile: Option<PathBuf>,
    /// Service request file.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// Service name (S3, "Amazon QuickSight", AWS::RDS, ...); makes a request on the fly.
    /// `all` runs the whole catalogue and a comma-separated list (`s3,rds,ec2`)
    /// those services, one request each, on every core.
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
    /// With several services: how many run at once (default two per core:
    /// a run waits for the disk while its package is synced, and another
    /// run's stages use the core meanwhile).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    #[command(flatten)]
    llm: LlmArgs,
    #[command(flatten)]
    refresh: crate::refresh::RefreshArgs,
}

/// The language model options, shared by `gensec run` and `gensec remediate`.
#[derive(Debug, clap::Args)]
pub(crate) struct LlmArgs {
    /// Optional language model: `bedrock[:MODEL]` or `openai=URL[,model=NAME]`
    /// (default none: deterministic). Everything it proposes is validated; if
    /// it is unreachable the result is the deterministic one.
    #[arg(long, env = "GENSEC_LLM", value_name = "SPEC")]
    pub(crate) llm: Option<String>,
    /// Most tokens one run may spend: `INPUT,OUTPUT` (default 30000,8000) or `none`.
    #[arg(long, env = "GENSEC_LLM_BUDGET", value_name = "IN,OUT")]
    llm_budget: Option<String>,
    /// JSON price table adding to the built-in one: `{"model": {"input_per_mtok": 0.8, "output_per_mtok": 4}}`.
    #[arg(long, env = "GENSEC_LLM_PRICES", value_name = "FILE")]
    llm_prices: Option<PathBuf>,
    /// Directory of cached model answers (default `<output dir>/.llm-cache`), or `off`.
    #[arg(long, env = "GENSEC_LLM_CACHE", value_name = "DIR|off")]
    llm_cache: Option<String>,
}

/// An `--llm` problem is the user's input (exit code 2).
fn llm_input_error(what: &str, message: String) -> anyhow::Error {
    gensec_core::Error::from(gensec_core::InputError::new(what, "$", message)).into()
}

/// The model the options name, if any, with budget, prices and cache
/// (`default_cache` unless `--llm-cache` says otherwise).
pub(crate) async fn language_model(
    args: &LlmArgs,
    default_cache: &Path,
) -> anyhow::Result<Option<Arc<dyn Llm>>> {
    let Some(text) = args.llm.as_deref() else {
        return Ok(None);
    };
    let env = gensec_llm::process_env;
    let Some(spec) =
        LlmSpec::parse(text, &env).map_err(|err| llm_input_error("--llm", err.message))?
    else {
        return Ok(None);
    };
    let mut options = LlmOptions::from_env(spec, &env)
        .map_err(|err| llm_input_error("--llm", err.to_string()))?;
    if let Some(budget) = &args.llm_budget {
        options.budget = gensec_llm::parse_budget(budget)
            .map_err(|message| llm_input_error("--llm-budget", message))?;
    }
    if let Some(path) = &args.llm_prices {
        options = options
            .with_price_file(path)
            .map_err(|err| llm_input_error("--llm-prices", err.to_string()))?;
    }
    let cache_dir = match args.llm_cache.as_deref() {
        Some("off" | "none") => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => Some(default_cache.to_path_buf()),
    };
    options.cache = cache_dir.map(|dir| ResponseCache::new(Arc::new(DirStore::new(dir)), ""));
    let llm = gensec_llm::build(options)
        .await
        .context("setting up the language model")?;
    Ok(Some(llm))
}

/// The summary line of the run's language model use, if one was configured.
fn llm_lines(text: &mut String, manifest: &Manifest) {
    let Some(llm) = &manifest.llm else {
        return;
    };
    let usage = &llm.usage;
    let cost = llm.estimated_cost_usd.map_or_else(
        || "cost unknown".to_string(),
        |usd| format!("est. ${usd:.4}"),
    );
    let rate = llm.hallucination_rate.map_or_else(String::new, |rate| {
        format!(
            ", {} of {} names unknown ({:.1}%)",
            llm.names_unknown,
            llm.names_checked,
            rate * 100.0
        )
    });
    let _ = writeln!(
        text,
        "  llm: {}, {} calls ({} from cache), {} input + {} output tokens, {cost}; {} items accepted, {} rejected{rate}",
        llm.models.join(", "),
        usage.calls,
        usage.cache_hits,
        usage.input_tokens,
        usage.output_tokens,
        llm.items_accepted,
        llm.items_rejected,
    );
    for note in &llm.notes {
        let _ = writeln!(text, "    {note}");
    }
}

/// Open the database and mark attempts whose runner died (killed, crashed)
/// ABANDONED, so no request stays RUNNING forever.
async fn open_database(path: &Path) -> anyhow::Result<SqliteDb> {
    let db = SqliteDb::open(path).with_context(|| format!("opening {}", path.display()))?;
    let stale_after = chrono::Duration::minutes(DEFAULT_STALE_AFTER_MINUTES);
    db.reap_abandoned(Utc::now(), stale_after)
        .await
        .with_context(|| format!("marking abandoned runs in {}", path.display()))?;
    Ok(db)
}

/// A request made on the fly. Its id carries the time to the millisecond and
/// a random suffix, so two runs in the same instant never share a package.
fn request_for_service(name: &str, service_id: &str, requester: &str) -> ServiceRequest {
    let now = Utc::now();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    ServiceRequest {
        request_id: format!(
            "REQ-{}-{}-{service_id}",
            now.format("%Y%m%d-%H%M%S%3f"),
            &suffix[..8]
        ),
        requester: requester.to_string(),
        timestamp: now,
        service_name: name.to_string(),
        profile_id: None,
    }
}

pub async fn run(kb_path: Option<&Path>, args: RunArgs) -> anyhow::Result<()> {
    // Everything is read and checked before anything is written.
    let kb = Arc::new(Kb::open(kb_path).map_err(gensec_core::Error::from)?);
    if let Some(value) = args.service.as_deref()
        && let Some(services) = several::several_services(&kb, value)?
    {
        let result = several::run_several(&kb, &args, &services).await;
        // The process ends here: freeing the whole knowledge base, loaded for
        // every service, was a hundredth of `--service all` and only delays
        // the exit.
        std::mem::forget(kb);
        return result;
    }
    let request = match (&args.request, &args.service) {
        (Some(path), _) => load_request(path)?,
        (None, Some(name)) => {
            let entry = kb.resolve_service(name)?;
            request_for_service(name, &entry.id, &args.requester)
        }
        (None, None) => unreachable!("clap requires --request or --service"),
    };
    kb.resolve_service(&request.service_name)
        .map_err(|err| crate::inputs::in_request_file(err, args.request.as_deref()))?;
    let (profile, profile_source) =
        load_profile_or_embedded(args.profile.as_deref(), request.profile_id.as_deref())?;
    let ctx = run_context(&kb, request, profile)?;
    let service = kb.resolve_service(&ctx.service_id)?.clone();
    let llm = language_model(&args.llm, &args.out.join(".llm-cache")).await?;
    let pipeline = args.refresh.apply(Stages::with_llm(&kb, llm)?, &args.out)?;

    let store = DirStore::new(&args.out);
    let db = open_database(&args.db).await?;
    let stages = pipeline.all();
    let ports = StagePorts {
        store: &store,
        library: &db,
    };

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
    // Parallel runs of one request id take turns instead of mixing packages.
    let _lock = RequestLock::acquire(&args.out, &ctx.package_prefix)?;
    let run = run_pipeline(&stages, &ctx, &ports, &db, &on_event).await;
    progress.finish_and_clear();
    let run = run.with_context(|| format!("request {}", ctx.request.request_id))?;

    if args.json {
        return print_json(&serde_json::json!({
            "request_id": ctx.request.request_id,
            "attempt": run.attempt,
            "output": store.locate(&run.package_prefix),
            "manifest": run.manifest,
        }));
    }
    let heading = format!(
        "{} ({}) for {} [{}], request {}, attempt {}",
        service.display_name,
        service.id,
        ctx.profile.organization_name,
        ctx.profile.profile_id,
        ctx.request.request_id,
        run.attempt
    );
    print_text(&summary_text(
        &heading,
        &profile_source,
        &run,
        &store,
        &args.db,
    ))
}

/// `1 rule`, `2 rules`.
fn n(count: u64, one: &str) -> String {
    format!("{count} {}", noun(count, one))
}

/// `1 entry`, `2 entries`.
fn n2(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The noun for a count: `rule` or `rules`.
fn noun(count: u64, one: &str) -> String {
    if count == 1 {
        one.to_string()
    } else {
        format!("{one}s")
    }
}

fn counts(map: &std::collections::BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(key, value)| format!("{key} {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The figures of each stage, one line each.
fn stage_lines(text: &mut String, manifest: &Manifest) {
    if let Some(f) = manifest.figures::<DocumentationFigures>() {
        let _ = writeln!(
            text,
            "  documentation: {}, {}, {}, {}",
            n(f.resource_types, "resource type"),
            n(f.iam_actions, "IAM action"),
            n(f.iam_condition_keys, "condition key"),
            n(f.config_rules, "Config rule")
        );
        crate::refresh::source_lines(text, manifest);
    }
    if let Some(f) = manifest.figures::<AnalysisFigures>() {
        let _ = writeln!(
            text,
            "  recommendations: {} ({}; {} curated, {} inferred from schemas)",
            f.recommendations,
            counts(&f.by_priority),
            f.curated,
            f.inferred
        );
        let _ = writeln!(text, "    by domain: {}", counts(&f.by_domain));
    }
    if let Some(f) = manifest.figures::<ControlsFigures>() {
        let _ = writeln!(
            text,
            "  controls: {} ({}, all executed), {} managed + {} custom Config {}, {} in {}",
            n(f.guard_rules, "Guard rule"),
            n(f.guard_test_cases, "test case"),
            f.config_rules_managed,
            f.config_rules_custom,
            noun(f.config_rules_managed + f.config_rules_custom, "rule"),
            n(f.scp_statements, "SCP statement"),
            n(f.scp_documents, "document")
        );
    }
    if let Some(f) = manifest.figures::<IacFigures>() {
        let terraform = if f.terraform_written {
            format!(
                "Terraform for {} ({} not mapped)",
                n(f.terraform_mapped_types, "type"),
                f.terraform_unmapped_types
            )
        } else {
            "no Terraform (it did not pass its checks)".to_string()
        };
        let _ = writeln!(
            text,
            "  iac: {}, {}, {}; {} passed, {} failed; {terraform}",
            n(f.resources, "resource"),
            n(f.parameters, "parameter"),
            n(f.schema_problems, "schema problem"),
            n(f.guard_rules_passed, "Guard rule"),
            f.guard_rules_failed,
        );
    }
    if let Some(f) = manifest.figures::<IamFigures>() {
        let _ = writeln!(
            text,
            "  iam: {} ({}), {} flagged",
            n(f.personas, "persona"),
            counts(&f.actions_per_persona),
            n(f.risky_actions, "risky action")
        );
    }
}

/// The decision the package supports, its reasons and what the reviewer
/// must supply (the top of report.html and summary.md).
fn decision_lines(text: &mut String, manifest: &Manifest) {
    let Some(decision) = &manifest.decision else {
        return;
    };
    let _ = writeln!(text, "  decision: {}", decision.headline());
    for reason in &decision.reasons {
        let severity = match reason.severity {
            Severity::Blocker => "blocker",
            Severity::Condition => "condition",
        };
        let _ = writeln!(text, "    {severity}: {}", reason.text);
    }
    if let Some(recorded) = &decision.recorded {
        let _ = writeln!(
            text,
            "    recorded in the library: {} by {} (version {})",
            recorded.decision, recorded.by, recorded.version
        );
    }
    let inputs: Vec<&str> = decision
        .reviewer_inputs
        .iter()
        .filter(|input| input.kind != "exception")
        .map(|input| input.name.as_str())
        .collect();
    if !inputs.is_empty() {
        let _ = writeln!(text, "    reviewer supplies: {}", inputs.join(", "));
    }
    let _ = writeln!(
        text,
        "    control cases: {} executed, {} passed; details in {}",
        decision.cases_executed,
        decision.cases_passed,
        paths::SUMMARY_MARKDOWN
    );
}

/// The summary `gensec run` prints for one published run.
fn summary_text(
    heading: &str,
    profile: &ProfileSource,
    run: &PublishedRun,
    store: &DirStore,
    db: &Path,
) -> String {
    let manifest = &run.manifest;
    let mut text = format!("{heading}\n");
    let _ = writeln!(text, "  profile: {}", profile.describe());
    decision_lines(&mut text, manifest);
    stage_lines(&mut text, manifest);
    let report = format!("{}{}", run.package_prefix, paths::REPORT_HTML);
    let _ = writeln!(text, "  report: {}", store.locate(&report));
    let _ = writeln!(
        text,
        "  library: {} stored in {}",
        n2(run.library_entries as u64, "entry", "entries"),
        db.display()
    );
    let validation = &run.validation;
    let _ = writeln!(
        text,
        "  validators: {} checked, {} passed, {} rejected",
        validation.totals.checked, validation.totals.accepted, validation.totals.rejected
    );
    llm_lines(&mut text, manifest);
    for rejection in validation.rejected.iter().take(5) {
        let _ = writeln!(
            text,
            "    rejected {} ({}): {}",
            rejection.item, rejection.stage, rejection.reason
        );
    }
    if validation.rejected.len() > 5 {
        let _ = writeln!(
            text,
            "    ... {} more in {}",
            validation.rejected.len() - 5,
            paths::VALIDATION_REPORT
        );
    }
    let warnings: usize = manifest.stages.iter().map(|s| s.warnings.len()).sum();
    if warnings > 0 {
        let _ = writeln!(
            text,
            "  {} (see {})",
            n(warnings as u64, "warning"),
            paths::MANIFEST
        );
    }
    let _ = writeln!(
        text,
        "  wrote {} to {}",
        n(manifest.files.len() as u64 + 1, "file"),
        store.locate(&run.package_prefix)
    );
    for file in &manifest.files {
        let _ = writeln!(text, "    {:<48} {:>9} bytes", file.path, file.bytes);
    }
    let _ = writeln!(text, "    {:<48}", paths::MANIFEST);
    let _ = write!(text, "  done in {:.2} s", run.elapsed.as_secs_f64());
    text
}
