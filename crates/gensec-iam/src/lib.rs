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
pub mod cases;
pub mod compact;
pub mod data;
mod names;
pub mod package;
pub mod personas;
pub mod policy;
mod report;
mod review;
pub mod risk;
mod validation;

pub use arn::{PLACEHOLDERS, resource_arn};
pub use package::Package;
pub use personas::PersonaKind;

use async_trait::async_trait;
use gensec_core::SecurityProfile;
use gensec_core::contract::figures::{IamFigures, StageFigures};
use gensec_core::contract::iam::{DroppedGrant, IamModel, Persona, RiskCategory};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{
    PackageWriter, RunContext, Stage, StageId, StageOutcome, StagePorts, Verdicts,
};
use gensec_core::ports::{read_json, read_json_kept};
use gensec_kb::{Kb, ServiceDocumentation};
use policy::{Granted, Planned, Settings};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

/// A role takes ten managed policies unless the account's quota is raised.
pub const MAX_DOCUMENTS_PER_PERSONA: usize = 10;

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
    /// Each persona's final documents and the cases they passed, for an
    /// independent evaluator ([`IamOutput::corpus`]).
    pub executions: Vec<PersonaExecution>,
}

/// A persona's written documents and the cases executed against them.
#[derive(Debug, Clone)]
pub struct PersonaExecution {
    pub persona: String,
    pub documents: Vec<Value>,
    pub cases: Vec<cases::Case>,
}

