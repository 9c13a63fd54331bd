//! The deployment's functions end to end against a moto server: the S3 trigger
//! from an S3 event fixture, then the state machine definitions themselves
//! (`state-machine/pipeline.asl.json`, `state-machine/batch.asl.json`) walked
//! state by state by `support/asl.rs`, each Task invoking the handler its
//! function ARN names, Catch included, the batch's Distributed Map running the
//! pipeline as child executions. The walk's order must be the pipeline order
//! the CLI runs.
#![allow(clippy::unwrap_used)]

#[path = "support/asl.rs"]
mod asl;
#[path = "../../gensec-docs/tests/support/fake_sources.rs"]
mod fake_sources;

use futures::future::BoxFuture;
use gensec_aws::testing::{
    create_bucket, create_state_machine, create_table, create_topic, moto_clients,
};
use gensec_aws::{
    Clients, DynamoControlLibrary, DynamoFindingState, DynamoRequestTracker, S3Store, SnsNotifier,
    StateMachine,
};
use gensec_core::ErrorKind;
use gensec_core::contract::stage::{PIPELINE, StageId};
use gensec_core::ports::{ControlLibrary, ObjectStore, RequestTracker};
use gensec_core::tracking::RequestState;
use gensec_kb::Kb;
use gensec_lambda::batch::BatchHandler;
use gensec_lambda::failure::RecordFailureHandler;
use gensec_lambda::finalize::FinalizeHandler;
use gensec_lambda::payload::ExecutionInput;
use gensec_lambda::remediate::RemediateHandler;
use gensec_lambda::stage::{PipelinePorts, StageHandler};
use gensec_lambda::trigger::{RecordOutcome, TriggerHandler};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const ASL: &str = include_str!("../state-machine/pipeline.asl.json");
const BATCH_ASL: &str = include_str!("../state-machine/batch.asl.json");
const S3_EVENT: &str = include_str!("fixtures/s3-put-service-request.json");
const PROFILE: &str = include_str!("../../../config-example/security-profile/example-corp.json");
const SANDBOX_PROFILE: &str =
    include_str!("../../../config-example/security-profile/startup-sandbox.json");

struct Deployment {
    clients: Clients,
    input_bucket: String,
    input: Arc<S3Store>,
    ports: PipelinePorts,
    tracker: Arc<DynamoRequestTracker>,
    library: Arc<DynamoControlLibrary>,
    output_bucket: String,
    machine_arn: String,
    batch_machine_arn: String,
    trigger: TriggerHandler,
}

async fn deploy() -> Deployment {
    let clients = moto_clients().await;
    let input_bucket = create_bucket(&clients).await;
    let output_bucket = create_bucket(&clients).await;
    let tracker = Arc::new(DynamoRequestTracker::new(
        clients.dynamodb.clone(),
        create_table(&clients, "requests").await,
    ));
    let library = Arc::new(DynamoControlLibrary::new(
        clients.dynamodb.clone(),
        create_table(&clients, "library").await,
    ));
    let machine_arn = create_state_machine(&clients, &asl_with_arns()).await;
    let batch_machine_arn =
        create_state_machine(&clients, &batch_asl_with_arns(&output_bucket, &machine_arn)).await;
    let input = Arc::new(S3Store::new(clients.s3.clone(), &input_bucket));
    let output = Arc::new(S3Store::new(clients.s3.clone(), &output_bucket));
    let ports = PipelinePorts {
        store: output.clone(),
        library: library.clone(),
        tracker: tracker.clone(),
    };
    let trigger = TriggerHandler {
        kb: Arc::new(Kb::embedded().unwrap()),
        input: input.clone(),
        input_bucket: input_bucket.clone(),
        output,
        tracker: tracker.clone(),
        machine: StateMachine::new(clients.sfn.clone(), &machine_arn),
        batch_machine: StateMachine::new(clients.sfn.clone(), &batch_machine_arn),
    };
    Deployment {
        clients,
        input_bucket,
        input,
        ports,
        tracker,
        library,
        output_bucket,
        machine_arn,
        batch_machine_arn,
        trigger,
    }
}

/// The ASL with its `${...FunctionArn}` substitutions filled, as CDK does.
fn asl_with_arns() -> String {
    with_function_arns(ASL)
}

/// The batch ASL with its substitutions filled, as CDK does.
fn batch_asl_with_arns(output_bucket: &str, pipeline_arn: &str) -> String {
    with_function_arns(BATCH_ASL)
        .replace("${OutputBucketName}", output_bucket)
        .replace("${PipelineStateMachineArn}", pipeline_arn)
}

fn with_function_arns(asl: &str) -> String {
    let mut asl = asl.to_string();
    for name in function_names() {
        asl = asl.replace(
            &format!("${{{name}FunctionArn}}"),
            &format!("arn:aws:lambda:us-east-1:123456789012:function:gensec-{name}"),
        );
    }
    asl
}

fn function_names() -> Vec<String> {
    let mut names: Vec<String> = PIPELINE.iter().map(|stage| state_name(*stage)).collect();
    names.extend([
        "Finalize".to_string(),
        "RecordFailure".to_string(),
        "Batch".to_string(),
    ]);
    names
}

fn state_name(stage: StageId) -> String {
    let name = stage.as_str();
    format!("{}{}", name[..1].to_uppercase(), &name[1..])
}

