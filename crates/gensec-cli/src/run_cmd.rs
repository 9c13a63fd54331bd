//! `gensec run`: one service request through the pipeline, in-process.

use crate::inputs::{load_profile, load_request};
use crate::output::{print_json, print_text};
use anyhow::Context;
use chrono::Utc;
use gensec_core::ServiceRequest;
use gensec_core::analysis::{VALIDATION_REPORT_PATH, ValidationReport};
use gensec_core::llm::Llm;
use gensec_core::pipeline::{PipelineEvent, StagePorts, run_pipeline};
use gensec_core::ports::ObjectStore;
use gensec_kb::Kb;
use gensec_llm::{LlmOptions, LlmSpec, ResponseCache};
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::{Stages, run_context};
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
    #[command(flatten)]
    llm: LlmArgs,
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
fn llm_lines(text: &mut String, manifest: &gensec_core::manifest::Manifest) {
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
    if args
        .service
        .as_deref()
        .is_some_and(|name| name.eq_ignore_ascii_case("all"))
    {
        return run_all(&kb, &args).await;
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
    let profile = load_profile(&args.profile, request.profile_id.as_deref())?;
    let ctx = run_context(&kb, request, profile)?;
    let service = kb.resolve_service(&ctx.service_id)?.clone();
    let llm = language_model(&args.llm, &args.out.join(".llm-cache")).await?;
    let pipeline = Stages::with_llm(&kb, llm)?;

    let store = DirStore::new(&args.out);
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
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
    let report = run_pipeline(&stages, &ctx, &ports, &db, &on_event).await;
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
    let figure = |stage: &str, name: &str| -> serde_json::Value {
        report
            .manifest
            .stages
            .iter()
            .find(|s| s.stage == stage)
            .and_then(|s| s.summary.get(name).cloned())
            .unwrap_or_default()
    };
    let counts = |value: serde_json::Value| -> String {
        value
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let _ = writeln!(
        text,
        "  documentation: {} resource types, {} IAM actions, {} condition keys, {} Config rules",
        figure("documentation", "resource_types"),
        figure("documentation", "iam_actions"),
        figure("documentation", "iam_condition_keys"),
        figure("documentation", "config_rules"),
    );
    let _ = writeln!(
        text,
        "  recommendations: {} ({}; {} inferred from schemas)",
        figure("analysis", "recommendations"),
        counts(figure("analysis", "by_priority")),
        figure("analysis", "inferred"),
    );
    let _ = writeln!(
        text,
        "    by domain: {}",
        counts(figure("analysis", "by_domain"))
    );
    let _ = writeln!(
        text,
        "  controls: {} Guard rules ({} test cases, all executed), {} managed + {} custom Config rules, {} SCP statements in {} documents",
        figure("controls", "guard_rules"),
        figure("controls", "guard_test_cases"),
        figure("controls", "config_rules_managed"),
        figure("controls", "config_rules_custom"),
        figure("controls", "scp_statements"),
        figure("controls", "scp_documents"),
    );
    let _ = writeln!(
        text,
        "  iac: {} resources, {} parameters, {} schema problems; {} Guard rules passed, {} failed; Terraform for {} types ({} not mapped)",
        figure("iac", "resources"),
        figure("iac", "parameters"),
        figure("iac", "schema_problems"),
        figure("iac", "guard_rules_passed"),
        figure("iac", "guard_rules_failed"),
        figure("iac", "terraform_mapped_types"),
        figure("iac", "terraform_unmapped_types"),
    );
    let _ = writeln!(
        text,
        "  iam: {} personas ({}), {} risky actions flagged",
        figure("iam", "personas"),
        counts(figure("iam", "actions_per_persona")),
        figure("iam", "risky_actions"),
    );
    let _ = writeln!(text, "  report: {}", store.locate(&ctx.key("report.html")));
    let _ = writeln!(
        text,
        "  library: {} entries stored in {}",
        figure("controls", "library_entries"),
        args.db.display()
    );
    let validation = &report.manifest.validation;
    let _ = writeln!(
        text,
        "  validators: {} checked, {} passed, {} rejected",
        validation.checked, validation.accepted, validation.rejected
    );
    llm_lines(&mut text, &report.manifest);
    let rejections = match store.get(&ctx.key(VALIDATION_REPORT_PATH)).await? {
        Some(body) => serde_json::from_slice::<ValidationReport>(&body)
            .map(|r| r.rejected)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    for rejection in rejections.iter().take(5) {
        let _ = writeln!(
            text,
            "    rejected {} ({}): {}",
            rejection.item, rejection.stage, rejection.reason
        );
    }
    if rejections.len() > 5 {
        let _ = writeln!(
            text,
            "    ... {} more in analysis/validation-report.json",
            rejections.len() - 5
        );
    }
    let warnings: usize = report
        .manifest
        .stages
        .iter()
        .map(|s| s.warnings.len())
        .sum();
    if warnings > 0 {
        let _ = writeln!(
            text,
            "  {warnings} cross-source warnings (see manifest.json)"
        );
    }
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

/// `--service all`: the whole catalogue, one request per service. A failing
/// service is reported and the rest go on.
async fn run_all(kb: &Arc<Kb>, args: &RunArgs) -> anyhow::Result<()> {
    let profile = load_profile(&args.profile, None)?;
    let llm = language_model(&args.llm, &args.out.join(".llm-cache")).await?;
    let pipeline = Stages::with_llm(kb, llm)?;
    let store = DirStore::new(&args.out);
    let db = SqliteDb::open(&args.db).with_context(|| format!("opening {}", args.db.display()))?;
    let ports = StagePorts {
        store: &store,
        library: &db,
    };
    let stages = pipeline.all();
    let services = kb.services();
    let progress = if args.json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(services.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut totals: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for service in services {
        progress.set_message(service.id.clone());
        let request = request_for_service(&service.id, &service.id, &args.requester);
        let result = match run_context(kb, request, profile.clone()) {
            Ok(ctx) => run_pipeline(&stages, &ctx, &ports, &db, &|_| {})
                .await
                .map_err(anyhow::Error::from),
            Err(err) => Err(err.into()),
        };
        match result {
            Ok(report) => {
                for stage in &report.manifest.stages {
                    for (name, value) in &stage.summary {
                        if let Some(number) = value.as_u64() {
                            *totals.entry(format!("{}.{name}", stage.stage)).or_default() += number;
                        }
                    }
                }
                *totals.entry("validation.rejected".into()).or_default() +=
                    report.manifest.validation.rejected;
                if let Some(llm) = &report.manifest.llm {
                    for (key, value) in [
                        ("llm.input_tokens", llm.usage.input_tokens),
                        ("llm.output_tokens", llm.usage.output_tokens),
                        ("llm.cache_hits", u64::from(llm.usage.cache_hits)),
                        ("llm.fallbacks", u64::from(llm.deterministic_fallback)),
                    ] {
                        *totals.entry(key.into()).or_default() += value;
                    }
                }
            }
            Err(err) => failures.push(format!("{}: {err:#}", service.id)),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    if args.json {
        print_json(&serde_json::json!({
            "services": services.len(),
            "failed": failures,
            "totals": totals,
            "elapsed_seconds": elapsed.as_secs_f64(),
        }))?;
    } else {
        let mut text = format!(
            "{} services in {:.1} s: {} succeeded, {} failed\n",
            services.len(),
            elapsed.as_secs_f64(),
            services.len() - failures.len(),
            failures.len()
        );
        for key in [
            "analysis.recommendations",
            "analysis.inferred",
            "controls.guard_rules",
            "controls.config_rules_managed",
            "controls.config_rules_custom",
            "controls.scp_statements",
            "controls.library_entries",
            "validation.rejected",
            "llm.input_tokens",
            "llm.output_tokens",
            "llm.cache_hits",
            "llm.fallbacks",
        ]
        .into_iter()
        .filter(|key| !key.starts_with("llm.") || args.llm.llm.is_some())
        {
            let _ = writeln!(
                text,
                "  {key:<32} {:>8}",
                totals.get(key).copied().unwrap_or_default()
            );
        }
        for failure in failures.iter().take(20) {
            let _ = writeln!(text, "  failed: {failure}");
        }
        print_text(text.trim_end())?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(gensec_core::Error::Fatal(format!("{} services failed", failures.len())).into())
    }
}