impl IamOutput {
    /// The persona cases as cross-check corpus cases: the persona's
    /// documents (placeholders filled) as identity policies, the key's
    /// policy for calls on a key, the verdict gensec required.
    pub fn corpus(&self, kb: &Kb, label: &str) -> Vec<gensec_policy::corpus::Case> {
        use gensec_core::contract::controls::Verdict;
        use gensec_policy::Outcome;
        use gensec_policy::corpus::{Case, NamedPolicy};
        let mut out = Vec::new();
        for execution in &self.executions {
            let identity: Vec<NamedPolicy> = execution
                .documents
                .iter()
                .enumerate()
                .filter_map(|(index, document)| {
                    let text = cases::substitute(&document.to_string());
                    serde_json::from_str(&text)
                        .ok()
                        .map(|value| NamedPolicy::new(format!("document-{}", index + 1), value))
                })
                .collect();
            for (index, case) in execution.cases.iter().enumerate() {
                let Ok(requests) = case.call.contexts(kb) else {
                    continue;
                };
                out.push(Case {
                    id: format!("persona/{label}/{}/{index}", execution.persona),
                    category: "catalogue-persona".into(),
                    description: case.name.clone(),
                    identity_policies: identity.clone(),
                    resource_policy: case
                        .key_policy
                        .clone()
                        .map(|policy| NamedPolicy::new("key-policy", policy)),
                    permission_boundary: None,
                    scps: Vec::new(),
                    requests,
                    expected: Some(match case.expected {
                        Verdict::Allowed => Outcome::Allowed,
                        _ => Outcome::ImplicitlyDenied,
                    }),
                    simulator: Default::default(),
                });
            }
        }
        out
    }
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

fn settings_for(
    kind: PersonaKind,
    curated: &data::Curated,
    doc: &ServiceDocumentation,
    package: &Package,
    profile: &SecurityProfile,
) -> Settings {
    // Outside the KMS package, key use goes through the services of the
    // package key's policy (or, without one, the package's own services).
    let kms_via_services = if doc.iam_prefixes.iter().any(|p| p == "kms") {
        None
    } else {
        Some(
            package
                .key
                .as_ref()
                .map(|key| key.via_services.clone())
                .filter(|via| !via.is_empty())
                .unwrap_or_else(|| {
                    doc.iam_prefixes
                        .iter()
                        .map(|prefix| format!("{prefix}.REGION.amazonaws.com"))
                        .collect()
                }),
        )
    };
    Settings {
        secure_transport: kind.direct_calls(),
        mfa: kind.mfa_enforced() && profile.security_operations.access_management.mfa_required,
        tag_scoped: kind.tag_scoped(),
        tag_condition_key: profile.tagging.persona_condition_key(),
        untagged_types: curated.untagged_types(),
        regions: profile.allowed_regions.clone(),
        passed_to_services: curated.passed_to(&doc.iam_prefixes),
        service_linked_roles: curated.service_linked_roles(&doc.iam_prefixes),
        kms_via_services,
    }
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

/// A persona's statements and documents, executed against the package.
struct Executed<'a> {
    granted: Vec<Granted<'a>>,
    statements: Vec<Planned>,
    documents: Vec<Value>,
    cases: Vec<gensec_core::contract::controls::ExecutedCase>,
    /// The cases as run, for the corpus.
    runs: Vec<cases::Case>,
    dropped: Vec<DroppedGrant>,
}

/// Plan, compact and render the persona's policy, run its cases, drop the
/// grants a case catches and run them again on what remains.
#[allow(clippy::too_many_arguments)]
fn execute<'a>(
    kind: PersonaKind,
    kb: &Kb,
    curated: &data::Curated,
    doc: &ServiceDocumentation,
    package: &Package,
    profile: &SecurityProfile,
    settings: &Settings,
    mut granted: Vec<Granted<'a>>,
    warnings: &mut Vec<String>,
) -> Executed<'a> {
    let id = kind.id();
    let mut dropped = Vec::new();
    loop {
        let (statements, plan_warnings) = policy::plan(&granted, settings);
        let statements = compact::compact(statements, &granted);
        let documents = if statements.is_empty() {
            Vec::new()
        } else {
            policy::documents(&statements)
        };
        let mut set = match cases::policy_set(&documents) {
            Ok(set) => set,
            Err(err) => {
                warnings.push(format!("{id}: policy does not parse for execution: {err}"));
                gensec_policy::PolicySet::default()
            }
        };
        let mut executed = Vec::new();
        let mut runs = Vec::new();
        let mut failed: BTreeMap<String, gensec_core::contract::controls::ExecutedCase> =
            BTreeMap::new();
        let persona_cases = cases::cases(
            kind,
            curated,
            doc,
            package,
            settings,
            &granted,
            &profile.tagging.persona_scope_key,
        );
        for case in &persona_cases {
            let Some(actual) = cases::run(kb, &mut set, case) else {
                continue;
            };
            let record = cases::executed(case, actual);
            runs.push(case.clone());
            if !record.passed() {
                failed.entry(case.action.clone()).or_insert(record.clone());
            }
            executed.push(record);
        }
        let droppable: Vec<(String, gensec_core::contract::controls::ExecutedCase)> = failed
            .into_iter()
            .filter(|(action, _)| granted.iter().any(|g| g.full.eq_ignore_ascii_case(action)))
            .collect();
        if droppable.is_empty() {
            warnings.extend(plan_warnings.into_iter().map(|w| format!("{id}: {w}")));
            return Executed {
                granted,
                statements,
                documents,
                cases: executed,
                runs,
                dropped,
            };
        }
        for (action, case) in droppable {
            granted.retain(|g| !g.full.eq_ignore_ascii_case(&action));
            dropped.push(DroppedGrant {
                persona: id.to_string(),
                action,
                case,
            });
        }
    }
}