fn s3_event(bucket: &str, raw_key: &str) -> aws_lambda_events::event::s3::S3Event {
    let text = S3_EVENT
        .replace("INPUT_BUCKET", bucket)
        .replace("OBJECT_KEY", raw_key);
    serde_json::from_str(&text).unwrap()
}

fn request(request_id: &str, service: &str) -> Vec<u8> {
    json!({
        "request_id": request_id,
        "requester": "platform-team@example.com",
        "timestamp": "2026-11-22T02:30:00Z",
        "service_name": service,
    })
    .to_string()
    .into_bytes()
}

async fn upload(d: &Deployment, key: &str, body: Vec<u8>) {
    d.input.put(key, body, "application/json").await.unwrap();
}

/// The deployment as the walked states see it: each function ARN names its
/// handler, `s3:getObject` reads the output bucket, `startExecution.sync:2`
/// starts the execution on moto and walks the machine it names.
struct Backend<'a> {
    d: &'a Deployment,
    kb: Arc<Kb>,
    live_base: Option<&'a str>,
    machines: Vec<(String, Value)>,
    /// Every child execution walked (startExecution.sync:2), in start order.
    started: Mutex<Vec<asl::Walk>>,
    /// Requests whose documentation task times out every time (what Step
    /// Functions reports when the function runs past the task's timeout).
    timeouts: Vec<String>,
    /// Lambda invocations, for the figures.
    invocations: std::sync::atomic::AtomicUsize,
}

impl<'a> Backend<'a> {
    fn new(d: &'a Deployment, live_base: Option<&'a str>) -> Self {
        Self {
            d,
            kb: Arc::new(Kb::embedded().unwrap()),
            live_base,
            machines: vec![
                (
                    d.machine_arn.clone(),
                    serde_json::from_str(&asl_with_arns()).unwrap(),
                ),
                (
                    d.batch_machine_arn.clone(),
                    serde_json::from_str(&batch_asl_with_arns(&d.output_bucket, &d.machine_arn))
                        .unwrap(),
                ),
            ],
            started: Mutex::new(Vec::new()),
            timeouts: Vec::new(),
            invocations: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn machine(&self, arn: &str) -> &Value {
        &self
            .machines
            .iter()
            .find(|(machine, _)| machine == arn)
            .unwrap_or_else(|| panic!("no state machine {arn}"))
            .1
    }

    fn stages(&self, id: StageId) -> gensec_stages::Stages {
        let stages = gensec_stages::Stages::new(&self.kb).unwrap();
        match self.live_base {
            Some(base) if id == StageId::Documentation => stages.with_live(
                gensec_docs::live::LiveCollector::new(
                    gensec_docs::live::LiveConfig::with_base_url(base),
                )
                .unwrap(),
            ),
            _ => stages,
        }
    }

    async fn call(
        &self,
        function: &str,
        payload: Value,
    ) -> Result<Value, gensec_lambda::HandlerError> {
        let name = function.rsplit(":gensec-").next().unwrap();
        let ports = &self.d.ports;
        match name {
            "Finalize" => FinalizeHandler::new(ports.clone())
                .handle(serde_json::from_value(payload).unwrap())
                .await
                .map(|done| serde_json::to_value(done).unwrap()),
            "RecordFailure" => {
                RecordFailureHandler::new(ports.store.clone(), self.d.tracker.clone())
                    .handle(serde_json::from_value(payload).unwrap())
                    .await
                    .map(|done| serde_json::to_value(done).unwrap())
            }
            "Batch" => {
                BatchHandler {
                    kb: self.kb.clone(),
                    store: ports.store.clone(),
                    tracker: ports.tracker.clone(),
                    pipeline_arn: self.d.machine_arn.clone(),
                }
                .handle(serde_json::from_value(payload).unwrap())
                .await
            }
            stage => {
                let id = *PIPELINE
                    .iter()
                    .find(|id| state_name(**id) == stage)
                    .unwrap_or_else(|| panic!("no handler for {function}"));
                StageHandler::new(id, self.stages(id), ports.clone())
                    .handle(serde_json::from_value(payload).unwrap())
                    .await
                    .map(|done| serde_json::to_value(done).unwrap())
            }
        }
    }
}

impl asl::Backend for Backend<'_> {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, asl::Caught>> {
        Box::pin(async move {
            self.invocations
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if function.ends_with(":gensec-Documentation")
                && self.timeouts.iter().any(|id| payload["request_id"] == *id)
            {
                return Err(json!({"Error": "States.Timeout", "Cause": null}));
            }
            self.call(function, payload).await.map_err(|err| {
                // What Step Functions makes of a Lambda's error.
                let diagnostic = lambda_runtime::Diagnostic::from(err);
                json!({
                    "Error": diagnostic.error_type,
                    "Cause": json!({
                        "errorType": diagnostic.error_type,
                        "errorMessage": diagnostic.error_message,
                    }).to_string(),
                })
            })
        })
    }

