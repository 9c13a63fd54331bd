//! Security Hub finding remediation, the local half: read EventBridge events
//! or ASFF findings ([`event`]), recognise the control ([`finding`]), keep
//! only new failing HIGH/CRITICAL findings ([`filter`], [`dedupe`]), build the
//! fix from the shared control catalogue ([`controls`], [`terraform`]) and refuse anything
//! outside the allow-list ([`safety`]), then e-mail it ([`email`], [`notify`]).
//! With a language model ([`llm`]), controls outside the catalogue get the
//! model's explanation, steps and a fix that passed the same checks, and other
//! findings the model's explanation and steps (never a fix); without one, or
//! when it fails, the deterministic remediation stands.
//!
//! [`remediate`] is pure and deterministic; [`process`] drives a batch over
//! the [`FindingStateStore`] and [`Notifier`] ports (and, optionally,
//! [`FindingWorkflow`] to mark delivered findings NOTIFIED), so the AWS half
//! only needs DynamoDB, SNS and Security Hub adapters.

pub mod arn;
pub mod cli;
pub mod controls;
pub mod dedupe;
pub mod email;
pub mod event;
pub mod filter;
pub mod finding;
pub mod llm;
pub mod notify;
pub mod ocsf;
pub mod safety;
pub mod terraform;
pub mod webhook;

use controls::ControlCatalogue;
use event::{Batch, Rejected};
use filter::{Decision, FilterConfig};
use finding::{Finding, FindingFormat, Origin, Severity};
use gensec_core::llm::Llm;
use gensec_core::ports::{
    FindingObservation, FindingRef, FindingStateStore, FindingWorkflow, Notifier,
};
use serde::Serialize;

/// Generic Security Hub controls reference, for controls outside the catalogue.
pub const CONTROLS_REFERENCE: &str =
    "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-controls-reference.html";

/// What to tell the user about one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remediation {
    pub finding_id: String,
    pub account: String,
    pub region: Option<String>,
    pub resource_id: String,
    pub resource_type: String,
    pub severity: Severity,
    pub origin: Origin,
    pub control_id: Option<String>,
    /// The catalogue's title, else the finding's.
    pub title: String,
    /// The finding's own description (untrusted; shown quoted).
    pub description: String,
    pub risk: String,
    /// Terraform that passed the allow-list, if any (with `import` blocks for
    /// resources that already exist).
    pub terraform: Option<String>,
    /// What `terraform plan` must show before applying an in-place fix.
    pub plan_checklist: Vec<String>,
    /// Why there is no Terraform.
    pub no_fix_reason: Option<String>,
    /// AWS CLI commands that passed the API model check, identifiers resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cli: Vec<String>,
    /// Values the CLI commands leave for the user (`NAME: why`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fill_in: Vec<String>,
    /// Why there are no CLI commands (a control with a catalogue entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_cli_reason: Option<String>,
    /// What to check before changing anything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_before: Vec<String>,
    pub manual_steps: Vec<String>,
    /// How to confirm the change worked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
    pub documentation: String,
    /// What a language model wrote here, if one was asked (the e-mail marks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<llm::ModelContribution>,
}

