//! Preventive controls: service control policies built only from actions and
//! condition keys that exist and apply, merged by condition and split to fit
//! the 5,120-character SCP limit. Controls no condition key can express are
//! listed in the coverage file with the reason.

use gensec_core::contract::analysis::{Preventive, PreventiveSpec, Recommendation};
use gensec_core::contract::controls::{ControlGap, ControlKind, GapCause, GeneratedControl};
use gensec_core::contract::paths;
use gensec_core::contract::stage::Verdicts;
use gensec_kb::{Kb, validate};
use serde_json::{Value, json};
use std::collections::BTreeMap;
/// AWS's limit on an SCP document, counted without whitespace.
pub const SCP_MAX_CHARS: usize = 5_120;
/// Role exempted from statements that protect a security setting, so the
/// security team can still change it. Replace with your break-glass role.
pub const BREAK_GLASS_ROLE: &str = "arn:aws:iam::*:role/SecurityBreakGlass";

#[derive(Debug, Default)]
pub struct PreventiveOutput {
    /// SCP documents, each within the limit.
    pub documents: Vec<Value>,
    /// Which recommendation got which statement, or why none.
    pub coverage: Vec<Value>,
    /// One per statement written.
    pub controls: Vec<GeneratedControl>,
    /// Recommendations without a statement, and why.
    pub gaps: Vec<ControlGap>,
}

fn condition_for(spec: &PreventiveSpec) -> Value {
    spec.condition
        .clone()
        .unwrap_or_else(|| json!({"ArnNotLike": {"aws:PrincipalArn": BREAK_GLASS_ROLE}}))
}

fn check(kb: &Kb, actions: &[String], condition: &Value) -> Result<(), String> {
    let keys: Vec<String> = condition
        .as_object()
        .into_iter()
        .flat_map(|operators| operators.values())
        .filter_map(Value::as_object)
        .flat_map(|block| block.keys().cloned())
        .collect();
    for action in actions {
        validate::action(kb, action)?;
        for key in &keys {
            validate::condition_key_for_action(kb, action, key)?;
        }
    }
    Ok(())
}

fn size(document: &Value) -> usize {
    document.to_string().chars().count()
}

