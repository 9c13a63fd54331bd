//! The AWS adapters against a moto server on 127.0.0.1, through the real SDK
//! clients: the same port contracts as the SQLite and directory adapters.
#![allow(clippy::unwrap_used)]

use gensec_aws::testing::{
    create_bucket, create_state_machine, create_table, create_topic, moto_clients,
};
use gensec_aws::{
    DynamoControlLibrary, DynamoFindingState, DynamoRequestTracker, S3Store, SnsNotifier, Started,
    StateMachine,
};
use gensec_core::ErrorKind;
use gensec_core::conformance;
use gensec_core::library::{EntryStatus, LibraryEntry};
use gensec_core::ports::{ControlLibrary, EmailMessage, Notifier, ObjectStore, RequestTracker};
use gensec_core::tracking::{RequestState, StatusUpdate};

#[tokio::test]
async fn s3_store_keeps_the_port_contract() {
    let clients = moto_clients().await;
    let bucket = create_bucket(&clients).await;
    let store = S3Store::new(clients.s3.clone(), &bucket);
    conformance::object_store(&store).await;
    conformance::publishing(&store).await;
    assert_eq!(
        store.locate("s3/x.json"),
        format!("s3://{bucket}/s3/x.json")
    );
}

#[tokio::test]
async fn s3_errors_name_the_object_and_are_not_retryable_when_the_bucket_is_missing() {
    let clients = moto_clients().await;
    let store = S3Store::new(clients.s3.clone(), "no-such-bucket-gensec");
    let err = store
        .put("a.json", b"{}".to_vec(), "application/json")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(
        err.to_string()
            .contains("s3://no-such-bucket-gensec/a.json"),
        "{err}"
    );
}

#[tokio::test]
async fn dynamodb_request_tracking_keeps_the_port_contract() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "requests").await;
    conformance::request_tracker(&DynamoRequestTracker::new(clients.dynamodb.clone(), table)).await;
}

#[tokio::test]
async fn dynamodb_control_library_keeps_the_port_contract() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "library").await;
    conformance::control_library(&DynamoControlLibrary::new(clients.dynamodb.clone(), table)).await;
}

#[tokio::test]
async fn dynamodb_abandoned_attempts_keep_the_port_contract() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "requests").await;
    conformance::abandoned_attempts(&DynamoRequestTracker::new(clients.dynamodb.clone(), table))
        .await;
}

#[tokio::test]
async fn dynamodb_service_decisions_keep_the_port_contract() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "library").await;
    conformance::service_decisions(&DynamoControlLibrary::new(clients.dynamodb.clone(), table))
        .await;
}

/// A retry of a request whose earlier attempt fell silent marks it ABANDONED
/// with its stage (here the threshold is zero, so any earlier unfinished
/// attempt is silent).
#[tokio::test]
async fn dynamodb_a_retry_abandons_a_silent_attempt() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "requests").await;
    let tracker = DynamoRequestTracker::new(clients.dynamodb.clone(), table)
        .with_stale_after(chrono::Duration::zero());
    tracker
        .begin_attempt(conformance::new_attempt("REQ-1"))
        .await
        .unwrap();
    let running = StatusUpdate::Running {
        stage: "iam".into(),
    };
    tracker.update("REQ-1", 1, running).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(
        tracker
            .begin_attempt(conformance::new_attempt("REQ-1"))
            .await
            .unwrap(),
        2
    );
    let record = tracker.request("REQ-1").await.unwrap().unwrap();
    assert_eq!(record.attempts[0].state, RequestState::Abandoned);
    assert_eq!(record.attempts[0].stage.as_deref(), Some("iam"));
    assert_eq!(record.state, RequestState::Received);
}

