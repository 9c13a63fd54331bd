//! The decision the package supports, computed only from the package's own
//! data: recommendations, the controls and their executed cases, the
//! template's checks, the validators' rejections, the profile's exemptions,
//! the FSBP controls the knowledge base knows for the service, and the
//! decision already recorded in the library. The README's "The package's
//! decision" section states these rules; keep the two in step.

use crate::load::ReportInputs;
use gensec_core::contract::analysis::{Priority, Recommendation};
use gensec_core::contract::controls::{ControlKind, GapCause};
use gensec_core::contract::decision::{
    DecisionReason, PackageDecision, RecordedDecision, ReviewerInput, Severity, TopRisk,
};
use gensec_core::contract::paths;
use gensec_core::contract::stage::RunContext;
use gensec_core::library::ServiceDecision;
use gensec_kb::Kb;
use std::collections::BTreeMap;

/// At most this many STRIDE threats are listed as top risks.
pub const TOP_RISKS: usize = 5;

fn urgent(r: &Recommendation) -> bool {
    matches!(r.priority, Priority::Critical | Priority::High)
}

/// Controls (Config rule, SCP statement, Guard rule) answering a
/// recommendation; "not expressible" notes are not controls.
fn controls_of(inputs: &ReportInputs, r: &Recommendation) -> Vec<String> {
    inputs
        .controls
        .for_recommendation(r)
        .into_iter()
        .filter(|label| !label.ends_with("not expressible"))
        .collect()
}

