//! The IAM section: personas, risky actions, and each persona's policies
//! summarised (allowed actions by access level, statements with resources
//! and conditions).

use super::not_generated;
use crate::escape::html as esc;
use crate::load::{ReportInputs, TextFile};
use crate::profile::serde_name;
use std::fmt::Write;

pub(super) fn iam(out: &mut String, inputs: &ReportInputs) {
    out.push_str("<section id=\"iam\">\n<h2>IAM personas</h2>\n");
    let Some(model) = &inputs.iam_model else {
        not_generated(out, "IAM model");
        out.push_str("</section>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p class=\"source\">source: {}</p>",
        esc(gensec_core::contract::paths::IAM_MODEL)
    );
    out.push_str("<table><thead><tr><th>Persona</th><th>Name</th><th>Description</th><th>Actions</th><th>Condition keys</th><th>Approval</th><th>Policy</th></tr></thead><tbody>\n");
    for persona in &model.personas {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&persona.id),
            esc(&persona.name),
            esc(&persona.description),
            persona.actions,
            esc(&persona.condition_keys.join(", ")),
            esc(&persona.approval),
            esc(&persona.policy_file)
        );
    }
    out.push_str("</tbody></table>\n<h3 id=\"iam-risky-actions\">Risky actions</h3>\n");
    if model.risky_actions.is_empty() {
        out.push_str("<p>No risky action was flagged.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>Action</th><th>Category</th><th>Reason</th><th>Granted to</th></tr></thead><tbody>\n");
        for risky in &model.risky_actions {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&risky.action),
                esc(&serde_name(&risky.category)),
                esc(&risky.reason),
                esc(&risky.granted_to.join(", "))
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !inputs.iam_policies.is_empty() {
        out.push_str("<h3 id=\"iam-policies\">Policies</h3>\n<p class=\"muted\">Per persona: the actions it is allowed, by access level, and the statements that scope them (resources and conditions); the policy documents themselves are in the package.</p>\n");
        let mut shown = ShownLists::new();
        for persona in &model.personas {
            persona_policies(out, &mut shown, model, persona, &inputs.iam_policies);
        }
    }
    out.push_str("</section>\n");
}

/// The persona's policy documents: `<id>.json` or `<id>-<n>.json`.
fn documents_of<'a>(persona: &str, policies: &'a [TextFile]) -> Vec<&'a TextFile> {
    let mut documents: Vec<&TextFile> = policies
        .iter()
        .filter(|policy| {
            let stem = policy
                .path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".json");
            stem == persona
                || stem.strip_prefix(persona).is_some_and(|rest| {
                    rest.strip_prefix('-')
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                })
        })
        .collect();
    // Numbered documents in their numeric order.
    documents.sort_by_key(|policy| {
        let digits: String = policy.path.chars().filter(char::is_ascii_digit).collect();
        (digits.len(), digits)
    });
    documents
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A policy statement as the report shows it: Sid, effect, actions,
/// resources and its condition as compact JSON.
type StatementRow = (String, String, Vec<String>, Vec<String>, String);

/// One persona's grants, compact: allowed actions by access level (each
/// level collapsed), then its statements (collapsed) with resources and
/// conditions, each distinct condition written once.
fn persona_policies(
    out: &mut String,
    shown: &mut ShownLists,
    model: &gensec_core::contract::iam::IamModel,
    persona: &gensec_core::contract::iam::Persona,
    policies: &[TextFile],
) {
    let documents = documents_of(&persona.id, policies);
    if documents.is_empty() {
        return;
    }
    let (statements, unreadable) = statement_rows(&documents);
    let files: Vec<&str> = documents.iter().map(|d| d.path.as_str()).collect();
    let _ = writeln!(
        out,
        "<h4 id=\"iam-policy-{}\">{} <span class=\"muted\">({} document{}: {})</span></h4>",
        esc(&persona.id),
        esc(&persona.name),
        documents.len(),
        if documents.len() == 1 { "" } else { "s" },
        esc(&files.join(", "))
    );
    allowed_actions(out, shown, model, persona, &statements);
    statements_table(out, &statements);
    if !unreadable.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Not JSON, left out: {}</p>",
            esc(&unreadable.join(", "))
        );
    }
}

/// The start of every ARN in the aws partition.
const ARN_AWS: &str = "arn:aws:";

