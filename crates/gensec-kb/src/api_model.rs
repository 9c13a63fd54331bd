//! The AWS API model of the operations the catalogue's CLI fixes use
//! (`api-models/*.json`, reduced from botocore's service models by
//! `scripts/kb-reduce-api-models`), and the check every CLI command passes:
//! a known service and operation, known parameters, every required
//! parameter, values of the right type and enum values from the model.
//!
//! A string value `${...}` is a placeholder (resolved later, or filled in by
//! the user) and stands for any scalar.

use crate::controls::CliCommand;
use gensec_data::DataError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/api_model_files.rs"));
}

/// One reduced model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiModelFile {
    pub provenance: BTreeMap<String, String>,
    pub services: Vec<Service>,
}

/// A service as the AWS CLI names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The CLI's service command (`s3api`).
    pub cli_name: String,
    /// botocore's data directory (`s3`).
    pub botocore_service: String,
    pub api_version: String,
    /// The file of the botocore wheel it was read from.
    pub source: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `modify-db-instance`.
    pub cli_name: String,
    /// `ModifyDBInstance`.
    pub name: String,
    pub parameters: Vec<Parameter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// `--db-instance-identifier`.
    pub flag: String,
    /// `DBInstanceIdentifier`.
    pub member: String,
    pub required: bool,
    pub shape: Shape,
}

/// A value's shape; nested members only where the model file kept them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub r#enum: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<BTreeMap<String, Shape>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Box<Shape>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Box<Shape>>,
}

/// The API model: every service of every file.
#[derive(Debug, Clone, Default)]
pub struct ApiModel {
    services: BTreeMap<String, Service>,
    provenance: Vec<BTreeMap<String, String>>,
}

/// Options every AWS CLI command takes (not part of an API model).
pub const GLOBAL_OPTIONS: &[&str] = &["--region", "--profile", "--output"];

