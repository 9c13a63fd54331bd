//! Building each function's handler from its environment and serving it with
//! the Lambda runtime. Everything slow (SDK configuration, the knowledge-base
//! index) happens once per cold start, before the first event.

use crate::batch::{BatchHandler, BatchStep};
use crate::env;
use crate::failure::{FailedExecution, RecordFailureHandler};
use crate::finalize::FinalizeHandler;
use crate::payload::ExecutionInput;
use crate::remediate::RemediateHandler;
use crate::stage::{PipelinePorts, StageHandler};
use crate::trigger::TriggerHandler;
use aws_lambda_events::event::s3::S3Event;
use gensec_aws::{
    Clients, DynamoControlLibrary, DynamoFindingState, DynamoRequestTracker, S3Store,
    SecurityHubWorkflow, SnsNotifier, StateMachine, setting,
};
use gensec_core::Error;
use gensec_core::contract::stage::StageId;
use gensec_kb::Kb;
use gensec_remediate::ProcessConfig;
use gensec_remediate::filter::FilterConfig;
use gensec_remediate::finding::Severity;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

type Served = Result<(), lambda_runtime::Error>;

/// Logs without colours or timestamps (CloudWatch adds them), level from `RUST_LOG`.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

fn kb() -> Result<Arc<Kb>, Error> {
    Ok(Arc::new(Kb::embedded().map_err(Error::from)?))
}

/// Output bucket, control library and request tracking, from the environment.
pub fn pipeline_ports(clients: &Clients) -> Result<PipelinePorts, Error> {
    Ok(PipelinePorts {
        store: Arc::new(S3Store::new(
            clients.s3.clone(),
            setting(env::OUTPUT_BUCKET)?,
        )),
        library: Arc::new(DynamoControlLibrary::new(
            clients.dynamodb.clone(),
            setting(env::LIBRARY_TABLE)?,
        )),
        tracker: Arc::new(DynamoRequestTracker::new(
            clients.dynamodb.clone(),
            setting(env::REQUESTS_TABLE)?,
        )),
    })
}

/// The deployment's environment as the LLM configuration sees it: the CDK app
/// sets `GENSEC_BEDROCK_MODEL_ID` on the functions that may call the model,
/// which means "Bedrock, this model" unless `GENSEC_LLM` says otherwise.
fn llm_env(name: &str) -> Option<String> {
    let value = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if name == gensec_llm::env::LLM {
        value(gensec_llm::env::LLM)
            .or_else(|| value(gensec_llm::env::BEDROCK_MODEL_ID).map(|_| "bedrock".to_string()))
    } else {
        value(name)
    }
}

/// The configured model, answers cached in `cache` (the output bucket under
/// `llm-cache/` for the pipeline).
async fn llm(
    cache: Option<gensec_llm::ResponseCache>,
) -> Result<Option<Arc<dyn gensec_core::llm::Llm>>, Error> {
    gensec_llm::from_env(&llm_env, cache)
        .await
        .map_err(|err| Error::Fatal(format!("language model configuration: {err}")))
}

/// The live refresh when `GENSEC_LIVE_REFRESH` asks for it, with the URL
/// overrides of the environment; bodies are cached in the output bucket
/// under `cache/docs/`, outside every package.
fn live_collector() -> Result<Option<gensec_docs::live::LiveCollector>, Error> {
    let var = |name: &str| std::env::var(name).ok();
    let enabled =
        gensec_docs::live::settings::live_refresh_enabled(var(env::LIVE_REFRESH).as_deref())
            .map_err(Error::Fatal)?;
    if !enabled {
        return Ok(None);
    }
    let sources = gensec_docs::live::LiveSources::from_env(var).map_err(Error::Fatal)?;
    gensec_docs::live::LiveCollector::new(sources.config())
        .map(Some)
        .map_err(|err| Error::Fatal(format!("live refresh: {}", err.describe())))
}

/// A pipeline stage function. Analysis and report use the model when one is
/// configured; it only ever adds validated content to the deterministic result.
pub async fn stage(id: StageId) -> Served {
    init_tracing();
    let clients = Clients::from_env().await;
    let ports = pipeline_ports(&clients)?;
    let model = match id {
        StageId::Analysis | StageId::Report => {
            llm(Some(gensec_llm::ResponseCache::new(
                ports.store.clone(),
                "llm-cache/",
            )))
            .await?
        }
        _ => None,
    };
    let mut stages = gensec_stages::Stages::with_llm(&kb()?, model)?;
    if id == StageId::Documentation
        && let Some(live) = live_collector()?
    {
        stages = stages.with_live(live);
    }
    let handler = StageHandler::new(id, stages, ports);
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ExecutionInput>| async move { handler.handle(event.payload).await },
    ))
    .await
}