/// `ec2: A, B, C` for actions of one prefix; the full names otherwise.
fn short_actions(actions: &[impl AsRef<str>]) -> String {
    let prefix = actions
        .first()
        .and_then(|a| a.as_ref().split_once(':').map(|(p, _)| p.to_string()));
    match prefix {
        Some(prefix)
            if actions
                .iter()
                .all(|a| a.as_ref().starts_with(&format!("{prefix}:"))) =>
        {
            let names: Vec<&str> = actions
                .iter()
                .map(|a| &a.as_ref()[prefix.len() + 1..])
                .collect();
            format!("{prefix}: {}", names.join(", "))
        }
        _ => actions
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Action lists already written, by access level: a persona granted the same
/// list as an earlier one is pointed there instead of repeating it.
type ShownLists = std::collections::BTreeMap<(String, Vec<String>), String>;

fn action_level(
    out: &mut String,
    shown: &mut ShownLists,
    persona: &str,
    level: &str,
    actions: &[&str],
) {
    let key = (
        level.to_string(),
        actions.iter().map(|a| (*a).to_string()).collect(),
    );
    let count = format!(
        "{}: {} action{}",
        esc(level),
        actions.len(),
        if actions.len() == 1 { "" } else { "s" }
    );
    if let Some(first) = shown.get(&key) {
        let _ = write!(out, "<li>{count}, the same as {}&#39;s</li>", esc(first));
        return;
    }
    shown.insert(key, persona.to_string());
    let _ = write!(
        out,
        "<li><details><summary>{count}</summary><p>{}</p></details></li>",
        esc(&short_actions(actions))
    );
}

/// The statements of a persona's documents, and the documents that are not JSON.
fn statement_rows(documents: &[&TextFile]) -> (Vec<StatementRow>, Vec<String>) {
    let mut statements: Vec<StatementRow> = Vec::new();
    let mut unreadable = Vec::new();
    for document in documents {
        let Ok(policy) = serde_json::from_str::<serde_json::Value>(&document.text) else {
            unreadable.push(document.path.clone());
            continue;
        };
        let list = match &policy["Statement"] {
            serde_json::Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        for statement in list {
            let (actions, negated) = match statement.get("NotAction") {
                Some(not) => (strings(not), true),
                None => (strings(&statement["Action"]), false),
            };
            let effect = format!(
                "{}{}",
                statement["Effect"].as_str().unwrap_or("?"),
                if negated { " (NotAction)" } else { "" }
            );
            let condition = statement
                .get("Condition")
                .map(|c| c.to_string())
                .unwrap_or_default();
            statements.push((
                statement["Sid"].as_str().unwrap_or_default().to_string(),
                effect,
                actions,
                strings(&statement["Resource"]),
                condition,
            ));
        }
    }
    (statements, unreadable)
}

/// The actions a persona is allowed, by access level (each level collapsed).
fn allowed_actions(
    out: &mut String,
    shown: &mut ShownLists,
    model: &gensec_core::contract::iam::IamModel,
    persona: &gensec_core::contract::iam::Persona,
    statements: &[StatementRow],
) {
    let mut allowed: Vec<&str> = statements
        .iter()
        .filter(|s| s.1 == "Allow")
        .flat_map(|s| s.2.iter().map(String::as_str))
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    out.push_str("<ul class=\"controls\">");
    let mut placed = std::collections::BTreeSet::new();
    for (level, actions) in &model.actions_by_access_level {
        let here: Vec<&str> = allowed
            .iter()
            .copied()
            .filter(|action| actions.iter().any(|a| a == action))
            .collect();
        if here.is_empty() {
            continue;
        }
        placed.extend(here.iter().copied());
        action_level(out, shown, &persona.name, level, &here);
    }
    let other: Vec<&str> = allowed
        .iter()
        .copied()
        .filter(|action| !placed.contains(action))
        .collect();
    if !other.is_empty() {
        action_level(
            out,
            shown,
            &persona.name,
            "Other services or wildcards",
            &other,
        );
    }
    out.push_str("</ul>\n");
}

/// The distinct conditions of the statements, listed as C1, C2, ...
fn distinct_conditions<'s>(out: &mut String, statements: &'s [StatementRow]) -> Vec<&'s str> {
    let mut conditions: Vec<&str> = statements
        .iter()
        .map(|s| s.4.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    conditions.sort_unstable();
    conditions.dedup();
    if !conditions.is_empty() {
        out.push_str("<ul class=\"cases\">");
        for (index, condition) in conditions.iter().enumerate() {
            let _ = write!(
                out,
                "<li>C{}: <code>{}</code></li>",
                index + 1,
                esc(condition)
            );
        }
        out.push_str("</ul>");
    }
    conditions
}

/// The statements (collapsed) with their resources, each distinct condition written once.
fn statements_table(out: &mut String, statements: &[StatementRow]) {
    let _ = write!(
        out,
        "<details><summary>{} statement{}: resources and conditions</summary>",
        statements.len(),
        if statements.len() == 1 { "" } else { "s" }
    );
    let conditions = distinct_conditions(out, statements);
    // Resource ARNs are shown without the `arn:aws:` they all start with,
    // and the effect only when some statement is not an Allow: the tables of
    // large services stay readable and the report small.
    let all_aws = statements
        .iter()
        .flat_map(|s| s.3.iter())
        .all(|r| r == "*" || r.starts_with(ARN_AWS));
    let all_allow = statements.iter().all(|s| s.1 == "Allow");
    let _ = write!(
        out,
        "<p class=\"muted\">{}{}Each statement's actions are listed by access level above and in its policy document.</p>",
        if all_aws {
            "Resource ARNs are shown without their leading <code>arn:aws:</code>. "
        } else {
            ""
        },
        if all_allow {
            "Every statement allows. "
        } else {
            ""
        }
    );
    out.push_str("<table class=\"fit mono\"><thead><tr><th>Statement</th>");
    if !all_allow {
        out.push_str("<th>Effect</th>");
    }
    out.push_str("<th>Actions</th><th>Resources</th><th>Condition</th></tr></thead><tbody>\n");
    for (sid, effect, actions, resources, condition) in statements {
        let condition = conditions
            .iter()
            .position(|c| c == condition)
            .map_or_else(|| "none".to_string(), |i| format!("C{}", i + 1));
        let resources: Vec<&str> = resources
            .iter()
            .map(|r| {
                if all_aws {
                    r.strip_prefix(ARN_AWS).unwrap_or(r)
                } else {
                    r
                }
            })
            .collect();
        let _ = write!(out, "<tr><td>{}</td>", esc(sid));
        if !all_allow {
            let _ = write!(out, "<td>{}</td>", esc(effect));
        }
        let _ = writeln!(
            out,
            "<td>{}</td><td>{}</td><td>{condition}</td></tr>",
            actions.len(),
            esc(&resources.join(" "))
        );
    }
    out.push_str("</tbody></table></details>\n");
}