/// The persona's documents that pass the grammar, size and wildcard
/// checks, as policy files: their paths, the actions they grant and
/// whether the policy is split.
fn write_documents(
    id: &'static str,
    documents: Vec<Value>,
    granted: &[Granted<'_>],
    verdicts: &mut Verdicts,
    policies: &mut Vec<PolicyFile>,
) -> (Vec<String>, BTreeSet<String>, bool) {
    let persona_names: BTreeSet<String> = granted.iter().map(|g| g.full.clone()).collect();
    let known = compact::known_actions(granted);
    let split = documents.len() > 1;
    let mut files = Vec::new();
    let mut written: BTreeSet<String> = BTreeSet::new();
    for (index, document) in documents.into_iter().enumerate() {
        let path = if split {
            paths::iam_policy(&format!("{id}-{}", index + 1))
        } else {
            paths::iam_policy(id)
        };
        let patterns: Vec<String> = document["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|statement| statement["Action"].as_array().into_iter().flatten())
            .filter_map(|action| action.as_str().map(str::to_string))
            .collect();
        let mut problems = policy::check_document(&document);
        problems.extend(compact::wildcard_overreach(
            &patterns,
            &persona_names,
            &known,
        ));
        if !problems.is_empty() {
            verdicts.reject(format!("{id}: {path}"), problems.join("; "));
            continue;
        }
        verdicts.accept();
        // A pattern without `*` or `?` matches only its own name (ASCII case
        // aside): those are looked up, only the wildcards are globbed.
        let (exact, wildcards): (Vec<&String>, Vec<&String>) = patterns
            .iter()
            .partition(|pattern| !pattern.contains(['*', '?']));
        let exact: HashSet<String> = exact
            .into_iter()
            .map(|pattern| pattern.to_ascii_lowercase())
            .collect();
        for item in granted {
            if exact.contains(&item.full.to_ascii_lowercase())
                || wildcards
                    .iter()
                    .any(|pattern| compact::action_matches(pattern, &item.full))
            {
                written.insert(item.full.clone());
            }
        }
        files.push(path.clone());
        policies.push(PolicyFile {
            persona: id.to_string(),
            path,
            document,
        });
    }
    (files, written, split)
}

/// Dropped grants and failed cases as rejections, passed cases as accepted.
fn record_execution(
    id: &str,
    dropped: &[DroppedGrant],
    persona_cases: &[gensec_core::contract::controls::ExecutedCase],
    verdicts: &mut Verdicts,
) {
    for grant in dropped {
        verdicts.reject(
            format!("{id}: {}", grant.action),
            format!(
                "persona case \"{}\" expected {:?}, got {:?}; grant dropped",
                grant.case.name, grant.case.expected, grant.case.actual
            ),
        );
    }
    for case in persona_cases {
        if case.passed() {
            verdicts.accept();
        } else {
            verdicts.reject(
                format!("{id}: case {}", case.name),
                format!("expected {:?}, got {:?}", case.expected, case.actual),
            );
        }
    }
}

/// Warn when a persona gets no document; reject one needing more managed
/// policies than a role takes.
fn check_document_count(
    id: &str,
    documents: &[Value],
    verdicts: &mut Verdicts,
    warnings: &mut Vec<String>,
) {
    if documents.is_empty() {
        warnings.push(format!("{id}: no action qualifies; no policy written"));
    }
    if documents.len() > MAX_DOCUMENTS_PER_PERSONA {
        verdicts.reject(
            format!("{id}: policy documents"),
            format!(
                "{} documents, over the {MAX_DOCUMENTS_PER_PERSONA} managed policies a role takes by default",
                documents.len()
            ),
        );
    }
}

/// What building the personas one after another accumulates.
struct Accumulated<'a> {
    verdicts: Verdicts,
    warnings: Vec<String>,
    policies: Vec<PolicyFile>,
    reports: Vec<PersonaReport>,
    dropped_grants: Vec<DroppedGrant>,
    executions: Vec<PersonaExecution>,
    granted_to: report::GrantedTo<'a>,
}

/// Validate, execute and write one persona's policy, then report on it.
fn build_persona<'a>(
    kind: PersonaKind,
    kb: &'a Kb,
    curated: &data::Curated,
    doc: &'a ServiceDocumentation,
    package: &Package,
    profile: &SecurityProfile,
    acc: &mut Accumulated<'a>,
) {
    let id = kind.id();
    let settings = settings_for(kind, curated, doc, package, profile);
    let granted = validation::validated(
        kind,
        kb,
        curated,
        doc,
        package,
        &settings,
        &mut acc.verdicts,
    );
    let Executed {
        granted,
        statements,
        documents,
        cases: persona_cases,
        runs,
        dropped,
    } = execute(
        kind,
        kb,
        curated,
        doc,
        package,
        profile,
        &settings,
        granted,
        &mut acc.warnings,
    );
    record_execution(id, &dropped, &persona_cases, &mut acc.verdicts);
    acc.dropped_grants.extend(dropped);
    check_document_count(id, &documents, &mut acc.verdicts, &mut acc.warnings);
    acc.executions.push(PersonaExecution {
        persona: id.to_string(),
        documents: documents.clone(),
        cases: runs,
    });
    let (files, written, split) = write_documents(
        id,
        documents,
        &granted,
        &mut acc.verdicts,
        &mut acc.policies,
    );
    if split {
        acc.warnings.push(format!(
            "{id}: policy exceeds {} characters; split into {} documents",
            policy::MAX_POLICY_CHARS,
            files.len()
        ));
    }
    report::record_grants(id, &granted, &written, &mut acc.granted_to);
    acc.reports.push(report::persona_report(
        kind,
        doc,
        settings,
        &granted,
        &written,
        statements,
        (files, split),
        &acc.policies,
        persona_cases,
    ));
}