fn docs_link(finding: &Finding) -> Option<String> {
    let url = finding
        .remediation
        .as_ref()?
        .recommendation
        .as_ref()?
        .url
        .as_deref()?;
    (url.starts_with("https://docs.aws.amazon.com/")
        && url.len() < 300
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>')))
    .then(|| url.to_string())
}

fn non_control(origin: Origin) -> (&'static str, Vec<&'static str>, &'static str) {
    match origin {
        Origin::GuardDuty => (
            "GuardDuty detected activity that looks malicious or unauthorised (for example credential misuse, crypto-mining, reconnaissance or data exfiltration). This is a threat finding about behaviour, not a configuration check, so there is no configuration to fix: the affected resource or credentials may already be compromised.",
            vec![
                "Open the finding in the GuardDuty console and read the finding type, actor and affected resource.",
                "If credentials are involved, deactivate or rotate them and review CloudTrail for what they did.",
                "If an instance or container is involved, isolate it (restrictive security group), snapshot it for forensics, then replace it.",
                "Archive the finding only after the investigation; add a suppression rule only for confirmed benign patterns.",
            ],
            "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings.html",
        ),
        Origin::Inspector => (
            "Amazon Inspector found a software vulnerability or unintended network exposure on a workload. Exploitable vulnerabilities let attackers run code or read data on the affected instance, container image or function.",
            vec![
                "Read the CVE, the affected package and the fixed version in the Inspector console.",
                "Update the package or base image (or patch the instance with Systems Manager Patch Manager) and redeploy.",
                "Until patched, reduce exposure: restrict inbound security group rules and network paths.",
            ],
            "https://docs.aws.amazon.com/inspector/latest/user/findings-understanding.html",
        ),
        Origin::Macie => (
            "Amazon Macie found sensitive data or a policy issue in S3. Sensitive data in the wrong place, or readable by too many principals, is a data-exposure risk.",
            vec![
                "Review the objects and data types Macie reported.",
                "Move or delete data that should not be there; restrict the bucket policy and enable default encryption.",
            ],
            "https://docs.aws.amazon.com/macie/latest/user/findings.html",
        ),
        Origin::IamAccessAnalyzer => (
            "IAM Access Analyzer found a resource shared outside your zone of trust (another account, or the public). Unintended external access can expose data or let others act on your resources.",
            vec![
                "Confirm whether the external access is intended.",
                "If not, remove the statement that grants it from the resource policy, then re-scan.",
                "If it is, archive the finding with a note (or add an archive rule).",
            ],
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings.html",
        ),
        Origin::Control | Origin::Other => (
            "An integrated product reported this finding; gensec has no catalogue entry for it, so it explains what it can and generates no fix.",
            vec![
                "Open the finding in the Security Hub console and follow the product's own remediation guidance.",
                "Update the finding's workflow status when it is handled.",
            ],
            CONTROLS_REFERENCE,
        ),
    }
}

/// The Security Hub documentation page of a control (`EC2.8` ->
/// `.../ec2-controls.html#ec2-8`), the scheme of AWS's control reference.
pub fn control_page(security_hub_id: &str) -> Option<String> {
    let (service, number) = security_hub_id.split_once('.')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    (ok(service) && ok(number)).then(|| {
        let service = service.to_ascii_lowercase();
        format!(
            "https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html#{service}-{}",
            number.to_ascii_lowercase()
        )
    })
}

/// A control outside the catalogue: Security Hub's own definition of it from
/// the KB (title, severity, resource types, Config rule and what the rule
/// checks), steps naming the resource and rule, and the control's page.
fn explain_uncatalogued(r: &mut Remediation, id: &str, finding: &Finding) {
    r.no_fix_reason = Some(format!(
        "{id} is not in gensec's reviewed remediation catalogue, so no fix was generated; the explanation is Security Hub's definition of the control"
    ));
    let Some(facts) = controls::security_hub_facts(id) else {
        r.risk = format!(
            "Security Hub control {id} failed. The knowledge base has no definition of {id} (a control newer than the KB, or not a Security Hub control id), so only the finding's own title and description are known."
        );
        r.manual_steps = vec![
            format!("Read {id}'s requirement on its documentation page (link below)."),
            "Change the resource in your infrastructure code and redeploy; Security Hub re-evaluates automatically.".into(),
        ];
        return;
    };
    r.title = format!("{id} {}", email::one_line_title(&facts.title));
    let rule = facts
        .config_rule_identifier
        .as_deref()
        .or(facts.config_rule.as_deref());
    r.risk = uncatalogued_risk(id, facts, &r.resource_type, rule);
    r.manual_steps = uncatalogued_steps(id, facts, finding, rule);
    if docs_link(finding).is_none()
        && let Some(page) = control_page(id)
    {
        r.documentation = page;
    }
}

/// The risk of an uncatalogued control in Security Hub's terms: its title
/// and severity, what it evaluates, with which Config rule checking what,
/// its parameters, and that this is not gensec's own guidance.
fn uncatalogued_risk(
    id: &str,
    facts: &gensec_kb::facts::SecurityHubControl,
    resource_type: &str,
    rule: Option<&str>,
) -> String {
    let resource_types = if facts.resource_types.is_empty() {
        "the account".to_string()
    } else {
        facts.resource_types.join(", ")
    };
    let rule_description = facts
        .config_rule_identifier
        .as_deref()
        .and_then(|identifier| controls::knowledge_base()?.config_rule(identifier))
        .map(|rule| rule.description.trim().to_string())
        .filter(|d| !d.is_empty());
    let mut risk = format!(
        "Security Hub control {id} \"{}\" ({} severity) failed: the {} does not meet it. {id} evaluates {resource_types}",
        facts.title,
        facts.severity,
        if resource_type.is_empty() {
            "resource"
        } else {
            resource_type
        },
    );
    match (rule, &rule_description) {
        (Some(rule), Some(description)) => {
            // Config's descriptions start "Checks if ..." or "Checks whether ...".
            let what = ["Checks if ", "Checks whether ", "Checks that "]
                .iter()
                .find_map(|lead| description.strip_prefix(lead))
                .map_or_else(
                    || format!(", described as: {description}"),
                    |rest| format!(", which checks whether {rest}"),
                );
            risk.push_str(&format!(" with the AWS Config rule {rule}{what}"));
        }
        (Some(rule), None) if facts.config_rule_custom => {
            risk.push_str(&format!(" with {rule}, a rule Security Hub runs itself"));
        }
        (Some(rule), None) => risk.push_str(&format!(" with the AWS Config rule {rule}")),
        (None, _) => {}
    }
    if !risk.ends_with('.') {
        risk.push('.');
    }
    if !facts.parameters.is_empty() {
        let names: Vec<&str> = facts.parameters.iter().map(|p| p.name.as_str()).collect();
        risk.push_str(&format!(
            " Its parameters ({}) may be customised in Security Hub.",
            names.join(", ")
        ));
    }
    risk.push_str(" gensec's catalogue has no reviewed fix for this control yet, so this is Security Hub's definition rather than gensec's own guidance.");
    risk
}

/// Steps for an uncatalogued control: see the Config evaluation of the
/// finding's resource, change it to meet the control, and when Security Hub
/// looks again (by the control's schedule).
fn uncatalogued_steps(
    id: &str,
    facts: &gensec_kb::facts::SecurityHubControl,
    finding: &Finding,
    rule: Option<&str>,
) -> Vec<String> {
    let resource = finding.resource();
    // The Config type of the finding's resource (ASFF names it otherwise).
    let config_type = resource
        .and_then(|res| {
            facts
                .asff_resource_types
                .iter()
                .position(|asff| *asff == res.kind)
                .and_then(|i| facts.resource_types.get(i))
        })
        .or(facts.resource_types.first());
    let mut steps = Vec::new();
    if let (Some(kind), Some(res)) = (config_type, resource) {
        steps.push(format!(
            "See the evaluation: `aws configservice get-compliance-details-by-resource --resource-type {kind} --resource-id {}` lists {} and why the resource fails it.",
            terraform::resource_name(&res.id),
            rule.unwrap_or("the rule")
        ));
    }
    steps.push(format!(
        "Change the {} so that it meets \"{}\", in your infrastructure code, and redeploy.",
        config_type.map_or("resource", String::as_str),
        facts.title
    ));
    steps.push(match facts.schedule.as_deref() {
        Some("periodic") => format!("{id} is evaluated periodically: the finding is archived after the next periodic run (up to 24 hours) once the resource passes."),
        Some(_) => format!("{id} is evaluated on configuration changes: the finding is updated within minutes of the change."),
        None => format!("Security Hub re-evaluates {id} automatically; the finding is archived once the resource passes."),
    });
    steps
}

/// Build the remediation for one finding from the embedded catalogue. Pure
/// and deterministic (no I/O beyond the embedded data).
pub fn remediate(finding: &Finding) -> Remediation {
    match ControlCatalogue::embedded() {
        Ok(catalogue) => remediate_with(finding, catalogue),
        Err(err) => {
            let mut r = remediate_with(finding, &ControlCatalogue::default());
            r.no_fix_reason = Some(format!("the control catalogue did not load: {err}"));
            r
        }
    }
}

/// [`remediate`] with a given control catalogue.
pub fn remediate_with(finding: &Finding, catalogue: &ControlCatalogue) -> Remediation {
    let origin = finding.origin();
    let control_id = finding.control_id();
    let resource = finding.resource();
    let mut r = Remediation {
        finding_id: finding.id.clone(),
        account: finding.aws_account_id.clone(),
        region: finding.region().map(str::to_string),
        resource_id: resource.map(|r| r.id.clone()).unwrap_or_default(),
        resource_type: resource.map(|r| r.kind.clone()).unwrap_or_default(),
        severity: finding.severity(),
        origin,
        control_id: control_id.clone(),
        title: email::one_line_title(&finding.title),
        description: finding.description.clone(),
        risk: String::new(),
        terraform: None,
        plan_checklist: Vec::new(),
        no_fix_reason: None,
        cli: Vec::new(),
        fill_in: Vec::new(),
        no_cli_reason: None,
        check_before: Vec::new(),
        manual_steps: Vec::new(),
        verify: Vec::new(),
        documentation: docs_link(finding).unwrap_or_else(|| CONTROLS_REFERENCE.to_string()),
        model: None,
    };
    let catalogued = control_id.as_deref().and_then(|id| {
        let kind = finding.resource().map(|resource| resource.kind.as_str());
        controls::lookup_for(catalogue, id, kind)
    });
    let Some(catalogued) = catalogued else {
        let (risk, steps, docs) = non_control(origin);
        r.manual_steps = steps.into_iter().map(str::to_string).collect();
        if origin == Origin::Control {
            let id = control_id.as_deref().unwrap_or("?");
            explain_uncatalogued(&mut r, id, finding);
        } else {
            r.risk = risk.to_string();
            r.no_fix_reason = Some("this is not a configuration-control finding; there is no configuration fix to generate".into());
            if docs_link(finding).is_none() {
                r.documentation = docs.to_string();
            }
        }
        return r;
    };
    apply_catalogued(&mut r, &catalogued, finding);
    r
}

/// A catalogued control's remediation: its risk, checks, steps and
/// documentation, the AWS CLI commands and the Terraform fix rendered for
/// the finding (each, or why there is none: not in the catalogue, not
/// renderable for this finding, or refused by the allow-list).
fn apply_catalogued(r: &mut Remediation, catalogued: &controls::Catalogued<'_>, finding: &Finding) {
    let entry = catalogued.remediation;
    r.title = format!("{} {}", catalogued.security_hub_id, catalogued.title());
    r.risk = entry.risk.clone();
    r.check_before = entry.check_before.clone();
    r.manual_steps = entry.manual_steps.clone();
    r.verify = entry.verify.clone();
    r.documentation = entry.documentation.clone();
    if entry.cli.is_empty() && entry.read_modify_write.is_none() && entry.policy_merge.is_none() {
        r.no_cli_reason = Some(
            entry
                .no_fix_reason
                .clone()
                .unwrap_or_else(|| "no AWS CLI command applies this fix".into()),
        );
    } else {
        match cli::render_remediation(entry, finding) {
            Ok(rendered) => {
                r.cli = rendered.commands;
                r.fill_in = rendered.fill_in;
            }
            Err(err) => r.no_cli_reason = Some(err.to_string()),
        }
    }
    match &entry.fix {
        None => {
            r.no_fix_reason = Some(
                entry
                    .no_fix_reason
                    .clone()
                    .unwrap_or_else(|| "no Terraform fix applies to this control".into()),
            );
        }
        Some(fix) => match terraform::render(fix, finding) {
            Err(err) => r.no_fix_reason = Some(err.to_string()),
            Ok(rendered) => match safety::check(&rendered.code, Some(&rendered.resources)) {
                Err(refused) => r.no_fix_reason = Some(refused.to_string()),
                Ok(()) => {
                    r.terraform = Some(rendered.code);
                    r.plan_checklist = rendered.plan_checklist;
                }
            },
        },
    }
}

/// Settings for [`process`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessConfig {
    pub filter: FilterConfig,
    /// Several findings in one run → one digest e-mail.
    pub digest: bool,
}

