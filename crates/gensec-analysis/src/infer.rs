//! Inference for the long tail: candidate recommendations read off a resource
//! schema by property name and type, for types the catalogue does not cover.
//! Every candidate passes the same checks as catalogue entries and is marked
//! `inferred` so reviewers know it was not curated.

use crate::catalogue::{CatalogueEntry, Condition, RawConfigRule, RawExpectation};
use gensec_core::contract::analysis::{Priority, SecurityDomain, StrideThreat};
use gensec_core::input::ComplianceFramework;
use gensec_kb::model::{JsonType, Property};
use gensec_kb::{Kb, ResourceTypeSchema};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What a heuristic recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    EncryptionFlag,
    KmsKey,
    DeletionProtection,
    PublicExposure,
    LogRetention,
    BackupRetention,
    KeyRotation,
    MultiAz,
    MinorUpgrades,
    IamAuth,
    Imdsv2,
    Tls,
    AuthType,
    LoggingFlag,
    Versioning,
    KmsEncryptionType,
    Ownership,
}

impl Kind {
    fn describe(
        self,
    ) -> (
        SecurityDomain,
        StrideThreat,
        Priority,
        &'static str,
        &'static [&'static str],
    ) {
        use Kind::*;
        use Priority::*;
        use SecurityDomain::*;
        use StrideThreat::*;
        match self {
            EncryptionFlag => (
                DataProtection,
                InformationDisclosure,
                High,
                "Turns on encryption the service offers but does not force, so stored data is unreadable without key access.",
                &["ENCRYPT"],
            ),
            KmsKey => (
                DataProtection,
                InformationDisclosure,
                High,
                "Names the organisation's customer-managed key so key policy and CloudTrail govern every decryption.",
                &["KMS", "CMK"],
            ),
            DeletionProtection => (
                Resilience,
                DenialOfService,
                Medium,
                "Stops a single mistaken or malicious delete call from destroying the resource and its data.",
                &["DELETION_PROTECTION"],
            ),
            PublicExposure => (
                Network,
                InformationDisclosure,
                High,
                "Keeps the resource off the public internet so only traffic from inside the network can reach it.",
                &["PUBLIC"],
            ),
            LogRetention => (
                LoggingAndMonitoring,
                Repudiation,
                Medium,
                "Keeps logs for the period the profile requires, so investigations and audits have the evidence they need.",
                &["RETENTION"],
            ),
            BackupRetention => (
                Resilience,
                DenialOfService,
                Medium,
                "Keeps automated backups long enough to recover from corruption noticed days later.",
                &["BACKUP"],
            ),
            KeyRotation => (
                DataProtection,
                InformationDisclosure,
                Medium,
                "Rotates key material regularly, limiting how much data one compromised key version exposes.",
                &["ROTATION"],
            ),
            MultiAz => (
                Resilience,
                DenialOfService,
                Medium,
                "Spreads the resource over availability zones so one zone failing does not take it down.",
                &["MULTI_AZ"],
            ),
            MinorUpgrades => (
                ConfigurationManagement,
                Tampering,
                Low,
                "Lets the service apply minor engine patches, which usually carry security fixes.",
                &["AUTO_MINOR"],
            ),
            IamAuth => (
                IdentityAndAccess,
                Spoofing,
                Medium,
                "Uses IAM for authentication, replacing long-lived passwords with short-lived, auditable credentials.",
                &["IAM"],
            ),
            Imdsv2 => (
                IdentityAndAccess,
                ElevationOfPrivilege,
                High,
                "Requires session tokens for instance metadata, blocking credential theft through request forgery.",
                &["IMDSV2", "METADATA"],
            ),
            Tls => (
                DataProtection,
                InformationDisclosure,
                High,
                "Refuses outdated TLS versions so traffic cannot be downgraded to ciphers with known weaknesses.",
                &["TLS", "SSL", "HTTPS"],
            ),
            AuthType => (
                IdentityAndAccess,
                Spoofing,
                High,
                "Requires callers to authenticate instead of allowing anonymous invocation.",
                &["AUTH"],
            ),
            LoggingFlag => (
                LoggingAndMonitoring,
                Repudiation,
                Medium,
                "Turns on the service's own logging so actions on the resource leave a trail.",
                &["LOG"],
            ),
            Versioning => (
                Resilience,
                Tampering,
                Medium,
                "Keeps earlier versions so overwrites and deletions can be undone.",
                &["VERSION"],
            ),
            KmsEncryptionType => (
                DataProtection,
                InformationDisclosure,
                High,
                "Selects AWS KMS as the encryption mode, so key policies and CloudTrail govern access to the data.",
                &["ENCRYPT", "KMS"],
            ),
            Ownership => (
                ConfigurationManagement,
                Repudiation,
                Low,
                "Tags each resource with an accountable owner, which inventory, cost and incident response all depend on.",
                &["REQUIRED_TAGS"],
            ),
        }
    }

    fn compliance(self) -> BTreeMap<ComplianceFramework, Vec<String>> {
        use ComplianceFramework::*;
        use Kind::*;
        let refs: &[(ComplianceFramework, &[&str])] = match self {
            EncryptionFlag | KmsKey | KeyRotation => &[
                (Nist80053, &["SC-28", "SC-12"]),
                (PciDss, &["3.5.1"]),
                (Soc2, &["CC6.1"]),
                (Gdpr, &["Art. 32(1)(a)"]),
                (Hipaa, &["164.312(a)(2)(iv)"]),
                (Iso27001, &["A.8.24"]),
            ],
            Tls => &[
                (Nist80053, &["SC-8", "SC-13"]),
                (PciDss, &["4.2.1"]),
                (Soc2, &["CC6.7"]),
                (Gdpr, &["Art. 32(1)(a)"]),
                (Hipaa, &["164.312(e)(1)"]),
                (Iso27001, &["A.8.24"]),
            ],
            PublicExposure => &[
                (Nist80053, &["AC-3", "SC-7"]),
                (PciDss, &["1.3.1"]),
                (Soc2, &["CC6.6"]),
                (Gdpr, &["Art. 32(1)(b)"]),
                (Hipaa, &["164.312(a)(1)"]),
                (Iso27001, &["A.8.20"]),
            ],
            IamAuth | AuthType | Imdsv2 => &[
                (Nist80053, &["IA-2", "AC-3"]),
                (PciDss, &["8.2.1"]),
                (Soc2, &["CC6.1"]),
                (Gdpr, &["Art. 32(1)(b)"]),
                (Hipaa, &["164.312(d)"]),
                (Iso27001, &["A.8.5"]),
            ],
            LogRetention | LoggingFlag => &[
                (Nist80053, &["AU-2", "AU-11", "AU-12"]),
                (PciDss, &["10.2.1", "10.5.1"]),
                (Soc2, &["CC7.2"]),
                (Gdpr, &["Art. 30"]),
                (Hipaa, &["164.312(b)"]),
                (Iso27001, &["A.8.15"]),
            ],
            DeletionProtection | BackupRetention | MultiAz | Versioning => &[
                (Nist80053, &["CP-9", "CP-10"]),
                (PciDss, &["12.10.1"]),
                (Soc2, &["A1.2"]),
                (Gdpr, &["Art. 32(1)(c)"]),
                (Hipaa, &["164.308(a)(7)"]),
                (Iso27001, &["A.8.13", "A.8.14"]),
            ],
            Ownership => &[
                (Nist80053, &["CM-8", "PM-5"]),
                (PciDss, &["12.5.1"]),
                (Soc2, &["CC6.1"]),
                (Iso27001, &["A.5.9"]),
            ],
            KmsEncryptionType => &[
                (Nist80053, &["SC-28", "SC-12"]),
                (PciDss, &["3.5.1"]),
                (Soc2, &["CC6.1"]),
                (Gdpr, &["Art. 32(1)(a)"]),
                (Hipaa, &["164.312(a)(2)(iv)"]),
                (Iso27001, &["A.8.24"]),
            ],
            MinorUpgrades => &[
                (Nist80053, &["SI-2"]),
                (PciDss, &["6.3.3"]),
                (Soc2, &["CC7.1"]),
                (Hipaa, &["164.308(a)(1)"]),
                (Iso27001, &["A.8.8"]),
            ],
        };
        refs.iter()
            .map(|(framework, ids)| (*framework, ids.iter().map(|id| id.to_string()).collect()))
            .collect()
    }
}

