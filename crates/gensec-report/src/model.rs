//! Model-written parts of the research profile, when a language model is
//! configured: a narrative overview and answers to the pilot/production
//! checklist questions. The model sees the profile, the service's facts and
//! the validated recommendations as data; every AWS name in what it writes
//! must exist and every configuration id it cites must be one of this run's.
//! Whatever passes is marked model-written; what fails is listed in the
//! validation report; without a usable answer the profile is deterministic.

use crate::load::ReportInputs;
use gensec_core::contract::analysis::{MODEL_ITEM_PREFIX, Recommendation};
use gensec_core::contract::stage::RunContext;
use gensec_core::contract::stage::Verdicts;
use gensec_core::llm::names;
use gensec_core::llm::prompt::{DATA_POLICY, data_block};
use gensec_core::llm::session::LlmSession;
use gensec_core::llm::{
    FinishReason, Llm, LlmOutcome, LlmRequest, LlmStageRecord, LlmUsage, Message, json,
};
use gensec_kb::Kb;
use gensec_kb::names::ServiceNames;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// Stage name in records and rejections.
pub const STAGE: &str = "report";
/// Output tokens the answer may use.
pub const MAX_ANSWER_TOKENS: u32 = 1_200;
const MAX_OVERVIEW_CHARS: usize = 1_800;
const MAX_ANSWER_CHARS: usize = 900;

/// The checklist questions the model answers (ours, not the model's).
pub const QUESTIONS: &[(&str, &str, &str)] = &[
    (
        "pilot-ready",
        "pilot",
        "What must be in place before a sandbox pilot of this service?",
    ),
    (
        "pilot-defer",
        "pilot",
        "What can a pilot defer until production, and what is the risk of deferring it?",
    ),
    (
        "production-ready",
        "production",
        "What must be true before this service is used in production?",
    ),
    (
        "production-operate",
        "production",
        "What must operations monitor once the service is in production?",
    ),
];

/// One checklist question and the model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistAnswer {
    pub id: String,
    /// `pilot` or `production`.
    pub phase: String,
    pub question: String,
    pub answer: String,
    /// Recommendations the answer relies on (all from this run).
    pub configuration_ids: Vec<String>,
}

/// What one stage did with the model, for readers of the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageNote {
    pub stage: String,
    pub outcome: LlmOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// The language model's part in this run, marked as such.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelContribution {
    pub model_id: String,
    /// What the reader must know about the model-written text.
    pub notice: String,
    pub stages: Vec<StageNote>,
    /// Tokens of the analysis and report stages.
    pub usage: LlmUsage,
    /// Narrative overview (model-written); absent when none passed the checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<String>,
    /// Checklist answers (model-written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<ChecklistAnswer>,
}

impl StageNote {
    fn of(record: &LlmStageRecord) -> Self {
        Self {
            stage: record.stage.clone(),
            outcome: record.outcome,
            fallback_reason: record.fallback_reason.clone(),
        }
    }

    /// `analysis: applied` or `report: LLM unavailable, deterministic result (...)`.
    pub fn describe(&self) -> String {
        match self.outcome {
            LlmOutcome::Applied => format!("{}: model answer validated and applied", self.stage),
            LlmOutcome::Deterministic => format!(
                "{}: LLM unavailable, deterministic result ({})",
                self.stage,
                self.fallback_reason
                    .as_deref()
                    .unwrap_or("no reason recorded")
            ),
        }
    }
}

fn notice(model_id: &str) -> String {
    format!(
        "Parts marked model-written were written by a language model ({model_id}) from this run's data. Every AWS name in them was checked against the knowledge base and every cited configuration id is one of this run's recommendations; the wording has not been reviewed by a person."
    )
}

fn system_prompt() -> String {
    let mut questions = String::new();
    for (id, phase, question) in QUESTIONS {
        let _ = writeln!(questions, "- {id} ({phase}): {question}");
    }
    format!(
        "You write two parts of a Service Research Profile that a security reviewer reads before approving an AWS service for an organisation.\n\
{DATA_POLICY}\n\
Answer with one JSON object only, following the JSON schema you were given:\n\
- \"overview\": a narrative overview of the service's security posture for this organisation, at most 180 words, built only from the data.\n\
- \"answers\": one answer of at most 70 words to each checklist question below, with the configuration ids of the recommendations it relies on.\n\
Checklist questions:\n{questions}\
Use only names that appear in the data and cite only the listed configuration ids; never invent one. Write every AWS name in backticks. Plain text only, no markup."
    )
}

fn answer_schema() -> Value {
    let ids: Vec<&str> = QUESTIONS.iter().map(|(id, _, _)| *id).collect();
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["overview", "answers"],
        "properties": {
            "overview": {"type": "string"},
            "answers": {"type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["id", "answer", "configuration_ids"],
                "properties": {
                    "id": {"type": "string", "enum": ids},
                    "answer": {"type": "string"},
                    "configuration_ids": {"type": "array", "items": {"type": "string"}}
                }
            }}
        }
    })
}

