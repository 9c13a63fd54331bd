//! The parts of an AWS Security Finding Format (ASFF) finding that
//! remediation needs, and how its control id is recognised.
//!
//! Every field here is untrusted: it comes from Security Hub, which copies it
//! from the integrated product and, for many fields, from the resource itself.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// An ASFF date (`UpdatedAt`, `CreatedAt`, ...): RFC 3339, kept as written.
/// Anything else makes the finding rejected with this reason, rather than
/// compared or stored as a made-up date.
fn rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    chrono::DateTime::parse_from_rfc3339(&text).map_err(|err| {
        serde::de::Error::custom(format!(
            "expected an RFC 3339 timestamp such as \"2024-05-01T10:00:00.000Z\", got {:?} ({err})",
            text.chars().take(64).collect::<String>()
        ))
    })?;
    Ok(text)
}

/// An optional ASFF date, checked like [`rfc3339`] when present.
fn optional_rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Checked(#[serde(deserialize_with = "rfc3339")] String);
    Ok(Option::<Checked>::deserialize(deserializer)?.map(|Checked(text)| text))
}

/// Severity labels in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Parse a label (`HIGH`, `critical`).
    pub fn parse(label: &str) -> Option<Self> {
        match label.trim().to_ascii_uppercase().as_str() {
            "INFORMATIONAL" => Some(Self::Informational),
            "LOW" => Some(Self::Low),
            "MEDIUM" => Some(Self::Medium),
            "HIGH" => Some(Self::High),
            "CRITICAL" => Some(Self::Critical),
            _ => None,
        }
    }

    /// ASFF's mapping of `Severity.Normalized` (0-100) to a label.
    pub fn from_normalized(value: f64) -> Self {
        match value {
            v if v >= 90.0 => Self::Critical,
            v if v >= 70.0 => Self::High,
            v if v >= 40.0 => Self::Medium,
            v if v >= 1.0 => Self::Low,
            _ => Self::Informational,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Informational => "INFORMATIONAL",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

/// `Severity` as ASFF writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SeverityField {
    pub label: Option<String>,
    pub normalized: Option<f64>,
}

/// One entry of `Resources[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub region: Option<String>,
    pub partition: Option<String>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub details: Value,
}

/// `{"Status": ...}` objects (Compliance, Workflow).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Compliance {
    pub status: Option<String>,
    pub security_control_id: Option<String>,
}

/// `Workflow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Workflow {
    pub status: Option<String>,
}

/// `Remediation.Recommendation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    pub text: Option<String>,
    pub url: Option<String>,
}

/// `Remediation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemediationField {
    pub recommendation: Option<Recommendation>,
}

/// The format a finding arrived in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingFormat {
    /// AWS Security Finding Format (Security Hub CSPM, "Security Hub Findings - Imported").
    #[default]
    Asff,
    /// OCSF (the new Security Hub, "Findings Imported V2"), read by [`crate::ocsf`].
    Ocsf,
}

/// A finding, in the fields remediation reads (the rest is ignored). Its
/// serde form is ASFF; OCSF findings are mapped into it by [`crate::ocsf`],
/// so everything downstream handles one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// When the finding last changed (RFC 3339); orders re-imports.
    #[serde(deserialize_with = "rfc3339")]
    pub updated_at: String,
    /// When the finding was created (RFC 3339), if given.
    #[serde(
        default,
        deserialize_with = "optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<String>,
    /// When the problem was first seen (RFC 3339), if given.
    #[serde(
        default,
        deserialize_with = "optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_observed_at: Option<String>,
    /// When the problem was last seen (RFC 3339), if given.
    #[serde(
        default,
        deserialize_with = "optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_observed_at: Option<String>,
    pub severity: SeverityField,
    pub resources: Vec<Resource>,
    pub region: Option<String>,
    #[serde(default)]
    pub types: Vec<String>,
    pub record_state: Option<String>,
    pub compliance: Option<Compliance>,
    pub workflow: Option<Workflow>,
    /// Deprecated predecessor of `Workflow.Status`.
    pub workflow_state: Option<String>,
    pub product_name: Option<String>,
    #[serde(default)]
    pub product_fields: std::collections::BTreeMap<String, Value>,
    pub remediation: Option<RemediationField>,
    /// Which format it was read from (not part of ASFF).
    #[serde(skip)]
    pub format: FindingFormat,
}