/// A finding that was not notified, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filtered {
    pub source: String,
    pub finding_id: String,
    pub reason: String,
}

/// A notified finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sent {
    pub finding_id: String,
    pub control_id: Option<String>,
    pub subject: String,
    /// Where the e-mail went.
    pub location: String,
    /// Which message of the run carried it (0, 1, ...; a digest's findings
    /// share one).
    pub message: usize,
    pub fix_generated: bool,
}

/// Findings whose `Workflow.Status` could not be set to NOTIFIED. They were
/// delivered all the same and stay recorded as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowError {
    pub finding_ids: Vec<String>,
    pub error: String,
}

/// The outcome of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every notified finding (a digest lists each finding it carried).
    pub sent: Vec<Sent>,
    /// Messages delivered: one per finding, or one for a digest.
    pub messages_sent: usize,
    /// Finding ids already notified in the same failing state.
    pub duplicates: Vec<String>,
    pub filtered: Vec<Filtered>,
    /// Malformed input, kept with its error.
    pub rejected: Vec<Rejected>,
    /// Marking delivered findings NOTIFIED failed (only with a [`FindingWorkflow`]).
    pub workflow_errors: Vec<WorkflowError>,
    /// The language model's use, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<llm::ModelUse>,
}

/// The delivery error, noting that marking the findings delivered before it
/// NOTIFIED failed too; the kind (retryable or not) is kept.
fn with_workflow_failure(
    err: gensec_core::Error,
    workflow: &gensec_core::Error,
) -> gensec_core::Error {
    gensec_core::Error::Storage {
        what: "notification delivery".into(),
        message: format!(
            "{err}; marking the findings delivered before it NOTIFIED also failed: {workflow}"
        ),
        retryable: err.kind() == gensec_core::ErrorKind::Retryable,
        source: Some(Box::new(err)),
    }
}

