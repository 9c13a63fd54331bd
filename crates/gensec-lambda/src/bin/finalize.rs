//! Last pipeline state: manifest.json and SUCCEEDED.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gensec_lambda::serve::finalize().await
}
