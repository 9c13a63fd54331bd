//! One-service documentation run: what stage 1 does for a request, from a cold
//! knowledge base to the serialised `service-documentation.json`.
#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use criterion::{Criterion, criterion_group, criterion_main};
use gensec_kb::Kb;
use std::hint::black_box;

fn documentation_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("documentation_run");
    for service in ["s3", "quicksight", "rds"] {
        group.bench_function(service, |b| {
            b.iter(|| {
                let kb = Kb::embedded().unwrap();
                let doc = gensec_docs::collect(&kb, service).unwrap();
                let verdicts = gensec_docs::cross_check(&kb, &doc);
                black_box((serde_json::to_vec_pretty(&doc).unwrap(), verdicts))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, documentation_run);
criterion_main!(benches);
