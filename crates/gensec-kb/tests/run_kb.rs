//! `run_kb`: what a later stage validates against, from the documentation
//! stage's outcome and the run's `documentation/service-documentation.json`.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_core::contract::figures::StageFigures;
use gensec_core::contract::paths;
use gensec_core::contract::stage::{RunContext, StageId, StageOutcome, Verdicts};
use gensec_core::input::{parse_profile, parse_request};
use gensec_core::memory_store::MemoryStore;
use gensec_core::ports::ObjectStore;
use gensec_kb::{Kb, SOURCE_CFN, ServiceDocumentation, run_kb};
use std::sync::Arc;

fn context(kb: &Kb, service: &str) -> RunContext {
    let profile = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config-example/security-profile/example-corp.json"
    ))
    .unwrap();
    let request = format!(
        r#"{{"request_id": "REQ-overlay", "requester": "test", "timestamp": "2026-12-01T00:00:00Z", "service_name": "{service}"}}"#
    );
    let entry = kb.resolve_service(service).unwrap();
    RunContext::new(
        parse_request("request.json", &request).unwrap(),
        parse_profile("example-corp.json", &profile).unwrap(),
        &entry.id,
        &entry.display_name,
        kb.stamp(),
    )
}

fn outcome(doc: &ServiceDocumentation) -> StageOutcome {
    StageOutcome {
        stage: StageId::Documentation,
        files: Vec::new(),
        figures: StageFigures::Documentation(doc.figures()),
        verdicts: Verdicts::new(StageId::Documentation),
        warnings: Vec::new(),
        llm: None,
    }
}

/// S3's documentation with a bucket property the baseline lacks, its schemas marked live.
fn refreshed(kb: &Kb) -> ServiceDocumentation {
    let mut doc = kb.service_documentation(kb.service("s3").unwrap()).unwrap();
    let bucket = doc
        .resource_types
        .iter_mut()
        .find(|schema| schema.type_name == "AWS::S3::Bucket")
        .unwrap();
    bucket
        .properties
        .insert("LiveOnlyProperty".into(), Default::default());
    let status = doc
        .sources
        .iter_mut()
        .find(|status| status.source == SOURCE_CFN)
        .unwrap();
    status.origin = "live".into();
    doc
}

async fn store_doc(store: &MemoryStore, ctx: &RunContext, doc: &ServiceDocumentation) {
    store
        .put(
            &ctx.key(paths::DOCUMENTATION),
            serde_json::to_vec(doc).unwrap(),
            "application/json",
        )
        .await
        .unwrap();
}

fn knows_live_property(kb: &Kb) -> bool {
    kb.resource_type("AWS::S3::Bucket")
        .unwrap()
        .unwrap()
        .resolve("LiveOnlyProperty")
        .is_some()
}

#[tokio::test]
async fn an_unrefreshed_run_gets_the_shared_knowledge_base_without_reading() {
    let kb = Arc::new(Kb::embedded().unwrap());
    let ctx = context(&kb, "s3");
    let store = MemoryStore::default();
    let doc = kb.service_documentation(kb.service("s3").unwrap()).unwrap();
    // Nothing is stored: a read would fail.
    let run = run_kb(&kb, &store, &ctx, &[outcome(&doc)]).await.unwrap();
    assert!(Arc::ptr_eq(&run, &kb));
    // A stage run on its own (no documentation outcome) validates against the baseline.
    let alone = run_kb(&kb, &store, &ctx, &[]).await.unwrap();
    assert!(Arc::ptr_eq(&alone, &kb));
}

#[tokio::test]
async fn a_refreshed_run_gets_its_documentation_over_the_baseline() {
    let kb = Arc::new(Kb::embedded().unwrap());
    let ctx = context(&kb, "s3");
    let store = MemoryStore::default();
    let doc = refreshed(&kb);
    store_doc(&store, &ctx, &doc).await;
    let run = run_kb(&kb, &store, &ctx, &[outcome(&doc)]).await.unwrap();
    assert!(run.is_overlaid());
    assert!(knows_live_property(&run));
    assert!(!knows_live_property(&kb));
}

#[tokio::test]
async fn a_missing_or_foreign_document_fails_the_stage() {
    let kb = Arc::new(Kb::embedded().unwrap());
    let ctx = context(&kb, "s3");
    let store = MemoryStore::default();
    let doc = refreshed(&kb);
    let missing = run_kb(&kb, &store, &ctx, &[outcome(&doc)])
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("is missing"), "{missing}");

    let mut foreign = doc.clone();
    foreign.service_id = "sqs".into();
    store_doc(&store, &ctx, &foreign).await;
    let err = run_kb(&kb, &store, &ctx, &[outcome(&doc)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("documents sqs, not s3"), "{err}");
}

/// Prints what laying a refreshed document over the baseline costs (no
/// timing assertion: figures for the report).
#[test]
fn overlay_cost_for_s3_and_quicksight() {
    let kb = Kb::embedded().unwrap();
    for service in ["s3", "quicksight"] {
        let mut doc = kb
            .service_documentation(kb.service(service).unwrap())
            .unwrap();
        for status in &mut doc.sources {
            status.origin = "live".into();
        }
        let started = std::time::Instant::now();
        let run = kb.with_documentation(doc);
        let elapsed = started.elapsed();
        assert!(run.is_overlaid());
        println!(
            "overlay {service}: {:.3} ms ({} resource types)",
            elapsed.as_secs_f64() * 1e3,
            run.service(service).unwrap().resource_types.len()
        );
    }
}