    fn get_object<'a>(&'a self, bucket: &'a str, key: &'a str) -> BoxFuture<'a, Value> {
        Box::pin(async move {
            let object = self
                .d
                .clients
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|err| panic!("s3://{bucket}/{key}: {err:?}"));
            let body = object.body.collect().await.unwrap().into_bytes();
            serde_json::from_slice(&body).unwrap()
        })
    }

    fn start_execution_sync<'a>(
        &'a self,
        machine: &'a str,
        name: &'a str,
        input: Value,
        started_by: &'a str,
    ) -> BoxFuture<'a, Result<Value, asl::Caught>> {
        Box::pin(async move {
            assert_eq!(
                input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
                started_by
            );
            let started = self
                .d
                .clients
                .sfn
                .start_execution()
                .state_machine_arn(machine)
                .name(name)
                .input(input.to_string())
                .send()
                .await
                .unwrap();
            let arn = started.execution_arn().to_string();
            let walk = asl::run(self, self.machine(machine), input.clone(), arn.clone()).await;
            let succeeded = walk.succeeded;
            let output = walk.state.clone();
            self.started.lock().unwrap().push(walk);
            if succeeded {
                Ok(
                    json!({"ExecutionArn": arn, "Status": "SUCCEEDED", "Input": input, "Output": output}),
                )
            } else {
                Err(json!({
                    "Error": "States.TaskFailed",
                    "Cause": json!({"ExecutionArn": arn, "Status": "FAILED",
                        "Error": output["error"]["Error"], "Cause": output["error"]["Cause"]}).to_string(),
                }))
            }
        })
    }
}

/// Walk the pipeline from its input: each Task invokes the handler its
/// function ARN names. Returns the visited Task states and the final state.
async fn execute(d: &Deployment, input: Value) -> (Vec<String>, Value, bool) {
    execute_with_live(d, input, None).await
}

/// [`execute`], the documentation function refreshing from the sources at
/// `live_base` first, as `GENSEC_LIVE_REFRESH=true` makes it.
async fn execute_with_live(
    d: &Deployment,
    input: Value,
    live_base: Option<&str>,
) -> (Vec<String>, Value, bool) {
    let backend = Backend::new(d, live_base);
    let walk = asl::run(
        &backend,
        backend.machine(&d.machine_arn),
        input,
        format!(
            "{}:walked",
            d.machine_arn.replace(":stateMachine:", ":execution:")
        ),
    )
    .await;
    (walk.visited, walk.state, walk.succeeded)
}

async fn executions(d: &Deployment) -> usize {
    d.clients
        .sfn
        .list_executions()
        .state_machine_arn(&d.machine_arn)
        .send()
        .await
        .unwrap()
        .executions()
        .len()
}

/// The input of the execution started for `request_id` (executions are
/// named after their request).
async fn execution_input_of(d: &Deployment, request_id: &str) -> Value {
    executions_of(d, &d.machine_arn)
        .await
        .into_iter()
        .find(|(arn, _)| {
            arn.rsplit(':')
                .next()
                .is_some_and(|name| name.contains(request_id))
        })
        .map(|(_, input)| input)
        .unwrap_or_else(|| panic!("no execution for {request_id}"))
}

async fn execution_input(d: &Deployment) -> Value {
    let list = d
        .clients
        .sfn
        .list_executions()
        .state_machine_arn(&d.machine_arn)
        .send()
        .await
        .unwrap();
    let arn = list.executions()[0].execution_arn();
    let described = d
        .clients
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    serde_json::from_str(described.input().unwrap()).unwrap()
}

#[tokio::test]
async fn an_upload_runs_the_pipeline_once_in_the_cli_order() {
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    // The key arrives URL-encoded, as S3 sends it.
    upload(
        &d,
        "service-request/s3 bucket.json",
        request("REQ-AWS-1", "Amazon S3"),
    )
    .await;
    let event = s3_event(&d.input_bucket, "service-request/s3+bucket.json");

    let report = d.trigger.handle(event.clone()).await.unwrap();
    assert!(
        matches!(&report.records[..], [RecordOutcome::Started { request_id, .. }] if request_id == "REQ-AWS-1"),
        "{report:?}"
    );
    let received = d.tracker.request("REQ-AWS-1").await.unwrap().unwrap();
    assert_eq!(received.state, RequestState::Received);
    assert_eq!(received.profile_id, "example-corp");

    // The same event delivered again starts nothing.
    let again = d.trigger.handle(event).await.unwrap();
    assert!(
        matches!(&again.records[..], [RecordOutcome::Duplicate { .. }]),
        "{again:?}"
    );
    assert_eq!(executions(&d).await, 1);
    assert!(
        executions_of(&d, &d.batch_machine_arn).await.is_empty(),
        "a single-service request never starts the batch"
    );
    assert_eq!(
        d.tracker
            .request("REQ-AWS-1")
            .await
            .unwrap()
            .unwrap()
            .attempts
            .len(),
        1
    );

    // The execution input is keys, not documents.
    let input = execution_input(&d).await;
    let parsed: ExecutionInput = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(parsed.service_id, "s3");
    assert!(input.to_string().len() < 512, "{input}");

    let (visited, state, succeeded) = execute(&d, input).await;
    assert!(succeeded, "{state:#}");
    let mut expected: Vec<String> = PIPELINE.iter().map(|s| state_name(*s)).collect();
    expected.push("Finalize".into());
    assert_eq!(
        visited, expected,
        "the ASL order is the CLI's pipeline order"
    );
    assert!(
        state.to_string().len() < 8 * 1024,
        "state stays small: {} bytes",
        state.to_string().len()
    );

    let done = d.tracker.request("REQ-AWS-1").await.unwrap().unwrap();
    assert_eq!(done.state, RequestState::Succeeded, "{done:?}");
    // S3 keeps the attempt's package where it was written; the pointer and
    // the request record name it.
    assert_eq!(
        done.output_prefix.as_deref(),
        Some("s3/REQ-AWS-1/attempt-1/")
    );
    let pointer = d
        .ports
        .store
        .get("s3/REQ-AWS-1/current.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&pointer).unwrap()["prefix"],
        "s3/REQ-AWS-1/attempt-1/"
    );
    let manifest = d
        .ports
        .store
        .get("s3/REQ-AWS-1/attempt-1/manifest.json")
        .await
        .unwrap()
        .unwrap();
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "documentation/service-documentation.json",
        "analysis/recommendations.json",
        "controls/proactive/s3.guard",
        "iac/cloudformation/template.yaml",
        "iam/iam-model.json",
        "report.html",
    ] {
        assert!(
            files.contains(&expected),
            "{expected} missing from {files:?}"
        );
    }
    assert!(
        files.iter().all(|f| !f.starts_with("_runs")),
        "pipeline state stays outside the output layout"
    );
    let entries = d.library.entries(Some("s3")).await.unwrap();
    assert!(entries.len() >= 10, "{} library entries", entries.len());
}

