//! Later stages validate against the run's documentation: the documentation
//! stage refreshes S3's facts from a local stand-in for AWS's sources
//! (wiremock on 127.0.0.1), and the analysis stage then accepts a model's
//! recommendation that uses a bucket property, an action and a Config rule
//! only the live sources have; without the refresh the same answer's names
//! are unknown and rejected.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../gensec-docs/tests/support/fake_sources.rs"]
mod fake_sources;

use async_trait::async_trait;
use gensec_core::contract::analysis::{Confidence, RecommendationSet};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{StageId, StageOutcome, StagePorts};
use gensec_core::contract::validation::ValidationReport;
use gensec_core::input::parse_profile;
use gensec_core::llm::{FinishReason, Llm, LlmError, LlmRequest, LlmResponse, TokenUsage};
use gensec_core::ports::read_json;
use gensec_core::{SecurityProfile, ServiceRequest};
use gensec_docs::live::{LiveCollector, LiveConfig};
use gensec_kb::Kb;
use gensec_local::{DirStore, SqliteDb};
use gensec_stages::{Stages, run_context};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use wiremock::MockServer;

/// A model that always proposes one recommendation built on live-only names.
#[derive(Debug)]
struct ProposesLiveOnlyNames;

#[async_trait]
impl Llm for ProposesLiveOnlyNames {
    fn model_id(&self) -> &str {
        "live-only"
    }
    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        if !request.messages[0].content.contains("<<<BEGIN facts>>>") {
            return Err(LlmError::Unavailable("only the analysis prompt".into()));
        }
        let answer = json!({
            "rationales": [],
            "priority_adjustments": [],
            "additional_recommendations": [{
                "resource_type": "AWS::S3::Bucket",
                "property": "LiveOnlyProperty.Mode",
                "value": "\"On\"",
                "title": "Turn on the live-only setting",
                "rationale": "The live schema documents a setting the baseline does not know.",
                "security_domain": "data_protection",
                "threat": "tampering",
                "priority": "Medium",
                "config_rule": "S3_BUCKET_LIVE_ONLY_CHECK",
                "scp_actions": ["s3:PutLiveOnlyConfiguration"],
                "scp_condition_operator": "",
                "scp_condition_key": "",
                "scp_condition_value": ""
            }]
        });
        Ok(LlmResponse {
            text: answer.to_string(),
            usage: TokenUsage {
                input_tokens: 1_000,
                output_tokens: 200,
            },
            model_id: "live-only".into(),
            finish: FinishReason::Stop,
            cached: false,
        })
    }
}

fn profile() -> SecurityProfile {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config-example/security-profile/example-corp.json"
    );
    parse_profile(path, &std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Analysed {
    set: RecommendationSet,
    report: ValidationReport,
    documentation: StageOutcome,
}

/// Documentation then analysis for S3, with or without the live refresh.
async fn analyse(live: Option<LiveCollector>) -> Analysed {
    let kb = Arc::new(Kb::embedded().unwrap());
    let model: Arc<dyn Llm> = Arc::new(ProposesLiveOnlyNames);
    let mut stages = Stages::with_llm(&kb, Some(model)).unwrap();
    if let Some(live) = live {
        stages = stages.with_live(live);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    let library = SqliteDb::in_memory().unwrap();
    let ports = StagePorts {
        store: &store,
        library: &library,
    };
    let request = ServiceRequest {
        request_id: "REQ-LIVE-1".into(),
        requester: "tests".into(),
        timestamp: "2026-12-01T00:00:00Z".parse().unwrap(),
        service_name: "S3".into(),
        profile_id: None,
    };
    let ctx = run_context(&kb, request, profile()).unwrap();
    let documentation = stages
        .get(StageId::Documentation)
        .run(&ctx, &ports, &[])
        .await
        .unwrap();
    let analysis = stages
        .get(StageId::Analysis)
        .run(&ctx, &ports, std::slice::from_ref(&documentation))
        .await
        .unwrap();
    let set = read_json(&store, &ctx.key(paths::RECOMMENDATIONS))
        .await
        .unwrap();
    Analysed {
        set,
        report: ValidationReport::assemble(&[documentation.clone(), analysis]),
        documentation,
    }
}

fn live_only_recommendation(set: &RecommendationSet) -> bool {
    set.recommendations.iter().any(|r| {
        r.confidence == Confidence::ModelProposed
            && r.resource_type == "AWS::S3::Bucket"
            && r.configuration_id.contains("LIVEONLYPROPERTY")
    })
}

fn rejections(report: &ValidationReport) -> String {
    report
        .rejected
        .iter()
        .map(|r| format!("{} | {}\n", r.item, r.reason))
        .collect()
}

#[tokio::test]
async fn refreshed_names_are_known_to_the_analysis_validators_in_the_same_run() {
    let server = MockServer::start().await;
    fake_sources::serve(&server, 1, false, &[]).await;
    let live = LiveCollector::new(LiveConfig {
        timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(10),
        ..LiveConfig::with_base_url(&server.uri())
    })
    .unwrap();

    let refreshed = analyse(Some(live)).await;
    let figures = match &refreshed.documentation.figures {
        gensec_core::contract::figures::StageFigures::Documentation(figures) => figures.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        figures.sources.iter().all(|status| status.origin == "live"),
        "{:?}",
        figures.sources
    );
    // The model's names (property, Config rule, action) are all known to
    // the analysis validators with the refresh...
    let model = refreshed.report.llm.clone().unwrap();
    assert_eq!(model.items_proposed, 1);
    assert!(model.names_checked >= 3, "{model:?}");
    assert_eq!(model.names_unknown, 0, "{model:?}");

    // ...and unknown without it.
    let baseline = analyse(None).await;
    assert!(!live_only_recommendation(&baseline.set));
    let model = baseline.report.llm.clone().unwrap();
    assert!(model.names_unknown >= 3, "{model:?}");
    let text = rejections(&baseline.report);
    assert!(text.contains("LiveOnlyProperty"), "{text}");
}
