//! Stage 3, control generation: detective (AWS Config rules), preventive
//! (SCPs) and proactive (CloudFormation Guard) controls for the run's
//! recommendations, each validated or executed before it is written, and the
//! Security Control Library entries that tie them together.

pub mod detective;
pub mod guard;
pub mod preventive;
pub mod proactive;
pub mod selftest;
pub mod tagging;

use async_trait::async_trait;
use gensec_core::contract::analysis::{Recommendation, RecommendationSet};
use gensec_core::contract::controls::{ControlDocument, ControlKind, ControlSet, GeneratedControl};
use gensec_core::contract::figures::{ControlsFigures, StageFigures};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts,
};
use gensec_core::input::{DetectiveControl, PreventiveControl, ProactiveControl};
use gensec_core::library::{EntryStatus, LibraryEntry};
use gensec_core::ports::read_json;
use gensec_core::{Error, Result};
use gensec_kb::Kb;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

fn yaml(value: &impl serde::Serialize, what: &str) -> Result<String> {
    gensec_core::yaml::to_string(value)
        .map_err(|err| Error::Fatal(format!("serialising {what}: {err}")))
}

/// How the library refers to a control: the rule name for Config rules,
/// `<file>#<name>` for SCP statements and Guard rules.
fn library_reference(control: &GeneratedControl) -> String {
    let file = control.file.rsplit('/').next().unwrap_or(&control.file);
    match control.kind {
        ControlKind::ConfigManagedRule | ControlKind::ConfigCustomRule => control.name.clone(),
        ControlKind::ScpStatement | ControlKind::GuardRule => format!("{file}#{}", control.name),
    }
}

/// The library references of one recommendation's controls: detective,
/// preventive, proactive.
fn references(controls: &[GeneratedControl], configuration_id: &str) -> [Vec<String>; 3] {
    let mut refs: [Vec<String>; 3] = Default::default();
    for control in controls
        .iter()
        .filter(|c| c.configuration_ids.iter().any(|id| id == configuration_id))
    {
        let slot = match control.kind {
            ControlKind::ConfigManagedRule | ControlKind::ConfigCustomRule => 0,
            ControlKind::ScpStatement => 1,
            ControlKind::GuardRule => 2,
        };
        refs[slot].push(library_reference(control));
    }
    refs
}

/// A library entry for a recommendation and the controls generated for it.
pub fn library_entry(
    ctx: &RunContext,
    recommendation: &Recommendation,
    controls: [Vec<String>; 3],
) -> LibraryEntry {
    let [detective_controls, preventive_controls, proactive_controls] = controls;
    let compliance: BTreeMap<String, Vec<String>> = recommendation
        .compliance
        .iter()
        .map(|(framework, refs)| {
            (
                serde_json::to_value(framework)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                refs.clone(),
            )
        })
        .collect();
    LibraryEntry {
        configuration_id: recommendation.configuration_id.clone(),
        profile_id: ctx.profile.profile_id.clone(),
        service_id: recommendation.service_id.clone(),
        service_name: recommendation.service_name.clone(),
        security_domain: recommendation.security_domain.label().to_string(),
        threat_vector: recommendation.threat_vector.label().to_string(),
        priority: recommendation.priority.as_str().to_string(),
        rationale: recommendation.rationale.clone(),
        recommended_configuration: match &recommendation.operational {
            // No property to set: what to do instead.
            Some(what) => json!({
                "resource_type": recommendation.resource_type,
                "operational": what,
                "confidence": recommendation.confidence,
                "security_hub_controls": recommendation.security_hub_controls,
            }),
            None => json!({
                "resource_type": recommendation.resource_type,
                "property": recommendation.property,
                "expectation": recommendation.expectation,
                "value": recommendation.recommended_value,
                "confidence": recommendation.confidence,
                "security_hub_controls": recommendation.security_hub_controls,
            }),
        },
        detective_controls,
        preventive_controls,
        proactive_controls,
        compliance: json!(compliance),
        status: EntryStatus::Proposed,
        version: 0,
        source_request_id: ctx.request.request_id.clone(),
        updated_at: chrono::Utc::now(),
        history: Vec::new(),
    }
}