#[tokio::test]
async fn a_malformed_request_is_tracked_as_failed_and_starts_nothing() {
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    upload(
        &d,
        "service-request/bad.json",
        br#"{"request_id": "REQ-BAD-1", "requester": "x", "timestamp": "yesterday", "service_name": "S3"}"#.to_vec(),
    )
    .await;
    let report = d
        .trigger
        .handle(s3_event(&d.input_bucket, "service-request/bad.json"))
        .await
        .unwrap();
    let [
        RecordOutcome::Rejected {
            request_id, error, ..
        },
    ] = &report.records[..]
    else {
        panic!("{report:?}");
    };
    assert_eq!(request_id, "REQ-BAD-1");
    assert!(
        error.starts_with("[InvalidInput]") && error.contains("$.timestamp"),
        "{error}"
    );
    let record = d.tracker.request("REQ-BAD-1").await.unwrap().unwrap();
    assert_eq!(record.state, RequestState::Failed);
    assert_eq!(record.latest().unwrap().stage.as_deref(), Some("trigger"));
    assert_eq!(executions(&d).await, 0);

    // Fixed and uploaded again under the same id: it runs.
    upload(&d, "service-request/bad.json", request("REQ-BAD-1", "S3")).await;
    let fixed = d
        .trigger
        .handle(s3_event(&d.input_bucket, "service-request/bad.json"))
        .await
        .unwrap();
    assert!(
        matches!(&fixed.records[..], [RecordOutcome::Started { .. }]),
        "{fixed:?}"
    );
    assert_eq!(executions(&d).await, 1);
}

#[tokio::test]
async fn profiles_never_start_runs_and_ambiguous_or_unknown_ones_are_rejected() {
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    let stored = d
        .trigger
        .handle(s3_event(
            &d.input_bucket,
            "security-profile/example-corp.json",
        ))
        .await
        .unwrap();
    assert!(
        matches!(&stored.records[..], [RecordOutcome::Ignored { .. }]),
        "{stored:?}"
    );

    upload(
        &d,
        "security-profile/startup-sandbox.json",
        SANDBOX_PROFILE.into(),
    )
    .await;
    upload(&d, "service-request/r.json", request("REQ-AMBIG", "S3")).await;
    let ambiguous = d
        .trigger
        .handle(s3_event(&d.input_bucket, "service-request/r.json"))
        .await
        .unwrap();
    let [RecordOutcome::Rejected { error, .. }] = &ambiguous.records[..] else {
        panic!("{ambiguous:?}");
    };
    assert!(error.contains("2 profiles found"), "{error}");

    upload(
        &d,
        "service-request/u.json",
        request("REQ-UNKNOWN", "S4 storage"),
    )
    .await;
    let unknown = d
        .trigger
        .handle(s3_event(&d.input_bucket, "service-request/u.json"))
        .await
        .unwrap();
    let [RecordOutcome::Rejected { error, .. }] = &unknown.records[..] else {
        panic!("{unknown:?}");
    };
    assert!(error.contains("unknown service"), "{error}");
    assert_eq!(executions(&d).await, 0);
}

