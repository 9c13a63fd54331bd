//! Names of the environment variables the functions read. The CDK app sets
//! them from `crates/gensec-lambda/functions.json`, which lists, per function,
//! every variable it reads; `tests/functions.rs` holds that file and these
//! constants (and their use in this crate) equal.
//!
//! The language-model variables (`GENSEC_LLM`, `GENSEC_BEDROCK_MODEL_ID`, ...)
//! belong to `gensec_llm::env`.

/// Input bucket: uploaded service requests and security profiles (trigger).
pub const INPUT_BUCKET: &str = "GENSEC_INPUT_BUCKET";
/// Output bucket: run outputs and the model answer cache.
pub const OUTPUT_BUCKET: &str = "GENSEC_OUTPUT_BUCKET";
/// `true`: the documentation stage refreshes from AWS's live sources first
/// (off when unset; `gensec_docs::live::settings` names the URL overrides).
pub const LIVE_REFRESH: &str = gensec_docs::live::settings::ENV_LIVE_REFRESH;
/// The control library table.
pub const LIBRARY_TABLE: &str = "GENSEC_LIBRARY_TABLE";
/// The request tracking table.
pub const REQUESTS_TABLE: &str = "GENSEC_REQUESTS_TABLE";
/// The pipeline the trigger starts.
pub const STATE_MACHINE_ARN: &str = "GENSEC_STATE_MACHINE_ARN";
/// The batch state machine the trigger starts for a request naming several
/// services.
pub const BATCH_STATE_MACHINE_ARN: &str = "GENSEC_BATCH_STATE_MACHINE_ARN";
/// Remediation send-once state.
pub const FINDINGS_TABLE: &str = "GENSEC_FINDINGS_TABLE";
/// Where remediation e-mails are published.
pub const TOPIC_ARN: &str = "GENSEC_TOPIC_ARN";
/// Lowest Security Hub severity label that is e-mailed (default HIGH).
pub const MIN_SEVERITY: &str = "GENSEC_MIN_SEVERITY";
/// Days a sent finding is remembered (default 90).
pub const FINDING_TTL_DAYS: &str = "GENSEC_FINDING_TTL_DAYS";
/// `true`: mark notified findings NOTIFIED in Security Hub (default false).
pub const SET_NOTIFIED: &str = "GENSEC_SET_NOTIFIED";

/// Every variable above, for the test that compares them with functions.json.
pub const ALL: &[&str] = &[
    INPUT_BUCKET,
    OUTPUT_BUCKET,
    LIVE_REFRESH,
    LIBRARY_TABLE,
    REQUESTS_TABLE,
    STATE_MACHINE_ARN,
    BATCH_STATE_MACHINE_ARN,
    FINDINGS_TABLE,
    TOPIC_ARN,
    MIN_SEVERITY,
    FINDING_TTL_DAYS,
    SET_NOTIFIED,
];
