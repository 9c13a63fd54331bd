//! `gensec run --service all` and `--service s3,rds,ec2`: several services,
//! one request each (own request id, package and tracking record), on every
//! core. Worker threads take the next service from a shared counter, so only
//! as many runs as there are workers are in memory at once; a failing
//! service is reported and the rest go on.

use super::{RunArgs, language_model, open_database, request_for_service};
use crate::inputs::load_profile_or_embedded;
use crate::output::{print_json, print_text};
use gensec_core::contract::figures::{AnalysisFigures, ControlsFigures};
use gensec_core::contract::stage::{Stage, StagePorts};
use gensec_core::input::SecurityProfile;
use gensec_core::manifest::Manifest;
use gensec_core::pipeline::run_pipeline;
use gensec_kb::Kb;
use gensec_kb::model::ServiceEntry;
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::{Stages, run_context};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The services `--service` names when it names several: `all` (the whole
/// catalogue) or a comma-separated list (each resolved like a single name,
/// duplicates once). `None` for a single name.
pub(super) fn several_services<'a>(
    kb: &'a Kb,
    value: &str,
) -> Result<Option<Vec<&'a ServiceEntry>>, gensec_core::Error> {
    if value.trim().eq_ignore_ascii_case("all") {
        return Ok(Some(kb.services().iter().collect()));
    }
    if !value.contains(',') {
        return Ok(None);
    }
    let mut seen = HashSet::new();
    let mut services = Vec::new();
    for name in value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let entry = kb.resolve_service(name)?;
        if seen.insert(entry.id.as_str()) {
            services.push(entry);
        }
    }
    Ok(Some(services))
}

/// What the runs shared: everything read once, before any service runs.
struct Shared<'a> {
    kb: &'a Kb,
    profile: &'a SecurityProfile,
    stages: &'a [&'a dyn Stage],
    store: &'a DirStore,
    db: &'a SqliteDb,
    requester: &'a str,
    progress: &'a ProgressBar,
}

/// The runs' results, added up as they finish.
#[derive(Default)]
struct Tally {
    totals: BTreeMap<String, u64>,
    /// (service id, request id), in the order they finished.
    succeeded: Vec<(String, String)>,
    /// (service id, reason).
    failed: Vec<(String, String)>,
}

/// Run the services on every core; report totals and failures, and fail at
/// the end naming the services that failed.
pub(super) async fn run_several(
    kb: &Arc<Kb>,
    args: &RunArgs,
    services: &[&ServiceEntry],
) -> anyhow::Result<()> {
    let (profile, _) = load_profile_or_embedded(args.profile.as_deref(), None)?;
    let llm = language_model(&args.llm, &args.out.join(".llm-cache")).await?;
    let pipeline = args.refresh.apply(Stages::with_llm(kb, llm)?, &args.out)?;
    let store = DirStore::new(&args.out);
    let db = open_database(&args.db).await?;
    let stages = pipeline.all();
    let progress = progress_bar(services.len(), args.json);
    let shared = Shared {
        kb,
        profile: &profile,
        stages: &stages,
        store: &store,
        db: &db,
        requester: &args.requester,
        progress: &progress,
    };
    let started = Instant::now();
    // The workers block their threads on their own runtimes; tell this one.
    let workers = args.jobs.map_or_else(default_workers, usize::from);
    let tally = tokio::task::block_in_place(|| run_on_every_core(&shared, services, workers))?;
    progress.finish_and_clear();
    print_tally(
        args,
        services.len(),
        &tally,
        started.elapsed().as_secs_f64(),
    )?;
    if tally.failed.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&str> = tally.failed.iter().map(|(id, _)| id.as_str()).collect();
    names.sort_unstable();
    Err(gensec_core::Error::Fatal(format!(
        "{} of {} services failed: {}",
        names.len(),
        services.len(),
        names.join(", ")
    ))
    .into())
}

fn progress_bar(len: usize, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Two runs per core: publishing a package waits for the disk to sync it,
/// and with one run per core the core idles meanwhile (on the 2-core build
/// machine, `--service all` into memory took about an eighth longer that way;
/// onto its shared disk the difference was larger and varied from run to run).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) * 2
}

