//! The optional language model, for what the catalogue does not cover: a
//! control outside it gets the model's risk explanation, manual steps and,
//! possibly, a Terraform fix; a finding that is not a configuration control
//! (GuardDuty, Inspector, ...) gets an explanation and steps, never a fix.
//!
//! The finding goes to the model as delimited, untrusted data ([`prompt`]);
//! the answer is read with the core JSON repair ([`answer`]). A proposed fix
//! must use only provider types related to the finding's resource and
//! argument paths gensec's catalogue knows ([`vocabulary`]), with sanitised
//! literal values, and is then built by the same hcl-rs builder as catalogue
//! fixes ([`crate::terraform::render`]) and must pass the same allow-list
//! ([`crate::safety::check`]). Whatever fails is dropped, and the e-mail says
//! the model's fix was rejected and why. Model-written text is marked in the
//! e-mail ([`ModelContribution`]). An unreachable, throttled or over-budget
//! model leaves the deterministic remediation, and the rest of the batch is
//! not sent to it again.

pub mod answer;
pub mod prompt;
pub mod vocabulary;

use crate::controls::{self, ControlCatalogue, Fix, FixResource};
use crate::email::clean;
use crate::finding::{Finding, Origin};
use crate::terraform::{self, RenderedFix, shown};
use crate::{Remediation, safety};
use answer::ProposedBlock;
use gensec_core::llm::session::LlmSession;
use gensec_core::llm::{FinishReason, Llm, LlmError, LlmUsage, json, prompt::neutralise};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::LazyLock;
use vocabulary::{ArgumentKind, Vocabulary};

/// The stage name in the model's accounting.
pub const STAGE: &str = "remediate";
/// Longest model-written risk explanation kept.
const MAX_RISK: usize = 1_500;
/// Longest model-written manual step kept.
const MAX_STEP: usize = 400;
/// Longest literal a model may put in code.
const MAX_LITERAL: usize = 255;
/// Deepest nesting of blocks in a model fix.
const MAX_DEPTH: usize = 4;

/// What a language model contributed to one remediation; the e-mail marks
/// each part it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelContribution {
    pub model_id: String,
    /// The risk explanation is the model's.
    pub risk: bool,
    /// The manual steps are the model's.
    pub manual_steps: bool,
    /// The Terraform is the model's (and passed every check).
    pub fix: bool,
    /// Parts of the answer that were refused, and why.
    pub rejected: Vec<String>,
    /// Why nothing of the model was used, when nothing was.
    pub fallback: Option<String>,
}

impl ModelContribution {
    fn new(model_id: &str) -> Self {
        Self {
            model_id: model_id.to_string(),
            risk: false,
            manual_steps: false,
            fix: false,
            rejected: Vec::new(),
            fallback: None,
        }
    }

    /// Did any model-written text reach the remediation?
    pub fn wrote_anything(&self) -> bool {
        self.risk || self.manual_steps || self.fix
    }
}

/// The model's use over one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelUse {
    pub model_id: String,
    /// Findings sent to the model.
    pub asked: u32,
    /// Answers of which something was used.
    pub answers_used: u32,
    pub fixes_accepted: u32,
    pub fixes_rejected: u32,
    /// Findings left with the deterministic remediation (model unavailable,
    /// over budget, or its answer unreadable).
    pub fallbacks: u32,
    pub usage: LlmUsage,
    /// Fingerprint of each prompt (never the prompt text).
    pub prompt_sha256: Vec<String>,
}

/// Does this finding go to the model? Controls outside the catalogue and
/// findings that are not controls do; catalogued controls never.
pub fn wants_model(finding: &Finding, catalogue: &ControlCatalogue) -> bool {
    match finding.control_id() {
        Some(id) => controls::lookup(catalogue, &id).is_none(),
        None => true,
    }
}

/// One batch's conversation with the model.
#[derive(Debug)]
pub struct Advisor<'a> {
    session: LlmSession<'a>,
    vocabulary: &'a Vocabulary,
    /// Set once the model was unreachable or over budget: later findings
    /// keep the deterministic result without another try.
    unavailable: Option<String>,
    tally: ModelUse,
}

impl<'a> Advisor<'a> {
    pub fn new(llm: &'a dyn Llm) -> Self {
        Self::with_vocabulary(llm, Vocabulary::embedded())
    }