/// The pipeline stage.
#[derive(Debug)]
pub struct ControlsStage {
    kb: Arc<Kb>,
}

impl ControlsStage {
    pub fn new(kb: Arc<Kb>) -> Self {
        Self { kb }
    }
}

#[async_trait]
impl Stage for ControlsStage {
    fn id(&self) -> StageId {
        StageId::Controls
    }

    async fn run(
        &self,
        ctx: &RunContext,
        ports: &StagePorts<'_>,
        earlier: &[StageOutcome],
    ) -> Result<StageOutcome> {
        // The run's documentation (refreshed facts) over the baseline.
        let kb = gensec_kb::run_kb(&self.kb, ports.store, ctx, earlier).await?;
        let set: RecommendationSet =
            read_json(ports.store, &ctx.key(paths::RECOMMENDATIONS)).await?;
        let mut verdicts = Verdicts::new(StageId::Controls);
        let mut writer = PackageWriter::new(ports.store, ctx);
        let header = provenance_header(ctx);
        let choices = &ctx.profile.security_controls;
        let mut index = ControlSet {
            service_id: ctx.service_id.clone(),
            request_id: ctx.request.request_id.clone(),
            profile_id: ctx.profile.profile_id.clone(),
            ..ControlSet::default()
        };
        if choices.detective == DetectiveControl::AwsConfig {
            let detective =
                detective::build(&kb, &ctx.service_id, &set.recommendations, &mut verdicts);
            write_detective(&mut writer, &header, &detective).await?;
            index.controls.extend(detective.controls);
            index.gaps.extend(detective.gaps);
        }
        let scp_documents = if matches!(
            choices.preventive,
            PreventiveControl::ScpsAndIam | PreventiveControl::Scps
        ) {
            add_preventive(
                &kb,
                ctx,
                &set.recommendations,
                &mut verdicts,
                &mut writer,
                &mut index,
            )
            .await?
        } else {
            0
        };
        let guard_test_cases = if choices.proactive == ProactiveControl::CfnGuard {
            add_proactive(
                &kb,
                ctx,
                &header,
                &set.recommendations,
                &mut verdicts,
                &mut writer,
                &mut index,
            )
            .await?
        } else {
            0
        };
        index.library_entries = set
            .recommendations
            .iter()
            .map(|recommendation| {
                let refs = references(&index.controls, &recommendation.configuration_id);
                library_entry(ctx, recommendation, refs)
            })
            .collect();
        let figures = figures(&index, scp_documents, guard_test_cases);
        write_index(&mut writer, &mut index).await?;
        Ok(StageOutcome {
            stage: StageId::Controls,
            files: writer.finish(),
            figures: StageFigures::Controls(figures),
            verdicts,
            warnings: Vec::new(),
            llm: None,
        })
    }
}

/// The line each generated file opens with: generator, service, request,
/// profile and knowledge base.
fn provenance_header(ctx: &RunContext) -> String {
    format!(
        "Generated by gensec {} for {} ({}), request {}, profile {}; knowledge base {}.",
        gensec_core::GENERATOR_VERSION,
        ctx.service_display_name,
        ctx.service_id,
        ctx.request.request_id,
        ctx.profile.profile_id,
        ctx.kb.data_date
    )
}

/// The SCPs, written and added to the index; the number of SCP documents.
async fn add_preventive(
    kb: &Kb,
    ctx: &RunContext,
    recommendations: &[Recommendation],
    verdicts: &mut Verdicts,
    writer: &mut PackageWriter<'_>,
    index: &mut ControlSet,
) -> Result<usize> {
    // The hardened template holds the resource types of the recommendations
    // it sets; an operational control's type is not in it.
    let mut resource_types: Vec<String> = recommendations
        .iter()
        .filter(|r| !r.is_operational())
        .map(|r| r.resource_type.clone())
        .collect();
    resource_types.sort();
    resource_types.dedup();
    let exemptions = &ctx.profile.security_controls.scp_exemptions;
    let preventive = preventive::build(
        kb,
        &ctx.service_id,
        recommendations,
        &resource_types,
        exemptions,
        &preventive::ProfileLists::of(&ctx.profile),
        verdicts,
    )
    .map_err(Error::Fatal)?;
    write_preventive(writer, &preventive, exemptions).await?;
    index.controls.extend(preventive.controls);
    index.gaps.extend(preventive.gaps);
    Ok(preventive.documents.len())
}