/// Parallel runs recommending the same thing record one version and one
/// history item; the losers of the race re-read instead of failing.
#[tokio::test]
async fn dynamodb_parallel_upserts_record_one_version() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "library").await;
    let library = DynamoControlLibrary::new(clients.dynamodb.clone(), table);
    let entry = |request: &str| LibraryEntry {
        configuration_id: "CFG-S3-BUCKET-VERSIONING".into(),
        profile_id: "example-corp".into(),
        service_id: "s3".into(),
        service_name: "Amazon S3".into(),
        security_domain: "Data Protection".into(),
        threat_vector: "Tampering".into(),
        priority: "High".into(),
        rationale: "keeps old versions".into(),
        recommended_configuration: serde_json::json!({}),
        detective_controls: vec![],
        preventive_controls: vec![],
        proactive_controls: vec![],
        compliance: serde_json::json!({}),
        status: EntryStatus::Proposed,
        version: 0,
        source_request_id: request.into(),
        updated_at: chrono::Utc::now(),
        history: vec![],
    };
    let (a, b, c, d) = (
        entry("REQ-A"),
        entry("REQ-B"),
        entry("REQ-C"),
        entry("REQ-D"),
    );
    let results = tokio::join!(
        library.upsert(&a),
        library.upsert(&b),
        library.upsert(&c),
        library.upsert(&d)
    );
    for result in [results.0, results.1, results.2, results.3] {
        assert_eq!(result.unwrap().version, 1);
    }
    let stored = library
        .entry("CFG-S3-BUCKET-VERSIONING", "example-corp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.history.len(), 1, "{:?}", stored.history);
}

#[tokio::test]
async fn dynamodb_finding_state_keeps_the_port_contract_and_sets_a_ttl() {
    let clients = moto_clients().await;
    let table = create_table(&clients, "findings").await;
    let store = DynamoFindingState::new(clients.dynamodb.clone(), &table, 90);
    conformance::finding_state(&store).await;
    let item = clients
        .dynamodb
        .get_item()
        .table_name(&table)
        .key(
            "finding_id",
            aws_sdk_dynamodb::types::AttributeValue::S("f2".into()),
        )
        .send()
        .await
        .unwrap();
    let expires: i64 = item.item().unwrap()["expires_at"]
        .as_n()
        .unwrap()
        .parse()
        .unwrap();
    let days = (expires - chrono::Utc::now().timestamp()) / 86_400;
    assert!((89..=90).contains(&days), "expires in {days} days");
}

#[tokio::test]
async fn a_missing_table_is_a_fatal_error_naming_the_request() {
    let clients = moto_clients().await;
    let tracker = DynamoRequestTracker::new(clients.dynamodb.clone(), "no-such-table");
    let err = tracker.request("REQ-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(err.to_string().contains("REQ-1"), "{err}");
}

#[tokio::test]
async fn an_execution_name_starts_one_execution() {
    let clients = moto_clients().await;
    let definition = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;
    let arn = create_state_machine(&clients, definition).await;
    let machine = StateMachine::new(clients.sfn.clone(), arn);
    let input = serde_json::json!({"request_id": "REQ-1"});
    let first = machine.start("REQ-1", &input).await.unwrap();
    assert!(
        matches!(&first, Started::New { execution_arn } if execution_arn.ends_with(":REQ-1")),
        "{first:?}"
    );
    let again = machine
        .start(
            "REQ-1",
            &serde_json::json!({"request_id": "REQ-1", "attempt": 2}),
        )
        .await
        .unwrap();
    assert_eq!(again, Started::Duplicate);
}

#[tokio::test]
async fn sns_notifier_publishes_and_reports_the_message_id() {
    let clients = moto_clients().await;
    let topic = create_topic(&clients).await;
    let notifier = SnsNotifier::new(clients.sns.clone(), &topic);
    let message = EmailMessage {
        subject: "Security Alert: HIGH - S3 general purpose buckets should block public access"
            .into(),
        text: "Finding: f1\n".into(),
        html: "<p>Finding: f1</p>".into(),
        finding_ids: vec!["f1".into()],
    };
    let location = notifier.send(&message).await.unwrap();
    assert!(location.starts_with(&topic), "{location}");
    let missing = SnsNotifier::new(
        clients.sns.clone(),
        "arn:aws:sns:us-east-1:123456789012:missing",
    );
    assert!(missing.send(&message).await.is_err());
}
