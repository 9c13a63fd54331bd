//! Retries with exponential backoff for throttling and transient failures.
//! Only [`LlmError::is_retryable`] errors are retried; a `Retry-After` from
//! the backend is honoured up to the policy's longest delay.

use gensec_core::llm::{LlmError, LlmResponse};
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(1_000),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No waiting between attempts (tests).
    pub fn immediate(attempts: u32) -> Self {
        Self {
            attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    /// Wait before attempt `next` (2, 3, ...): doubling from the base delay,
    /// plus up to half the base delay of jitter so parallel runs spread out.
    pub fn delay(&self, next: u32, retry_after: Option<Duration>) -> Duration {
        let doubling = self
            .base_delay
            .saturating_mul(1u32 << next.saturating_sub(2).min(16));
        let jitter_range = self.base_delay.as_millis() as u64 / 2;
        let jitter = if jitter_range == 0 {
            0
        } else {
            // Sub-second clock noise is jitter enough; no random source needed.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as u64);
            nanos % jitter_range
        };
        let backoff = doubling + Duration::from_millis(jitter);
        retry_after
            .map_or(backoff, |asked| asked.max(backoff))
            .min(self.max_delay)
    }

    /// Call until success, a non-retryable error, or the attempts run out.
    pub async fn run<F, Fut>(&self, mut call: F) -> Result<LlmResponse, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<LlmResponse, LlmError>>,
    {
        let attempts = self.attempts.max(1);
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(response) => return Ok(response),
                Err(error) if error.is_retryable() && attempt < attempts => {
                    let retry_after = match &error {
                        LlmError::Throttled { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    attempt += 1;
                    let wait = self.delay(attempt, retry_after);
                    tracing::info!(%error, attempt, ?wait, "LLM call failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(error) if error.is_retryable() => {
                    return Err(match error {
                        LlmError::Throttled {
                            message,
                            retry_after,
                        } => LlmError::Throttled {
                            message: format!("{message} (gave up after {attempts} attempts)"),
                            retry_after,
                        },
                        other => LlmError::Unavailable(format!(
                            "{} (gave up after {attempts} attempts)",
                            other.to_string().trim_start_matches("unavailable: ")
                        )),
                    });
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gensec_core::llm::{FinishReason, TokenUsage};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn ok() -> LlmResponse {
        LlmResponse {
            text: "{}".into(),
            usage: TokenUsage::default(),
            model_id: "m".into(),
            finish: FinishReason::Stop,
            cached: false,
        }
    }

    #[test]
    fn delays_double_and_stay_capped() {
        let policy = RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let second = policy.delay(2, None);
        assert!(second >= Duration::from_millis(100) && second < Duration::from_millis(150));
        let third = policy.delay(3, None);
        assert!(third >= Duration::from_millis(200) && third < Duration::from_millis(250));
        assert_eq!(policy.delay(9, None), Duration::from_millis(500));
        assert_eq!(
            policy.delay(2, Some(Duration::from_millis(400))),
            Duration::from_millis(400)
        );
    }

    #[tokio::test]
    async fn retries_transient_errors_only() {
        let calls = AtomicU32::new(0);
        let result = RetryPolicy::immediate(3)
            .run(|| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(LlmError::Throttled {
                            message: "slow down".into(),
                            retry_after: None,
                        })
                    } else {
                        Ok(ok())
                    }
                }
            })
            .await;
        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let refused = RetryPolicy::immediate(3)
            .run(|| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(LlmError::Refused("bad key".into())) }
            })
            .await;
        assert!(matches!(refused, Err(LlmError::Refused(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let exhausted = RetryPolicy::immediate(2)
            .run(|| async { Err(LlmError::Unavailable("timed out".into())) })
            .await
            .unwrap_err();
        assert_eq!(
            exhausted.to_string(),
            "unavailable: timed out (gave up after 2 attempts)"
        );
    }
}