/// The Guard rules and their tests, written and added to the index; the
/// number of Guard test cases.
async fn add_proactive(
    kb: &Kb,
    ctx: &RunContext,
    header: &str,
    recommendations: &[Recommendation],
    verdicts: &mut Verdicts,
    writer: &mut PackageWriter<'_>,
    index: &mut ControlSet,
) -> Result<usize> {
    let proactive = proactive::build(
        &ctx.service_id,
        header,
        recommendations,
        Some((kb, &ctx.profile.tagging)),
        verdicts,
    );
    if let Some(rules) = &proactive.rules_file {
        writer
            .put_text(
                &paths::guard_rules(&ctx.service_id),
                rules.clone(),
                "text/plain",
            )
            .await?;
        writer
            .put_text(
                &paths::guard_tests(&ctx.service_id),
                yaml(&proactive.cases, "Guard tests")?,
                "application/yaml",
            )
            .await?;
    }
    let guard_test_cases = proactive.cases.len();
    index.controls.extend(proactive.controls);
    Ok(guard_test_cases)
}

/// The index, listing every document written before it.
async fn write_index(writer: &mut PackageWriter<'_>, index: &mut ControlSet) -> Result<()> {
    index.documents = writer
        .files()
        .iter()
        .map(|file| ControlDocument {
            path: file.path.clone(),
            bytes: file.bytes,
        })
        .collect();
    writer.put_json(paths::CONTROLS_INDEX, &*index).await
}

/// The stage's counts, read from the finished index.
fn figures(index: &ControlSet, scp_documents: usize, guard_test_cases: usize) -> ControlsFigures {
    ControlsFigures {
        config_rules_managed: index.count(ControlKind::ConfigManagedRule) as u64,
        config_rules_custom: index.count(ControlKind::ConfigCustomRule) as u64,
        scp_documents: scp_documents as u64,
        scp_statements: index.count(ControlKind::ScpStatement) as u64,
        guard_rules: index.count(ControlKind::GuardRule) as u64,
        guard_test_cases: guard_test_cases as u64,
        library_entries: index.library_entries.len() as u64,
    }
}

async fn write_detective(
    writer: &mut PackageWriter<'_>,
    header: &str,
    detective: &detective::Detective,
) -> Result<()> {
    if let Some(template) = &detective.template {
        let text = format!("# {header}\n{}", yaml(template, "Config rules")?);
        writer
            .put_text(paths::CONFIG_RULES, text, "application/yaml")
            .await?;
    }
    for (file, text) in &detective.custom_policies {
        let body = format!(
            "# {header}\n# Custom AWS Config policy over the configuration item paths AWS Config records (aws-config-resource-schema).\n{text}"
        );
        writer
            .put_text(&paths::config_custom_policy(file), body, "text/plain")
            .await?;
    }
    Ok(())
}

async fn write_preventive(
    writer: &mut PackageWriter<'_>,
    preventive: &preventive::PreventiveOutput,
    exemptions: &gensec_core::input::ScpExemptions,
) -> Result<()> {
    for (index, document) in preventive.documents.iter().enumerate() {
        writer.put_json(&paths::scp(index + 1), document).await?;
    }
    let coverage = json!({
        "limit_characters": preventive::SCP_MAX_CHARS,
        "exempt_principals": {
            "break_glass": exemptions.break_glass_principal_arns,
            "deployer": exemptions.deployer_principal_arns,
        },
        "template_calls_executed": preventive.template_calls,
        "documents": preventive.documents.iter().enumerate().map(|(i, d)| json!({"file": format!("scp-{}.json", i + 1), "characters": d.to_string().len()})).collect::<Vec<_>>(),
        "controls": preventive.coverage,
    });
    writer.put_json(paths::SCP_COVERAGE, &coverage).await
}
