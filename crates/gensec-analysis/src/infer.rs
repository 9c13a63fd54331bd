//! Inference for the long tail: candidate recommendations read off a resource
//! schema by property name and type, for types the catalogue does not cover.
//! Every candidate passes the same checks as catalogue entries and is marked
//! `inferred` so reviewers know it was not curated.

use crate::catalogue::{CatalogueEntry, Condition, RawConfigRule, RawExpectation};
use gensec_core::contract::analysis::{Priority, SecurityDomain, StrideThreat};
use gensec_core::input::ComplianceFramework;
use gensec_kb::model::{JsonType, Property};
use gensec_kb::{Kb, ResourceTypeSchema};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The curated categories (`data/inference.json`).
const CATEGORIES_FILE: &str = "inference.json";

/// The embedded `data/` files.
mod data {
    include!(concat!(env!("OUT_DIR"), "/data_files.rs"));
}

/// One category of inferred setting, as curated in `data/inference.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub domain: SecurityDomain,
    pub stride: StrideThreat,
    pub priority: Priority,
    /// Lower ranks are kept first when inferred candidates must be cut.
    pub rank: u32,
    pub rationale: String,
    /// A Config managed rule for the type whose identifier carries one of these.
    pub config_rule_keywords: Vec<String>,
    pub compliance: BTreeMap<ComplianceFramework, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    #[allow(dead_code)] // read by people curating the file
    about: String,
    categories: Vec<Category>,
}

/// Every curated category, parsed once; a malformed file names file and path.
pub fn categories() -> Result<&'static [Category], String> {
    static PARSED: OnceLock<Result<Vec<Category>, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let file: CategoryFile = gensec_data::parse_named(data::FILES, CATEGORIES_FILE)
                .map_err(|err| err.to_string())?;
            for kind in Kind::ALL {
                if !file.categories.iter().any(|c| c.id == kind.category_id()) {
                    return Err(format!(
                        "{CATEGORIES_FILE}: no category {:?}, which inference recognises",
                        kind.category_id()
                    ));
                }
            }
            Ok(file.categories)
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// The category of an inferred control id (`inferred-<category>`).
pub fn category_of(control_id: &str) -> Option<&'static Category> {
    let id = control_id.strip_prefix(INFERRED_PREFIX)?;
    categories().ok()?.iter().find(|c| c.id == id)
}

/// Control ids of inferred entries start with this, then the category id.
pub const INFERRED_PREFIX: &str = "inferred-";

/// What a heuristic recognised; each kind is one curated category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    EncryptionAtRest,
    EncryptionInTransit,
    KmsKey,
    KmsEncryptionMode,
    DeletionProtection,
    PublicNetworkExposure,
    BlockPublicAccess,
    NetworkIsolation,
    LogRetention,
    BackupRetention,
    KeyRotation,
    SecurityPatching,
    IamAuth,
    Imdsv2,
    Tls,
    AuthType,
    LoggingFlag,
    Versioning,
}

impl Kind {
    const ALL: [Kind; 18] = [
        Kind::EncryptionAtRest,
        Kind::EncryptionInTransit,
        Kind::KmsKey,
        Kind::KmsEncryptionMode,
        Kind::DeletionProtection,
        Kind::PublicNetworkExposure,
        Kind::BlockPublicAccess,
        Kind::NetworkIsolation,
        Kind::LogRetention,
        Kind::BackupRetention,
        Kind::KeyRotation,
        Kind::SecurityPatching,
        Kind::IamAuth,
        Kind::Imdsv2,
        Kind::Tls,
        Kind::AuthType,
        Kind::LoggingFlag,
        Kind::Versioning,
    ];

    fn category_id(self) -> &'static str {
        match self {
            Kind::EncryptionAtRest => "encryption-at-rest",
            Kind::EncryptionInTransit => "encryption-in-transit",
            Kind::KmsKey => "customer-managed-key",
            Kind::KmsEncryptionMode => "kms-encryption-mode",
            Kind::DeletionProtection => "deletion-protection",
            Kind::PublicNetworkExposure => "public-network-exposure",
            Kind::BlockPublicAccess => "block-public-access",
            Kind::NetworkIsolation => "network-isolation",
            Kind::LogRetention => "log-retention",
            Kind::BackupRetention => "backup-retention",
            Kind::KeyRotation => "key-rotation",
            Kind::SecurityPatching => "security-patching",
            Kind::IamAuth => "iam-authentication",
            Kind::Imdsv2 => "instance-metadata-v2",
            Kind::Tls => "tls-policy",
            Kind::AuthType => "authentication-required",
            Kind::LoggingFlag => "service-logging",
            Kind::Versioning => "versioning",
        }
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

/// What a heuristic recognises: the kind, the expectation, the value to set
/// and the condition under which it applies.
type Recognised = (Kind, RawExpectation, Option<Value>, Option<Condition>);

/// The names a heuristic looks at, lower-cased once.
struct Names<'a> {
    /// The property's own name.
    lower: String,
    /// The enclosing property's name (`""` at the top).
    parent_name: String,
    boolean: bool,
    property: &'a Property,
}

