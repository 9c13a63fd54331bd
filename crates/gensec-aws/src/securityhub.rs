//! [`FindingWorkflow`] on Security Hub: `BatchUpdateFindings` sets
//! `Workflow.Status` to `NOTIFIED` once the e-mail went out.

use crate::error::aws_error;
use async_trait::async_trait;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
};
use gensec_core::ports::{FindingRef, FindingWorkflow};
use gensec_core::{Error, Result};

/// BatchUpdateFindings accepts at most 100 findings per call.
const BATCH: usize = 100;

#[derive(Debug, Clone)]
pub struct SecurityHubWorkflow {
    client: Client,
}

impl SecurityHubWorkflow {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl FindingWorkflow for SecurityHubWorkflow {
    async fn mark_notified(&self, findings: &[FindingRef]) -> Result<()> {
        let mut failed = Vec::new();
        for chunk in findings.chunks(BATCH) {
            let mut request = self
                .client
                .batch_update_findings()
                .workflow(
                    WorkflowUpdate::builder()
                        .status(WorkflowStatus::Notified)
                        .build(),
                )
                .note(
                    NoteUpdate::builder()
                        .text("Remediation e-mail sent by gensec.")
                        .updated_by("gensec")
                        .build(),
                );
            for finding in chunk {
                request = request.finding_identifiers(
                    AwsSecurityFindingIdentifier::builder()
                        .id(&finding.id)
                        .product_arn(&finding.product_arn)
                        .build(),
                );
            }
            let output = request
                .send()
                .await
                .map_err(|err| aws_error("updating finding workflow in Security Hub", err))?;
            failed.extend(output.unprocessed_findings().iter().map(|unprocessed| {
                format!(
                    "{} ({})",
                    unprocessed
                        .finding_identifier()
                        .and_then(|f| f.id())
                        .unwrap_or("?"),
                    unprocessed.error_message().unwrap_or("no reason given")
                )
            }));
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::Fatal(format!(
                "Security Hub did not update {} finding(s): {}",
                failed.len(),
                failed.join("; ")
            )))
        }
    }
}