/// `workers` threads, each with its own single-threaded runtime, taking
/// services in catalogue order until none is left; at most `workers` runs
/// are in memory at once.
fn run_on_every_core(
    shared: &Shared<'_>,
    services: &[&ServiceEntry],
    workers: usize,
) -> anyhow::Result<Tally> {
    let workers = workers.min(services.len()).max(1);
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    while let Some(service) = services.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let result = runtime.block_on(run_one(shared, service));
                        let mut tally = tally
                            .lock()
                            .map_err(|_| anyhow::anyhow!("a worker panicked"))?;
                        record(&mut tally, &service.id, result);
                        shared.progress.set_message(format!(
                            "{} ({} failed)",
                            service.id,
                            tally.failed.len()
                        ));
                        shared.progress.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a worker thread panicked"))??;
        }
        Ok(())
    })?;
    tally
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a worker panicked"))
}

/// One service's request through the pipeline: its request id and manifest,
/// or why it failed.
async fn run_one(
    shared: &Shared<'_>,
    service: &ServiceEntry,
) -> Result<(String, Manifest), String> {
    let request = request_for_service(&service.id, &service.id, shared.requester);
    let request_id = request.request_id.clone();
    let ctx = run_context(shared.kb, request, shared.profile.clone())
        .map_err(|err| format!("{err:#}"))?;
    let ports = StagePorts {
        store: shared.store,
        library: shared.db,
    };
    let run = run_pipeline(shared.stages, &ctx, &ports, shared.db, &|_| {})
        .await
        .map_err(|err| format!("{request_id}: {:#}", anyhow::Error::from(err)))?;
    Ok((request_id, run.manifest))
}

fn record(tally: &mut Tally, service_id: &str, result: Result<(String, Manifest), String>) {
    match result {
        Ok((request_id, manifest)) => {
            add_totals(&mut tally.totals, &manifest);
            tally.succeeded.push((service_id.to_string(), request_id));
        }
        Err(reason) => tally.failed.push((service_id.to_string(), reason)),
    }
}

/// Add a run's figures to the totals.
fn add_totals(totals: &mut BTreeMap<String, u64>, manifest: &Manifest) {
    let mut add = |key: &str, value: u64| *totals.entry(key.to_string()).or_default() += value;
    if let Some(f) = manifest.figures::<AnalysisFigures>() {
        add("analysis.recommendations", f.recommendations);
        add("analysis.inferred", f.inferred);
    }
    if let Some(f) = manifest.figures::<ControlsFigures>() {
        add("controls.guard_rules", f.guard_rules);
        add("controls.config_rules_managed", f.config_rules_managed);
        add("controls.config_rules_custom", f.config_rules_custom);
        add("controls.scp_statements", f.scp_statements);
        add("controls.library_entries", f.library_entries);
    }
    add("validation.rejected", manifest.validation.rejected);
    if let Some(llm) = &manifest.llm {
        add("llm.input_tokens", llm.usage.input_tokens);
        add("llm.output_tokens", llm.usage.output_tokens);
        add("llm.cache_hits", u64::from(llm.usage.cache_hits));
        add("llm.fallbacks", u64::from(llm.deterministic_fallback));
    }
}

const TOTAL_KEYS: [&str; 12] = [
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
];

fn print_tally(args: &RunArgs, services: usize, tally: &Tally, elapsed: f64) -> anyhow::Result<()> {
    let failed: BTreeMap<&str, &str> = tally
        .failed
        .iter()
        .map(|(id, reason)| (id.as_str(), reason.as_str()))
        .collect();
    if args.json {
        let requests: BTreeMap<&str, &str> = tally
            .succeeded
            .iter()
            .map(|(id, request)| (id.as_str(), request.as_str()))
            .collect();
        return print_json(&serde_json::json!({
            "services": services,
            "succeeded": requests,
            "failed": failed,
            "totals": tally.totals,
            "elapsed_seconds": elapsed,
        }));
    }
    let mut text = format!(
        "{services} services in {elapsed:.1} s: {} succeeded, {} failed\n",
        tally.succeeded.len(),
        failed.len()
    );
    let with_llm = args.llm.llm.is_some();
    for key in TOTAL_KEYS
        .into_iter()
        .filter(|key| with_llm || !key.starts_with("llm."))
    {
        let value = tally.totals.get(key).copied().unwrap_or_default();
        let _ = writeln!(text, "  {key:<32} {value:>8}");
    }
    for (id, reason) in failed.iter().take(20) {
        let _ = writeln!(text, "  failed: {id}: {reason}");
    }
    if failed.len() > 20 {
        let _ = writeln!(text, "  ... {} more failed", failed.len() - 20);
    }
    print_text(text.trim_end())
}
