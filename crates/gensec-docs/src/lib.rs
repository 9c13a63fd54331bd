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
use gensec_core::contract::figures::StageFigures;
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts,
};
use gensec_core::{Error, Result};
use gensec_kb::{Kb, ServiceDocumentation};
use std::sync::Arc;

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
/// handler permission should exist in the other sources. A mismatch (a source
/// may be newer than another) is a rejection with its reason, never silent.
pub fn cross_check(kb: &Kb, doc: &ServiceDocumentation) -> Verdicts {
    let mut verdicts = Verdicts::new(StageId::Documentation);
    for rule in &doc.config_rules {
        for type_name in &rule.resource_types {
            if kb.resource_type(type_name).ok().flatten().is_some() {
                verdicts.accept();
            } else {
                verdicts.reject(
                    format!("Config rule {} resource type {type_name}", rule.identifier),
                    "no CloudFormation schema has this type",
                );
            }
        }
    }
    for schema in &doc.resource_types {
        for (handler, permissions) in &schema.handler_permissions {
            for permission in permissions {
                // Wildcards in handler permissions cannot be checked one by one.
                if permission.contains('*') || kb.action(permission).ok().flatten().is_some() {
                    verdicts.accept();
                } else {
                    verdicts.reject(
                        format!(
                            "{} {handler} handler permission {permission}",
                            schema.type_name
                        ),
                        "the IAM service reference does not list this action",
                    );
                }
            }
        }
    }
    verdicts
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

    async fn run(
        &self,
        ctx: &RunContext,
        ports: &StagePorts<'_>,
        _earlier: &[StageOutcome],
    ) -> Result<StageOutcome> {
        let store = ports.store;
        let mut doc = collect(&self.kb, &ctx.service_id)?;
        let mut warnings = Vec::new();
        let verdicts = match &self.live {
            Some(live) => {
                warnings.extend(live.refresh(&self.kb, &mut doc, store).await);
                // Refreshed facts are checked against each other, not the baseline.
                cross_check(&self.kb.with_documentation(doc.clone()), &doc)
            }
            None => cross_check(&self.kb, &doc),
        };
        let mut writer = PackageWriter::new(store, ctx);
        let figures = StageFigures::Documentation(doc.figures());
        // The IAM and report stages read it back.
        writer
            .put_json_kept(paths::DOCUMENTATION, Arc::new(doc))
            .await?;
        Ok(StageOutcome {
            stage: StageId::Documentation,
            files: writer.finish(),
            figures,
            verdicts,
            warnings,
            llm: None,
        })
    }
}
