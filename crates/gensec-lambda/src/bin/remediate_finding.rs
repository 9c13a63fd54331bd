//! Security Hub findings (EventBridge) to remediation e-mails (SNS), once per finding.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    gensec_lambda::serve::remediate().await
}
