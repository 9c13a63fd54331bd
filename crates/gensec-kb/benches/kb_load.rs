//! Knowledge-base load costs, as a Lambda cold start pays them:
//! opening the baseline (index only), answering "everything about service X"
//! from a fresh open (lazy per-service load), and decompressing everything.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use criterion::{Criterion, criterion_group, criterion_main};
use gensec_kb::Kb;
use std::hint::black_box;

fn open_index(c: &mut Criterion) {
    c.bench_function("kb_open_index", |b| {
        b.iter(|| black_box(Kb::embedded().unwrap()))
    });
}

fn lazy_service(c: &mut Criterion) {
    let mut group = c.benchmark_group("kb_open_and_service");
    for service in ["s3", "quicksight", "ec2"] {
        group.bench_function(service, |b| {
            b.iter(|| {
                let kb = Kb::embedded().unwrap();
                let entry = kb.resolve_service(service).unwrap();
                black_box(kb.service_documentation(entry).unwrap())
            })
        });
    }
    group.finish();
}

fn full_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("kb_full_load");
    group.sample_size(10);
    group.bench_function("all_chunks", |b| {
        b.iter(|| {
            let kb = Kb::embedded().unwrap();
            black_box(kb.load_all().unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, open_index, lazy_service, full_load);
criterion_main!(benches);
