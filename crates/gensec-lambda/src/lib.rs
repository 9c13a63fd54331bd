//! The AWS Lambda functions of the deployment. Each binary in `src/bin` is a
//! few lines: it builds its handler from the environment and serves it. The
//! handlers here do the work through the same ports and stage functions as the
//! `gensec` CLI, so tests drive them with JSON event fixtures against a moto
//! server (or any other adapter).
//!
//! Errors leave a handler as a stable Lambda error type, `GenSec.InvalidInput`,
//! `GenSec.Retryable` or `GenSec.Fatal`, which the state machine's Retry and
//! Catch clauses match.

pub mod batch;
pub mod env;
pub mod error;
pub mod failure;
pub mod finalize;
pub mod payload;
pub mod remediate;
pub mod serve;
pub mod stage;
pub mod trigger;

pub use error::HandlerError;
