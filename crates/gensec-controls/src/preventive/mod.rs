//! Preventive controls: service control policies built only from actions and
//! condition keys that exist and apply, each statement executed as IAM
//! evaluates it (see [`execute`]) before it is written, merged by condition
//! and split to fit the 5,120-character SCP limit. Controls no condition key
//! can express, and statements that failed a case, are listed in the
//! coverage file with the reason.

pub mod execute;

use execute::{Candidate, Execution};
use gensec_core::contract::analysis::{
    Preventive, PreventiveSpec, ProfileResources, Recommendation, WhenOmitted,
};
use gensec_core::contract::controls::{
    ControlGap, ControlKind, ExecutedCase, GapCause, GeneratedControl,
};
use gensec_core::contract::paths;
use gensec_core::contract::stage::Verdicts;
use gensec_core::input::{ScpExemptions, SecurityProfile};
use gensec_kb::{Kb, validate};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
/// AWS's limit on an SCP document, counted without whitespace.
pub const SCP_MAX_CHARS: usize = 5_120;

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
    /// The package template's calls every statement was executed against.
    pub template_calls: Vec<ExecutedCase>,
}

/// The resource lists of the security profile that `not_resource`
/// statements leave out, as ARN patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileLists {
    /// `allowed_bedrock_models`; `None` when the profile has no such list.
    pub bedrock_models: Option<Vec<String>>,
}

impl ProfileLists {
    pub fn of(profile: &SecurityProfile) -> Self {
        Self {
            bedrock_models: profile.bedrock_model_arn_patterns(),
        }
    }

    /// The ARN patterns of `which`, or why there are none.
    pub fn get(&self, which: ProfileResources) -> Result<&[String], String> {
        match which {
            ProfileResources::AllowedBedrockModels => self
                .bedrock_models
                .as_deref()
                .ok_or_else(|| "the security profile lists no allowed_bedrock_models, so no statement restricts which models may be invoked".to_string()),
        }
    }
}

/// The statement's condition: the spec's, with the break-glass principals
/// exempted; a statement that protects a setting outright exempts the
/// deployer too (it deploys the reviewed templates). A statement that
/// leaves listed resources out (`NotResource`) exempts only break-glass
/// principals: deploying templates does not invoke unlisted models.
fn condition_for(spec: &PreventiveSpec, exemptions: &ScpExemptions) -> Option<Value> {
    let mut exempt: Vec<&String> = exemptions.break_glass_principal_arns.iter().collect();
    let mut condition = match &spec.condition {
        Some(condition) => condition.clone(),
        None => {
            if spec.not_resource.is_none() {
                exempt.extend(&exemptions.deployer_principal_arns);
            }
            json!({})
        }
    };
    if !exempt.is_empty() {
        condition["ArnNotLike"] = json!({"aws:PrincipalArn": exempt});
    }
    (condition.as_object().is_some_and(|block| !block.is_empty())).then_some(condition)
}

/// `Resource` of a statement: every ARN of the spec's resource type (all
/// partitions, regions and accounts), or `*`.
fn resource_for(kb: &Kb, spec: &PreventiveSpec) -> Result<Value, String> {
    let Some(resource_type) = &spec.resource_type else {
        return Ok(json!("*"));
    };
    let mut patterns = BTreeSet::new();
    for action in &spec.actions {
        let definition = kb
            .action(action)
            .map_err(|err| err.to_string())?
            .ok_or_else(|| format!("unknown action {action}"))?;
        if !definition
            .resource_types
            .iter()
            .any(|r| &r.name == resource_type)
        {
            return Err(format!(
                "{action} is not authorised against resource type {resource_type}"
            ));
        }
        let prefix = action.split(':').next().unwrap_or_default();
        let service = kb
            .iam_service(prefix)
            .map_err(|err| err.to_string())?
            .ok_or_else(|| format!("unknown service prefix {prefix}"))?;
        let table = service
            .resource_types
            .iter()
            .find(|r| &r.name == resource_type)
            .ok_or_else(|| format!("{prefix} has no resource type {resource_type}"))?;
        for format in &table.arn_formats {
            patterns.insert(arn_pattern(format));
        }
    }
    Ok(match patterns.len() {
        0 => json!("*"),
        1 => json!(patterns.into_iter().next()),
        _ => json!(patterns.into_iter().collect::<Vec<_>>()),
    })
}

/// `arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}` ->
/// `arn:*:ec2:*:*:instance/*`.
fn arn_pattern(format: &str) -> String {
    let mut pattern = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&rest[..start]);
        pattern.push('*');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    pattern.push_str(rest);
    pattern
}