impl ApiModel {
    /// Parse model files (`(name, text)`), naming the file and JSON path of
    /// what does not parse.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Self, DataError> {
        let mut model = Self::default();
        for (file, text) in files {
            let parsed: ApiModelFile = gensec_data::parse(file, text)?;
            model.provenance.push(parsed.provenance);
            for service in parsed.services {
                if model.services.contains_key(&service.cli_name) {
                    return Err(DataError::new(
                        file,
                        "$.services",
                        format!("service {} is defined twice", service.cli_name),
                    ));
                }
                model.services.insert(service.cli_name.clone(), service);
            }
        }
        Ok(model)
    }

    /// The embedded model, parsed once.
    pub fn embedded() -> Result<&'static Self, DataError> {
        static MODEL: OnceLock<Result<ApiModel, DataError>> = OnceLock::new();
        MODEL
            .get_or_init(|| Self::from_files(embedded::FILES))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn service(&self, cli_name: &str) -> Option<&Service> {
        self.services.get(cli_name)
    }

    pub fn operation(&self, service: &str, operation: &str) -> Option<&Operation> {
        self.service(service)?
            .operations
            .iter()
            .find(|op| op.cli_name == operation)
    }

    pub fn provenance(&self) -> &[BTreeMap<String, String>] {
        &self.provenance
    }

    /// Number of operations held.
    pub fn operation_count(&self) -> usize {
        self.services.values().map(|s| s.operations.len()).sum()
    }

    /// Check a command against the model; the error names what is wrong.
    pub fn check(&self, command: &CliCommand) -> Result<(), String> {
        let service = self.service(&command.service).ok_or_else(|| {
            format!(
                "aws {}: unknown service (the API model holds {})",
                command.service,
                self.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let operation = service
            .operations
            .iter()
            .find(|op| op.cli_name == command.operation)
            .ok_or_else(|| {
                format!(
                    "aws {} {}: unknown operation",
                    command.service, command.operation
                )
            })?;
        let at = |flag: &str| format!("aws {} {} {flag}", command.service, command.operation);
        let mut given = Vec::new();
        for (flag, value) in &command.arguments {
            if GLOBAL_OPTIONS.contains(&flag.as_str()) {
                continue;
            }
            let parameter = operation
                .parameters
                .iter()
                .find(|p| p.flag == *flag)
                .ok_or_else(|| format!("{}: unknown parameter", at(flag)))?;
            if given.contains(&parameter.member) {
                return Err(format!("{}: given twice", at(flag)));
            }
            given.push(parameter.member.clone());
            // A string parameter holding a JSON document (`--policy '{...}'`,
            // `--security-configuration '{...}'`): the CLI passes the text
            // it is printed as, so an object or array is a valid value.
            let document = parameter.shape.kind == "string"
                && parameter.shape.r#enum.is_empty()
                && (value.is_object() || value.is_array());
            if !document {
                check_value(&parameter.shape, value)
                    .map_err(|err| format!("{}: {err}", at(flag)))?;
            }
        }
        if let Some(missing) = operation
            .parameters
            .iter()
            .find(|p| p.required && !given.contains(&p.member))
        {
            return Err(format!(
                "aws {} {}: missing required parameter {}",
                command.service, command.operation, missing.flag
            ));
        }
        Ok(())
    }
}

/// Is `value` a placeholder (`${...}`) standing for a value not known yet?
pub fn is_placeholder(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.starts_with("${") && s.ends_with('}'))
}

fn check_value(shape: &Shape, value: &Value) -> Result<(), String> {
    if is_placeholder(value) && !matches!(shape.kind.as_str(), "structure" | "list" | "map") {
        return Ok(());
    }
    match (shape.kind.as_str(), value) {
        ("string", Value::String(text)) => {
            if !shape.r#enum.is_empty() && !shape.r#enum.iter().any(|e| e == text) {
                return Err(format!(
                    "{text:?} is not one of {}",
                    shape.r#enum.join(", ")
                ));
            }
            Ok(())
        }
        ("boolean", Value::Bool(_)) => Ok(()),
        ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        ("double" | "float", Value::Number(_)) => Ok(()),
        ("timestamp" | "blob", Value::String(_)) => Ok(()),
        ("structure", Value::Object(fields)) => {
            let Some(members) = &shape.members else {
                return Ok(());
            };
            for (name, inner) in fields {
                let member = members.get(name).ok_or_else(|| {
                    format!(
                        "unknown member {name:?} (known: {})",
                        members.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })?;
                check_value(member, inner).map_err(|err| format!("{name}: {err}"))?;
            }
            if let Some(missing) = shape
                .required
                .iter()
                .flatten()
                .find(|name| !fields.contains_key(*name))
            {
                return Err(format!("missing required member {missing:?}"));
            }
            Ok(())
        }
        ("list", Value::Array(items)) => match &shape.member {
            None => Ok(()),
            Some(member) => items.iter().enumerate().try_for_each(|(i, item)| {
                check_value(member, item).map_err(|err| format!("[{i}]: {err}"))
            }),
        },
        ("map", Value::Object(entries)) => match &shape.value {
            None => Ok(()),
            Some(inner) => entries.iter().try_for_each(|(key, item)| {
                check_value(inner, item).map_err(|err| format!("{key}: {err}"))
            }),
        },
        (kind, other) => Err(format!("expects a {kind}, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::ControlCatalogue;
    use serde_json::json;

    fn command(service: &str, operation: &str, arguments: Value) -> CliCommand {
        CliCommand {
            service: service.into(),
            operation: operation.into(),
            arguments: arguments.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn every_catalogue_command_is_valid_against_the_model() {
        let model = ApiModel::embedded().expect("model loads");
        let catalogue = ControlCatalogue::embedded().expect("catalogue loads");
        let mut checked = 0;
        for control in catalogue.controls() {
            if let Some(remediation) = &control.remediation {
                for cli in &remediation.cli {
                    model
                        .check(cli)
                        .unwrap_or_else(|err| panic!("{}: {err}", control.id));
                    checked += 1;
                }
            }
        }
        assert!(checked >= 40, "only {checked} CLI commands");
        assert!(model.provenance()[0]["licence"].contains("Apache-2.0"));
    }

    #[test]
    fn bad_commands_are_refused_with_the_reason() {
        let model = ApiModel::embedded().expect("model loads");
        let cases = [
            (
                command("rds", "modify-db-instanse", json!({})),
                "unknown operation",
            ),
            (
                command("rdz", "modify-db-instance", json!({})),
                "unknown service",
            ),
            (
                command(
                    "rds",
                    "modify-db-instance",
                    json!({"--db-instance-identifier": "db", "--deletion-protect": true}),
                ),
                "--deletion-protect: unknown parameter",
            ),
            (
                command(
                    "rds",
                    "modify-db-instance",
                    json!({"--deletion-protection": true}),
                ),
                "missing required parameter --db-instance-identifier",
            ),
            (
                command(
                    "iam",
                    "update-access-key",
                    json!({"--access-key-id": "AKIA", "--status": "Disabled"}),
                ),
                "\"Disabled\" is not one of Active, Inactive",
            ),
            (
                command(
                    "rds",
                    "modify-db-instance",
                    json!({"--db-instance-identifier": "db", "--backup-retention-period": "seven"}),
                ),
                "expects a integer",
            ),
            (
                command(
                    "s3api",
                    "put-bucket-versioning",
                    json!({"--bucket": "b", "--versioning-configuration": {"State": "Enabled"}}),
                ),
                "unknown member \"State\"",
            ),
            (
                command(
                    "eks",
                    "update-cluster-version",
                    json!({"--name": "c", "--kubernetes-version": "1.31"}),
                ),
                "--kubernetes-version: unknown parameter",
            ),
        ];
        for (bad, expected) in cases {
            let err = model.check(&bad).expect_err(expected);
            assert!(err.contains(expected), "{err:?} should say {expected:?}");
        }
        // A JSON document for a string-typed parameter is its text.
        let policy = command(
            "events",
            "put-permission",
            json!({"--policy": {"Version": "2012-10-17", "Statement": []}}),
        );
        model
            .check(&policy)
            .expect("a JSON document for a string parameter");
        // Not for an enum, and not for a member inside a structure (the CLI
        // sends the structure as JSON, where the member must be a string).
        let enum_object = command(
            "iam",
            "update-access-key",
            json!({"--access-key-id": "AKIA", "--status": {"Active": true}}),
        );
        assert!(model.check(&enum_object).is_err());
        let good = command(
            "rds",
            "modify-db-instance",
            json!({"--db-instance-identifier": "${fill:DB}", "--deletion-protection": true, "--region": "eu-west-1"}),
        );
        model.check(&good).expect("valid");
    }

    #[test]
    fn a_malformed_model_file_names_file_and_path() {
        let err = ApiModel::from_files(&[(
            "bad.json",
            r#"{"provenance": {}, "services": [{"cli_name": "rds"}]}"#,
        )])
        .expect_err("missing fields");
        assert_eq!(err.file, "bad.json");
        assert!(err.path.starts_with("$.services"), "{err}");
    }
}