/// Build the IAM model, policies and review module of a service, with the
/// personas executed against the package's own resources (`package`: the
/// hardened template's resources; empty when there is none).
pub fn build_model(
    kb: &Kb,
    doc: &ServiceDocumentation,
    profile: &SecurityProfile,
    package: &Package,
) -> Result<IamOutput, gensec_data::DataError> {
    let curated = data::curated()?;
    let mut acc = Accumulated {
        verdicts: Verdicts::new(StageId::Iam),
        warnings: Vec::new(),
        policies: Vec::new(),
        reports: Vec::new(),
        dropped_grants: Vec::new(),
        executions: Vec::new(),
        granted_to: report::GrantedTo::new(),
    };
    for kind in PersonaKind::ALL {
        build_persona(kind, kb, curated, doc, package, profile, &mut acc);
    }
    let Accumulated {
        verdicts,
        warnings,
        policies,
        mut reports,
        dropped_grants,
        executions,
        granted_to,
    } = acc;

    let risky_actions = risk::risky_actions(curated, &granted_to);
    report::assign_approvals(&mut reports, &risky_actions);
    let model = IamModel {
        service_id: doc.service_id.clone(),
        service_name: doc.display_name.clone(),
        actions_by_access_level: report::actions_by_access_level(&granted_to),
        personas: reports.iter().map(|r| r.persona.clone()).collect(),
        risky_actions,
        dropped: dropped_grants,
    };
    // The review module lists every rejection beside the warnings.
    let mut notes = warnings.clone();
    notes.extend(
        verdicts
            .rejected
            .iter()
            .map(|r| format!("{} rejected: {}", r.item, r.reason)),
    );
    let review = review::render(curated, doc, profile, &model, &reports, &notes);
    let figures = figures(&model, &policies);
    Ok(IamOutput {
        model,
        policies,
        review,
        verdicts,
        warnings,
        figures,
        executions,
    })
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
        let doc: Arc<ServiceDocumentation> =
            read_json_kept(ports.store, &ctx.key(paths::DOCUMENTATION)).await?;
        // The personas are executed against the hardened template's resources.
        let template_written = earlier
            .iter()
            .flat_map(|outcome| &outcome.files)
            .any(|file| file.path == paths::TEMPLATE_JSON);
        let package = if template_written {
            let template: Value = read_json(ports.store, &ctx.key(paths::TEMPLATE_JSON)).await?;
            Package::from_template(&template)
        } else {
            Package::default()
        };
        let output = build_model(&kb, &doc, &ctx.profile, &package)
            .map_err(|err| gensec_core::Error::Fatal(format!("IAM data: {err}")))?;
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