/// Run a batch: filter, dedupe, remediate, notify. Cleared findings (resolved,
/// archived, passed, suppressed) are marked so a later failure notifies again.
/// If delivery fails, the findings not delivered are forgotten so a retry
/// sends them.
///
/// With a `workflow` (off by default), the delivered findings are then marked
/// NOTIFIED in one call; its failure is reported in
/// [`Report::workflow_errors`] and changes nothing else. Re-imports caused by
/// that update are duplicates: the fingerprint leaves the workflow out.
///
/// With an `llm`, new findings the catalogue does not cover go to the model
/// ([`llm::Advisor`]); its use is in [`Report::llm`]. A model that fails
/// never fails the batch.
pub async fn process(
    batch: Batch,
    config: &ProcessConfig,
    store: &dyn FindingStateStore,
    notifier: &dyn Notifier,
    workflow: Option<&dyn FindingWorkflow>,
    llm: Option<&dyn Llm>,
) -> gensec_core::Result<Report> {
    let mut report = Report {
        rejected: batch.rejected,
        ..Report::default()
    };
    let mut advisor = llm.map(llm::Advisor::new);
    let pending = triage(batch.findings, config, store, advisor.as_mut(), &mut report).await?;
    report.llm = advisor.map(llm::Advisor::finish);
    let messages = messages_of(config, &pending.remediations);
    let (delivered, failure) = deliver(messages, &pending, store, notifier, &mut report).await?;
    let mut workflow_failure = None;
    if let Some(workflow) = workflow
        && !delivered.is_empty()
        && let Err(err) = workflow.mark_notified(&delivered).await
    {
        report.workflow_errors.push(WorkflowError {
            finding_ids: delivered.iter().map(|f| f.id.clone()).collect(),
            error: err.to_string(),
        });
        workflow_failure = Some(err);
    }
    match (failure, workflow_failure) {
        (Some(err), Some(workflow)) => Err(with_workflow_failure(err, &workflow)),
        (Some(err), None) => Err(err),
        (None, _) => Ok(report),
    }
}