fn facts_text(inputs: &ReportInputs) -> String {
    let doc = &inputs.documentation;
    let mut out = String::new();
    let _ = writeln!(out, "service: {} ({})", doc.display_name, doc.service_id);
    let types: Vec<&str> = doc
        .resource_types
        .iter()
        .map(|t| t.type_name.as_str())
        .collect();
    let _ = writeln!(out, "resource types: {}", types.join(", "));
    let _ = writeln!(out, "IAM prefixes: {}", doc.iam_prefixes.join(", "));
    let _ = writeln!(
        out,
        "AWS Config managed rules catalogued: {}",
        doc.config_rules.len()
    );
    let c = &inputs.controls;
    let _ = writeln!(
        out,
        "controls generated: {} Config rules, {} SCP statements, {} Guard rules",
        c.config_rules.len(),
        c.scp_statements(),
        c.guard_rules()
    );
    let _ = writeln!(
        out,
        "validation: {} proposed, {} accepted, {} rejected",
        inputs.validation.totals.checked,
        inputs.validation.totals.accepted,
        inputs.validation.rejected.len()
    );
    out
}

fn recommendations_text(inputs: &ReportInputs) -> String {
    let mut out =
        String::from("configuration id | priority | title | resource type | property | value\n");
    for r in &inputs.recommendations.recommendations {
        let _ = writeln!(
            out,
            "{} | {} | {} | {} | {} | {}",
            r.configuration_id,
            r.priority.as_str(),
            r.title,
            r.resource_type,
            r.property,
            crate::view::short(&serde_json::to_string(&r.recommended_value).unwrap_or_default())
        );
    }
    out
}

/// The request for one run.
pub fn request(ctx: &RunContext, inputs: &ReportInputs) -> LlmRequest {
    let mut user = String::from(
        "Write the overview and the checklist answers for this service and organisation.\n\n",
    );
    user.push_str(&data_block(
        "security-profile",
        &serde_json::to_string(&ctx.profile).unwrap_or_default(),
    ));
    user.push('\n');
    user.push_str(&data_block("service-facts", &facts_text(inputs)));
    user.push('\n');
    user.push_str(&data_block(
        "recommendations",
        &recommendations_text(inputs),
    ));
    LlmRequest {
        system: system_prompt(),
        messages: vec![Message::user(user)],
        response_schema: Some(answer_schema()),
        max_tokens: MAX_ANSWER_TOKENS,
        temperature: 0.0,
    }
}

/// Checks model-written text and counts the names in it.
struct Checker<'a> {
    names: ServiceNames<'a>,
    record: &'a mut LlmStageRecord,
    report: &'a mut Verdicts,
}

