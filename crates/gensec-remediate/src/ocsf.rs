//! OCSF findings, as the new Security Hub emits them ("Findings Imported V2"
//! events, one finding per event): the OCSF 1.x Compliance Finding class
//! (`class_uid` 2003) for control findings, and the other finding classes for
//! GuardDuty, Inspector and the rest. Each is read into the one internal
//! [`Finding`], so filters, dedupe and remediation treat both formats alike.
//!
//! Mapping (OCSF → internal): `finding_info.uid` → id, `metadata.product.uid`
//! → product ARN, `cloud.account.uid` → account, `cloud.region` → region,
//! `compliance.control` → control id, `compliance.status`/`status_id` →
//! compliance status (Pass/Warning/Fail → PASSED/WARNING/FAILED),
//! `severity_id`/`severity` → severity, `status`/`status_id` → workflow
//! (New → NEW, In Progress → NOTIFIED, Suppressed, Resolved, Archived),
//! `activity_id` 3 (Close) → record state ARCHIVED, `resources[]` → resources
//! (CloudFormation type names turned into ASFF names from the KB's Security Hub
//! facts), `finding_info.modified_time_dt` (else `time_dt`, else the epoch
//! milliseconds of `modified_time`/`time`) → updated-at.

use crate::finding::{
    Compliance, Finding, FindingFormat, Recommendation, RemediationField, Resource, SeverityField,
    Workflow,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The EventBridge detail-type of OCSF findings from the new Security Hub.
pub const IMPORTED_V2_DETAIL_TYPE: &str = "Findings Imported V2";

/// Does this JSON object look like an OCSF finding (rather than ASFF)?
pub fn is_ocsf(object: &serde_json::Map<String, Value>) -> bool {
    object.contains_key("finding_info") || object.contains_key("class_uid")
}

#[derive(Debug, Deserialize)]
struct Product {
    uid: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    product: Option<Product>,
}

#[derive(Debug, Deserialize)]
struct Analytic {
    uid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FindingInfo {
    uid: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    desc: String,
    #[serde(default)]
    types: Vec<String>,
    created_time_dt: Option<String>,
    modified_time_dt: Option<String>,
    first_seen_time_dt: Option<String>,
    last_seen_time_dt: Option<String>,
    /// Epoch milliseconds (OCSF `timestamp_t`).
    modified_time: Option<i64>,
    analytic: Option<Analytic>,
}

#[derive(Debug, Deserialize)]
struct Account {
    uid: String,
}

#[derive(Debug, Deserialize)]
struct Cloud {
    account: Account,
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OcsfCompliance {
    control: Option<String>,
    status: Option<String>,
    status_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct OcsfResource {
    uid: String,
    #[serde(rename = "type", default)]
    kind: String,
    region: Option<String>,
    cloud_partition: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    data: Value,
}

#[derive(Debug, Deserialize)]
struct OcsfRemediation {
    desc: Option<String>,
    #[serde(default)]
    references: Vec<String>,
}

/// The parts of an OCSF finding remediation reads.
#[derive(Debug, Deserialize)]
pub struct OcsfFinding {
    class_uid: Option<i64>,
    activity_id: Option<i64>,
    activity_name: Option<String>,
    finding_info: FindingInfo,
    metadata: Option<Metadata>,
    cloud: Cloud,
    severity_id: Option<i64>,
    severity: Option<String>,
    status_id: Option<i64>,
    status: Option<String>,
    compliance: Option<OcsfCompliance>,
    #[serde(default)]
    resources: Vec<OcsfResource>,
    remediation: Option<OcsfRemediation>,
    time_dt: Option<String>,
    /// Epoch milliseconds.
    time: Option<i64>,
}

/// OCSF `severity_id` → ASFF label (6 Fatal reads as CRITICAL).
fn severity_label(id: i64) -> Option<&'static str> {
    match id {
        1 => Some("INFORMATIONAL"),
        2 => Some("LOW"),
        3 => Some("MEDIUM"),
        4 => Some("HIGH"),
        5 | 6 => Some("CRITICAL"),
        _ => None,
    }
}

/// OCSF finding `status_id`/`status` → ASFF workflow status. Security Hub
/// shows ASFF's NOTIFIED as OCSF "In Progress".
fn workflow_status(id: Option<i64>, caption: Option<&str>) -> Option<String> {
    let from_id = match id {
        Some(1) => Some("NEW"),
        Some(2) => Some("NOTIFIED"),
        Some(3) => Some("SUPPRESSED"),
        Some(4) => Some("RESOLVED"),
        Some(5) => Some("ARCHIVED"),
        _ => None,
    };
    from_id.map(str::to_string).or_else(|| {
        caption.map(|text| match text.trim().to_ascii_lowercase().as_str() {
            "in progress" => "NOTIFIED".to_string(),
            other => other.to_ascii_uppercase().replace(' ', "_"),
        })
    })
}

/// OCSF compliance `status_id`/`status` → ASFF compliance status.
fn compliance_status(id: Option<i64>, caption: Option<&str>) -> Option<String> {
    let from_id = match id {
        Some(1) => Some("PASSED"),
        Some(2) => Some("WARNING"),
        Some(3) => Some("FAILED"),
        _ => None,
    };
    from_id.map(str::to_string).or_else(|| {
        caption.map(|text| match text.trim().to_ascii_uppercase().as_str() {
            "PASS" | "PASSED" => "PASSED".to_string(),
            "FAIL" | "FAILED" => "FAILED".to_string(),
            other => other.to_string(),
        })
    })
}

/// Epoch milliseconds → RFC 3339.
fn from_epoch_millis(millis: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// An RFC 3339 date, or the reason it is not one.
fn checked_date(field: &str, text: &str) -> Result<String, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|_| text.to_string())
        .map_err(|err| {
            format!(
                "{field}: expected an RFC 3339 timestamp such as \"2024-05-01T10:00:00.000Z\", got {:?} ({err})",
                text.chars().take(64).collect::<String>()
            )
        })
}

fn optional_date(field: &str, text: Option<String>) -> Result<Option<String>, String> {
    text.map(|t| checked_date(field, &t)).transpose()
}

/// When the finding last changed: `finding_info.modified_time_dt`, else
/// `time_dt`, else the epoch milliseconds of `modified_time` or `time`.
fn updated_at(
    info: &FindingInfo,
    time_dt: Option<&str>,
    time: Option<i64>,
) -> Result<String, String> {
    Ok(match (&info.modified_time_dt, time_dt) {
        (Some(text), _) => checked_date("finding_info.modified_time_dt", text)?,
        (None, Some(text)) => checked_date("time_dt", text)?,
        (None, None) => info
            .modified_time
            .or(time)
            .and_then(from_epoch_millis)
            .ok_or(
                "finding_info.modified_time_dt: missing (and no time_dt, modified_time or time)",
            )?,
    })
}

/// ASFF's severity label: from `severity_id`, else the `severity` caption.
fn severity_field(severity_id: Option<i64>, severity: Option<String>) -> SeverityField {
    SeverityField {
        label: severity_id
            .and_then(severity_label)
            .map(str::to_string)
            .or(severity.map(|s| s.to_ascii_uppercase())),
        normalized: None,
    }
}

impl OcsfResource {
    /// The ASFF form: ASFF's type name, tags as a map, details only when
    /// they are an object.
    fn into_resource(self) -> Resource {
        Resource {
            kind: crate::controls::asff_resource_type(&self.kind),
            id: self.uid,
            region: self.region,
            partition: self.cloud_partition,
            tags: self
                .tags
                .into_iter()
                .map(|tag| (tag.name, tag.value))
                .collect::<BTreeMap<_, _>>(),
            details: if self.data.is_object() {
                self.data
            } else {
                Value::Null
            },
        }
    }
}

impl OcsfFinding {
    /// The internal finding, or what is missing or wrong (with its OCSF path).
    pub fn into_finding(self) -> Result<Finding, String> {
        if self.finding_info.uid.trim().is_empty() {
            return Err("finding_info.uid: empty".into());
        }
        if self.resources.is_empty() {
            return Err("resources: an OCSF finding needs at least one resource".into());
        }
        let info = self.finding_info;
        let updated_at = updated_at(&info, self.time_dt.as_deref(), self.time)?;
        let closed = self.activity_id == Some(3)
            || self
                .activity_name
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case("close"));
        let product = self.metadata.and_then(|m| m.product);
        let (product_uid, product_name) = product.map_or((None, None), |p| (p.uid, p.name));
        let control = self
            .compliance
            .as_ref()
            .and_then(|c| c.control.clone())
            .filter(|c| !c.trim().is_empty());
        let generator_id = match (&control, info.analytic.and_then(|a| a.uid)) {
            (Some(control), _) => format!("security-control/{control}"),
            (None, Some(analytic)) => analytic,
            (None, None) => product_uid.clone().unwrap_or_default(),
        };
        let resources = self
            .resources
            .into_iter()
            .map(OcsfResource::into_resource)
            .collect();
        let compliance = self.compliance.map(|c| Compliance {
            status: compliance_status(c.status_id, c.status.as_deref()),
            security_control_id: control.clone(),
        });
        let remediation = self.remediation.map(|r| RemediationField {
            recommendation: Some(Recommendation {
                text: r.desc,
                url: r.references.into_iter().next(),
            }),
        });
        let mut product_fields = BTreeMap::new();
        if let Some(class) = self.class_uid {
            product_fields.insert("ocsf/class_uid".to_string(), Value::from(class));
        }
        Ok(Finding {
            id: info.uid,
            product_arn: product_uid.unwrap_or_default(),
            generator_id,
            aws_account_id: self.cloud.account.uid,
            title: info.title,
            description: info.desc,
            updated_at,
            created_at: optional_date("finding_info.created_time_dt", info.created_time_dt)?,
            first_observed_at: optional_date(
                "finding_info.first_seen_time_dt",
                info.first_seen_time_dt,
            )?,
            last_observed_at: optional_date(
                "finding_info.last_seen_time_dt",
                info.last_seen_time_dt,
            )?,
            severity: severity_field(self.severity_id, self.severity),
            resources,
            region: self.cloud.region,
            types: info.types,
            record_state: Some(if closed { "ARCHIVED" } else { "ACTIVE" }.to_string()),
            compliance,
            workflow: workflow_status(self.status_id, self.status.as_deref()).map(|status| {
                Workflow {
                    status: Some(status),
                }
            }),
            workflow_state: None,
            product_name,
            product_fields,
            remediation,
            format: FindingFormat::Ocsf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_and_ids_map_to_asff_values() {
        assert_eq!(severity_label(4), Some("HIGH"));
        assert_eq!(severity_label(6), Some("CRITICAL"));
        assert_eq!(severity_label(0), None);
        assert_eq!(
            workflow_status(None, Some("In Progress")).as_deref(),
            Some("NOTIFIED")
        );
        assert_eq!(
            workflow_status(Some(1), Some("Resolved")).as_deref(),
            Some("NEW")
        );
        assert_eq!(
            workflow_status(None, Some("Suppressed")).as_deref(),
            Some("SUPPRESSED")
        );
        assert_eq!(
            compliance_status(None, Some("Fail")).as_deref(),
            Some("FAILED")
        );
        assert_eq!(compliance_status(Some(1), None).as_deref(), Some("PASSED"));
        assert_eq!(
            compliance_status(None, Some("Warning")).as_deref(),
            Some("WARNING")
        );
        assert_eq!(
            from_epoch_millis(1_714_557_600_000).as_deref(),
            Some("2024-05-01T10:00:00.000Z")
        );
    }
}