/// The heuristic that recognises a property, with its expectation and value.
/// The heuristics are tried in this order; the first that matches decides.
fn recognise(path: &str, property: &Property) -> Option<Recognised> {
    let names = Names {
        lower: leaf(path).to_ascii_lowercase(),
        parent_name: leaf(parent(path)).to_ascii_lowercase(),
        boolean: is(property, JsonType::Boolean),
        property,
    };
    encryption_or_isolation(&names)
        .or_else(|| exposure_or_retention(&names))
        .or_else(|| key_and_patch_hygiene(&names))
        // Last: its heuristics end the search when the property's values
        // hold no protecting one.
        .or_else(|| enumerated_setting(&names))
}

/// Encryption in transit and at rest, network isolation, the KMS key.
fn encryption_or_isolation(names: &Names<'_>) -> Option<Recognised> {
    let lower = &names.lower;
    let parent_name = &names.parent_name;
    let boolean = names.boolean;
    let property = names.property;
    let equals_true = || RawExpectation::Equals(json!(true));
    // Traffic encryption is not storage encryption: checked first.
    let in_transit = ["transit", "intercontainer", "traffic", "nodetonode"]
        .iter()
        .any(|word| lower.contains(word) || parent_name.contains(word));
    if boolean
        && in_transit
        && (lower.contains("encrypt") || parent_name.contains("encrypt"))
        && (lower.contains("enable") || lower.ends_with("encryption") || lower == "enabled")
    {
        return Some((Kind::EncryptionInTransit, equals_true(), None, None));
    }
    if boolean
        && (lower.ends_with("encrypted")
            || (lower.contains("encryption") && lower.contains("enable"))
            || lower == "encryptatrest")
    {
        return Some((Kind::EncryptionAtRest, equals_true(), None, None));
    }
    if boolean
        && matches!(
            lower.as_str(),
            "enablenetworkisolation" | "networkisolation"
        )
    {
        return Some((Kind::NetworkIsolation, equals_true(), None, None));
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
    None
}

/// Deletion protection, public access and exposure, log and backup retention.
fn exposure_or_retention(names: &Names<'_>) -> Option<Recognised> {
    let lower = &names.lower;
    let boolean = names.boolean;
    let property = names.property;
    let equals_true = || RawExpectation::Equals(json!(true));
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
        return Some((Kind::BlockPublicAccess, equals_true(), None, None));
    }
    if boolean
        && matches!(
            lower.as_str(),
            "publiclyaccessible" | "mappubliciponlaunch" | "associatepublicipaddress"
        )
    {
        return Some((
            Kind::PublicNetworkExposure,
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
    None
}

/// Key rotation, minor-version patching, IAM authentication.
fn key_and_patch_hygiene(names: &Names<'_>) -> Option<Recognised> {
    let lower = &names.lower;
    let boolean = names.boolean;
    let equals_true = || RawExpectation::Equals(json!(true));
    if boolean && lower == "enablekeyrotation" {
        return Some((Kind::KeyRotation, equals_true(), None, None));
    }
    if boolean && lower == "autominorversionupgrade" {
        return Some((Kind::SecurityPatching, equals_true(), None, None));
    }
    if boolean && lower.contains("iam") && lower.contains("auth") && lower.contains("enable") {
        return Some((Kind::IamAuth, equals_true(), None, None));
    }
    None
}

/// Settings whose protecting value is one of the property's enumerated
/// values (IMDSv2, TLS policy, auth type, KMS mode, versioning) and the
/// logging flag. A name that matches but has no such value ends the search:
/// `None` for the property.
fn enumerated_setting(names: &Names<'_>) -> Option<Recognised> {
    let lower = &names.lower;
    let parent_name = &names.parent_name;
    let boolean = names.boolean;
    let property = names.property;
    let equals_true = || RawExpectation::Equals(json!(true));
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
    // `...LoginBanner...` is not logging: the parent must name logs, not logins.
    let names_logs = parent_name.contains("logging")
        || parent_name.ends_with("log")
        || parent_name.ends_with("logs")
        || parent_name.contains("logconfig")
        || parent_name.contains("logdelivery")
        || parent_name.contains("logpublishing");
    if boolean && lower == "enabled" && names_logs && !parent_name.contains("login") {
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
            Kind::KmsEncryptionMode,
            RawExpectation::Equals(kms),
            None,
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
fn matching_rule(kb: &Kb, type_name: &str, keywords: &[String]) -> Option<RawConfigRule> {
    let mut matches = kb.config_rules().iter().filter(|rule| {
        rule.resource_types.iter().any(|t| t == type_name)
            && keywords
                .iter()
                .any(|keyword| rule.identifier.contains(keyword.as_str()))
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

/// The deepest property paths inference looks at (`A.B.C.D`).
const MAX_SEGMENTS: usize = 4;

/// Candidate entries for one resource type (none when the category data
/// does not load; its unit test keeps that from shipping).
pub fn candidates(kb: &Kb, schema: &ResourceTypeSchema) -> Vec<CatalogueEntry> {
    let mut out = Vec::new();
    let Ok(categories) = categories() else {
        return out;
    };
    // Deeply nested paths are usually per-item settings a reviewer should
    // decide on; three levels cover the settings that matter service-wide.
    // Paths of more than four segments have more than three dots, so the
    // walk stops there (QuickSight's schemas go far deeper).
    for path in schema.property_paths_within(MAX_SEGMENTS) {
        if path.matches('.').count() > MAX_SEGMENTS - 1 || schema.read_only.contains(&path) {
            continue;
        }
        let Some(property) = schema.resolve(&path).map(|p| schema.deref(p)) else {
            continue;
        };
        let Some((kind, expect, value, applies_when)) = recognise(&path, property) else {
            continue;
        };
        let Some(category) = categories.iter().find(|c| c.id == kind.category_id()) else {
            continue;
        };
        let key = path
            .replace("[]", "")
            .replace('.', "-")
            .to_ascii_lowercase();
        out.push(CatalogueEntry {
            control_id: format!("{INFERRED_PREFIX}{}", category.id),
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
            domain: category.domain,
            stride: category.stride,
            priority: category.priority,
            rationale: format!(
                "Inferred from the {} schema (not curated; review it): {}",
                schema.type_name, category.rationale
            ),
            config_rule: matching_rule(kb, &schema.type_name, &category.config_rule_keywords),
            security_hub: Vec::new(),
            compliance: category.compliance.clone(),
            preventive: None,
            applies_when,
            when_set: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_load_and_cover_every_kind() {
        let categories = categories().unwrap();
        assert_eq!(categories.len(), Kind::ALL.len());
        for category in categories {
            assert!(!category.compliance.is_empty(), "{}", category.id);
            assert!(
                category.stride != StrideThreat::Repudiation
                    || category.domain == SecurityDomain::LoggingAndMonitoring,
                "{}: only logging answers repudiation",
                category.id
            );
        }
    }

    #[test]
    fn malformed_category_file_names_file_and_path() {
        let err = gensec_data::parse::<CategoryFile>(
            CATEGORIES_FILE,
            r#"{"about": "", "categories": [{"id": "x", "domain": "nowhere"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.file, CATEGORIES_FILE);
        assert!(
            err.path.starts_with("$.categories[0].domain"),
            "{}",
            err.path
        );
    }

    fn property(types: &[JsonType]) -> Property {
        Property {
            types: types.to_vec(),
            ..Property::default()
        }
    }

    #[test]
    fn curated_fixes_hold() {
        let boolean = property(&[JsonType::Boolean]);
        // A Client VPN login banner is not logging.
        assert!(recognise("ClientLoginBannerOptions.Enabled", &boolean).is_none());
        assert_eq!(
            recognise("LoggingConfig.Enabled", &boolean).map(|r| r.0),
            Some(Kind::LoggingFlag)
        );
        // Inter-container traffic encryption is in transit, not at rest.
        assert_eq!(
            recognise("EnableInterContainerTrafficEncryption", &boolean).map(|r| r.0),
            Some(Kind::EncryptionInTransit)
        );
        assert_eq!(
            recognise("StorageEncrypted", &boolean).map(|r| r.0),
            Some(Kind::EncryptionAtRest)
        );
        // Block-public-access is access control, not a network control.
        assert_eq!(
            recognise("PublicAccessBlockConfiguration.BlockPublicPolicy", &boolean).map(|r| r.0),
            Some(Kind::BlockPublicAccess)
        );
        let categories = categories().unwrap();
        let find = |id: &str| categories.iter().find(|c| c.id == id).unwrap();
        assert_eq!(
            find("block-public-access").domain,
            SecurityDomain::IdentityAndAccess
        );
        assert!(
            !find("block-public-access").compliance[&ComplianceFramework::PciDss]
                .contains(&"1.3.1".to_string())
        );
        assert!(
            !find("encryption-in-transit").compliance[&ComplianceFramework::PciDss]
                .contains(&"3.5.1".to_string())
        );
        assert!(!find("service-logging").compliance.is_empty());
        // Tags are no inference category: they are one catalogue control.
        assert!(recognise("Tags", &property(&[JsonType::Array])).is_none());
    }
}
