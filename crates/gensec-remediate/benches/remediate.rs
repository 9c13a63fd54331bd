//! The deterministic path: parse a finding, filter, fingerprint, remediate
//! (catalogue lookup, Terraform rendering, allow-list check, AWS CLI commands
//! resolved and checked against the API model) and render the e-mail.
//! Throughput is reported in findings per second: one S3.8 event, and the
//! realistic findings of the catalogue's controls as one batch.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gensec_remediate::{dedupe, email, event, filter, remediate};
use std::hint::black_box;

const FINDING: &str = include_str!("../tests/fixtures/s3_8_event.json");
const CATALOGUE: &str = include_str!("../tests/fixtures/catalogue_findings.jsonl");

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("remediate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("event_to_email", |b| {
        b.iter(|| {
            let batch = event::parse_input(black_box(FINDING), "bench");
            for located in &batch.findings {
                let decision = filter::decide(&located.finding, &filter::FilterConfig::default());
                let fingerprint = dedupe::fingerprint(&located.finding);
                let remediation = remediate(&located.finding);
                black_box((decision, fingerprint, email::render(&remediation)));
            }
        });
    });
    let findings = event::parse_input(CATALOGUE, "bench").findings.len();
    group.throughput(Throughput::Elements(findings as u64));
    group.bench_function("catalogue_findings_to_email", |b| {
        b.iter(|| {
            let batch = event::parse_input(black_box(CATALOGUE), "bench");
            for located in &batch.findings {
                let decision = filter::decide(&located.finding, &filter::FilterConfig::default());
                let fingerprint = dedupe::fingerprint(&located.finding);
                let remediation = remediate(&located.finding);
                black_box((decision, fingerprint, email::render(&remediation)));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
