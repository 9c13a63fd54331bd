//! Batch requests: resolve the names into child requests, then summarize.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gensec_lambda::serve::batch().await
}
