//! Domain types shared by every gensec crate: the two inputs (security profile,
//! service request), the stage contracts and pipeline order, the ports that
//! adapters implement (object store, control library, request tracker,
//! language model), the run manifest and the error kinds that callers map to
//! exit codes or retries.
//!
//! This crate has no AWS SDK and no I/O of its own beyond reading input files.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod contract;
pub mod error;
pub mod html;
pub mod input;
pub mod kept;
pub mod library;
pub mod llm;
pub mod manifest;
pub mod markdown;
pub mod memory_store;
pub mod pipeline;
pub mod ports;
pub mod suggest;
pub mod tracking;
pub mod yaml;

pub use error::{Error, ErrorKind, InputError, Result};
pub use input::{SecurityProfile, ServiceRequest};

/// Name and version of the generator, recorded in every manifest.
pub const GENERATOR: &str = "gensec";
/// Version of the generator, recorded in every manifest.
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");
