//! The AWS API model of the operations the catalogue's CLI fixes use
//! (`api-models/*.json`, reduced from botocore's service models by
//! `scripts/kb-reduce-api-models`), and the check every CLI command passes:
//! a known service and operation, known parameters, every required
//! parameter, values of the right type and enum values from the model.
//!
//! A string value `${...}` is a placeholder (resolved later, or filled in by
//! the user) and stands for any scalar.

use crate::controls::{CliCommand, PolicyMerge, ReadModifyWrite};
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
    /// Output members, kept only for the reads of read-modify-write fixes
    /// (and within them only the paths those fixes change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<BTreeMap<String, Shape>>,
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
    /// The structure keeps only some of its members (the paths a
    /// read-modify-write fix changes): a path can be checked, a whole value
    /// cannot.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
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
        self.check_given(command, &[])
    }

    /// [`Self::check`] with some members given another way (the whole input
    /// of `--cli-input-json`): they count as given for the required check.
    pub fn check_given(&self, command: &CliCommand, preset: &[String]) -> Result<(), String> {
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
        let mut given: Vec<String> = Vec::new();
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
            // A structure, list or map read from a file (`file://config.json`,
            // written by the step before): the CLI loads it as JSON.
            let file = matches!(parameter.shape.kind.as_str(), "structure" | "list" | "map")
                && value
                    .as_str()
                    .and_then(|v| v.strip_prefix("file://"))
                    .is_some_and(|f| !f.is_empty());
            if !document && !file {
                check_value(&parameter.shape, value)
                    .map_err(|err| format!("{}: {err}", at(flag)))?;
            }
        }
        if let Some(missing) = operation
            .parameters
            .iter()
            .find(|p| p.required && !given.contains(&p.member) && !preset.contains(&p.member))
        {
            return Err(format!(
                "aws {} {}: missing required parameter {}",
                command.service, command.operation, missing.flag
            ));
        }
        Ok(())
    }
}

impl ApiModel {
    /// Check a read-modify-write fix: the read and the write (given the
    /// token and `file://` configuration) against the model, the read's
    /// output holding the configuration and token members, and every `set`
    /// path present with the same type in both the read's configuration and
    /// the write's parameter, the value (and `only_if`) valid for it.
    /// A fix's read checked against the model, with its place in messages
    /// (`aws SERVICE OPERATION`) and the output members the model keeps.
    fn checked_read(&self, get: &CliCommand) -> Result<(String, &BTreeMap<String, Shape>), String> {
        self.check(get)?;
        let at = format!("aws {} {}", get.service, get.operation);
        let output = self
            .operation(&get.service, &get.operation)
            .and_then(|op| op.output.as_ref())
            .ok_or_else(|| {
                format!(
                    "{at}: the model keeps no output shape (rerun scripts/kb-reduce-api-models)"
                )
            })?;
        Ok((at, output))
    }

    pub fn check_read_modify_write(&self, rmw: &ReadModifyWrite) -> Result<(), String> {
        if rmw.whole_input.is_some() {
            return self.check_whole_input(rmw);
        }
        let (at, output) = self.checked_read(&rmw.get)?;
        let read = output
            .get(&rmw.read)
            .ok_or_else(|| format!("{at}: no output member {:?}", rmw.read))?;
        let mut update = rmw.update.clone();
        if let Some(token) = &rmw.token {
            let shape = output
                .get(&token.read)
                .ok_or_else(|| format!("{at}: no output member {:?}", token.read))?;
            if shape.kind != "string" {
                return Err(format!(
                    "{at}: {} is a {}, not a token",
                    token.read, shape.kind
                ));
            }
            update
                .arguments
                .insert(token.flag.clone(), Value::String("${token}".into()));
        }
        for flag in [Some(&rmw.write), rmw.token.as_ref().map(|t| &t.flag)]
            .into_iter()
            .flatten()
        {
            if rmw.update.arguments.contains_key(flag) {
                return Err(format!(
                    "aws {} {} {flag}: set by the read-modify-write itself",
                    rmw.update.service, rmw.update.operation
                ));
            }
        }
        update.arguments.insert(
            rmw.write.clone(),
            Value::String(format!("file://{CONFIG_FILE}")),
        );
        self.check(&update)?;
        let write = self
            .operation(&update.service, &update.operation)
            .and_then(|op| op.parameters.iter().find(|p| p.flag == rmw.write))
            .ok_or("the write parameter is not in the model")?;
        if rmw.set.is_empty() {
            return Err("a read-modify-write fix changes at least one setting".into());
        }
        for setting in &rmw.set {
            let steps = parse_path(&setting.path)?;
            for (side, root) in [
                (at.clone(), read),
                (
                    format!("aws {} {} {}", update.service, update.operation, rmw.write),
                    &write.shape,
                ),
            ] {
                let leaf = walk(root, &steps)
                    .map_err(|err| format!("{side}: path {}: {err}", setting.path))?;
                for value in std::iter::once(&setting.value).chain(&setting.only_if) {
                    check_value(leaf, value)
                        .map_err(|err| format!("{side}: path {}: {err}", setting.path))?;
                }
            }
        }
        Ok(())
    }
}

