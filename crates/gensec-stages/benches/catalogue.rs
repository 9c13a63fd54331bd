//! Every stage of every service in the catalogue, in process, one service
//! after another on one thread, with the example profile: the thread's CPU
//! time per stage (repeatable on a shared machine, unlike wall time) for S3
//! and the five services with the largest schemas, and the slowest five
//! services of the whole catalogue. Figures, not a pass/fail test;
//! `scripts/bench` runs it beside the process-level `gensec run` figures.
//!
//! `cargo bench -p gensec-stages --bench catalogue [-- SERVICE...]` runs only
//! the named services.
#![allow(clippy::unwrap_used)] // a benchmark fails loudly by design

use chrono::Utc;
use gensec_core::ServiceRequest;
use gensec_core::contract::stage::StagePorts;
use gensec_core::input::parse_profile;
use gensec_core::pipeline::{PipelineEvent, run_pipeline};
use gensec_kb::Kb;
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::{Stages, run_context};
use rustix::time::{ClockId, clock_gettime};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The allocator the `gensec` binary runs with, so the figures are its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time this thread has used (the stages run on it: the runtime is
/// single-threaded and the directory store writes synchronously).
fn thread_cpu() -> Duration {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap(),
        u32::try_from(now.tv_nsec).unwrap(),
    )
}

/// Peak resident set of this process, from /proc (Linux).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One service's run: CPU time of each stage and of the whole run
/// (publication and tracking included), and its wall time.
struct Measured {
    service: String,
    stages: Vec<(String, Duration)>,
    cpu: Duration,
    wall: Duration,
}

struct Bench {
    kb: Arc<Kb>,
    stages: Stages,
    profile: gensec_core::SecurityProfile,
    out: tempfile::TempDir,
    db: SqliteDb,
    runtime: tokio::runtime::Runtime,
}

