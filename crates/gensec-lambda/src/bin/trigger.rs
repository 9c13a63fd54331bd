//! S3 trigger: a service request upload starts one pipeline execution.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gensec_lambda::serve::trigger().await
}
