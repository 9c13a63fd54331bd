//! Stage 5, the IAM model: personas with least-privilege policies built only
//! from actions, ARN formats and condition keys of AWS's machine-readable IAM
//! reference, risky actions flagged with the reason, and a review module for
//! the IAM/security team.
//!
//! The stage reads `documentation/service-documentation.json` and writes
//! `iam/iam-model.json` ([`gensec_core::contract::iam::IamModel`]), `iam/iam-review.md`
//! and `iam/policies/<persona>.json` (`<persona>-1.json`, `-2.json`, ... when
//! a policy exceeds the 6,144-character managed-policy limit).
//!
//! Every action is checked with [`gensec_kb::validate::action`] (no wildcards),
//! every condition key with [`gensec_kb::validate::condition_key_for_action`]
//! for every action of its statement, every document against the IAM policy
//! grammar and size limit. What fails is not written; it is counted in the
//! stage's validation figures and listed in its warnings.
//!
//! [`build_model`] is the pure core, usable without an object store.

mod arn;
mod names;
pub mod personas;
pub mod policy;
mod review;
pub mod risk;

pub use arn::{PLACEHOLDERS, resource_arn};
pub use personas::PersonaKind;

use async_trait::async_trait;
use gensec_core::SecurityProfile;
use gensec_core::contract::figures::{IamFigures, StageFigures};
use gensec_core::contract::iam::{IamModel, Persona, RiskCategory, RiskyAction};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts,
};
use gensec_core::ports::read_json;
use gensec_kb::validate;
use gensec_kb::{IamAction, IamService, Kb, ServiceDocumentation};
use policy::{Granted, Planned, Settings};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Services a deployer may pass roles to, beyond `<prefix>.amazonaws.com`.
const EXTRA_PASS_ROLE_SERVICES: &[(&str, &[&str])] = &[("rds", &["monitoring.rds.amazonaws.com"])];

/// One policy document to write.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    pub persona: String,
    /// Relative to the run prefix: `iam/policies/<persona>.json`.
    pub path: String,
    pub document: Value,
}

/// Everything the stage writes and reports.
#[derive(Debug, Clone)]
pub struct IamOutput {
    pub model: IamModel,
    pub policies: Vec<PolicyFile>,
    /// `iam/iam-review.md`
    pub review: String,
    pub verdicts: Verdicts,
    pub warnings: Vec<String>,
    pub figures: IamFigures,
}

/// What the review module shows of one persona.
#[derive(Debug, Clone)]
pub(crate) struct PersonaReport {
    pub kind: PersonaKind,
    pub persona: Persona,
    pub settings: Settings,
    pub by_level: BTreeMap<String, Vec<String>>,
    pub statements: Vec<Planned>,
    pub files: Vec<String>,
}

fn lookup<'a>(
    kb: &'a Kb,
    doc: &'a ServiceDocumentation,
    prefix: &str,
    name: &str,
) -> Option<(&'a IamService, &'a IamAction)> {
    let find = |service: &'a IamService| {
        service
            .actions
            .iter()
            .find(|action| action.name.eq_ignore_ascii_case(name))
            .map(|action| (service, action))
    };
    doc.iam_services
        .iter()
        .find(|service| service.prefix.eq_ignore_ascii_case(prefix))
        .and_then(find)
        .or_else(|| kb.iam_service(prefix).ok().flatten().and_then(find))
}

fn settings_for(
    kind: PersonaKind,
    doc: &ServiceDocumentation,
    profile: &SecurityProfile,
) -> Settings {
    let passed_to_services = if kind == PersonaKind::CicdDeployer {
        let mut services: Vec<String> = doc
            .iam_prefixes
            .iter()
            .map(|prefix| format!("{prefix}.amazonaws.com"))
            .collect();
        for (prefix, extra) in EXTRA_PASS_ROLE_SERVICES {
            if doc.iam_prefixes.iter().any(|p| p == prefix) {
                services.extend(extra.iter().map(|s| (*s).to_string()));
            }
        }
        services
    } else {
        Vec::new()
    };
    Settings {
        secure_transport: kind.direct_calls(),
        mfa: kind.mfa_enforced() && profile.security_operations.access_management.mfa_required,
        tag_scoped: kind.tag_scoped(),
        tag_condition_key: profile.tagging.persona_condition_key(),
        regions: profile.allowed_regions.clone(),
        passed_to_services,
    }
}