impl Bench {
    fn new() -> Self {
        let kb = Arc::new(Kb::embedded().unwrap());
        let stages = Stages::new(&kb).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config-example/security-profile/example-corp.json");
        let profile =
            parse_profile("example-corp.json", &std::fs::read_to_string(path).unwrap()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Self {
            kb,
            stages,
            profile,
            out: tempfile::tempdir().unwrap(),
            db: SqliteDb::in_memory().unwrap(),
            runtime,
        }
    }

    fn run(&self, service_id: &str) -> Measured {
        let request = ServiceRequest {
            request_id: format!("REQ-BENCH-{service_id}"),
            requester: "bench".into(),
            timestamp: Utc::now(),
            service_name: service_id.to_string(),
            profile_id: None,
        };
        let per_stage = Mutex::new(Vec::new());
        let stage_started = Mutex::new(Duration::ZERO);
        let on_event = |event: PipelineEvent| match event {
            PipelineEvent::StageStarted { .. } => *stage_started.lock().unwrap() = thread_cpu(),
            PipelineEvent::StageFinished { stage, .. } => {
                let used = thread_cpu() - *stage_started.lock().unwrap();
                per_stage
                    .lock()
                    .unwrap()
                    .push((stage.as_str().to_string(), used));
            }
        };
        let (wall, cpu) = (Instant::now(), thread_cpu());
        let ctx = run_context(&self.kb, request, self.profile.clone()).unwrap();
        let store = DirStore::new(self.out.path());
        let ports = StagePorts {
            store: &store,
            library: &self.db,
        };
        let run = self.runtime.block_on(run_pipeline(
            &self.stages.all(),
            &ctx,
            &ports,
            &self.db,
            &on_event,
        ));
        let measured = Measured {
            service: service_id.to_string(),
            stages: per_stage.into_inner().unwrap(),
            cpu: thread_cpu() - cpu,
            wall: wall.elapsed(),
        };
        if let Err(err) = run {
            eprintln!("{service_id} failed: {err}");
        }
        // Keep the disk lean: a package is not needed once it is measured.
        for entry in std::fs::read_dir(self.out.path()).unwrap() {
            let _ = std::fs::remove_dir_all(entry.unwrap().path());
        }
        measured
    }

    /// The services with the most property paths across their resource types.
    fn largest_schemas(&self, how_many: usize) -> Vec<(String, usize)> {
        let mut sizes: Vec<(String, usize)> = self
            .kb
            .services()
            .iter()
            .map(|service| {
                let paths = service
                    .resource_types
                    .iter()
                    .filter_map(|name| self.kb.resource_type(name).unwrap())
                    .map(|schema| schema.property_paths().len())
                    .sum();
                (service.id.clone(), paths)
            })
            .collect();
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sizes.truncate(how_many);
        sizes
    }
}

fn print_stages(measured: &Measured, note: &str) {
    let stages: Vec<String> = measured
        .stages
        .iter()
        .map(|(stage, cpu)| format!("{stage} {:.1}", ms(*cpu)))
        .collect();
    println!(
        "  {:<22} cpu {:>7.1} ms  wall {:>7.1} ms  [{}]{note}",
        measured.service,
        ms(measured.cpu),
        ms(measured.wall),
        stages.join(", ")
    );
}

fn main() {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let bench = Bench::new();
    if !named.is_empty() {
        println!("catalogue bench: named services (cpu per stage in ms)");
        for service in &named {
            print_stages(&bench.run(service), "");
        }
        return;
    }
    // Warm the knowledge base and code paths once, so S3 is not charged with them.
    bench.run("s3");
    println!("catalogue bench: S3 and the five largest schemas (cpu per stage in ms)");
    let s3 = bench.run("s3");
    print_stages(&s3, "");
    let mut quicksight_cpu = None;
    for (service, paths) in bench.largest_schemas(5) {
        let measured = bench.run(&service);
        if service == "quicksight" {
            quicksight_cpu = Some(measured.cpu);
        }
        print_stages(&measured, &format!("  {paths} property paths"));
    }
    if let Some(cpu) = quicksight_cpu {
        println!(
            "  quicksight / s3 cpu: {:.2}x",
            cpu.as_secs_f64() / s3.cpu.as_secs_f64()
        );
    }
    let started = Instant::now();
    let mut all: Vec<Measured> = bench
        .kb
        .services()
        .iter()
        .map(|service| bench.run(&service.id))
        .collect();
    let total_cpu: Duration = all.iter().map(|m| m.cpu).sum();
    println!(
        "whole catalogue, one thread: {} services, cpu {:.2} s, wall {:.2} s, peak rss {:.0} MB",
        all.len(),
        total_cpu.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    all.sort_by_key(|measured| std::cmp::Reverse(measured.cpu));
    // The median says what a typical service costs; the per-stage sums say
    // where the catalogue's time goes.
    let median = &all[all.len() / 2];
    println!(
        "median service: {} {:.1} ms cpu",
        median.service,
        ms(median.cpu)
    );
    let mut by_stage: Vec<(String, Duration)> = Vec::new();
    for (stage, cpu) in all.iter().flat_map(|measured| &measured.stages) {
        match by_stage.iter_mut().find(|(seen, _)| seen == stage) {
            Some((_, sum)) => *sum += *cpu,
            None => by_stage.push((stage.clone(), *cpu)),
        }
    }
    let staged: Duration = by_stage.iter().map(|(_, cpu)| *cpu).sum();
    let stages: Vec<String> = by_stage
        .iter()
        .map(|(stage, cpu)| format!("{stage} {:.2}", cpu.as_secs_f64()))
        .collect();
    println!(
        "catalogue cpu by stage in s: [{}], outside stages {:.2}",
        stages.join(", "),
        (total_cpu - staged).as_secs_f64()
    );
    println!("slowest five services (cpu per stage in ms):");
    for measured in all.iter().take(5) {
        print_stages(measured, "");
    }
}