fn reason(severity: Severity, rule: &str, text: String, items: Vec<String>) -> DecisionReason {
    DecisionReason {
        severity,
        rule: rule.to_string(),
        text,
        items,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every blocker and condition, blockers first.
fn reasons(kb: &Kb, ctx: &RunContext, inputs: &ReportInputs) -> Vec<DecisionReason> {
    let mut out = Vec::new();
    out.extend(blockers(inputs));
    out.extend(coverage_conditions(kb, ctx, inputs));
    out.extend(review_conditions(ctx, inputs));
    out
}

/// A reason built from `items`, or none when nothing was found.
fn reason_if_any(
    severity: Severity,
    rule: &str,
    items: Vec<String>,
    text: impl FnOnce(usize) -> String,
) -> Option<DecisionReason> {
    (!items.is_empty()).then(|| reason(severity, rule, text(items.len()), items))
}

/// Configuration ids of recommendations at `priority` with no control.
fn uncovered(inputs: &ReportInputs, priority: Priority) -> Vec<String> {
    inputs
        .recommendations
        .recommendations
        .iter()
        .filter(|r| {
            r.priority == priority && !r.is_operational() && controls_of(inputs, r).is_empty()
        })
        .map(|r| r.configuration_id.clone())
        .collect()
}

/// Failed control cases, an unverified template, uncovered Critical
/// recommendations.
fn blockers(inputs: &ReportInputs) -> Vec<DecisionReason> {
    [
        failed_control_cases(inputs),
        unverified_template(inputs),
        critical_uncovered(inputs),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn failed_control_cases(inputs: &ReportInputs) -> Option<DecisionReason> {
    let set = inputs.control_set.as_ref()?;
    let failed: Vec<String> = set
        .controls
        .iter()
        .flat_map(|c| {
            c.cases
                .iter()
                .filter(|case| !case.passed())
                .map(move |case| format!("{}: {}", c.name, case.name))
        })
        .collect();
    reason_if_any(Severity::Blocker, "control-case-failed", failed, |n| {
        format!(
            "{} of the written controls did not behave as expected",
            plural(n, "executed case", "executed cases")
        )
    })
}

fn unverified_template(inputs: &ReportInputs) -> Option<DecisionReason> {
    let iac = inputs.iac.as_ref()?;
    let mut problems: Vec<String> = iac.schema_problems.clone();
    problems.extend(iac.guard.failed.iter().map(|rule| format!("Guard: {rule}")));
    reason_if_any(Severity::Blocker, "template-not-verified", problems, |_| {
        "the hardened template fails its schema or its own Guard rules".to_string()
    })
}

fn critical_uncovered(inputs: &ReportInputs) -> Option<DecisionReason> {
    let critical = uncovered(inputs, Priority::Critical);
    reason_if_any(Severity::Blocker, "critical-uncovered", critical, |n| {
        format!(
            "{} without any Config rule, SCP statement or Guard rule",
            plural(n, "Critical recommendation", "Critical recommendations")
        )
    })
}

/// Conditions about what the controls leave unenforced or unseen.
fn coverage_conditions(kb: &Kb, ctx: &RunContext, inputs: &ReportInputs) -> Vec<DecisionReason> {
    [
        high_uncovered(inputs),
        no_detective_rule(inputs),
        dropped_controls(inputs),
        omissions_not_enforced(inputs),
        operational_settings(inputs),
        fsbp_uncovered(kb, ctx, inputs),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn high_uncovered(inputs: &ReportInputs) -> Option<DecisionReason> {
    let high = uncovered(inputs, Priority::High);
    reason_if_any(Severity::Condition, "high-uncovered", high, |n| {
        format!(
            "{} without any Config rule, SCP statement or Guard rule: enforce them by review",
            plural(n, "High recommendation", "High recommendations")
        )
    })
}

fn no_detective_rule(inputs: &ReportInputs) -> Option<DecisionReason> {
    // Without a control set there is nothing to have a Config rule in.
    inputs.control_set.as_ref()?;
    let undetected: Vec<String> = inputs
        .recommendations
        .recommendations
        .iter()
        .filter(|r| urgent(r) && !r.is_operational() && !controls_of(inputs, r).is_empty())
        .filter(|r| {
            !controls_of(inputs, r)
                .iter()
                .any(|c| c.starts_with("Config:"))
        })
        .map(|r| r.configuration_id.clone())
        .collect();
    reason_if_any(Severity::Condition, "no-detective-rule", undetected, |n| {
        format!(
            "{} no Config rule: a change after deployment goes unseen",
            plural(
                n,
                "Critical or High recommendation has",
                "Critical or High recommendations have"
            )
        )
    })
}

/// Operational controls: settings outside the template (the account, the
/// organisation, a process) that no Guard rule can check; the reviewer
/// confirms them, helped by the Config rule where one watches them.
fn operational_settings(inputs: &ReportInputs) -> Option<DecisionReason> {
    let settings: Vec<String> = inputs
        .recommendations
        .recommendations
        .iter()
        .filter_map(|r| {
            let what = r.operational.as_deref()?;
            let watched = controls_of(inputs, r)
                .into_iter()
                .filter(|c| c.starts_with("Config:") || c.starts_with("SCP:"))
                .collect::<Vec<_>>();
            Some(if watched.is_empty() {
                format!(
                    "{}: {what} (no managed Config rule watches it)",
                    r.configuration_id
                )
            } else {
                format!("{}: {what} ({})", r.configuration_id, watched.join(", "))
            })
        })
        .collect();
    reason_if_any(Severity::Condition, "operational-settings", settings, |n| {
        format!(
            "{} outside the template (account, organisation or process) to confirm before approval",
            plural(n, "setting", "settings")
        )
    })
}

fn dropped_controls(inputs: &ReportInputs) -> Option<DecisionReason> {
    let set = inputs.control_set.as_ref()?;
    let dropped: Vec<String> = set
        .gaps
        .iter()
        .filter(|gap| gap.cause == GapCause::Rejected)
        .map(|gap| {
            format!(
                "{} ({}): {}",
                gap.configuration_id,
                gap.kind.label(),
                gap.reason
            )
        })
        .collect();
    reason_if_any(Severity::Condition, "control-dropped", dropped, |n| {
        format!(
            "{} generated but dropped because a case caught it",
            plural(n, "control was", "controls were")
        )
    })
}

fn omissions_not_enforced(inputs: &ReportInputs) -> Option<DecisionReason> {
    let urgent_ids: Vec<&str> = inputs
        .recommendations
        .recommendations
        .iter()
        .filter(|r| urgent(r))
        .map(|r| r.configuration_id.as_str())
        .collect();
    let omissions: Vec<String> = inputs
        .scp_omissions
        .iter()
        .filter(|(id, _)| urgent_ids.contains(&id.as_str()))
        .map(|(id, why)| format!("{id}: {why}"))
        .collect();
    reason_if_any(
        Severity::Condition,
        "omission-not-enforced",
        omissions,
        |n| {
            format!(
                "{} deny the insecure value but not a request that leaves it out",
                plural(n, "SCP statement does", "SCP statements do")
            )
        },
    )
}

fn fsbp_uncovered(kb: &Kb, ctx: &RunContext, inputs: &ReportInputs) -> Option<DecisionReason> {
    let service = kb.service(&ctx.service_id)?;
    let answered: Vec<&str> = inputs
        .recommendations
        .recommendations
        .iter()
        .flat_map(|r| r.security_hub_controls.iter().map(String::as_str))
        .collect();
    let missing: Vec<String> = kb
        .fsbp_controls_for_service(service)
        .into_iter()
        .filter(|control| {
            !answered
                .iter()
                .any(|id| id.eq_ignore_ascii_case(&control.id))
        })
        .map(|control| format!("{} ({}): {}", control.id, control.severity, control.title))
        .collect();
    reason_if_any(Severity::Condition, "fsbp-uncovered", missing, |n| {
        format!(
            "{} of AWS Foundational Security Best Practices for this service no recommendation answers",
            plural(n, "control", "controls")
        )
    })
}

/// Conditions a reviewer must settle: rejections, risky grants, the
/// missing break-glass principal and the missing Terraform.
fn review_conditions(ctx: &RunContext, inputs: &ReportInputs) -> Vec<DecisionReason> {
    [
        validator_rejections(inputs),
        risky_actions_granted(inputs),
        no_break_glass(ctx, inputs),
        no_terraform(inputs),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn validator_rejections(inputs: &ReportInputs) -> Option<DecisionReason> {
    // Counts per stage only: a rejected item's text (a model's invented
    // name, say) stays in validation-report.json and never reaches the
    // decision, the manifest or summary.md.
    let rejected = &inputs.validation.rejected;
    if rejected.is_empty() {
        return None;
    }
    let mut per_stage: BTreeMap<String, usize> = BTreeMap::new();
    for rejection in rejected {
        *per_stage.entry(rejection.stage.to_string()).or_default() += 1;
    }
    Some(reason(
        Severity::Condition,
        "validator-rejections",
        format!(
            "validators rejected {}; they are not in the package ({} lists each with its reason)",
            plural(rejected.len(), "item", "items"),
            paths::VALIDATION_REPORT
        ),
        per_stage
            .into_iter()
            .map(|(stage, count)| format!("{stage}: {count}"))
            .collect(),
    ))
}

fn risky_actions_granted(inputs: &ReportInputs) -> Option<DecisionReason> {
    let model = inputs.iam_model.as_ref()?;
    let granted: Vec<String> = model
        .risky_actions
        .iter()
        .filter(|risky| !risky.granted_to.is_empty())
        .map(|risky| format!("{} to {}", risky.action, risky.granted_to.join(", ")))
        .collect();
    reason_if_any(Severity::Condition, "risky-actions-granted", granted, |n| {
        format!(
            "{} granted to personas: confirm each is needed",
            plural(n, "risky IAM action is", "risky IAM actions are")
        )
    })
}

fn no_break_glass(ctx: &RunContext, inputs: &ReportInputs) -> Option<DecisionReason> {
    let exemptions = &ctx.profile.security_controls.scp_exemptions;
    let has_scp = inputs
        .control_set
        .as_ref()
        .is_some_and(|set| set.count(ControlKind::ScpStatement) > 0);
    (has_scp && exemptions.break_glass_principal_arns.is_empty()).then(|| {
        reason(
            Severity::Condition,
            "no-break-glass",
            "the profile names no break-glass principal: nobody is exempt from the SCPs in an emergency".to_string(),
            Vec::new(),
        )
    })
}

fn no_terraform(inputs: &ReportInputs) -> Option<DecisionReason> {
    let iac = inputs.iac.as_ref()?;
    (!iac.terraform.written).then(|| {
        reason(
            Severity::Condition,
            "no-terraform",
            "no Terraform was written (it did not pass its checks): deploy the CloudFormation template".to_string(),
            Vec::new(),
        )
    })
}

/// Critical and High recommendations by STRIDE threat, most urgent first.
fn top_risks(inputs: &ReportInputs) -> Vec<TopRisk> {
    let mut by_threat: BTreeMap<_, Vec<&Recommendation>> = BTreeMap::new();
    for r in inputs
        .recommendations
        .recommendations
        .iter()
        .filter(|r| urgent(r))
    {
        by_threat.entry(r.threat_vector).or_default().push(r);
    }
    let mut risks: Vec<(Priority, usize, TopRisk)> = by_threat
        .into_iter()
        .map(|(threat, recs)| {
            let priority = recs
                .iter()
                .map(|r| r.priority)
                .min()
                .unwrap_or(Priority::High);
            let mut controls = Vec::new();
            let mut uncovered = Vec::new();
            for r in &recs {
                let answering = controls_of(inputs, r);
                if answering.is_empty() {
                    uncovered.push(r.configuration_id.clone());
                }
                for control in answering {
                    if !controls.contains(&control) {
                        controls.push(control);
                    }
                }
            }
            let count = recs.len();
            (
                priority,
                count,
                TopRisk {
                    threat: threat.label().to_string(),
                    priority: priority.as_str().to_string(),
                    configuration_ids: recs.iter().map(|r| r.configuration_id.clone()).collect(),
                    controls,
                    uncovered,
                },
            )
        })
        .collect();
    risks.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    risks
        .into_iter()
        .take(TOP_RISKS)
        .map(|(_, _, risk)| risk)
        .collect()
}

fn reviewer_inputs(
    ctx: &RunContext,
    inputs: &ReportInputs,
    conditional: bool,
) -> Vec<ReviewerInput> {
    let mut out = Vec::new();
    if let Some(iac) = &inputs.iac {
        for parameter in &iac.parameters {
            let why = match &parameter.default {
                None => format!("no default: {}", parameter.description),
                Some(default) if default.is_empty() => {
                    format!("empty default: {}", parameter.description)
                }
                Some(_) => continue,
            };
            out.push(ReviewerInput {
                kind: "parameter".into(),
                name: parameter.name.clone(),
                why,
            });
        }
    }
    let exemptions = &ctx.profile.security_controls.scp_exemptions;
    for (field, values, role) in [
        (
            "break_glass_principal_arns",
            &exemptions.break_glass_principal_arns,
            "emergency roles exempt from every SCP statement",
        ),
        (
            "deployer_principal_arns",
            &exemptions.deployer_principal_arns,
            "the role that deploys reviewed templates, exempt from statements that protect a setting outright",
        ),
    ] {
        let why = if values.is_empty() {
            format!("unset in profile {}: {role}", ctx.profile.profile_id)
        } else {
            format!(
                "profile {} names {}: confirm they are your {role}",
                ctx.profile.profile_id,
                values.join(", ")
            )
        };
        out.push(ReviewerInput {
            kind: "principal".into(),
            name: format!("security_controls.scp_exemptions.{field}"),
            why,
        });
    }
    if conditional {
        out.push(ReviewerInput {
            kind: "exception".into(),
            name: "conditions above".into(),
            why: "accept or mitigate each; record them with `gensec library decide SERVICE --decision approved-with-conditions --conditions TEXT`".into(),
        });
    }
    out
}

fn recorded(decision: &ServiceDecision) -> RecordedDecision {
    let current = &decision.current;
    RecordedDecision {
        decision: current.decision.as_str().to_string(),
        by: current.actor.clone(),
        at: current.at.to_rfc3339(),
        reason: current.reason.clone(),
        conditions: current.conditions.clone(),
        version: current.version,
    }
}

/// The decision the package supports.
pub fn decide(
    kb: &Kb,
    ctx: &RunContext,
    inputs: &ReportInputs,
    library_decision: Option<&ServiceDecision>,
) -> PackageDecision {
    let mut reasons = reasons(kb, ctx, inputs);
    reasons.sort_by_key(|r| r.severity);
    let readiness = PackageDecision::readiness_of(&reasons);
    let (cases_executed, cases_passed) = inputs.control_set.as_ref().map_or((0, 0), |set| {
        let all = set.cases().count() as u64;
        let passed = set.cases().filter(|case| case.passed()).count() as u64;
        (all, passed)
    });
    PackageDecision {
        readiness,
        top_risks: top_risks(inputs),
        reviewer_inputs: reviewer_inputs(
            ctx,
            inputs,
            readiness != gensec_core::contract::decision::Readiness::Ready,
        ),
        reasons,
        cases_executed,
        cases_passed,
        recorded: library_decision.map(recorded),
    }
}
