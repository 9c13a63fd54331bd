//! The curated facts the IaC stage ships (`data/*.json`), parsed once; a
//! malformed file is an error naming the file and JSON path, never a default.

use crate::deployable::Deployable;
use gensec_data::DataError;
use serde::Deserialize;
use serde_json::Value;
use std::sync::LazyLock;

include!(concat!(env!("OUT_DIR"), "/data_files.rs"));

/// Properties the schemas require only conditionally (cfn-lint knows these
/// rules): set when a recommendation opened the resource without them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    pub resource_type: String,
    pub property: String,
    pub value: Value,
    /// For the reader of the file and the template's reviewer.
    pub why: String,
}

/// How the services of a namespace use a customer-managed key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUsage {
    /// CloudFormation namespace (`AWS::CloudTrail`).
    pub namespace: String,
    /// Endpoint prefixes for `kms:ViaService`.
    pub via_services: Vec<String>,
    /// A service that uses the key as its own principal instead.
    #[serde(default)]
    pub service_principal: Option<ServicePrincipalUse>,
    pub why: String,
    pub source: String,
}

/// A service principal's key use, limited by the encryption context to this
/// account's resources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalUse {
    /// May hold `${AWS::Region}`.
    pub principal: String,
    /// Actions that carry the encryption context.
    pub actions: Vec<String>,
    /// Actions without one (`kms:DescribeKey`), limited by `aws:SourceAccount`.
    pub describe_actions: Vec<String>,
    /// `kms:EncryptionContext:<key>`.
    pub context_key: String,
    /// ARN pattern of the account's resources, with pseudo parameters.
    pub context_arn: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUsageFile {
    /// How a namespace without an entry uses a key.
    pub default_rule: String,
    pub services: Vec<KeyUsage>,
}

/// Everything under `data/`.
#[derive(Debug, Clone)]
pub struct Curated {
    pub companions: Vec<Companion>,
    pub key_usage: KeyUsageFile,
    pub deployable: Deployable,
}

impl Curated {
    /// The curated key use of a namespace, when it is not the default.
    pub fn key_usage(&self, namespace: &str) -> Option<&KeyUsage> {
        self.key_usage
            .services
            .iter()
            .find(|usage| usage.namespace.eq_ignore_ascii_case(namespace))
    }
}

fn load() -> Result<Curated, DataError> {
    Ok(Curated {
        companions: gensec_data::parse_named(FILES, "companions.json")?,
        key_usage: gensec_data::parse_named(FILES, "kms-key-usage.json")?,
        deployable: gensec_data::parse_named(FILES, "deployable.json")?,
    })
}

static CURATED: LazyLock<Result<Curated, DataError>> = LazyLock::new(load);

/// The IaC stage's curated data.
pub fn curated() -> Result<&'static Curated, DataError> {
    CURATED.as_ref().map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_data_file_parses() {
        let curated = load().unwrap();
        assert!(!curated.companions.is_empty());
        assert!(curated.key_usage("AWS::CloudTrail").is_some());
        assert!(curated.deployable.of("AWS::RDS::DBInstance").is_some());
        assert_eq!(FILES.len(), 3, "a data file nothing loads");
    }

    #[test]
    fn a_malformed_file_names_the_file_and_path() {
        let err = gensec_data::parse::<KeyUsageFile>(
            "kms-key-usage.json",
            r#"{"default_rule": "x", "services": [{"namespace": 3}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.file, "kms-key-usage.json");
        assert!(err.path.contains("services"), "{err}");
    }
}
