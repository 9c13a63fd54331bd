//! Security Hub findings from EventBridge to e-mail (SNS), once per failing
//! finding (DynamoDB state), through the same `process` as `gensec remediate`.
//! A malformed event fails the invocation after the valid findings in it were
//! handled, so EventBridge's retries and dead-letter queue keep it.

use crate::HandlerError;
use gensec_core::InputError;
use gensec_core::ports::{FindingStateStore, FindingWorkflow, Notifier};
use gensec_remediate::event::parse_input;
use gensec_remediate::{ProcessConfig, Report, process};
use std::sync::Arc;

pub struct RemediateHandler {
    pub config: ProcessConfig,
    pub state: Arc<dyn FindingStateStore>,
    pub notifier: Arc<dyn Notifier>,
    /// Set findings to NOTIFIED after delivery (off unless configured).
    pub workflow: Option<Arc<dyn FindingWorkflow>>,
    /// Explains uncatalogued controls (validated like everything else).
    pub llm: Option<Arc<dyn gensec_core::llm::Llm>>,
}

impl std::fmt::Debug for RemediateHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemediateHandler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RemediateHandler {
    pub async fn handle(&self, event: serde_json::Value) -> Result<Report, HandlerError> {
        let source = event
            .get("id")
            .and_then(|id| id.as_str())
            .map_or_else(|| "event".to_string(), |id| format!("event {id}"));
        let batch = parse_input(&event.to_string(), &source);
        let report = process(
            batch,
            &self.config,
            self.state.as_ref(),
            self.notifier.as_ref(),
            self.workflow.as_deref(),
            self.llm.as_deref(),
        )
        .await?;
        tracing::info!(
            sent = report.sent.len(),
            duplicates = report.duplicates.len(),
            filtered = report.filtered.len(),
            rejected = report.rejected.len(),
            "findings handled"
        );
        if let Some(rejected) = report.rejected.first() {
            return Err(InputError::new(
                rejected.source.clone(),
                "$",
                format!(
                    "{} malformed finding(s) or event(s), first: {}",
                    report.rejected.len(),
                    rejected.error
                ),
            )
            .into());
        }
        Ok(report)
    }
}
