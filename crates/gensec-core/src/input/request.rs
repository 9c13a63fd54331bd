//! Service request: which AWS service a team wants approved.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    /// Unique id; also the Step Functions execution name, so 1-80 characters of
    /// letters, digits, `.`, `_` and `-`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"))]
    pub request_id: String,
    /// Who asks (at most 256 bytes, one line).
    #[schemars(length(min = 1, max = 256))]
    pub requester: String,
    /// RFC 3339 time the request was made.
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// Service name as people write it: "S3", "Amazon QuickSight", "AWS::RDS"
    /// (at most 256 bytes, one line).
    #[schemars(length(min = 1, max = 256))]
    pub service_name: String,
    /// Which security profile applies; optional when only one profile exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub profile_id: Option<String>,
}

/// An RFC 3339 timestamp; anything else is refused with a message that says
/// which format is expected (chrono's own message does not).
pub fn rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|err| {
            serde::de::Error::custom(format!(
                "expected an RFC 3339 timestamp such as \"2024-01-15T10:30:00Z\", got {:?} ({err})",
                text.chars().take(64).collect::<String>()
            ))
        })
}