    pub fn with_vocabulary(llm: &'a dyn Llm, vocabulary: &'a Vocabulary) -> Self {
        Self {
            session: LlmSession::new(llm, STAGE, &[]),
            vocabulary,
            unavailable: None,
            tally: ModelUse {
                model_id: llm.model_id().to_string(),
                ..ModelUse::default()
            },
        }
    }

    /// Improve `remediation` (the deterministic one) with the model's answer
    /// where it passes the checks. Never fails.
    pub async fn advise(&mut self, finding: &Finding, remediation: &mut Remediation) {
        let mut contribution = ModelContribution::new(&self.tally.model_id);
        match self.answer(finding).await {
            Err(reason) => {
                self.tally.fallbacks += 1;
                contribution.fallback = Some(reason);
            }
            Ok(answer) => {
                self.apply(finding, &answer, remediation, &mut contribution);
                if contribution.wrote_anything() {
                    self.tally.answers_used += 1;
                } else {
                    self.tally.fallbacks += 1;
                }
            }
        }
        remediation.model = Some(contribution);
    }

    async fn answer(&mut self, finding: &Finding) -> Result<answer::Answer, String> {
        if let Some(reason) = &self.unavailable {
            return Err(format!("not asked: {reason}"));
        }
        let fixable = finding.origin() == Origin::Control;
        self.tally.asked += 1;
        let response = match self
            .session
            .ask(prompt::request(finding, self.vocabulary, fixable))
            .await
        {
            Ok(response) => response,
            Err(error) => {
                // The kind only: adapter messages hold endpoints and server text.
                let why = match &error {
                    LlmError::Throttled { .. } => "it was throttled",
                    LlmError::Unavailable(_) => "it could not be reached",
                    LlmError::Refused(_) => "it refused the request",
                    LlmError::Budget(_) => "the run's token budget is spent",
                    LlmError::InvalidResponse(_) => "its response was not a completion",
                };
                if error.is_retryable() || matches!(error, LlmError::Budget(_)) {
                    self.unavailable = Some(format!(
                        "the language model failed earlier in this batch ({why})"
                    ));
                }
                return Err(format!("the language model could not be used: {why}"));
            }
        };
        let truncated = response.finish == FinishReason::Length;
        let extracted = json::extract(&response.text).map_err(|error| {
            if truncated {
                format!("the answer was cut off at the token limit and {error}")
            } else {
                format!("the answer could not be read: {error}")
            }
        })?;
        self.session.record_mut().repairs.extend(extracted.repairs);
        answer::parse(&extracted.value)
            .map_err(|reason| format!("the answer could not be read: {}", neutralise(&reason)))
    }

    fn apply(
        &mut self,
        finding: &Finding,
        answer: &answer::Answer,
        r: &mut Remediation,
        c: &mut ModelContribution,
    ) {
        let record = self.session.record_mut();
        match answer.risk.as_deref().map(|risk| prose(risk, MAX_RISK)) {
            Some(Ok(risk)) => {
                r.risk = risk;
                c.risk = true;
            }
            Some(Err(why)) => c.rejected.push(format!("risk explanation: {why}")),
            None => c
                .rejected
                .push("the answer had no risk explanation".to_string()),
        }
        let mut steps = Vec::new();
        for (index, step) in answer.manual_steps.iter().enumerate() {
            if steps.len() == prompt::MAX_STEPS {
                c.rejected.push(format!(
                    "manual steps after the first {} were dropped",
                    prompt::MAX_STEPS
                ));
                break;
            }
            match prose(step, MAX_STEP) {
                Ok(step) => steps.push(step),
                Err(why) => c.rejected.push(format!("manual step {}: {why}", index + 1)),
            }
        }
        if !steps.is_empty() {
            r.manual_steps = steps;
            c.manual_steps = true;
        }
        let proposed = !answer.terraform.is_empty();
        record.items_proposed += 2 + u64::from(proposed);
        record.items_accepted += u64::from(c.risk) + u64::from(c.manual_steps);
        if finding.origin() != Origin::Control {
            if proposed {
                record.items_rejected += 1;
                c.rejected.push(
                    "the answer proposed Terraform for a finding that is not a configuration control; it was ignored".to_string(),
                );
            }
            return;
        }
        if !proposed {
            r.no_fix_reason = Some(
                "this control is not in gensec's remediation catalogue and the language model proposed no fix; no fix was generated".into(),
            );
            return;
        }
        match check_fix(&answer.terraform, finding, self.vocabulary) {
            Ok(rendered) => {
                record.items_accepted += 1;
                self.tally.fixes_accepted += 1;
                r.terraform = Some(rendered.code);
                r.plan_checklist = rendered.plan_checklist;
                r.no_fix_reason = None;
                c.fix = true;
            }
            Err(reasons) => {
                record.items_rejected += 1;
                self.tally.fixes_rejected += 1;
                r.no_fix_reason = Some(format!(
                    "this control is not in gensec's remediation catalogue and the language model's fix was rejected ({}); no fix was generated",
                    reasons.join("; ")
                ));
                c.rejected.extend(
                    reasons
                        .into_iter()
                        .map(|reason| format!("Terraform: {reason}")),
                );
            }
        }
    }