/// The persona's validated actions: unknown actions and wildcards are
/// rejected, and so is an action a condition key of its statement does not apply to.
fn validated<'a>(
    kind: PersonaKind,
    kb: &'a Kb,
    doc: &'a ServiceDocumentation,
    settings: &Settings,
    verdicts: &mut Verdicts,
) -> Vec<Granted<'a>> {
    let id = kind.id();
    let mut granted = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, origin) in personas::candidates(kind, doc) {
        let checked = validate::action(kb, &name).and_then(|known| {
            let prefix = name
                .split_once(':')
                .map_or("", |(p, _)| p)
                .to_ascii_lowercase();
            lookup(kb, doc, &prefix, &known.name)
                .map(|(service, action)| (prefix, service, action))
                .ok_or_else(|| format!("no IAM reference entry for {name}"))
        });
        match checked {
            Err(reason) => verdicts.reject(format!("{id}: {name} ({origin})"), reason),
            Ok((prefix, service, action)) => {
                verdicts.accept();
                let full = format!("{prefix}:{}", action.name);
                if seen.insert(full.clone()) {
                    granted.push(Granted {
                        full,
                        prefix,
                        action,
                        service,
                    });
                }
            }
        }
    }
    let mut kept = Vec::with_capacity(granted.len());
    'actions: for item in granted {
        let conditions = item.conditions(settings);
        for key in conditions.values().flat_map(|keys| keys.keys()) {
            if let Err(reason) = validate::condition_key_for_action(kb, &item.full, key) {
                verdicts.reject(format!("{id}: {}", item.full), reason);
                continue 'actions;
            }
            verdicts.accept();
        }
        kept.push(item);
    }
    kept
}

fn approval(kind: PersonaKind, categories: &BTreeSet<RiskCategory>, mfa: bool) -> String {
    let mut parts = Vec::new();
    let iam_team = kind == PersonaKind::Administrator
        || categories.contains(&RiskCategory::PermissionsManagement)
        || categories.contains(&RiskCategory::PrivilegeEscalation);
    if iam_team {
        parts.push("security team + IAM team approval".to_string());
    } else if categories.is_empty() {
        parts.push("service owner approval, security team informed".to_string());
    } else {
        parts.push("service owner + security team approval".to_string());
    }
    if mfa {
        parts.push("MFA required".to_string());
    }
    match kind {
        PersonaKind::Administrator => {
            parts.push("time-bound (break-glass) assignment, reviewed quarterly".to_string());
        }
        PersonaKind::ApplicationRuntime => {
            parts.push("trust policy limited to the workload's compute service".to_string());
        }
        PersonaKind::CicdDeployer => {
            parts.push(
                "trust policy limited to cloudformation.amazonaws.com (or the pipeline's role)"
                    .to_string(),
            );
        }
        PersonaKind::ReadOnlyAuditor | PersonaKind::Operator => {}
    }
    parts.join("; ")
}

