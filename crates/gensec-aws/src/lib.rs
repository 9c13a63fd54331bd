//! AWS adapters for the gensec ports: S3 [`ObjectStore`](gensec_core::ports::ObjectStore),
//! DynamoDB control library, request tracking and finding state, Step Functions
//! executions, an SNS notifier and the Security Hub finding workflow. They are built from one shared SDK
//! configuration, which honours `AWS_ENDPOINT_URL` (the tests point it at a moto
//! server on 127.0.0.1).

pub mod dynamo;
pub mod error;
pub mod s3;
pub mod securityhub;
pub mod sfn;
pub mod sns;
#[cfg(feature = "testing")]
pub mod testing;

pub use dynamo::{DynamoControlLibrary, DynamoFindingState, DynamoRequestTracker};
pub use error::setting;
pub use s3::S3Store;
pub use securityhub::SecurityHubWorkflow;
pub use sfn::{Started, StateMachine};
pub use sns::SnsNotifier;

/// The SDK configuration from the environment (region, credentials, endpoint).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Clients for every service the adapters use, sharing one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sns: aws_sdk_sns::Client,
    pub securityhub: aws_sdk_securityhub::Client,
}

impl Clients {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        // A custom endpoint (an emulator on 127.0.0.1) cannot serve bucket
        // sub-domains: address buckets by path there, by host name on AWS.
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            securityhub: aws_sdk_securityhub::Client::new(config),
        }
    }

    pub async fn from_env() -> Self {
        Self::new(&sdk_config().await)
    }
}