    /// The batch's accounting.
    pub fn finish(self) -> ModelUse {
        let mut tally = self.tally;
        let record = if tally.answers_used > 0 {
            self.session.applied()
        } else {
            self.session
                .fell_back("no answer of the model was used in this batch")
        };
        tally.usage = record.usage;
        tally.prompt_sha256 = record.prompt_sha256;
        tally
    }
}

/// Links other than AWS documentation are refused in model prose (a hostile
/// finding could ask for a phishing link).
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://\S*").expect("valid regex"));

fn prose(text: &str, max: usize) -> Result<String, String> {
    let text = clean(text.trim(), max);
    if text.is_empty() {
        return Err("empty".into());
    }
    if let Some(link) = LINK
        .find_iter(&text)
        .find(|link| !link.as_str().starts_with("https://docs.aws.amazon.com/"))
    {
        return Err(format!(
            "holds a link that is not AWS documentation ({})",
            shown(link.as_str())
        ));
    }
    Ok(text)
}

/// The placeholders [`terraform::render`] resolves from the finding.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{(?:resource\.(?:name|id|region)|account|details\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*|ref:[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*\.[a-z][a-z0-9_]*)\}",
    )
    .expect("valid regex")
});
/// What a model's literal may hold once placeholders are taken out.
static LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9 ._/:+=@,*-]*$").expect("valid regex"));

/// Check a model-written string; `from_finding` strings must name the
/// resource through a placeholder.
fn model_string(path: &str, text: &str, from_finding: bool) -> Result<(), String> {
    if text.chars().count() > MAX_LITERAL {
        return Err(format!(
            "{path}: value longer than {MAX_LITERAL} characters"
        ));
    }
    if !LITERAL.is_match(&PLACEHOLDER.replace_all(text, "")) {
        return Err(format!(
            "{path}: value {} holds characters not allowed in generated code or an unknown placeholder",
            shown(text)
        ));
    }
    if from_finding && !PLACEHOLDER.is_match(text) {
        return Err(format!(
            "{path} must name the finding's resource through a placeholder, not the literal {}",
            shown(text)
        ));
    }
    Ok(())
}

fn check_value(path: &str, kind: ArgumentKind, value: &Value) -> Result<(), String> {
    let wrong = || format!("{path} must be {}", kind.label());
    match (kind, value) {
        (ArgumentKind::Flag, Value::Bool(_)) | (ArgumentKind::Number, Value::Number(_)) => Ok(()),
        (ArgumentKind::Text, Value::String(text)) => model_string(path, text, false),
        (ArgumentKind::FromFinding, Value::String(text)) => model_string(path, text, true),
        (ArgumentKind::List, Value::Array(items)) => items.iter().try_for_each(|item| match item {
            Value::String(text) => model_string(path, text, false),
            _ => Err(wrong()),
        }),
        _ => Err(wrong()),
    }
}