impl ApiModel {
    /// Check a whole-input read-modify-write: the read against the model,
    /// its configuration member a structure the model keeps whole; every
    /// kept member a member of that configuration and a parameter of the
    /// write with the same type, every parameter of the write the
    /// configuration holds kept (nothing the resource has is reset), every
    /// `beside` member an output member of the read and a parameter of the
    /// write of the same type, every `take` path a value of the read of the
    /// write member's type, every `drop` path inside a kept member, the write (`--cli-input-json file://`, its
    /// required members kept or beside) against the model, and every `set`
    /// path present with the same type on both sides, its value valid.
    fn check_whole_input(&self, rmw: &ReadModifyWrite) -> Result<(), String> {
        let whole = rmw.whole_input.as_ref().ok_or("not a whole-input fix")?;
        let (at, output) = self.checked_read(&rmw.get)?;
        // `.`: the read's whole output is the configuration (the reducer
        // keeps every output member of such a read).
        let whole_output = Shape {
            kind: "structure".into(),
            r#enum: Vec::new(),
            required: None,
            members: Some(output.clone()),
            member: None,
            value: None,
            partial: false,
        };
        let read = if rmw.read == WHOLE_OUTPUT {
            &whole_output
        } else {
            output
                .get(&rmw.read)
                .ok_or_else(|| format!("{at}: no output member {:?}", rmw.read))?
        };
        let members = match (&read.members, read.partial) {
            (Some(members), false) if read.kind == "structure" => members,
            _ => {
                return Err(format!(
                    "{at}: {} is not a structure the model keeps whole",
                    rmw.read
                ));
            }
        };
        if rmw.read == WHOLE_OUTPUT && !whole.beside.is_empty() {
            return Err("a whole-output read has nothing beside it".into());
        }
        if rmw.write != WHOLE_INPUT_FLAG || rmw.token.is_some() {
            return Err(format!(
                "a whole-input write takes {WHOLE_INPUT_FLAG} and no token"
            ));
        }
        if rmw.update.arguments.contains_key(WHOLE_INPUT_FLAG) {
            return Err(format!(
                "aws {} {} {WHOLE_INPUT_FLAG}: set by the read-modify-write itself",
                rmw.update.service, rmw.update.operation
            ));
        }
        let update_at = format!("aws {} {}", rmw.update.service, rmw.update.operation);
        let write = self
            .operation(&rmw.update.service, &rmw.update.operation)
            .ok_or_else(|| format!("{update_at}: unknown operation"))?;
        let parameter = |member: &str| write.parameters.iter().find(|p| p.member == member);
        if whole.keep.is_empty() {
            return Err("a whole-input write keeps at least one member".into());
        }
        // Every member passed on, with the read's shape it comes from.
        let mut sources: Vec<(&String, &Shape, String)> = Vec::new();
        for (member, from) in whole
            .keep
            .iter()
            .map(|m| (m, members.get(m)))
            .chain(whole.beside.iter().map(|m| (m, output.get(m))))
        {
            let from = from.ok_or_else(|| format!("{at}: no member {member:?} to pass on"))?;
            sources.push((member, from, "in the read".into()));
        }
        for (member, path) in &whole.take {
            let steps = parse_path(path)?;
            if steps.iter().any(|s| !matches!(s, PathStep::Member(_))) {
                return Err(format!("take {member}: {path} is not a path to one value"));
            }
            let from = walk(read, &steps).map_err(|err| format!("{at}: take {path}: {err}"))?;
            sources.push((member, from, format!("at {path} in the read")));
        }
        let mut passed = Vec::new();
        for (member, from, found) in sources {
            let to = parameter(member)
                .ok_or_else(|| format!("{update_at}: no input member {member:?}"))?;
            if from.kind != to.shape.kind {
                return Err(format!(
                    "{member}: a {} {found}, a {} in the write",
                    from.kind, to.shape.kind
                ));
            }
            if passed.contains(member) || rmw.update.arguments.contains_key(&to.flag) {
                return Err(format!("{update_at}: {member} is given twice"));
            }
            passed.push(member.clone());
        }
        for path in &whole.drop {
            let steps = parse_path(path)?;
            if !matches!(steps.first(), Some(PathStep::Member(m) | PathStep::Each(m) | PathStep::Present(m)) if whole.keep.contains(m))
            {
                return Err(format!("drop {path}: not inside a kept member"));
            }
            walk(read, &steps).map_err(|err| format!("{at}: drop {path}: {err}"))?;
        }
        if let Some(dropped) = write
            .parameters
            .iter()
            .find(|p| members.contains_key(&p.member) && !passed.contains(&p.member))
        {
            return Err(format!(
                "{update_at}: {} is held by the read but not kept (the write would reset it)",
                dropped.member
            ));
        }
        self.check_given(&rmw.update, &passed)?;
        if rmw.set.is_empty() {
            return Err("a read-modify-write fix changes at least one setting".into());
        }
        let input = Shape {
            kind: "structure".into(),
            r#enum: Vec::new(),
            required: None,
            members: Some(
                write
                    .parameters
                    .iter()
                    .filter(|p| passed.contains(&p.member))
                    .map(|p| (p.member.clone(), p.shape.clone()))
                    .collect(),
            ),
            member: None,
            value: None,
            partial: false,
        };
        for setting in &rmw.set {
            let steps = parse_path(&setting.path)?;
            if !matches!(steps.first(), Some(PathStep::Member(m) | PathStep::Each(m) | PathStep::Present(m)) if whole.keep.contains(m))
            {
                return Err(format!("path {}: not inside a kept member", setting.path));
            }
            for (side, root) in [(at.clone(), read), (update_at.clone(), &input)] {
                let leaf = walk(root, &steps)
                    .map_err(|err| format!("{side}: path {}: {err}", setting.path))?;
                for value in std::iter::once(&setting.value).chain(&setting.only_if) {
                    check_value(leaf, value)
                        .map_err(|err| format!("{side}: path {}: {err}", setting.path))?;
                }
            }
        }
        Ok(())
    }
}