fn leaf(path: &str) -> &str {
    path.rsplit('.')
        .next()
        .unwrap_or(path)
        .trim_end_matches("[]")
}

fn parent(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(parent, _)| parent)
}

fn is(property: &Property, json_type: JsonType) -> bool {
    property.types.contains(&json_type)
}

fn enum_value(property: &Property, wanted: &str) -> Option<Value> {
    property
        .enum_values
        .iter()
        .find(|value| value.trim_matches('"').eq_ignore_ascii_case(wanted))
        .and_then(|value| serde_json::from_str(value).ok())
}

/// TLS policy values that allow only TLS 1.2 or newer.
fn strict_tls_values(property: &Property) -> Vec<Value> {
    property
        .enum_values
        .iter()
        .filter(|value| {
            let text = value.to_ascii_uppercase();
            ["1_2", "1.2", "1-2", "TLS12", "1_3", "1.3", "1-3", "TLS13"]
                .iter()
                .any(|marker| text.contains(marker))
        })
        .filter_map(|value| serde_json::from_str(value).ok())
        .collect()
}

/// The heuristic that recognises a property, with its expectation and value.
fn recognise(
    path: &str,
    property: &Property,
) -> Option<(Kind, RawExpectation, Option<Value>, Option<Condition>)> {
    let name = leaf(path);
    let parent_name = leaf(parent(path)).to_ascii_lowercase();
    let lower = name.to_ascii_lowercase();
    let boolean = is(property, JsonType::Boolean);
    let equals_true = || RawExpectation::Equals(json!(true));
    if boolean
        && (lower.ends_with("encrypted")
            || (lower.contains("encryption") && lower.contains("enable"))
            || lower == "encryptatrest")
    {
        return Some((Kind::EncryptionFlag, equals_true(), None, None));
    }
    if is(property, JsonType::String)
        && (lower.ends_with("kmskeyid")
            || lower.ends_with("kmskeyarn")
            || lower == "kmsmasterkeyid"
            || lower == "kmskey"
            || lower == "kmskeyidentifier")
    {
        return Some((
            Kind::KmsKey,
            RawExpectation::Present(true),
            Some(json!("$profile:kms_key")),
            Some(Condition::CustomerManagedKeys),
        ));
    }
    if boolean
        && matches!(
            lower.as_str(),
            "deletionprotection"
                | "deletionprotectionenabled"
                | "terminationprotection"
                | "enableterminationprotection"
        )
    {
        return Some((Kind::DeletionProtection, equals_true(), None, None));
    }
    if boolean
        && matches!(
            lower.as_str(),
            "blockpublicacls" | "blockpublicpolicy" | "ignorepublicacls" | "restrictpublicbuckets"
        )
    {
        return Some((Kind::PublicExposure, equals_true(), None, None));
    }
    if boolean
        && matches!(
            lower.as_str(),
            "publiclyaccessible" | "mappubliciponlaunch" | "associatepublicipaddress"
        )
    {
        return Some((
            Kind::PublicExposure,
            RawExpectation::Equals(json!(false)),
            None,
            None,
        ));
    }
    if is(property, JsonType::Integer)
        && (lower == "retentionindays" || lower == "logretentionindays")
    {
        let token = json!("$profile:log_retention_days");
        return Some((
            Kind::LogRetention,
            RawExpectation::AtLeast(token.clone()),
            Some(token),
            None,
        ));
    }
    if is(property, JsonType::Integer) && lower == "backupretentionperiod" {
        return Some((
            Kind::BackupRetention,
            RawExpectation::AtLeast(json!(7)),
            Some(json!(7)),
            Some(Condition::ProductionLike),
        ));
    }
    if boolean && lower == "enablekeyrotation" {
        return Some((Kind::KeyRotation, equals_true(), None, None));
    }
    if boolean && lower == "multiaz" {
        return Some((
            Kind::MultiAz,
            equals_true(),
            None,
            Some(Condition::ProductionLike),
        ));
    }
    if boolean && lower == "autominorversionupgrade" {
        return Some((Kind::MinorUpgrades, equals_true(), None, None));
    }
    if boolean && lower.contains("iam") && lower.contains("auth") && lower.contains("enable") {
        return Some((Kind::IamAuth, equals_true(), None, None));
    }
    if lower == "httptokens" {
        let required = enum_value(property, "required")?;
        return Some((Kind::Imdsv2, RawExpectation::Equals(required), None, None));
    }
    if matches!(
        lower.as_str(),
        "minimumtlsversion"
            | "tlssecuritypolicy"
            | "tlspolicy"
            | "sslpolicy"
            | "securitypolicy"
            | "minimumprotocolversion"
            | "tlsversion"
    ) {
        let strict = strict_tls_values(property);
        let first = strict.first().cloned()?;
        return Some((Kind::Tls, RawExpectation::OneOf(strict), Some(first), None));
    }
    if matches!(lower.as_str(), "authtype" | "authorizationtype") {
        let iam = enum_value(property, "AWS_IAM")?;
        return Some((Kind::AuthType, RawExpectation::Equals(iam), None, None));
    }
    if boolean
        && lower == "enabled"
        && (parent_name.contains("logging") || parent_name.contains("log"))
    {
        return Some((Kind::LoggingFlag, equals_true(), None, None));
    }
    if is(property, JsonType::String)
        && lower.contains("encryption")
        && !property.enum_values.is_empty()
    {
        let kms = property
            .enum_values
            .iter()
            .find(|value| value.to_ascii_uppercase().contains("KMS"))
            .and_then(|value| serde_json::from_str::<Value>(value).ok())?;
        return Some((
            Kind::KmsEncryptionType,
            RawExpectation::Equals(kms),
            None,
            None,
        ));
    }
    if path == "Tags" {
        let value = if is(property, JsonType::Array) {
            json!([{"Key": "Owner", "Value": {"Ref": "OwnerTag"}}])
        } else if is(property, JsonType::Object) && property.open_keys {
            json!({"Owner": {"Ref": "OwnerTag"}})
        } else {
            return None;
        };
        return Some((
            Kind::Ownership,
            RawExpectation::Present(true),
            Some(value),
            None,
        ));
    }
    if lower == "status" && parent_name.contains("versioning") {
        let enabled = enum_value(property, "Enabled")?;
        return Some((
            Kind::Versioning,
            RawExpectation::Equals(enabled),
            None,
            None,
        ));
    }
    None
}