fn check_arguments(
    terraform_type: &str,
    arguments: &Map<String, Value>,
    prefix: &str,
    depth: usize,
    vocabulary: &Vocabulary,
    issues: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        issues.push(format!("{terraform_type}: blocks nested too deep"));
        return;
    }
    for (key, value) in arguments {
        let path = format!("{prefix}{key}");
        let shown_path = shown(&path);
        let nested: Vec<&Map<String, Value>> = match value {
            Value::Object(inner) => vec![inner],
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                items.iter().filter_map(Value::as_object).collect()
            }
            _ => Vec::new(),
        };
        if !nested.is_empty() {
            if vocabulary.is_block(terraform_type, &path) {
                for inner in nested {
                    let prefix = format!("{path}.");
                    check_arguments(
                        terraform_type,
                        inner,
                        &prefix,
                        depth + 1,
                        vocabulary,
                        issues,
                    );
                }
            } else {
                issues.push(format!(
                    "{terraform_type} has no block {shown_path} that gensec knows (invented, or outside gensec's vocabulary)"
                ));
            }
            continue;
        }
        match vocabulary
            .arguments(terraform_type)
            .and_then(|known| known.get(&path))
        {
            None => issues.push(format!(
                "{terraform_type} has no argument {shown_path} that gensec knows (invented, or outside gensec's vocabulary)"
            )),
            Some(kind) => {
                if let Err(issue) = check_value(&shown_path, *kind, value) {
                    issues.push(format!("{terraform_type}: {issue}"));
                }
            }
        }
    }
}

fn is_block_name(name: &str) -> bool {
    name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether the block names the finding's resource where its type has an
/// argument that takes it (the resource's id or name from the finding).
fn names_the_resource(kind: &str, block: &ProposedBlock, vocabulary: &Vocabulary) -> bool {
    let names_resource = vocabulary
        .arguments(kind)
        .into_iter()
        .flatten()
        .filter(|(_, argument)| **argument == ArgumentKind::FromFinding)
        .any(|(path, _)| {
            let top = path.split('.').next().unwrap_or(path);
            block.arguments.contains_key(top)
        });
    let must_name = vocabulary
        .arguments(kind)
        .into_iter()
        .flatten()
        .any(|(_, argument)| *argument == ArgumentKind::FromFinding);
    !must_name || names_resource
}

/// Check the proposed blocks and build them into a fix that passed the
/// allow-list, or say every reason it was refused.
pub fn check_fix(
    proposed: &[Result<ProposedBlock, String>],
    finding: &Finding,
    vocabulary: &Vocabulary,
) -> Result<RenderedFix, Vec<String>> {
    let mut issues = Vec::new();
    if proposed.len() > prompt::MAX_BLOCKS {
        issues.push(format!(
            "{} blocks proposed, at most {} are accepted",
            proposed.len(),
            prompt::MAX_BLOCKS
        ));
    }
    let resource_kind = finding.resource().map_or("", |r| r.kind.as_str());
    let related = vocabulary.related_types(resource_kind);
    let mut resources = Vec::new();
    for (index, block) in proposed.iter().enumerate() {
        let block = match block {
            Ok(block) => block,
            Err(reason) => {
                issues.push(clean(reason, 300));
                continue;
            }
        };
        let kind = block.resource_type.as_str();
        if !related.contains(&kind) {
            issues.push(format!(
                "{} is not an AWS provider resource type gensec allows for a {} finding",
                shown(kind),
                shown(resource_kind)
            ));
            continue;
        }
        let before = issues.len();
        check_arguments(kind, &block.arguments, "", 0, vocabulary, &mut issues);
        if !names_the_resource(kind, block, vocabulary) {
            issues.push(format!("{kind} does not name the finding's resource"));
        }
        if issues.len() > before {
            continue;
        }
        let name = block
            .name
            .as_deref()
            .filter(|name| is_block_name(name))
            .map_or_else(|| format!("fix_{}", index + 1), str::to_string);
        if resources
            .iter()
            .any(|r: &FixResource| r.kind == kind && r.name == name)
        {
            issues.push(format!("{kind}.{name} is proposed twice"));
            continue;
        }
        resources.push(FixResource {
            kind: kind.to_string(),
            name,
            arguments: block.arguments.clone(),
            import: false,
            import_id: None,
        });
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    if resources.is_empty() {
        return Err(vec!["no block was proposed".into()]);
    }
    let fix = Fix { resources };
    let rendered = terraform::render(&fix, finding).map_err(|err| vec![err.to_string()])?;
    safety::check(&rendered.code, Some(&rendered.resources))
        .map_err(|err| vec![err.to_string()])?;
    Ok(rendered)
}
