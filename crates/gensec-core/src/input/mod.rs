//! The two inputs: the organisation's security profile and a service request.
//! Parsing reports the file, the JSON path and what was expected; documents
//! are bounded in size, list length and string length, and carry no display
//! control characters ([`text`]).

mod load;
mod profile;
mod request;
mod select;
pub mod text;

pub use load::{parse_json, parse_profile, parse_request};
pub use profile::*;
pub use request::{ServiceRequest, rfc3339};
pub use select::{SourcedProfile, select_profile, select_sourced_profile};

/// JSON Schemas of the inputs, as published in `config-example/schemas/`.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "security-profile.schema.json",
            serde_json::to_value(schemars::schema_for!(SecurityProfile))
                .expect("schema serialises"),
        ),
        (
            "service-request.schema.json",
            serde_json::to_value(schemars::schema_for!(ServiceRequest)).expect("schema serialises"),
        ),
    ]
}