/// A Config rule for this type whose name carries the heuristic's keyword,
/// when exactly one does (anything vaguer is left to the reviewer). Only a
/// rule without required parameters: an inferred entry sets none, and a
/// required parameter's default in the rule data is the console's example,
/// which CloudFormation does not fill in (REQUIRED_TAGS without `tag1Key`).
fn matching_rule(kb: &Kb, type_name: &str, keywords: &[&str]) -> Option<RawConfigRule> {
    let mut matches = kb.config_rules().iter().filter(|rule| {
        rule.resource_types.iter().any(|t| t == type_name)
            && keywords
                .iter()
                .any(|keyword| rule.identifier.contains(keyword))
            && rule.parameters.iter().all(|p| p.optional)
    });
    let first = matches.next()?;
    if matches.next().is_some() {
        return None;
    }
    Some(RawConfigRule {
        identifier: first.identifier.clone(),
        parameters: BTreeMap::new(),
    })
}

/// Candidate entries for one resource type.
pub fn candidates(kb: &Kb, schema: &ResourceTypeSchema) -> Vec<CatalogueEntry> {
    let mut out = Vec::new();
    for path in schema.property_paths() {
        // Deeply nested paths are usually per-item settings a reviewer should
        // decide on; three levels cover the settings that matter service-wide.
        if path.matches('.').count() > 3 || schema.read_only.contains(&path) {
            continue;
        }
        let Some(property) = schema.resolve(&path).map(|p| schema.deref(p)) else {
            continue;
        };
        let Some((kind, expect, value, applies_when)) = recognise(&path, property) else {
            continue;
        };
        let (domain, stride, priority, why, keywords) = kind.describe();
        let key = path
            .replace("[]", "")
            .replace('.', "-")
            .to_ascii_lowercase();
        out.push(CatalogueEntry {
            control_id: format!("inferred-{}", key),
            resource_type: schema.type_name.clone(),
            title: format!(
                "{}: {}",
                path.replace("[]", ""),
                match &expect {
                    RawExpectation::Equals(v) => format!("set to {v}"),
                    RawExpectation::OneOf(_) => "use a TLS 1.2+ policy".to_string(),
                    RawExpectation::AtLeast(_) => "at least the required period".to_string(),
                    RawExpectation::AtMost(_) => "at most the allowed period".to_string(),
                    _ => "set".to_string(),
                }
            ),
            key,
            property: path.clone(),
            expect,
            value,
            domain,
            stride,
            priority,
            rationale: format!("Inferred from the {} schema: {why}", schema.type_name),
            config_rule: matching_rule(kb, &schema.type_name, keywords),
            security_hub: Vec::new(),
            compliance: kind.compliance(),
            preventive: None,
            applies_when,
        });
    }
    out
}
