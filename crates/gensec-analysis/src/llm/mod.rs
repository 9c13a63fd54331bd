//! The optional language model in the analysis stage. The model receives the
//! profile, the service's validated facts and the deterministic
//! recommendations ([`prompt`]), and answers with tailored rationales,
//! priority adjustments and additional recommendations ([`answer`]). Every
//! item goes through the validators ([`apply`]); rejected items are listed in
//! the validation report. Whatever goes wrong with the model, the stage keeps
//! its deterministic result and says why.

pub mod answer;
pub mod apply;
pub mod prompt;

use crate::recommend::STAGE;
use gensec_core::SecurityProfile;
use gensec_core::contract::analysis::{ModelValidation, Recommendation};
use gensec_core::contract::stage::Verdicts;
use gensec_core::llm::session::LlmSession;
use gensec_core::llm::{FinishReason, Llm, LlmStageRecord, json, prompt::neutralise};
use gensec_kb::{Kb, ServiceEntry};

/// The validators' verdict on this stage's answer.
pub fn model_validation(record: &LlmStageRecord) -> ModelValidation {
    ModelValidation::from_records(std::slice::from_ref(record)).unwrap_or_default()
}

/// Ask the model and apply what passes the validators. Never fails: a model
/// that cannot help leaves the deterministic result as it was.
pub async fn enrich(
    llm: &dyn Llm,
    kb: &Kb,
    service: &ServiceEntry,
    profile: &SecurityProfile,
    earlier: &[LlmStageRecord],
    recommendations: &mut Vec<Recommendation>,
    report: &mut Verdicts,
) -> LlmStageRecord {
    let mut session = LlmSession::new(llm, STAGE, earlier);
    let grounding = prompt::grounding(kb, service, recommendations);
    let request = prompt::request(profile, service, &grounding, recommendations);
    match session.ask(request).await {
        Err(error) => session.failed(&error),
        Ok(response) => {
            let truncated = response.finish == FinishReason::Length;
            match json::extract(&response.text) {
                Err(error) => session.fell_back(if truncated {
                    format!("the answer was cut off at the token limit and {error}")
                } else {
                    format!("the answer could not be read: {error}")
                }),
                Ok(extracted) => match answer::parse(&extracted.value) {
                    Err(reason) => session.fell_back(format!(
                        "the answer could not be read: {}",
                        neutralise(&reason)
                    )),
                    Ok(parsed) => {
                        let tally = apply::apply(
                            kb,
                            service,
                            profile,
                            llm.model_id(),
                            &grounding,
                            &parsed,
                            recommendations,
                            report,
                        );
                        let record = session.record_mut();
                        record.repairs = extracted.repairs;
                        if truncated {
                            record
                                .repairs
                                .push("the answer was cut off at the token limit".into());
                        }
                        record.items_proposed = tally.proposed;
                        record.items_accepted = tally.accepted;
                        record.items_rejected = tally.rejected;
                        record.names_checked = tally.names_checked;
                        record.names_unknown = tally.names_unknown;
                        session.applied()
                    }
                },
            }
        }
    }
}
