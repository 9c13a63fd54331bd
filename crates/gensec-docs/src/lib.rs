//! Stage 1, documentation collection: everything the knowledge base knows
//! about a service (resource types and properties, IAM actions with access
//! levels, ARN formats, condition keys, Config rules) as
//! `documentation/service-documentation.json`.
//!
//! In the AWS deployment the stage can first refresh the service's facts from
//! AWS's live machine-readable sources ([`live`]); a failed source falls back
//! to the baseline with a warning recorded in the document and the manifest.

pub mod live;

use async_trait::async_trait;
use gensec_core::pipeline::{
    RunContext, Stage, StageId, StageOutcome, StagePorts, ValidationCounts,
};
use gensec_core::{Error, Result};
use gensec_kb::{Kb, ServiceDocumentation};
use std::sync::Arc;

/// Key of the stage's document, relative to the run prefix.
pub const DOCUMENT_PATH: &str = "documentation/service-documentation.json";

/// Build the documentation of a catalogue service from the knowledge base.
pub fn collect(kb: &Kb, service_id: &str) -> Result<ServiceDocumentation> {
    let entry = kb
        .service(service_id)
        .ok_or_else(|| Error::UnknownService {
            name: service_id.to_string(),
            suggestions: Vec::new(),
        })?;
    Ok(kb.service_documentation(entry)?)
}

/// Cross-source checks: every Config rule's resource types and every CloudFormation
/// handler permission should exist in the other sources. Mismatches are
/// warnings (a source may be newer than another), never silent.
pub fn consistency_warnings(
    kb: &Kb,
    doc: &ServiceDocumentation,
) -> (ValidationCounts, Vec<String>) {
    let mut counts = ValidationCounts::default();
    let mut warnings = Vec::new();
    for rule in &doc.config_rules {
        for type_name in &rule.resource_types {
            counts.checked += 1;
            if kb.resource_type(type_name).ok().flatten().is_some() {
                counts.accepted += 1;
            } else {
                counts.rejected += 1;
                warnings.push(format!(
                    "Config rule {} evaluates {type_name}, which has no CloudFormation schema",
                    rule.identifier
                ));
            }
        }
    }
    for schema in &doc.resource_types {
        for (handler, permissions) in &schema.handler_permissions {
            for permission in permissions {
                counts.checked += 1;
                // Wildcards in handler permissions cannot be checked one by one.
                if permission.contains('*') || kb.action(permission).ok().flatten().is_some() {
                    counts.accepted += 1;
                } else {
                    counts.rejected += 1;
                    warnings.push(format!(
                        "{} {handler} handler needs {permission}, which the IAM reference does not list",
                        schema.type_name
                    ));
                }
            }
        }
    }
    (counts, warnings)
}

/// The pipeline stage.
#[derive(Debug)]
pub struct DocumentationStage {
    kb: Arc<Kb>,
    live: Option<live::LiveCollector>,
}

impl DocumentationStage {
    pub fn new(kb: Arc<Kb>) -> Self {
        Self { kb, live: None }
    }

    /// Refresh from live AWS sources before writing (AWS deployment).
    pub fn with_live(mut self, live: live::LiveCollector) -> Self {
        self.live = Some(live);
        self
    }
}

#[async_trait]
impl Stage for DocumentationStage {
    fn id(&self) -> StageId {
        StageId::Documentation
    }

    async fn run(&self, ctx: &RunContext, ports: &StagePorts<'_>) -> Result<StageOutcome> {
        let store = ports.store;
        let mut doc = collect(&self.kb, &ctx.service_id)?;
        let mut warnings = Vec::new();
        if let Some(live) = &self.live {
            warnings.extend(live.refresh(&self.kb, &mut doc, store).await);
        }
        let (validation, consistency) = consistency_warnings(&self.kb, &doc);
        warnings.extend(consistency);
        let key = ctx.key(DOCUMENT_PATH);
        let body = serde_json::to_vec_pretty(&doc)
            .map_err(|err| Error::Fatal(format!("serialising service documentation: {err}")))?;
        store.put(&key, body, "application/json").await?;
        Ok(StageOutcome {
            stage: StageId::Documentation,
            keys: vec![key],
            summary: doc.summary(),
            validation,
            warnings,
        })
    }
}