impl Checker<'_> {
    fn prose(&mut self, text: &str, limit: usize) -> Result<(), String> {
        let check = names::check_prose(text, limit, &self.names);
        self.record.names_checked += check.names_checked;
        self.record.names_unknown += check.names_unknown;
        check.verdict
    }

    fn reject(&mut self, item: String, reason: String) {
        self.record.items_rejected += 1;
        self.report
            .reject(format!("{MODEL_ITEM_PREFIX}{item}"), reason);
    }

    fn accept(&mut self) {
        self.record.items_accepted += 1;
        self.report.accept();
    }

    /// The narrative overview, when present and its names check out.
    fn overview(&mut self, object: &Map<String, Value>) -> Option<String> {
        let text = text_of(object.get("overview")).filter(|t| !t.is_empty())?;
        match self.prose(&text, MAX_OVERVIEW_CHARS) {
            Ok(()) => {
                self.accept();
                Some(text)
            }
            Err(reason) => {
                self.reject("narrative overview".into(), reason);
                None
            }
        }
    }

    /// The checklist answers that pass, in the order of the questions.
    fn answers(
        &mut self,
        object: &Map<String, Value>,
        recommendations: &[Recommendation],
    ) -> Vec<ChecklistAnswer> {
        let items: Vec<&Value> = match object.get("answers") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(Value::Object(_)) => object.get("answers").into_iter().collect(),
            _ => Vec::new(),
        };
        let mut answers: Vec<ChecklistAnswer> = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            if let Some(answer) = self.answer(index, item, recommendations, &answers) {
                answers.push(answer);
            }
        }
        answers.sort_by_key(|a| QUESTIONS.iter().position(|(id, _, _)| *id == a.id));
        answers
    }

    /// One checklist answer, or none (and a rejection) when it answers no
    /// known question, repeats one, is empty, cites an unknown
    /// configuration id or names something unknown.
    fn answer(
        &mut self,
        index: usize,
        item: &Value,
        recommendations: &[Recommendation],
        accepted: &[ChecklistAnswer],
    ) -> Option<ChecklistAnswer> {
        let id = text_of(item.get("id")).unwrap_or_else(|| format!("answers[{index}]"));
        let label = format!("checklist answer {id}");
        let Some((_, phase, question)) = QUESTIONS.iter().find(|(known, _, _)| *known == id) else {
            self.reject(
                label,
                format!("{id:?} is not one of the checklist questions"),
            );
            return None;
        };
        if accepted.iter().any(|a| a.id == id) {
            self.reject(label, "a second answer to the same question".into());
            return None;
        }
        let Some(text) = text_of(item.get("answer")) else {
            self.reject(label, "the answer is missing".into());
            return None;
        };
        let cited: Vec<String> = match item.get("configuration_ids") {
            Some(Value::Array(ids)) => ids.iter().filter_map(|id| text_of(Some(id))).collect(),
            Some(Value::String(id)) => vec![id.clone()],
            _ => Vec::new(),
        };
        self.record.names_checked += cited.len() as u64;
        let unknown: Vec<&String> = cited
            .iter()
            .filter(|id| !recommendations.iter().any(|r| &r.configuration_id == *id))
            .collect();
        if !unknown.is_empty() {
            self.record.names_unknown += unknown.len() as u64;
            let list: Vec<&str> = unknown.iter().map(|id| id.as_str()).collect();
            self.reject(
                label,
                format!("cites unknown configuration ids: {}", list.join(", ")),
            );
            return None;
        }
        if let Err(reason) = self.prose(&text, MAX_ANSWER_CHARS) {
            self.reject(label, reason);
            return None;
        }
        self.accept();
        Some(ChecklistAnswer {
            id: id.clone(),
            phase: phase.to_string(),
            question: question.to_string(),
            answer: text,
            configuration_ids: cited,
        })
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Validate an answer: what passes, and rejections added to `report`.
fn validate(
    kb: &Kb,
    ctx: &RunContext,
    inputs: &ReportInputs,
    answer: &Value,
    record: &mut LlmStageRecord,
    report: &mut Verdicts,
) -> Result<(Option<String>, Vec<ChecklistAnswer>), String> {
    let object = answer
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    let service = kb
        .service(&ctx.service_id)
        .ok_or_else(|| format!("unknown service {}", ctx.service_id))?;
    let recommendations = &inputs.recommendations.recommendations;
    let known: Vec<String> = recommendations
        .iter()
        .flat_map(Recommendation::own_names)
        .collect();
    let mut checker = Checker {
        names: ServiceNames::new(kb, service).with_extra(known),
        record,
        report,
    };
    let overview = checker.overview(object);
    let answers = checker.answers(object, recommendations);
    Ok((overview, answers))
}

/// Ask the model for the profile's model-written parts. Never fails: the
/// record says what happened, and rejections go into `report`.
pub async fn write(
    llm: &dyn Llm,
    kb: &Kb,
    ctx: &RunContext,
    inputs: &ReportInputs,
    earlier: &[LlmStageRecord],
    report: &mut Verdicts,
) -> (LlmStageRecord, ModelContribution) {
    let mut session = LlmSession::new(llm, STAGE, earlier);
    let mut overview = None;
    let mut checklist = Vec::new();
    let unreachable = earlier.iter().find(|record| record.unreachable);
    let record = if let Some(before) = unreachable {
        // Already retried to exhaustion earlier in this run: do not wait again.
        let mut record = session.fell_back(format!(
            "not asked: the model was unreachable in the {} stage",
            before.stage
        ));
        record.unreachable = true;
        record
    } else {
        match session.ask(request(ctx, inputs)).await {
            Err(error) => session.failed(&error),
            Ok(response) => match json::extract(&response.text) {
                Err(error) => session.fell_back(if response.finish == FinishReason::Length {
                    format!("the answer was cut off at the token limit and {error}")
                } else {
                    format!("the answer could not be read: {error}")
                }),
                Ok(extracted) => {
                    let record = session.record_mut();
                    record.repairs = extracted.repairs.clone();
                    if response.finish == FinishReason::Length {
                        record
                            .repairs
                            .push("the answer was cut off at the token limit".into());
                    }
                    match validate(kb, ctx, inputs, &extracted.value, record, report) {
                        Ok((text, answers)) => {
                            overview = text;
                            checklist = answers;
                            let record = session.record_mut();
                            record.items_proposed = record.items_accepted + record.items_rejected;
                            session.applied()
                        }
                        Err(reason) => {
                            session.fell_back(format!("the answer could not be read: {reason}"))
                        }
                    }
                }
            },
        }
    };
    let mut usage = LlmUsage::default();
    let mut stages: Vec<StageNote> = Vec::new();
    for stage_record in earlier.iter().chain(std::iter::once(&record)) {
        usage.add(&stage_record.usage);
        stages.push(StageNote::of(stage_record));
    }
    let contribution = ModelContribution {
        model_id: llm.model_id().to_string(),
        notice: notice(llm.model_id()),
        stages,
        usage,
        overview,
        checklist,
    };
    (record, contribution)
}