/// Where a finding comes from, for the explanation of non-control findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A Security Hub control (CSPM) finding.
    Control,
    GuardDuty,
    Inspector,
    Macie,
    IamAccessAnalyzer,
    /// Any other integrated product.
    Other,
}

impl Finding {
    /// The severity label, from `Label`, else `Normalized`; unknown → INFORMATIONAL.
    pub fn severity(&self) -> Severity {
        self.severity
            .label
            .as_deref()
            .and_then(Severity::parse)
            .or_else(|| self.severity.normalized.map(Severity::from_normalized))
            .unwrap_or(Severity::Informational)
    }

    /// The Security Hub control id (`S3.8`, or `1.4` for an old CIS rule):
    /// `Compliance.SecurityControlId`, else `ProductFields.ControlId`, else the
    /// last segment of a control-style `GeneratorId`.
    pub fn control_id(&self) -> Option<String> {
        let from_compliance = self
            .compliance
            .as_ref()
            .and_then(|c| c.security_control_id.as_deref());
        let from_fields = self.product_fields.get("ControlId").and_then(Value::as_str);
        from_compliance
            .or(from_fields)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .or_else(|| control_from_generator(&self.generator_id))
    }

    /// Which product reported the finding.
    pub fn origin(&self) -> Origin {
        let product = format!(
            "{} {}",
            self.product_arn.to_ascii_lowercase(),
            self.product_name
                .as_deref()
                .unwrap_or("")
                .to_ascii_lowercase()
        );
        if self.control_id().is_some() {
            Origin::Control
        } else if product.contains("guardduty") {
            Origin::GuardDuty
        } else if product.contains("inspector") {
            Origin::Inspector
        } else if product.contains("macie") {
            Origin::Macie
        } else if product.contains("access-analyzer") || product.contains("access analyzer") {
            Origin::IamAccessAnalyzer
        } else {
            Origin::Other
        }
    }

    /// The first resource (ASFF requires at least one).
    pub fn resource(&self) -> Option<&Resource> {
        self.resources.first()
    }

    /// The region of the first resource, else the finding's.
    pub fn region(&self) -> Option<&str> {
        self.resource()
            .and_then(|r| r.region.as_deref())
            .or(self.region.as_deref())
    }

    /// `Workflow.Status`, else the legacy `WorkflowState`, upper-cased.
    pub fn workflow_status(&self) -> Option<String> {
        self.workflow
            .as_ref()
            .and_then(|w| w.status.clone())
            .or_else(|| self.workflow_state.clone())
            .map(|s| s.to_ascii_uppercase())
    }

    /// `Compliance.Status`, upper-cased.
    pub fn compliance_status(&self) -> Option<String> {
        self.compliance
            .as_ref()
            .and_then(|c| c.status.as_deref())
            .map(str::to_ascii_uppercase)
    }
}

/// The control id at the end of a control-style generator id:
/// `security-control/S3.2`,
/// `aws-foundational-security-best-practices/v/1.0.0/S3.2`,
/// `arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.4`,
/// `pci-dss/v/3.2.1/PCI.S3.1`. Other generators (GuardDuty, Inspector) → `None`.
pub fn control_from_generator(generator_id: &str) -> Option<String> {
    let lower = generator_id.to_ascii_lowercase();
    let control_style = lower.starts_with("security-control/")
        || lower.contains("ruleset/")
        || lower.contains("standards/")
        || (lower.contains("/v/") && !lower.contains("guardduty") && !lower.contains("inspector"));
    if !control_style {
        return None;
    }
    let last = generator_id.rsplit('/').next()?.trim();
    let valid = !last.is_empty()
        && last.len() <= 40
        && last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        && last.chars().any(|c| c.is_ascii_digit());
    valid.then(|| last.to_string())
}
