//! Catch target: marks the request FAILED with the reason.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gensec_lambda::serve::record_failure().await
}
