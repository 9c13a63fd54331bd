//! Which candidate actions a persona keeps: known to the IAM reference, not
//! a refused escalation, and every condition key of its statement applying.

use crate::policy::{Granted, Settings};
use crate::{PersonaKind, data, package::Package, personas};
use gensec_core::contract::stage::Verdicts;
use gensec_kb::validate;
use gensec_kb::{IamAction, IamService, Kb, ServiceDocumentation};
use std::collections::{BTreeMap, BTreeSet};

/// The runtime's use of the package key, through the package's services.
const RUNTIME_KEY_USE: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

/// An action's service and entry: the service's documentation first, then the knowledge base.
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

/// The persona's validated actions: unknown actions and wildcards are
/// rejected, and so is an action a condition key of its statement does not apply to.
pub(crate) fn validated<'a>(
    kind: PersonaKind,
    kb: &'a Kb,
    curated: &data::Curated,
    doc: &'a ServiceDocumentation,
    package: &Package,
    settings: &Settings,
    verdicts: &mut Verdicts,
) -> Vec<Granted<'a>> {
    let id = kind.id();
    let mut granted = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, origin) in candidates(kind, curated, doc, package, settings) {
        if let Some(reason) = escalation_refusal(&name, settings) {
            verdicts.reject(format!("{id}: {name} ({origin})"), reason);
            continue;
        }
        match known_action(kb, doc, &name) {
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
    with_applicable_conditions(id, kb, granted, settings, verdicts)
}

/// The persona's candidate actions, each with where it comes from.
fn candidates(
    kind: PersonaKind,
    curated: &data::Curated,
    doc: &ServiceDocumentation,
    package: &Package,
    settings: &Settings,
) -> BTreeMap<String, String> {
    let mut candidates = personas::candidates(kind, curated, doc);
    // The runtime uses the package key where its policy lets the package's
    // services use it (not a key only a service principal uses, like logs').
    if kind == PersonaKind::ApplicationRuntime
        && settings.kms_via_services.is_some()
        && package
            .key
            .as_ref()
            .is_some_and(|key| !key.via_services.is_empty())
    {
        for action in RUNTIME_KEY_USE {
            candidates
                .entry((*action).to_string())
                .or_insert_with(|| "package key use through the package's services".into());
        }
    }
    candidates
}

/// Why an escalation action is refused: the package gives it nothing to act on.
fn escalation_refusal(name: &str, settings: &Settings) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("iam:PassRole") && settings.passed_to_services.is_empty() {
        Some("no service of the package takes a role (data/escalation.json pass_role)")
    } else if name.eq_ignore_ascii_case("iam:CreateServiceLinkedRole")
        && settings.service_linked_roles.is_empty()
    {
        Some("the package names no service-linked role (data/escalation.json service_linked_roles)")
    } else {
        None
    }
}

/// The action's lower-case prefix and IAM reference entry, or why it has none.
fn known_action<'a>(
    kb: &'a Kb,
    doc: &'a ServiceDocumentation,
    name: &str,
) -> Result<(String, &'a IamService, &'a IamAction), String> {
    validate::action(kb, name).and_then(|known| {
        let prefix = name
            .split_once(':')
            .map_or("", |(p, _)| p)
            .to_ascii_lowercase();
        lookup(kb, doc, &prefix, &known.name)
            .map(|(service, action)| (prefix, service, action))
            .ok_or_else(|| format!("no IAM reference entry for {name}"))
    })
}

/// The actions every condition key of whose statement applies to them.
fn with_applicable_conditions<'a>(
    id: &str,
    kb: &Kb,
    granted: Vec<Granted<'a>>,
    settings: &Settings,
    verdicts: &mut Verdicts,
) -> Vec<Granted<'a>> {
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
