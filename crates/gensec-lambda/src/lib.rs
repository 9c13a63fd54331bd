//! The AWS Lambda functions of the deployment. Each binary in `src/bin` is a
//! few lines: it builds its handler from the environment and serves it. The
//! handlers here do the work through the same ports and stage functions as the
//! `gensec` CLI, so tests drive them with JSON event fixtures against a moto
//! server (or any other adapter).
//!
//! Errors leave a handler as a stable Lambda error type, `GenSec.InvalidInput`,
//! `GenSec.Retryable` or `GenSec.Fatal`, which the state machine's Retry and
//! Catch clauses match.

pub mod error;
pub mod failure;
pub mod finalize;
pub mod payload;
pub mod remediate;
pub mod serve;
pub mod stage;
pub mod trigger;

pub use error::HandlerError;

/// Environment variables the functions read (set by the CDK app).
pub mod env {
    pub const INPUT_BUCKET: &str = "GENSEC_INPUT_BUCKET";
    pub const OUTPUT_BUCKET: &str = "GENSEC_OUTPUT_BUCKET";
    pub const LIBRARY_TABLE: &str = "GENSEC_LIBRARY_TABLE";
    pub const REQUESTS_TABLE: &str = "GENSEC_REQUESTS_TABLE";
    pub const STATE_MACHINE_ARN: &str = "GENSEC_STATE_MACHINE_ARN";
    pub const FINDINGS_TABLE: &str = "GENSEC_FINDINGS_TABLE";
    pub const TOPIC_ARN: &str = "GENSEC_TOPIC_ARN";
    pub const MIN_SEVERITY: &str = "GENSEC_MIN_SEVERITY";
    pub const FINDING_TTL_DAYS: &str = "GENSEC_FINDING_TTL_DAYS";
    pub const SET_NOTIFIED: &str = "GENSEC_SET_NOTIFIED";
}
