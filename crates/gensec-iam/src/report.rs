//! The persona reports and the model's action summaries, assembled from
//! what each persona's documents ended up granting.

use crate::policy::{Granted, Planned, Settings};
use crate::{PersonaKind, PersonaReport, PolicyFile};
use gensec_core::contract::controls::ExecutedCase;
use gensec_core::contract::iam::{Persona, RiskCategory, RiskyAction};
use gensec_kb::{IamAction, ServiceDocumentation};
use std::collections::{BTreeMap, BTreeSet};

/// Action -> (action facts, personas granted).
pub(crate) type GrantedTo<'a> = BTreeMap<String, (&'a IamAction, Vec<&'static str>)>;

/// Record which written actions persona `id` holds.
pub(crate) fn record_grants<'a>(
    id: &'static str,
    granted: &[Granted<'a>],
    written: &BTreeSet<String>,
    granted_to: &mut GrantedTo<'a>,
) {
    for item in granted.iter().filter(|item| written.contains(&item.full)) {
        granted_to
            .entry(item.full.clone())
            .or_insert_with(|| (item.action, Vec::new()))
            .1
            .push(id);
    }
}

/// One persona's report, from what its documents wrote. Its approval is
/// filled in once the risky actions of every persona are known.
#[allow(clippy::too_many_arguments)]
pub(crate) fn persona_report(
    kind: PersonaKind,
    doc: &ServiceDocumentation,
    settings: Settings,
    granted: &[Granted<'_>],
    written: &BTreeSet<String>,
    statements: Vec<Planned>,
    (files, split): (Vec<String>, bool),
    policies: &[PolicyFile],
    cases: Vec<ExecutedCase>,
) -> PersonaReport {
    let id = kind.id();
    let mut by_level: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in granted.iter().filter(|item| written.contains(&item.full)) {
        by_level
            .entry(item.action.access_level().as_str().to_string())
            .or_default()
            .push(item.full.clone());
    }
    let statements: Vec<Planned> = statements
        .into_iter()
        .filter(|s| s.actions.iter().any(|a| written.contains(a)))
        .collect();
    let statement_count: usize = policies
        .iter()
        .filter(|p: &&PolicyFile| p.persona == id)
        .map(|p| p.document["Statement"].as_array().map_or(0, Vec::len))
        .sum();
    let mut keys = BTreeSet::new();
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
        statements: statement_count,
        documents: files.len(),
        cases,
    };
    PersonaReport {
        kind,
        persona,
        settings,
        by_level,
        statements,
        files,
    }
}

/// Each persona's approval, from the risk categories of the actions it holds.
pub(crate) fn assign_approvals(reports: &mut [PersonaReport], risky_actions: &[RiskyAction]) {
    for report in reports {
        let categories: BTreeSet<RiskCategory> = risky_actions
            .iter()
            .filter(|risky| risky.granted_to.iter().any(|p| p == report.kind.id()))
            .map(|risky| risky.category)
            .collect();
        report.persona.approval = crate::approval(report.kind, &categories, report.settings.mfa);
    }
}

/// Every granted action, by access level.
pub(crate) fn actions_by_access_level(granted_to: &GrantedTo<'_>) -> BTreeMap<String, Vec<String>> {
    let mut by_level: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (full, (action, _)) in granted_to {
        by_level
            .entry(action.access_level().as_str().to_string())
            .or_default()
            .push(full.clone());
    }
    by_level
}