fn check(kb: &Kb, spec: &PreventiveSpec) -> Result<(), String> {
    let keys = execute::condition_keys(spec.condition.as_ref());
    for action in &spec.actions {
        validate::action(kb, action)?;
        for key in keys
            .iter()
            .chain(spec.insecure.keys())
            .chain(spec.compliant.keys())
        {
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

fn gap(
    out: &mut PreventiveOutput,
    configuration_id: &str,
    cause: GapCause,
    status: &str,
    reason: String,
) {
    out.coverage.push(json!({
        "configuration_id": configuration_id,
        "status": status,
        "reason": reason,
    }));
    out.gaps.push(ControlGap {
        configuration_id: configuration_id.to_string(),
        kind: ControlKind::ScpStatement,
        cause,
        reason,
    });
}

/// The statement a spec becomes, checked against the KB, with the
/// exemptions and resource scope (or the profile's `NotResource` list)
/// applied; not yet executed.
pub fn candidate(
    kb: &Kb,
    configuration_id: &str,
    spec: &PreventiveSpec,
    exemptions: &ScpExemptions,
    lists: &ProfileLists,
) -> Result<Candidate, String> {
    check(kb, spec)?;
    let mut actions = spec.actions.clone();
    actions.sort();
    actions.dedup();
    let mut statement = match spec.not_resource {
        Some(which) => {
            if spec.resource_type.is_some() || spec.condition.is_some() {
                return Err(
                    "a not_resource statement has neither a resource_type nor a condition".into(),
                );
            }
            json!({"Effect": "Deny", "Action": actions, "NotResource": lists.get(which)?})
        }
        None => json!({"Effect": "Deny", "Action": actions, "Resource": resource_for(kb, spec)?}),
    };
    if let Some(condition) = condition_for(spec, exemptions) {
        statement["Condition"] = condition;
    }
    Ok(Candidate {
        configuration_id: configuration_id.to_string(),
        spec: spec.clone(),
        statement,
    })
}

/// The statement candidates of the recommendations: checked against the KB,
/// with the exemptions and resource scope applied.
fn candidates(
    kb: &Kb,
    recommendations: &[Recommendation],
    exemptions: &ScpExemptions,
    lists: &ProfileLists,
    out: &mut PreventiveOutput,
    report: &mut Verdicts,
) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    for recommendation in recommendations {
        let id = &recommendation.configuration_id;
        match &recommendation.preventive {
            Some(Preventive::Scp(specs)) => {
                for spec in specs {
                    // The profile chose not to list the resources: no
                    // statement, and the coverage file says why.
                    if let Some(Err(reason)) = spec.not_resource.map(|which| lists.get(which)) {
                        gap(out, id, GapCause::NotDefined, "none", reason);
                        continue;
                    }
                    match candidate(kb, id, spec, exemptions, lists) {
                        Ok(candidate) => candidates.push(candidate),
                        Err(reason) => {
                            report.reject(format!("SCP for {id}"), reason.clone());
                            gap(out, id, GapCause::Rejected, "rejected", reason);
                        }
                    }
                }
            }
            Some(Preventive::NotExpressible(reason)) => {
                gap(out, id, GapCause::NotExpressible, "not_expressible", reason.clone());
            }
            None => gap(
                out,
                id,
                GapCause::NotDefined,
                "none",
                if recommendation.is_operational() {
                    "no preventive control is defined for this operational control; its Config rule and the reviewer's confirmation cover it"
                } else {
                    "no preventive control is defined for this recommendation; the detective and proactive controls cover it"
                }
                .into(),
            ),
        }
    }
    candidates
}

/// Every SCP statement the control catalogue can produce under
/// `exemptions`, with the cases it is executed against, as cross-check
/// corpus cases (for `gensec-policy`'s comparison with iam-simulate).
pub fn catalogue_corpus(
    kb: &Kb,
    exemptions: &ScpExemptions,
    lists: &ProfileLists,
) -> Result<Vec<gensec_policy::corpus::Case>, String> {
    let catalogue = gensec_kb::controls::ControlCatalogue::embedded().map_err(|e| e.to_string())?;
    let mut cases = Vec::new();
    for control in catalogue.controls() {
        let Some(Preventive::Scp(specs)) = &control.preventive else {
            continue;
        };
        for (index, spec) in specs.iter().enumerate() {
            let id = format!("{}#{}", control.id, index + 1);
            let candidate = candidate(kb, &id, spec, exemptions, lists)
                .map_err(|reason| format!("{id}: {reason}"))?;
            cases.extend(execute::corpus_cases(kb, &candidate, exemptions)?);
        }
    }
    Ok(cases)
}

/// Kept statements that share a condition and resource, written as one Deny.
#[derive(Default)]
struct MergedStatement {
    /// The statement with an empty `Action`.
    shape: Value,
    actions: Vec<String>,
    /// The configuration ids it enforces.
    ids: Vec<String>,
    cases: Vec<ExecutedCase>,
}

/// Build the SCPs of a service: every statement executed against its cases
/// and the calls of the package's own template (`resource_types`) first.
pub fn build(
    kb: &Kb,
    service_id: &str,
    recommendations: &[Recommendation],
    resource_types: &[String],
    exemptions: &ScpExemptions,
    lists: &ProfileLists,
    report: &mut Verdicts,
) -> Result<PreventiveOutput, String> {
    let mut out = PreventiveOutput::default();
    let candidates = candidates(kb, recommendations, exemptions, lists, &mut out, report);
    let Execution {
        passed,
        dropped,
        template_calls,
    } = execute::execute(kb, &candidates, resource_types, exemptions)?;
    record_dropped(&candidates, &dropped, &mut out, report);
    let merged = merge_passed(&candidates, passed, &mut out, report);
    let (statements, owners) = ordered_statements(service_id, merged);
    add_documents(statements, &owners, template_calls.len(), &mut out)?;
    out.template_calls = template_calls;
    Ok(out)
}

/// The configuration ids and executed cases behind each statement, by Sid.
type StatementOwners = BTreeMap<String, (Vec<String>, Vec<ExecutedCase>)>;

/// A rejection and a gap for each candidate a case caught.
fn record_dropped(
    candidates: &[Candidate],
    dropped: &BTreeMap<usize, String>,
    out: &mut PreventiveOutput,
    report: &mut Verdicts,
) {
    for (index, reason) in dropped {
        let candidate = &candidates[*index];
        report.reject(
            format!("SCP for {}", candidate.configuration_id),
            reason.clone(),
        );
        gap(
            out,
            &candidate.configuration_id,
            GapCause::Rejected,
            "rejected",
            format!("statement {} dropped: {reason}", candidate.statement),
        );
    }
}

/// Kept statements that share a condition and resource, merged: one Deny
/// each, keyed by their shape without actions.
fn merge_passed(
    candidates: &[Candidate],
    passed: BTreeMap<usize, Vec<ExecutedCase>>,
    out: &mut PreventiveOutput,
    report: &mut Verdicts,
) -> BTreeMap<String, MergedStatement> {
    let mut merged: BTreeMap<String, MergedStatement> = BTreeMap::new();
    for (index, cases) in passed {
        report.accept();
        let candidate = &candidates[index];
        let mut shape = candidate.statement.clone();
        let actions: Vec<String> = shape["Action"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        shape["Action"] = json!([]);
        let entry = merged
            .entry(shape.to_string())
            .or_insert_with(|| MergedStatement {
                shape: shape.clone(),
                ..MergedStatement::default()
            });
        entry.actions.extend(actions);
        if !entry.ids.contains(&candidate.configuration_id) {
            entry.ids.push(candidate.configuration_id.clone());
        }
        entry.cases.extend(cases);
        if let WhenOmitted::NotEnforced(reason) = &candidate.spec.when_omitted {
            out.coverage.push(json!({
                "configuration_id": candidate.configuration_id,
                "status": "omission_not_enforced",
                "actions": candidate.spec.actions,
                "reason": reason,
            }));
        }
    }
    merged
}

/// The merged statements with their Sids and keys in a fixed order, and
/// who owns each Sid.
fn ordered_statements(
    service_id: &str,
    merged: BTreeMap<String, MergedStatement>,
) -> (Vec<Value>, StatementOwners) {
    let mut statements = Vec::new();
    let mut owners: StatementOwners = BTreeMap::new();
    for (index, merged) in merged.into_values().enumerate() {
        let MergedStatement {
            shape: mut statement,
            mut actions,
            ids,
            cases,
        } = merged;
        actions.sort();
        actions.dedup();
        let sid = sid(service_id, index);
        statement["Action"] = json!(actions);
        let mut ordered = json!({"Sid": sid, "Effect": "Deny", "Action": actions});
        for element in ["Resource", "NotResource"] {
            if let Some(resources) = statement.get(element) {
                ordered[element] = resources.clone();
            }
        }
        if let Some(condition) = statement.get("Condition") {
            ordered["Condition"] = condition.clone();
        }
        owners.insert(sid.clone(), (ids, cases));
        statements.push(ordered);
    }
    (statements, owners)
}

/// The statements packed into SCP documents, each statement a control with
/// the cases of its owner that concern its actions.
fn add_documents(
    statements: Vec<Value>,
    owners: &StatementOwners,
    template_call_count: usize,
    out: &mut PreventiveOutput,
) -> Result<(), String> {
    for (number, document) in pack(statements)?.into_iter().enumerate() {
        let path = paths::scp(number + 1);
        let file = format!("scp-{}.json", number + 1);
        for statement in &document {
            let statement_sid = statement["Sid"].as_str().unwrap_or_default();
            let owner = owners
                .iter()
                .filter(|(sid, _)| statement_sid.starts_with(sid.as_str()))
                .max_by_key(|(sid, _)| sid.len())
                .map(|(_, owner)| owner.clone())
                .unwrap_or_default();
            let (ids, owner_cases) = owner;
            let actions: Vec<String> = statement["Action"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect();
            for id in &ids {
                out.coverage.push(json!({"configuration_id": id, "status": "scp", "document": file, "sid": statement_sid}));
            }
            let cases: Vec<ExecutedCase> = owner_cases
                .into_iter()
                .filter(|case| {
                    actions
                        .iter()
                        .any(|action| case.name.starts_with(&format!("{action}:")))
                })
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
                    format!(
                        "none of the {} calls CloudFormation makes to create and update the package's resources is denied",
                        template_call_count
                    ),
                ],
                cases,
            });
        }
        out.documents.push(policy(&document));
    }
    Ok(())
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