#[tokio::test]
async fn a_failing_stage_is_caught_and_recorded_with_its_reason() {
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    upload(&d, "service-request/r.json", request("REQ-FAIL-1", "S3")).await;
    d.trigger
        .handle(s3_event(&d.input_bucket, "service-request/r.json"))
        .await
        .unwrap();
    let input = execution_input(&d).await;
    // Lose the run context: the first stage cannot run.
    let key = input["context_key"].as_str().unwrap().to_string();
    d.clients
        .s3
        .delete_object()
        .bucket(
            d.ports
                .store
                .locate("")
                .trim_start_matches("s3://")
                .trim_end_matches('/'),
        )
        .key(&key)
        .send()
        .await
        .unwrap();
    let (visited, state, succeeded) = execute(&d, input).await;
    assert!(!succeeded);
    assert_eq!(visited, ["Documentation", "RecordFailure"]);
    assert_eq!(state["error"]["Error"], "GenSec.Fatal");
    let record = d.tracker.request("REQ-FAIL-1").await.unwrap().unwrap();
    assert_eq!(record.state, RequestState::Failed);
    let error = record.latest().unwrap().error.clone().unwrap();
    assert!(
        error.starts_with("[Fatal]") && error.contains(&key),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_attempt_leaves_no_files_and_no_library_entries() {
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    upload(&d, "service-request/r.json", request("REQ-FAIL-2", "S3")).await;
    d.trigger
        .handle(s3_event(&d.input_bucket, "service-request/r.json"))
        .await
        .unwrap();
    let input = execution_input(&d).await;
    let context_key = input["context_key"].as_str().unwrap().to_string();
    let ctx: Value =
        serde_json::from_slice(&d.ports.store.get(&context_key).await.unwrap().unwrap()).unwrap();
    let staging = ctx["write_prefix"].as_str().unwrap().to_string();
    assert_eq!(staging, "s3/REQ-FAIL-2/attempt-1/");
    // What the stages before the failure wrote.
    for path in [
        "documentation/service-documentation.json",
        "analysis/recommendations.json",
    ] {
        d.ports
            .store
            .put(
                &format!("{staging}{path}"),
                b"{}".to_vec(),
                "application/json",
            )
            .await
            .unwrap();
    }
    let failed = serde_json::json!({
        "request_id": "REQ-FAIL-2",
        "attempt": input["attempt"],
        "context_key": context_key,
        "error": {"Error": "GenSec.Fatal", "Cause": "{\"errorMessage\": \"controls broke\"}"}
    });
    RecordFailureHandler::new(d.ports.store.clone(), d.tracker.clone())
        .handle(serde_json::from_value(failed).unwrap())
        .await
        .unwrap();
    assert!(d.ports.store.list(&staging).await.unwrap().is_empty());
    assert!(
        d.ports
            .store
            .get("s3/REQ-FAIL-2/current.json")
            .await
            .unwrap()
            .is_none()
    );
    assert!(d.library.entries(Some("s3")).await.unwrap().is_empty());
    let record = d.tracker.request("REQ-FAIL-2").await.unwrap().unwrap();
    assert_eq!(record.state, RequestState::Failed);
}

#[test]
fn the_state_machine_retries_only_retryable_errors_and_catches_everything() {
    let asl: Value = serde_json::from_str(ASL).unwrap();
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        for retry in state["Retry"].as_array().unwrap() {
            let errors: Vec<&str> = retry["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap())
                .collect();
            assert!(
                !errors.iter().any(|e| *e == "States.ALL"
                    || *e == "GenSec.InvalidInput"
                    || *e == "GenSec.Fatal"),
                "{name} retries {errors:?}"
            );
            assert!(errors.contains(&"GenSec.Retryable"), "{name}");
            assert!(retry["BackoffRate"].as_f64().unwrap() > 1.0, "{name}");
        }
        if name != "RecordFailure" {
            assert_eq!(state["Catch"][0]["Next"], "RecordFailure", "{name}");
        }
        let payload = state["Parameters"]["Payload"].to_string();
        assert!(
            !payload.contains("\"$\"") && !payload.contains("$.stages"),
            "{name} passes the whole state: {payload}"
        );
    }
}

/// The remediation handler over moto: a fresh findings table and SNS topic.
async fn remediate_handler() -> (RemediateHandler, String) {
    let clients = moto_clients().await;
    let topic = create_topic(&clients).await;
    let handler = RemediateHandler {
        config: gensec_lambda::serve::remediate_config().unwrap(),
        state: Arc::new(DynamoFindingState::new(
            clients.dynamodb.clone(),
            create_table(&clients, "findings").await,
            90,
        )),
        notifier: Arc::new(SnsNotifier::new(clients.sns.clone(), &topic)),
        workflow: None,
        llm: None,
    };
    (handler, topic)
}

#[tokio::test]
async fn security_hub_events_are_e_mailed_once_and_malformed_ones_fail_for_the_dlq() {
    let (handler, topic) = remediate_handler().await;
    let event: Value = serde_json::from_str(include_str!(
        "../../gensec-remediate/tests/fixtures/s3_8_event.json"
    ))
    .unwrap();
    let first = handler.handle(event.clone()).await.unwrap();
    assert_eq!(first.sent.len(), 1, "{first:?}");
    assert!(first.sent[0].location.starts_with(&topic));
    let second = handler.handle(event).await.unwrap();
    assert!(second.sent.is_empty());
    assert_eq!(second.duplicates.len(), 1);

    let malformed = json!({"detail-type": "Security Hub Findings - Imported", "detail": {"findings": [{"Id": 7}]}});
    let err = handler.handle(malformed).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.error_type(), "GenSec.InvalidInput");
}

#[tokio::test]
async fn ocsf_events_are_e_mailed_once_and_a_redelivery_is_a_duplicate() {
    let (handler, topic) = remediate_handler().await;
    let event: Value = serde_json::from_str(include_str!(
        "../../gensec-remediate/tests/fixtures/ocsf/s3_2_event.json"
    ))
    .unwrap();
    assert_eq!(event["detail-type"], "Findings Imported V2");
    let first = handler.handle(event.clone()).await.unwrap();
    assert_eq!(first.sent.len(), 1, "{first:?}");
    assert_eq!(first.sent[0].control_id.as_deref(), Some("S3.2"));
    assert!(first.sent[0].fix_generated);
    assert!(first.sent[0].location.starts_with(&topic));
    // EventBridge delivers at least once: the same event again is a duplicate.
    let redelivered = handler.handle(event).await.unwrap();
    assert!(redelivered.sent.is_empty(), "{redelivered:?}");
    assert_eq!(redelivered.duplicates.len(), 1);

    let malformed = json!({"detail-type": "Findings Imported V2", "source": "aws.securityhub",
        "detail": {"findings": [{"class_uid": 2003, "finding_info": {"uid": "x"}}]}});
    let err = handler.handle(malformed).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// The documentation function with the live refresh on: against a local
/// stand-in for AWS's sources it goes live, caches the bodies in the output
/// bucket outside every package, and the manifest says so; with the sources
/// gone it keeps the baseline with one warning per source and the run still
/// succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documentation_function_refreshes_live_and_falls_back_to_the_baseline() {
    let server = wiremock::MockServer::start().await;
    fake_sources::serve(&server, 1, false, &[]).await;
    let gone = {
        let server = wiremock::MockServer::start().await;
        server.uri()
    };
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    for (request_id, base, origin) in [
        ("REQ-AWS-LIVE", server.uri(), "live"),
        ("REQ-AWS-GONE", gone, "baseline"),
    ] {
        upload(
            &d,
            &format!("service-request/{request_id}.json"),
            request(request_id, "Amazon S3"),
        )
        .await;
        let event = s3_event(
            &d.input_bucket,
            &format!("service-request/{request_id}.json"),
        );
        d.trigger.handle(event).await.unwrap();
        let input = execution_input_of(&d, request_id).await;
        let (_, state, succeeded) = execute_with_live(&d, input, Some(&base)).await;
        assert!(succeeded, "{request_id}: {state:#}");
        let done = d.tracker.request(request_id).await.unwrap().unwrap();
        assert_eq!(done.state, RequestState::Succeeded, "{done:?}");

        let prefix = done.output_prefix.clone().unwrap();
        let manifest_key = format!("{prefix}{}", gensec_core::contract::paths::MANIFEST);
        let manifest: Value =
            serde_json::from_slice(&d.ports.store.get(&manifest_key).await.unwrap().unwrap())
                .unwrap();
        let stages = manifest["stages"].as_array().unwrap();
        let documentation = stages
            .iter()
            .find(|stage| stage["stage"] == "documentation")
            .unwrap();
        let sources = documentation["figures"]["documentation"]["sources"]
            .as_array()
            .unwrap();
        assert_eq!(sources.len(), 3, "{request_id}: {sources:?}");
        for source in sources {
            assert_eq!(source["origin"], origin, "{request_id}: {source}");
        }
        let warnings = documentation["warnings"].as_array().unwrap();
        if origin == "baseline" {
            assert_eq!(warnings.len(), 3, "{warnings:?}");
            assert!(
                warnings
                    .iter()
                    .all(|w| w.as_str().unwrap().contains("keeping the baseline")),
                "{warnings:?}"
            );
        }
    }
    // The live bodies are cached in the output bucket, outside every package.
    let cached = d
        .ports
        .store
        .list(gensec_docs::live::CACHE_PREFIX)
        .await
        .unwrap();
    assert!(
        !cached.is_empty(),
        "nothing cached under {}",
        gensec_docs::live::CACHE_PREFIX
    );
    assert!(
        d.ports
            .store
            .list("s3/")
            .await
            .unwrap()
            .iter()
            .all(|key| !key.contains(gensec_docs::live::CACHE_PREFIX)),
        "cache inside a package"
    );
}

/// The executions of one state machine on moto.
async fn executions_of(d: &Deployment, machine_arn: &str) -> Vec<(String, Value)> {
    let list = d
        .clients
        .sfn
        .list_executions()
        .state_machine_arn(machine_arn)
        .send()
        .await
        .unwrap();
    let mut found = Vec::new();
    for execution in list.executions() {
        let described = d
            .clients
            .sfn
            .describe_execution()
            .execution_arn(execution.execution_arn())
            .send()
            .await
            .unwrap();
        found.push((
            execution.execution_arn().to_string(),
            serde_json::from_str(described.input().unwrap()).unwrap(),
        ));
    }
    found
}

/// A request naming four services: three run through the Distributed Map as
/// child executions of the pipeline (one of them times out in its first
/// stage, is retried, caught and recorded FAILED), the fourth is not a
/// service and never runs; the summary says which succeeded, which failed and
/// why, and tracking holds the parent and every child with its execution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_request_runs_each_service_as_a_child_execution_and_summarizes() {
    let d = deploy().await;
    upload(&d, "security-profile/example-corp.json", PROFILE.into()).await;
    let body = json!({
        "request_id": "REQ-BATCH-1",
        "requester": "platform-team@example.com",
        "timestamp": "2026-11-22T02:30:00Z",
        "services": ["Amazon S3", "Amazon SQS", "AWS KMS", "S4 storage"],
    });
    upload(
        &d,
        "service-request/batch.json",
        body.to_string().into_bytes(),
    )
    .await;
    let event = s3_event(&d.input_bucket, "service-request/batch.json");
    let report = d.trigger.handle(event.clone()).await.unwrap();
    let [RecordOutcome::Started { execution_arn, .. }] = &report.records[..] else {
        panic!("{report:?}");
    };
    // One batch execution, no pipeline execution yet; a redelivery starts nothing.
    let again = d.trigger.handle(event).await.unwrap();
    assert!(
        matches!(&again.records[..], [RecordOutcome::Duplicate { .. }]),
        "{again:?}"
    );
    let batches = executions_of(&d, &d.batch_machine_arn).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(&batches[0].0, execution_arn);
    assert!(executions_of(&d, &d.machine_arn).await.is_empty());
    let parent = d.tracker.request("REQ-BATCH-1").await.unwrap().unwrap();
    assert_eq!(parent.state, RequestState::Received);
    assert_eq!(parent.service_id, "batch");
    assert_eq!(
        parent.service_name,
        "Amazon S3, Amazon SQS, AWS KMS, S4 storage"
    );
    assert_eq!(
        parent.latest().unwrap().runner,
        Some(gensec_core::tracking::Runner::Execution {
            arn: execution_arn.clone()
        })
    );

    let mut backend = Backend::new(&d, None);
    backend.timeouts = vec!["REQ-BATCH-1.kms".into()];
    asl::STATES_ENTERED.store(0, std::sync::atomic::Ordering::Relaxed);
    let clock = std::time::Instant::now();
    let walk = asl::run(
        &backend,
        backend.machine(&d.batch_machine_arn),
        batches[0].1.clone(),
        execution_arn.clone(),
    )
    .await;
    let elapsed = clock.elapsed();
    assert!(walk.succeeded, "{:#}", walk.state);
    assert_eq!(walk.visited, ["Resolve", "Services", "Summarize"]);
    assert!(walk.state.to_string().len() < 4 * 1024, "{}", walk.state);
    assert_eq!(walk.state["resolved"]["result"]["items"], 3);
    assert_eq!(walk.state["resolved"]["result"]["rejected"], 1);

    // Three child workflow executions of the map, each one pipeline execution.
    assert_eq!(walk.children.len(), 3);
    for child in &walk.children {
        assert_eq!(child.visited, ["Pipeline"]);
        assert!(
            child
                .execution_id
                .starts_with(&format!("{execution_arn}/Services:"))
        );
    }
    let outcomes: Vec<bool> = walk.children.iter().map(|c| c.succeeded).collect();
    assert_eq!(outcomes, [true, true, false], "s3, sqs succeed; kms fails");
    assert_eq!(walk.children[2].state["Error"], "States.TaskFailed");
    let started = backend.started.lock().unwrap().clone();
    let mut full: Vec<String> = PIPELINE.iter().map(|s| state_name(*s)).collect();
    full.push("Finalize".into());
    for pipeline in &started {
        let expected: Vec<String> = if pipeline.execution_id.ends_with(".kms") {
            vec!["Documentation".into(), "RecordFailure".into()]
        } else {
            full.clone()
        };
        assert_eq!(pipeline.visited, expected, "{}", pipeline.execution_id);
    }
    let children = executions_of(&d, &d.machine_arn).await;
    assert_eq!(children.len(), 3, "one pipeline execution per service");

    // Tracking: each child names the pipeline execution that ran it (the ARN
    // the resolve step derived is the one Step Functions gave it).
    for (service, state) in [
        ("s3", RequestState::Succeeded),
        ("sqs", RequestState::Succeeded),
        ("kms", RequestState::Failed),
    ] {
        let id = format!("REQ-BATCH-1.{service}");
        let record = d.tracker.request(&id).await.unwrap().unwrap();
        assert_eq!(record.state, state, "{id}: {record:?}");
        assert_eq!(record.service_id, service);
        let runner = record.latest().unwrap().runner.clone().unwrap();
        let gensec_core::tracking::Runner::Execution { arn } = runner else {
            panic!("{id}: {runner:?}");
        };
        let (_, input) = children
            .iter()
            .find(|(child, _)| *child == arn)
            .unwrap_or_else(|| panic!("{id}: no execution {arn}"));
        assert_eq!(input["request_id"], id.as_str());
        assert_eq!(
            input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
            format!(
                "{execution_arn}/Services:{}",
                ["s3", "sqs", "kms"]
                    .iter()
                    .position(|s| *s == service)
                    .unwrap()
            )
        );
    }
    // Each child's package and library entries, exactly as a single run writes them.
    for service in ["s3", "sqs"] {
        let prefix = format!("{service}/REQ-BATCH-1.{service}/attempt-1/");
        let manifest = d
            .ports
            .store
            .get(&format!("{prefix}manifest.json"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no manifest under {prefix}"));
        let manifest: Value = serde_json::from_slice(&manifest).unwrap();
        assert!(manifest["files"].as_array().unwrap().len() > 5, "{service}");
        assert!(
            !d.library.entries(Some(service)).await.unwrap().is_empty(),
            "{service}: no library entries"
        );
    }
    assert!(d.library.entries(Some("kms")).await.unwrap().is_empty());
    assert!(d.ports.store.list("kms/").await.unwrap().is_empty());

    // The summary.
    let summary_key = walk.state["summary"]["result"]["summary_key"]
        .as_str()
        .unwrap();
    assert_eq!(summary_key, "batches/REQ-BATCH-1/attempt-1/summary.json");
    let summary: Value =
        serde_json::from_slice(&d.ports.store.get(summary_key).await.unwrap().unwrap()).unwrap();
    assert_eq!(summary["requested"], 4);
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|o| {
                o["service_id"]
                    .as_str()
                    .unwrap_or(o["service_name"].as_str().unwrap())
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(&summary["succeeded"]), ["s3", "sqs"]);
    assert_eq!(ids(&summary["failed"]), ["kms", "S4 storage"]);
    assert_eq!(
        summary["succeeded"][0]["package_prefix"],
        "s3/REQ-BATCH-1.s3/attempt-1/"
    );
    let kms = &summary["failed"][0];
    assert_eq!(kms["reason"], "[Retryable] States.Timeout", "{kms}");
    assert!(
        kms["execution_arn"]
            .as_str()
            .unwrap()
            .ends_with(":REQ-BATCH-1.kms")
    );
    let unknown = &summary["failed"][1];
    assert!(unknown.get("request_id").is_none(), "{unknown}");
    assert!(
        unknown["reason"]
            .as_str()
            .unwrap()
            .starts_with("[InvalidInput] unknown service"),
        "{unknown}"
    );
    let parent = d.tracker.request("REQ-BATCH-1").await.unwrap().unwrap();
    assert_eq!(parent.state, RequestState::Succeeded);
    assert_eq!(
        parent.output_prefix.as_deref(),
        Some("batches/REQ-BATCH-1/attempt-1/")
    );
    eprintln!(
        "batch of 4 names (3 through the map, 1 failing there, 1 unknown): {} states entered across 1 batch, 3 map child and 3 pipeline executions, {} Lambda invocations, {:.2} s",
        asl::STATES_ENTERED.load(std::sync::atomic::Ordering::Relaxed),
        backend
            .invocations
            .load(std::sync::atomic::Ordering::Relaxed),
        elapsed.as_secs_f64()
    );
}

/// The batch definition: a Distributed Map of STANDARD child executions that
/// start the pipeline and wait for it, tolerating every failed item, with the
/// concurrency CDK overrides; its Lambda tasks retry and catch like the
/// pipeline's.
#[test]
fn the_batch_state_machine_is_a_distributed_map_over_the_pipeline() {
    let asl: Value = serde_json::from_str(BATCH_ASL).unwrap();
    let map = &asl["States"]["Services"];
    assert_eq!(map["Type"], "Map");
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["ExecutionType"],
        "STANDARD"
    );
    assert_eq!(
        map["MaxConcurrency"], 40,
        "the default the CDK app overrides"
    );
    assert_eq!(map["ToleratedFailurePercentage"], 100);
    assert_eq!(map["Catch"][0]["Next"], "RecordFailure");
    assert_eq!(
        map["ResultPath"],
        Value::Null,
        "results stay out of the state"
    );
    let processor = &map["ItemProcessor"]["States"]["Pipeline"];
    assert_eq!(
        processor["Resource"],
        "arn:aws:states:::states:startExecution.sync:2"
    );
    assert_eq!(
        processor["Parameters"]["StateMachineArn"],
        "${PipelineStateMachineArn}"
    );
    // The child's input is exactly what the trigger gives a single run.
    let input = processor["Parameters"]["Input"].as_object().unwrap();
    let mut fields: Vec<&str> = input.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$",
            "attempt.$",
            "context_key.$",
            "request_id.$",
            "service_id.$"
        ]
    );
    for name in ["Resolve", "Summarize", "RecordFailure"] {
        let state = &asl["States"][name];
        assert_eq!(
            state["Resource"], "arn:aws:states:::lambda:invoke",
            "{name}"
        );
        let retry = &state["Retry"][0]["ErrorEquals"];
        assert!(
            retry
                .as_array()
                .unwrap()
                .contains(&json!("GenSec.Retryable")),
            "{name}"
        );
        assert!(
            !retry.as_array().unwrap().contains(&json!("States.ALL")),
            "{name}"
        );
        if name != "RecordFailure" {
            assert_eq!(state["Catch"][0]["Next"], "RecordFailure", "{name}");
        }
    }
}