/// The CLI option taking a command's whole input as JSON.
pub const WHOLE_INPUT_FLAG: &str = "--cli-input-json";

/// The `read` of a whole-input fix whose read returns the configuration as
/// its whole output (`describe-identity-pool`).
pub const WHOLE_OUTPUT: &str = ".";

impl ApiModel {
    /// Check a policy merge: the read and the write (given the policy as
    /// `file://`) against the model, the read's output member and the write
    /// parameter both strings (a policy document held as JSON text), and the
    /// statement against the policy grammar ([`check_statement`]).
    pub fn check_policy_merge(&self, merge: &PolicyMerge) -> Result<(), String> {
        let (at, output) = self.checked_read(&merge.get)?;
        let read = output
            .get(&merge.read)
            .ok_or_else(|| format!("{at}: no output member {:?}", merge.read))?;
        if read.kind != "string" {
            return Err(format!(
                "{at}: {} is a {}, not a policy document",
                merge.read, read.kind
            ));
        }
        if merge.update.arguments.contains_key(&merge.write) {
            return Err(format!(
                "aws {} {} {}: set by the policy merge itself",
                merge.update.service, merge.update.operation, merge.write
            ));
        }
        let mut update = merge.update.clone();
        update.arguments.insert(
            merge.write.clone(),
            Value::String(format!("file://{POLICY_FILE}")),
        );
        self.check(&update)?;
        let write = self
            .operation(&update.service, &update.operation)
            .and_then(|op| op.parameters.iter().find(|p| p.flag == merge.write))
            .ok_or("the write parameter is not in the model")?;
        if write.shape.kind != "string" || !write.shape.r#enum.is_empty() {
            return Err(format!(
                "aws {} {} {}: a {}, not a policy document",
                update.service, update.operation, merge.write, write.shape.kind
            ));
        }
        check_statement(&merge.statement)
    }
}

/// The file the merged policy is written to.
pub const POLICY_FILE: &str = "policy.json";

