//! One stage's use of the model: the run's token budget is checked before
//! each call, and every answer is counted (new or cached tokens, estimated
//! cost) in the stage's [`LlmStageRecord`].

use super::{
    Llm, LlmError, LlmOutcome, LlmRequest, LlmResponse, LlmStageRecord, LlmUsage, ModelPrice,
    TokenBudget,
};

/// Below this many output tokens an answer cannot hold anything useful.
const MIN_OUTPUT_TOKENS: u64 = 256;

/// A stage's conversation with the model.
#[derive(Debug)]
pub struct LlmSession<'a> {
    llm: &'a dyn Llm,
    record: LlmStageRecord,
    remaining: Option<TokenBudget>,
    price: Option<ModelPrice>,
}

impl<'a> LlmSession<'a> {
    /// `earlier` are the records of the run's earlier stages; what they spent
    /// comes off the run's budget.
    pub fn new(llm: &'a dyn Llm, stage: &str, earlier: &[LlmStageRecord]) -> Self {
        let mut spent = LlmUsage::default();
        for record in earlier.iter().filter(|record| record.stage != stage) {
            spent.add(&record.usage);
        }
        let remaining = llm.run_budget().map(|budget| TokenBudget {
            input_tokens: budget.input_tokens.saturating_sub(spent.input_tokens),
            output_tokens: budget.output_tokens.saturating_sub(spent.output_tokens),
        });
        Self {
            llm,
            record: LlmStageRecord::new(stage, llm.model_id()),
            remaining,
            price: llm.price(),
        }
    }

    /// Ask the model, within the budget. `max_tokens` is lowered to what the
    /// budget has left; a prompt the budget cannot cover is not sent.
    pub async fn ask(&mut self, mut request: LlmRequest) -> Result<LlmResponse, LlmError> {
        if let Some(remaining) = self.remaining {
            let estimate = request.estimated_input_tokens();
            if estimate > remaining.input_tokens {
                return Err(LlmError::Budget(format!(
                    "the prompt needs about {estimate} input tokens and the run has {} left",
                    remaining.input_tokens
                )));
            }
            if remaining.output_tokens < MIN_OUTPUT_TOKENS {
                return Err(LlmError::Budget(format!(
                    "the run has {} output tokens left",
                    remaining.output_tokens
                )));
            }
            request.max_tokens = request
                .max_tokens
                .min(u32::try_from(remaining.output_tokens).unwrap_or(u32::MAX));
        }
        self.record
            .prompt_sha256
            .push(request.fingerprint(self.llm.model_id()));
        let response = self.llm.complete(&request).await?;
        self.record.usage.record(&response, self.price);
        if let Some(remaining) = &mut self.remaining
            && !response.cached
        {
            remaining.input_tokens = remaining
                .input_tokens
                .saturating_sub(response.usage.input_tokens);
            remaining.output_tokens = remaining
                .output_tokens
                .saturating_sub(response.usage.output_tokens);
        }
        Ok(response)
    }

    /// The record being built (items, names, repairs).
    pub fn record_mut(&mut self) -> &mut LlmStageRecord {
        &mut self.record
    }

    /// Mark the answer applied and hand back the record.
    pub fn applied(mut self) -> LlmStageRecord {
        self.record.outcome = LlmOutcome::Applied;
        self.record.fallback_reason = None;
        self.record
    }

    /// Keep the deterministic result, saying why, and hand back the record.
    pub fn fell_back(mut self, reason: impl Into<String>) -> LlmStageRecord {
        self.record.fall_back(reason);
        self.record
    }

    /// Keep the deterministic result because a call failed.
    pub fn failed(mut self, error: &LlmError) -> LlmStageRecord {
        self.record.fall_back_on(error);
        self.record
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::llm::{FinishReason, Message, TokenUsage};
    use async_trait::async_trait;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Fixed {
        seen_max_tokens: Mutex<Vec<u32>>,
    }

    #[async_trait]
    impl Llm for Fixed {
        fn model_id(&self) -> &str {
            "fixed"
        }
        fn run_budget(&self) -> Option<TokenBudget> {
            Some(TokenBudget {
                input_tokens: 1_000,
                output_tokens: 1_000,
            })
        }
        async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
            self.seen_max_tokens
                .lock()
                .unwrap()
                .push(request.max_tokens);
            Ok(LlmResponse {
                text: "{}".into(),
                usage: TokenUsage {
                    input_tokens: 400,
                    output_tokens: 600,
                },
                model_id: "fixed".into(),
                finish: FinishReason::Stop,
                cached: false,
            })
        }
    }

    fn request(chars: usize) -> LlmRequest {
        LlmRequest {
            system: String::new(),
            messages: vec![Message::user("x".repeat(chars))],
            response_schema: None,
            max_tokens: 800,
            temperature: 0.0,
        }
    }

    #[tokio::test]
    async fn the_budget_covers_the_whole_run() {
        let llm = Fixed::default();
        let mut earlier = LlmStageRecord::new("analysis", "fixed");
        earlier.usage.input_tokens = 300;
        let mut session = LlmSession::new(&llm, "report", &[earlier]);
        // 700 input tokens left: a 4,000-character prompt (~1,000 tokens) is not sent.
        let refused = session.ask(request(4_000)).await.unwrap_err();
        assert!(matches!(refused, LlmError::Budget(_)), "{refused}");
        session.ask(request(400)).await.unwrap();
        // 400 output tokens left after the first answer: max_tokens shrinks to fit.
        session.ask(request(400)).await.unwrap();
        assert_eq!(*llm.seen_max_tokens.lock().unwrap(), vec![800, 400]);
        // Nothing useful fits any more.
        assert!(matches!(
            session.ask(request(40)).await,
            Err(LlmError::Budget(_))
        ));
        let record = session.applied();
        assert_eq!(record.usage.calls, 2);
        assert_eq!(record.prompt_sha256.len(), 2);
    }
}