/// Both definitions, substitutions filled, as one CloudFormation template.
fn state_machines_template(batch: &Value) -> Value {
    let pipeline: Value = serde_json::from_str(&asl_with_arns()).unwrap();
    let machine = |definition: &Value| {
        json!({
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/gensec-state-machine",
                "Definition": definition,
            },
        })
    };
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": { "Pipeline": machine(&pipeline), "Batch": machine(batch) },
    })
}

/// cfn-lint's messages for a template (cfn-lint from scripts/test's .venv, on PATH).
fn cfn_lint(template: &Value) -> (bool, String) {
    let path = std::env::temp_dir().join(format!(
        "{}.json",
        gensec_aws::testing::unique("gensec-asl")
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(template).unwrap()).unwrap();
    let output = std::process::Command::new("cfn-lint")
        .arg(&path)
        .output()
        .unwrap_or_else(|err| {
            panic!("cfn-lint: {err} (scripts/test installs it in .venv and puts it on PATH)")
        });
    std::fs::remove_file(&path).unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Both definitions pass cfn-lint's States Language checks (E3601), which
/// do catch a malformed Map.
#[test]
fn the_definitions_pass_cfn_lint_which_catches_a_broken_map() {
    let batch: Value = serde_json::from_str(&batch_asl_with_arns(
        "gensec-output",
        "arn:aws:states:us-east-1:123456789012:stateMachine:gensec-pipeline",
    ))
    .unwrap();
    let (clean, messages) = cfn_lint(&state_machines_template(&batch));
    assert!(clean, "{messages}");
    let mut broken = batch;
    broken["States"]["Services"]["MaxConcurrency"] = json!("forty");
    let (clean, messages) = cfn_lint(&state_machines_template(&broken));
    assert!(!clean && messages.contains("E3601"), "{messages}");
}