/// The findings to send, recorded as sent: per finding its remediation, its
/// state key and, for ASFF findings, the reference the workflow port marks
/// NOTIFIED (OCSF findings are updated through Security Hub's V2 API, which
/// the port does not cover).
#[derive(Debug, Default)]
struct Pending {
    remediations: Vec<Remediation>,
    keys: Vec<String>,
    refs: Vec<Option<FindingRef>>,
}

/// Filters the findings (cleared ones are marked so a later failure notifies
/// again), records the new ones and remediates them, with the model for the
/// findings the catalogue does not cover; skipped and duplicate findings go
/// into the report.
async fn triage(
    findings: Vec<event::Located>,
    config: &ProcessConfig,
    store: &dyn FindingStateStore,
    mut advisor: Option<&mut llm::Advisor<'_>>,
    report: &mut Report,
) -> gensec_core::Result<Pending> {
    let catalogue = ControlCatalogue::embedded().ok();
    let mut pending = Pending::default();
    for located in findings {
        let finding = &located.finding;
        match filter::decide(finding, &config.filter) {
            Decision::Skip(reason) => report.filtered.push(Filtered {
                source: located.source.clone(),
                finding_id: finding.id.clone(),
                reason,
            }),
            Decision::Clear(reason) => {
                store
                    .mark_cleared(&dedupe::state_key(finding), &finding.updated_at)
                    .await?;
                report.filtered.push(Filtered {
                    source: located.source.clone(),
                    finding_id: finding.id.clone(),
                    reason,
                });
            }
            Decision::Notify => {
                let fingerprint = dedupe::fingerprint(finding);
                let key = dedupe::state_key(finding);
                let new = store
                    .record_if_new(FindingObservation {
                        finding_id: &key,
                        fingerprint: &fingerprint,
                        updated_at: &finding.updated_at,
                    })
                    .await?;
                if !new {
                    report.duplicates.push(finding.id.clone());
                    continue;
                }
                let mut remediation = remediate(finding);
                if let Some(advisor) = advisor.as_deref_mut()
                    && catalogue.is_none_or(|c| llm::wants_model(finding, c))
                {
                    advisor.advise(finding, &mut remediation).await;
                }
                pending.remediations.push(remediation);
                pending.keys.push(key);
                pending
                    .refs
                    .push((finding.format == FindingFormat::Asff).then(|| FindingRef {
                        id: finding.id.clone(),
                        product_arn: finding.product_arn.clone(),
                    }));
            }
        }
    }
    Ok(pending)
}

