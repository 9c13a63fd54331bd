//! Service request: which AWS service a team wants approved.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    /// Unique id; also the Step Functions execution name, so 1-80 characters of
    /// letters, digits, `.`, `_` and `-`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"))]
    pub request_id: String,
    #[schemars(length(min = 1))]
    pub requester: String,
    /// RFC 3339 time the request was made.
    pub timestamp: DateTime<Utc>,
    /// Service name as people write it: "S3", "Amazon QuickSight", "AWS::RDS".
    #[schemars(length(min = 1))]
    pub service_name: String,
    /// Which security profile applies; optional when only one profile exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}