/// The finalize function (manifest, SUCCEEDED).
pub async fn finalize() -> Served {
    init_tracing();
    let clients = Clients::from_env().await;
    let handler = FinalizeHandler::new(pipeline_ports(&clients)?);
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ExecutionInput>| async move { handler.handle(event.payload).await },
    ))
    .await
}

/// The Catch target (FAILED with the reason).
pub async fn record_failure() -> Served {
    init_tracing();
    let clients = Clients::from_env().await;
    let handler = RecordFailureHandler::new(
        Arc::new(S3Store::new(
            clients.s3.clone(),
            setting(env::OUTPUT_BUCKET)?,
        )),
        Arc::new(DynamoRequestTracker::new(
            clients.dynamodb.clone(),
            setting(env::REQUESTS_TABLE)?,
        )),
    );
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<FailedExecution>| async move {
            handler.handle(event.payload).await
        },
    ))
    .await
}

/// The batch function (resolve the names, summarize the children).
pub async fn batch() -> Served {
    init_tracing();
    let clients = Clients::from_env().await;
    let handler = BatchHandler {
        kb: kb()?,
        store: Arc::new(S3Store::new(
            clients.s3.clone(),
            setting(env::OUTPUT_BUCKET)?,
        )),
        tracker: Arc::new(DynamoRequestTracker::new(
            clients.dynamodb.clone(),
            setting(env::REQUESTS_TABLE)?,
        )),
        pipeline_arn: setting(env::STATE_MACHINE_ARN)?,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<BatchStep>| async move { handler.handle(event.payload).await },
    ))
    .await
}

/// The S3 trigger.
pub async fn trigger() -> Served {
    init_tracing();
    let clients = Clients::from_env().await;
    let input_bucket = setting(env::INPUT_BUCKET)?;
    let handler = TriggerHandler {
        kb: kb()?,
        input: Arc::new(S3Store::new(clients.s3.clone(), &input_bucket)),
        input_bucket,
        output: Arc::new(S3Store::new(
            clients.s3.clone(),
            setting(env::OUTPUT_BUCKET)?,
        )),
        tracker: Arc::new(DynamoRequestTracker::new(
            clients.dynamodb.clone(),
            setting(env::REQUESTS_TABLE)?,
        )),
        machine: StateMachine::new(clients.sfn.clone(), setting(env::STATE_MACHINE_ARN)?),
        batch_machine: StateMachine::new(
            clients.sfn.clone(),
            setting(env::BATCH_STATE_MACHINE_ARN)?,
        ),
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        handler.handle(event.payload).await
    }))
    .await
}

/// Remediation settings from the environment.
pub fn remediate_config() -> Result<ProcessConfig, Error> {
    let min_severity = match std::env::var(env::MIN_SEVERITY) {
        Ok(text) if !text.trim().is_empty() => Severity::parse(&text).ok_or_else(|| {
            Error::Fatal(format!(
                "{}={text:?}: expected INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL",
                env::MIN_SEVERITY
            ))
        })?,
        _ => Severity::High,
    };
    Ok(ProcessConfig {
        filter: FilterConfig {
            min_severity,
            ..FilterConfig::default()
        },
        digest: false,
    })
}

fn set_notified() -> Result<bool, Error> {
    match std::env::var(env::SET_NOTIFIED).as_deref().map(str::trim) {
        Err(_) | Ok("" | "false") => Ok(false),
        Ok("true") => Ok(true),
        Ok(other) => Err(Error::Fatal(format!(
            "{}={other:?}: expected true or false",
            env::SET_NOTIFIED
        ))),
    }
}

fn ttl_days() -> Result<u32, Error> {
    match std::env::var(env::FINDING_TTL_DAYS) {
        Ok(text) if !text.trim().is_empty() => text.trim().parse().map_err(|_| {
            Error::Fatal(format!(
                "{}={text:?}: expected a number of days",
                env::FINDING_TTL_DAYS
            ))
        }),
        _ => Ok(90),
    }
}

/// The Security Hub remediation function.
pub async fn remediate() -> Served {
    init_tracing();
    let clients = Clients::from_env().await;
    let handler = RemediateHandler {
        config: remediate_config()?,
        state: Arc::new(DynamoFindingState::new(
            clients.dynamodb.clone(),
            setting(env::FINDINGS_TABLE)?,
            ttl_days()?,
        )),
        notifier: Arc::new(SnsNotifier::new(
            clients.sns.clone(),
            setting(env::TOPIC_ARN)?,
        )),
        workflow: set_notified()?.then(|| {
            Arc::new(SecurityHubWorkflow::new(clients.securityhub.clone()))
                as Arc<dyn gensec_core::ports::FindingWorkflow>
        }),
        // Findings differ every time: no cache, the run budget bounds the cost.
        llm: llm(None).await?,
    };
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handler.handle(event.payload).await
        },
    ))
    .await
}