/// Each message with the indices (into `remediations`) of the findings it
/// reports: one digest for several findings when asked, else one each.
fn messages_of(
    config: &ProcessConfig,
    remediations: &[Remediation],
) -> Vec<(Vec<usize>, gensec_core::ports::EmailMessage)> {
    if config.digest && remediations.len() > 1 {
        vec![(
            (0..remediations.len()).collect(),
            email::render_digest(remediations),
        )]
    } else {
        remediations
            .iter()
            .enumerate()
            .map(|(i, r)| (vec![i], email::render(r)))
            .collect()
    }
}

/// Sends the messages in order until one fails; the findings of that message
/// and of every later one are forgotten, so a retry sends them. Returns the
/// workflow references of the delivered findings and the delivery error.
async fn deliver(
    messages: Vec<(Vec<usize>, gensec_core::ports::EmailMessage)>,
    pending: &Pending,
    store: &dyn FindingStateStore,
    notifier: &dyn Notifier,
    report: &mut Report,
) -> gensec_core::Result<(Vec<FindingRef>, Option<gensec_core::Error>)> {
    let mut delivered = Vec::new();
    let mut failure = None;
    for (indices, message) in messages {
        if failure.is_some() {
            // Recorded but never attempted: forget them too, or a retry
            // would take them for duplicates.
            for &i in &indices {
                store.forget(&pending.keys[i]).await?;
            }
            continue;
        }
        match notifier.send(&message).await {
            Ok(location) => {
                let message_index = report.messages_sent;
                report.messages_sent += 1;
                for &i in &indices {
                    let r = &pending.remediations[i];
                    report.sent.push(Sent {
                        finding_id: r.finding_id.clone(),
                        control_id: r.control_id.clone(),
                        subject: message.subject.clone(),
                        location: location.clone(),
                        message: message_index,
                        fix_generated: r.terraform.is_some(),
                    });
                    delivered.extend(pending.refs[i].clone());
                }
            }
            Err(err) => {
                for &i in &indices {
                    store.forget(&pending.keys[i]).await?;
                }
                failure = Some(err);
            }
        }
    }
    Ok((delivered, failure))
}