fn policy(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Pack statements into as few documents as fit; a statement too large on
/// its own is split by actions.
fn pack(mut pending: Vec<Value>) -> Result<Vec<Vec<Value>>, String> {
    let mut documents: Vec<Vec<Value>> = Vec::new();
    pending.reverse();
    while let Some(statement) = pending.pop() {
        if size(&policy(std::slice::from_ref(&statement))) > SCP_MAX_CHARS {
            let actions = statement["Action"].as_array().cloned().unwrap_or_default();
            if actions.len() < 2 {
                return Err(format!(
                    "statement {} alone exceeds {SCP_MAX_CHARS} characters",
                    statement["Sid"]
                ));
            }
            let (left, right) = actions.split_at(actions.len() / 2);
            for (half, suffix) in [(right, "B"), (left, "A")] {
                let mut part = statement.clone();
                part["Action"] = json!(half);
                part["Sid"] = json!(format!(
                    "{}{suffix}",
                    statement["Sid"].as_str().unwrap_or("Deny")
                ));
                pending.push(part);
            }
            continue;
        }
        let fits = documents.last().is_some_and(|current| {
            let mut candidate = current.clone();
            candidate.push(statement.clone());
            size(&policy(&candidate)) <= SCP_MAX_CHARS
        });
        match documents.last_mut() {
            Some(current) if fits => current.push(statement),
            _ => documents.push(vec![statement]),
        }
    }
    Ok(documents)
}

fn sid(service_id: &str, index: usize) -> String {
    let service: String = service_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let mut chars = service.chars();
    let service = chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default();
    format!("Gensec{service}Deny{}", index + 1)
}

/// Build the SCPs of a service.
pub fn build(
    kb: &Kb,
    service_id: &str,
    recommendations: &[Recommendation],
    report: &mut Verdicts,
) -> Result<PreventiveOutput, String> {
    let mut out = PreventiveOutput::default();
    // Merge statements that share a condition: one Deny per condition.
    let mut by_condition: BTreeMap<String, (Value, Vec<String>, Vec<String>)> = BTreeMap::new();
    for recommendation in recommendations {
        match &recommendation.preventive {
            Some(Preventive::Scp(spec)) => {
                let condition = condition_for(spec);
                if let Err(reason) = check(kb, &spec.actions, &condition) {
                    report.reject(
                        format!("SCP for {}", recommendation.configuration_id),
                        reason,
                    );
                    continue;
                }
                report.accept();
                let (_, actions, ids) = by_condition
                    .entry(condition.to_string())
                    .or_insert_with(|| (condition.clone(), Vec::new(), Vec::new()));
                actions.extend(spec.actions.iter().cloned());
                ids.push(recommendation.configuration_id.clone());
            }
            Some(Preventive::NotExpressible(reason)) => {
                out.coverage.push(json!({
                    "configuration_id": recommendation.configuration_id,
                    "status": "not_expressible",
                    "reason": reason,
                }));
                out.gaps.push(ControlGap {
                    configuration_id: recommendation.configuration_id.clone(),
                    kind: ControlKind::ScpStatement,
                    cause: GapCause::NotExpressible,
                    reason: reason.clone(),
                });
            }
            None => {
                let reason = "no preventive control is defined for this recommendation; the detective and proactive controls cover it";
                out.coverage.push(json!({
                    "configuration_id": recommendation.configuration_id,
                    "status": "none",
                    "reason": reason,
                }));
                out.gaps.push(ControlGap {
                    configuration_id: recommendation.configuration_id.clone(),
                    kind: ControlKind::ScpStatement,
                    cause: GapCause::NotDefined,
                    reason: reason.to_string(),
                });
            }
        }
    }
    let mut statements = Vec::new();
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (index, (condition, mut actions, ids)) in by_condition.into_values().enumerate() {
        actions.sort();
        actions.dedup();
        let sid = sid(service_id, index);
        owners.insert(sid.clone(), ids);
        statements.push(json!({"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": "*", "Condition": condition}));
    }
    for (number, document) in pack(statements)?.into_iter().enumerate() {
        let path = paths::scp(number + 1);
        let file = format!("scp-{}.json", number + 1);
        for statement in &document {
            let statement_sid = statement["Sid"].as_str().unwrap_or_default();
            let owner_sid = owners
                .keys()
                .filter(|sid| statement_sid.starts_with(sid.as_str()))
                .max_by_key(|sid| sid.len());
            let ids: Vec<String> = owner_sid
                .and_then(|sid| owners.get(sid))
                .cloned()
                .unwrap_or_default();
            for id in &ids {
                out.coverage.push(json!({"configuration_id": id, "status": "scp", "document": file, "sid": statement_sid}));
            }
            let actions: Vec<String> = statement["Action"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect();
            let conditional = statement.get("Condition").is_some();
            out.controls.push(GeneratedControl {
                kind: ControlKind::ScpStatement,
                name: statement_sid.to_string(),
                file: path.clone(),
                description: format!("denies {}", actions.join(", ")),
                configuration_ids: ids,
                resource_types: Vec::new(),
                source_identifier: None,
                actions,
                conditional,
                checks: vec![
                    "every action exists in the IAM service reference".into(),
                    "every condition key exists and applies to every action".into(),
                    format!("the document is within {SCP_MAX_CHARS} characters"),
                ],
                cases: Vec::new(),
            });
        }
        out.documents.push(policy(&document));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_respects_the_limit_and_splits_large_statements() {
        let actions: Vec<String> = (0..400).map(|i| format!("ec2:Action{i:04}")).collect();
        let big = json!({"Sid": "Big", "Effect": "Deny", "Action": actions, "Resource": "*"});
        let small =
            json!({"Sid": "Small", "Effect": "Deny", "Action": ["s3:GetObject"], "Resource": "*"});
        let documents = pack(vec![big, small]).unwrap();
        assert!(documents.len() >= 2);
        for document in &documents {
            assert!(size(&policy(document)) <= SCP_MAX_CHARS);
        }
        let total: usize = documents
            .iter()
            .flatten()
            .map(|s| s["Action"].as_array().unwrap().len())
            .sum();
        assert_eq!(total, 401);
    }
}