/// A resource policy statement: an object of the policy grammar's members
/// only, an alphanumeric `Sid` (the merge replaces by it), `Effect` Allow or
/// Deny, a principal, an action and a resource (each or its `Not` form), and
/// conditions as operator → key → value.
pub fn check_statement(statement: &Value) -> Result<(), String> {
    const MEMBERS: &[&str] = &[
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ];
    let fields = statement
        .as_object()
        .ok_or("the statement must be a JSON object")?;
    if let Some(unknown) = fields.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(format!("statement: unknown member {unknown:?}"));
    }
    match fields.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() && sid.chars().all(|c| c.is_ascii_alphanumeric()) => {}
        _ => {
            return Err(
                "statement: an alphanumeric Sid is required (the merge replaces by it)".into(),
            );
        }
    }
    match fields.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => return Err("statement: Effect must be \"Allow\" or \"Deny\"".into()),
    }
    let strings = |value: &Value| match value {
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| !s.is_empty()))
        }
        _ => false,
    };
    for (name, not) in [
        ("Principal", "NotPrincipal"),
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
    ] {
        let value = match (fields.get(name), fields.get(not)) {
            (Some(value), None) | (None, Some(value)) => value,
            _ => {
                return Err(format!(
                    "statement: exactly one of {name} and {not} is required"
                ));
            }
        };
        let valid = if name == "Principal" {
            value == "*"
                || value.as_object().is_some_and(|kinds| {
                    !kinds.is_empty()
                        && kinds.iter().all(|(kind, ids)| {
                            ["AWS", "Service", "Federated", "CanonicalUser"]
                                .contains(&kind.as_str())
                                && strings(ids)
                        })
                })
        } else {
            strings(value)
        };
        if !valid {
            return Err(format!("statement: {name} has the wrong form: {value}"));
        }
    }
    if let Some(condition) = fields.get("Condition") {
        let valid = condition.as_object().is_some_and(|operators| {
            operators.values().all(|keys| {
                keys.as_object().is_some_and(|keys| {
                    !keys.is_empty()
                        && keys
                            .values()
                            .all(|v| v.is_string() || v.is_boolean() || v.is_number() || strings(v))
                })
            })
        });
        if !valid {
            return Err(format!(
                "statement: Condition must map operators to keys to values: {condition}"
            ));
        }
    }
    Ok(())
}

/// The file the edited configuration is written to.
pub const CONFIG_FILE: &str = "config.json";

/// One step of a `set` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// `.Member`.
    Member(String),
    /// `.Member?`: only where the member is present.
    Present(String),
    /// `.Member[]`: every element of the list.
    Each(String),
}

/// Parse a `set` path (`.A.B[].C?.D`).
pub fn parse_path(path: &str) -> Result<Vec<PathStep>, String> {
    let rest = path
        .strip_prefix('.')
        .ok_or_else(|| format!("path {path:?} must start with '.'"))?;
    rest.split('.')
        .map(|step| {
            let (name, kind): (&str, fn(String) -> PathStep) =
                if let Some(name) = step.strip_suffix("[]") {
                    (name, PathStep::Each)
                } else if let Some(name) = step.strip_suffix('?') {
                    (name, PathStep::Present)
                } else {
                    (step, PathStep::Member)
                };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("path {path:?}: {step:?} is not a member name"));
            }
            Ok(kind(name.to_string()))
        })
        .collect()
}