/// Build the IAM model, policies and review module of a service.
pub fn build_model(kb: &Kb, doc: &ServiceDocumentation, profile: &SecurityProfile) -> IamOutput {
    let mut verdicts = Verdicts::new(StageId::Iam);
    let mut warnings = Vec::new();
    let mut policies = Vec::new();
    let mut reports = Vec::new();
    // action -> (action facts, personas granted)
    let mut granted_to: BTreeMap<String, (&IamAction, Vec<&'static str>)> = BTreeMap::new();
    let mut persona_actions: BTreeMap<&'static str, Vec<(String, &IamAction)>> = BTreeMap::new();

    for kind in PersonaKind::ALL {
        let id = kind.id();
        let settings = settings_for(kind, doc, profile);
        let granted = validated(kind, kb, doc, &settings, &mut verdicts);
        let (statements, plan_warnings) = policy::plan(&granted, &settings);
        warnings.extend(plan_warnings.into_iter().map(|w| format!("{id}: {w}")));
        let documents = if statements.is_empty() {
            warnings.push(format!("{id}: no action qualifies; no policy written"));
            Vec::new()
        } else {
            policy::documents(&statements)
        };
        let split = documents.len() > 1;
        let mut files = Vec::new();
        let mut written: BTreeSet<String> = BTreeSet::new();
        for (index, document) in documents.into_iter().enumerate() {
            let path = if split {
                paths::iam_policy(&format!("{id}-{}", index + 1))
            } else {
                paths::iam_policy(id)
            };
            let problems = policy::check_document(&document);
            if !problems.is_empty() {
                verdicts.reject(format!("{id}: {path}"), problems.join("; "));
                continue;
            }
            verdicts.accept();
            for statement in document["Statement"].as_array().into_iter().flatten() {
                for action in statement["Action"].as_array().into_iter().flatten() {
                    if let Some(action) = action.as_str() {
                        written.insert(action.to_string());
                    }
                }
            }
            files.push(path.clone());
            policies.push(PolicyFile {
                persona: id.to_string(),
                path,
                document,
            });
        }
        if split {
            warnings.push(format!(
                "{id}: policy exceeds {} characters; split into {} documents",
                policy::MAX_POLICY_CHARS,
                files.len()
            ));
        }
        let mut by_level: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut keys = BTreeSet::new();
        for item in granted.iter().filter(|item| written.contains(&item.full)) {
            by_level
                .entry(item.action.access_level().as_str().to_string())
                .or_default()
                .push(item.full.clone());
            granted_to
                .entry(item.full.clone())
                .or_insert_with(|| (item.action, Vec::new()))
                .1
                .push(id);
            persona_actions
                .entry(id)
                .or_default()
                .push((item.full.clone(), item.action));
        }
        let statements: Vec<Planned> = statements
            .into_iter()
            .filter(|s| s.actions.iter().any(|a| written.contains(a)))
            .collect();
        for statement in &statements {
            keys.extend(
                statement
                    .conditions
                    .values()
                    .flat_map(|k| k.keys().cloned()),
            );
        }
        let mut description = kind.description(&doc.display_name);
        if split {
            description.push_str(&format!(
                " The policy is split into {} documents ({}) to stay within the managed-policy size limit; attach all of them.",
                files.len(),
                files.join(", ")
            ));
        }
        let persona = Persona {
            id: id.to_string(),
            name: kind.name().to_string(),
            description,
            policy_file: files.first().cloned().unwrap_or_default(),
            actions: written.len(),
            condition_keys: keys.into_iter().collect(),
            approval: String::new(),
        };
        reports.push(PersonaReport {
            kind,
            persona,
            settings,
            by_level,
            statements,
            files,
        });
    }

    let mut risky_actions = Vec::new();
    for (full, (action, personas)) in &granted_to {
        for (category, reason) in risk::classify(full, action) {
            risky_actions.push(RiskyAction {
                action: full.clone(),
                category,
                reason,
                granted_to: personas.iter().map(|p| (*p).to_string()).collect(),
            });
        }
    }
    risky_actions.sort_by(|a, b| (a.category, &a.action).cmp(&(b.category, &b.action)));

    for report in &mut reports {
        let categories: BTreeSet<RiskCategory> = risky_actions
            .iter()
            .filter(|risky| risky.granted_to.iter().any(|p| p == report.kind.id()))
            .map(|risky| risky.category)
            .collect();
        report.persona.approval = approval(report.kind, &categories, report.settings.mfa);
    }

    let mut actions_by_access_level: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (full, (action, _)) in &granted_to {
        actions_by_access_level
            .entry(action.access_level().as_str().to_string())
            .or_default()
            .push(full.clone());
    }
    let model = IamModel {
        service_id: doc.service_id.clone(),
        service_name: doc.display_name.clone(),
        actions_by_access_level,
        personas: reports.iter().map(|r| r.persona.clone()).collect(),
        risky_actions,
    };
    // The review module lists every rejection beside the warnings.
    let mut notes = warnings.clone();
    notes.extend(
        verdicts
            .rejected
            .iter()
            .map(|r| format!("{} rejected: {}", r.item, r.reason)),
    );
    let review = review::render(doc, profile, &model, &reports, &notes);
    let figures = figures(&model, &policies);
    IamOutput {
        model,
        policies,
        review,
        verdicts,
        warnings,
        figures,
    }
}

fn figures(model: &IamModel, policies: &[PolicyFile]) -> IamFigures {
    let distinct_risky: BTreeSet<&str> = model
        .risky_actions
        .iter()
        .map(|r| r.action.as_str())
        .collect();
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for risky in &model.risky_actions {
        let name = serde_json::to_value(risky.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *by_category.entry(name).or_default() += 1;
    }
    IamFigures {
        personas: model.personas.iter().filter(|p| p.actions > 0).count() as u64,
        actions_per_persona: model
            .personas
            .iter()
            .map(|p| (p.id.clone(), p.actions as u64))
            .collect(),
        risky_actions: distinct_risky.len() as u64,
        risky_actions_by_category: by_category,
        policy_files: policies.len() as u64,
    }
}

/// The pipeline stage.
#[derive(Debug)]
pub struct IamStage {
    kb: Arc<Kb>,
}

impl IamStage {
    pub fn new(kb: Arc<Kb>) -> Self {
        Self { kb }
    }
}

#[async_trait]
impl Stage for IamStage {
    fn id(&self) -> StageId {
        StageId::Iam
    }

    async fn run(
        &self,
        ctx: &RunContext,
        ports: &StagePorts<'_>,
        earlier: &[StageOutcome],
    ) -> gensec_core::Result<StageOutcome> {
        // The run's documentation (refreshed facts) over the baseline.
        let kb = gensec_kb::run_kb(&self.kb, ports.store, ctx, earlier).await?;
        let doc: ServiceDocumentation =
            read_json(ports.store, &ctx.key(paths::DOCUMENTATION)).await?;
        let output = build_model(&kb, &doc, &ctx.profile);
        let mut writer = PackageWriter::new(ports.store, ctx);
        writer.put_json(paths::IAM_MODEL, &output.model).await?;
        writer
            .put_text(paths::IAM_REVIEW, output.review, "text/markdown")
            .await?;
        for policy in &output.policies {
            writer.put_json(&policy.path, &policy.document).await?;
        }
        Ok(StageOutcome {
            stage: StageId::Iam,
            files: writer.finish(),
            figures: StageFigures::Iam(output.figures),
            verdicts: output.verdicts,
            warnings: output.warnings,
            llm: None,
        })
    }
}
