//! Pipeline stage Lambda: analysis.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gensec_lambda::serve::stage(gensec_core::contract::stage::StageId::Analysis).await
}