/// The shape a path leads to.
fn walk<'a>(root: &'a Shape, steps: &[PathStep]) -> Result<&'a Shape, String> {
    let mut shape = root;
    for step in steps {
        let (PathStep::Member(name) | PathStep::Present(name) | PathStep::Each(name)) = step;
        let members = match (&shape.kind[..], &shape.members) {
            ("structure", Some(members)) => members,
            ("structure", None) => return Err(format!("the model keeps no members above {name}")),
            (kind, _) => return Err(format!("{name} is read from a {kind}, not a structure")),
        };
        shape = members.get(name).ok_or_else(|| {
            format!(
                "no member {name:?} (known: {})",
                members.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        if let PathStep::Each(_) = step {
            shape = match (&shape.kind[..], &shape.member) {
                ("list", Some(member)) => member,
                ("list", None) => {
                    return Err(format!("the model keeps no element shape of {name}"));
                }
                (kind, _) => return Err(format!("{name}[] iterates a {kind}, not a list")),
            };
        }
    }
    Ok(shape)
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
        ("structure", Value::Object(_)) if shape.partial => Err(
            "the model keeps only some members of this structure; a whole value cannot be checked"
                .into(),
        ),
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
                if let Some(rmw) = &remediation.read_modify_write {
                    model
                        .check_read_modify_write(rmw)
                        .unwrap_or_else(|err| panic!("{}: {err}", control.id));
                    checked += 2;
                }
                if let Some(merge) = &remediation.policy_merge {
                    model
                        .check_policy_merge(merge)
                        .unwrap_or_else(|err| panic!("{}: {err}", control.id));
                    checked += 2;
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

    fn distribution_fix(set: Value) -> ReadModifyWrite {
        serde_json::from_value(json!({
            "get": {"service": "cloudfront", "operation": "get-distribution-config",
                    "arguments": {"--id": "${arn.DistributionId}"}},
            "read": "DistributionConfig",
            "token": {"read": "ETag", "flag": "--if-match"},
            "update": {"service": "cloudfront", "operation": "update-distribution",
                       "arguments": {"--id": "${arn.DistributionId}"}},
            "write": "--distribution-config",
            "set": set
        }))
        .expect("read-modify-write form")
    }

    #[test]
    fn read_modify_write_paths_and_values_are_checked_on_both_sides() {
        let model = ApiModel::embedded().expect("model loads");
        let good = distribution_fix(json!([
            {"path": ".ViewerCertificate.MinimumProtocolVersion", "value": "TLSv1.2_2021"},
            {"path": ".Origins.Items[].CustomOriginConfig?.OriginProtocolPolicy",
             "value": "https-only", "only_if": "http-only"}
        ]));
        model.check_read_modify_write(&good).expect("valid");
        let cases = [
            // A path that is not in the configuration.
            (
                json!([{"path": ".ViewerCertificate.MinimumTlsVersion", "value": "TLSv1.2_2021"}]),
                "no member \"MinimumTlsVersion\"",
            ),
            // An enum value the API does not have.
            (
                json!([{"path": ".ViewerCertificate.MinimumProtocolVersion", "value": "TLSv1.2"}]),
                "\"TLSv1.2\" is not one of",
            ),
            // A current value the API does not have.
            (
                json!([{"path": ".ViewerCertificate.SSLSupportMethod", "value": "sni-only", "only_if": "dedicated"}]),
                "\"dedicated\" is not one of",
            ),
            // A wrong value type.
            (
                json!([{"path": ".Logging.Enabled", "value": "true"}]),
                "expects a boolean",
            ),
            // Iterating something that is not a list, or not marking a list.
            (
                json!([{"path": ".Logging[].Enabled", "value": true}]),
                "iterates a structure",
            ),
            (
                json!([{"path": ".Origins.Items.CustomOriginConfig?.OriginProtocolPolicy", "value": "https-only"}]),
                "read from a list",
            ),
            (
                json!([{"path": "Logging.Enabled", "value": true}]),
                "must start with '.'",
            ),
            (json!([]), "at least one setting"),
        ];
        for (set, expected) in cases {
            let err = model
                .check_read_modify_write(&distribution_fix(set))
                .expect_err(expected);
            assert!(err.contains(expected), "{err:?} should say {expected:?}");
        }
        // The read must give the configuration and the token it names.
        let mut wrong_read = good.clone();
        wrong_read.read = "Distribution".into();
        let err = model
            .check_read_modify_write(&wrong_read)
            .expect_err("no such output");
        assert!(err.contains("no output member \"Distribution\""), "{err}");
        let mut wrong_flag = good.clone();
        wrong_flag.write = "--config".into();
        let err = model
            .check_read_modify_write(&wrong_flag)
            .expect_err("no such parameter");
        assert!(err.contains("--config: unknown parameter"), "{err}");
        // A partial structure is a path, not a value to check whole.
        let whole = command(
            "cloudfront",
            "update-distribution",
            json!({"--id": "E1", "--if-match": "x", "--distribution-config": {"Enabled": true}}),
        );
        let err = model.check(&whole).expect_err("partial");
        assert!(err.contains("only some members"), "{err}");
        // file:// is accepted for a structure, not for a scalar.
        let from_file = command(
            "cloudfront",
            "update-distribution",
            json!({"--id": "E1", "--if-match": "x", "--distribution-config": "file://config.json"}),
        );
        model.check(&from_file).expect("file:// structure");
        let scalar_file = command(
            "rds",
            "modify-db-instance",
            json!({"--db-instance-identifier": "db", "--backup-retention-period": "file://n.json"}),
        );
        assert!(model.check(&scalar_file).is_err());
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
