//! Policy documents: statements grouped by resources and conditions, the IAM
//! policy grammar check, and the managed-policy size limit.

use crate::arn::{action_resources, resource_types_support};
use crate::names::starts_with_word;
use gensec_kb::{IamAction, IamService};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Managed policy documents may hold 6,144 characters, whitespace excluded.
pub const MAX_POLICY_CHARS: usize = 6144;

/// The tag value tag-scoped statements match: the value the deployer gives
/// the template's parameter for the persona scope tag.
pub const WORKLOAD_TAG_VALUE: &str = "WORKLOAD_NAME";

/// IAM prefixes of global services: `aws:RequestedRegion` is `us-east-1` for
/// them whatever the workload's region, so region conditions are left off.
const GLOBAL_PREFIXES: &[&str] = &[
    "iam",
    "organizations",
    "sts",
    "route53",
    "cloudfront",
    "support",
    "account",
    "budgets",
    "ce",
    "health",
];

/// Condition operators of the IAM policy grammar (before `ForAllValues:`/
/// `ForAnyValue:` prefixes and the `IfExists` suffix).
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// Operator -> key -> values.
pub type Conditions = BTreeMap<&'static str, BTreeMap<String, Vec<String>>>;

/// What a persona's statements are conditioned on.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub secure_transport: bool,
    pub mfa: bool,
    pub tag_scoped: bool,
    /// Condition key of tag-scoped statements: `aws:ResourceTag/<key>` with
    /// the profile's persona scope key, the tag the templates set.
    pub tag_condition_key: String,
    /// `(prefix, resource type)` pairs whose requests carry no resource
    /// tags unless an opt-in the templates do not make is enabled
    /// (data/tag-scoping.json): never tag-scoped.
    pub untagged_types: Vec<(String, String)>,
    pub regions: Vec<String>,
    /// Services `iam:PassRole` may pass roles to (`lambda.amazonaws.com`):
    /// the package's services that take a role.
    pub passed_to_services: Vec<String>,
    /// `iam:AWSServiceName` values (and `aws-service-role/<name>/` paths) of
    /// the service-linked roles the package's resources create.
    pub service_linked_roles: Vec<String>,
    /// `kms:ViaService` values cryptographic use of a KMS key must go
    /// through (`s3.REGION.amazonaws.com`); `None` for the KMS package,
    /// whose personas use keys directly.
    pub kms_via_services: Option<Vec<String>>,
}

impl Settings {
    /// Do requests on this resource type lack resource tags by default?
    pub fn untagged(&self, prefix: &str, type_name: &str) -> bool {
        self.untagged_types
            .iter()
            .any(|(p, name)| p.eq_ignore_ascii_case(prefix) && name == type_name)
    }
}

/// KMS actions that use key material (name prefixes): with any key they
/// reveal or produce data, so outside the KMS package they are allowed only
/// through the package's services.
pub const KMS_USE_PREFIXES: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "ReEncrypt",
    "CreateGrant",
    "Sign",
    "Verify",
    "GenerateMac",
    "DeriveSharedSecret",
];

/// Is `full` (`kms:Decrypt`) a use of key material?
pub fn is_kms_use(full: &str) -> bool {
    full.split_once(':').is_some_and(|(prefix, name)| {
        prefix.eq_ignore_ascii_case("kms") && KMS_USE_PREFIXES.iter().any(|p| name.starts_with(p))
    })
}

/// The resources `iam:CreateServiceLinkedRole` may create: only the
/// `aws-service-role/` path of the package's services.
pub fn service_linked_role_arns(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|name| format!("arn:aws:iam::ACCOUNT_ID:role/aws-service-role/{name}/*"))
        .collect()
}

/// One granted action with the facts needed to scope it.
#[derive(Debug, Clone)]
pub struct Granted<'a> {
    pub full: String,
    pub prefix: String,
    pub action: &'a IamAction,
    pub service: &'a IamService,
}

impl Granted<'_> {
    pub fn conditions(&self, settings: &Settings) -> Conditions {
        let mut conditions = Conditions::new();
        let mut add = |operator: &'static str, key: &str, values: Vec<String>| {
            conditions
                .entry(operator)
                .or_default()
                .insert(key.to_string(), values);
        };
        if settings.secure_transport {
            add("Bool", "aws:SecureTransport", vec!["true".into()]);
        }
        if settings.mfa {
            // Absent in federated (IAM Identity Center, SAML) sessions, whose
            // MFA the identity provider enforces: IfExists lets them through,
            // while an IAM user's session without MFA (key false) is refused.
            add(
                "BoolIfExists",
                "aws:MultiFactorAuthPresent",
                vec!["true".into()],
            );
        }
        if !settings.regions.is_empty() && !self.is_global() {
            add(
                "StringEquals",
                "aws:RequestedRegion",
                settings.regions.clone(),
            );
        }
        if self.tag_scoped(settings) {
            add(
                "StringEquals",
                &settings.tag_condition_key,
                vec![WORKLOAD_TAG_VALUE.into()],
            );
        }
        if self.full.eq_ignore_ascii_case("iam:PassRole") && !settings.passed_to_services.is_empty()
        {
            add(
                "StringEquals",
                "iam:PassedToService",
                settings.passed_to_services.clone(),
            );
        }
        if self
            .full
            .eq_ignore_ascii_case("iam:CreateServiceLinkedRole")
            && !settings.service_linked_roles.is_empty()
        {
            add(
                "StringEquals",
                "iam:AWSServiceName",
                settings.service_linked_roles.clone(),
            );
        }
        if let Some(via) = &settings.kms_via_services
            && is_kms_use(&self.full)
            && !via.is_empty()
        {
            add("StringEquals", "kms:ViaService", via.clone());
        }
        conditions
    }

    fn is_global(&self) -> bool {
        GLOBAL_PREFIXES.contains(&self.prefix.as_str())
    }

    /// Tag conditions only where every resource type of the action carries
    /// `aws:ResourceTag/${TagKey}` in its requests, and not on creates (the
    /// resource has no tags yet).
    fn tag_scoped(&self, settings: &Settings) -> bool {
        settings.tag_scoped
            && !starts_with_word(&self.full, "Create")
            && !settings.tag_condition_key.is_empty()
            && resource_types_support(self.service, self.action, &settings.tag_condition_key)
            && !crate::names::scoped_types(self.action)
                .iter()
                .any(|name| settings.untagged(&self.prefix, name))
    }
}

/// A statement before rendering.
#[derive(Debug, Clone)]
pub struct Planned {
    pub sid: String,
    pub actions: BTreeSet<String>,
    /// Empty means `"*"`.
    pub resources: Vec<String>,
    pub resource_types: Vec<String>,
    pub conditions: Conditions,
    /// What the statement's `Action` says: the actions, or wildcards that
    /// match exactly them ([`crate::compact`]); empty until compacted.
    pub patterns: Vec<String>,
}

impl Planned {
    /// The statement's `Action` entries.
    pub fn action_patterns(&self) -> Vec<&String> {
        if self.patterns.is_empty() {
            self.actions.iter().collect()
        } else {
            self.patterns.iter().collect()
        }
    }
}

fn camel(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A statement's Sid before de-duplication: its first resource types (or
/// AccountLevel) and a suffix per scoping condition.
fn base_sid(resource_types: &[String], conditions: &Conditions, tag_condition_key: &str) -> String {
    let mut base = if resource_types.is_empty() {
        "AccountLevel".to_string()
    } else {
        let mut previous = "";
        let mut sid = String::new();
        for full in resource_types.iter().take(3) {
            let (prefix, name) = full.split_once(' ').unwrap_or(("", full));
            if prefix != previous {
                sid.push_str(&camel(prefix));
                previous = prefix;
            }
            sid.push_str(&camel(name));
        }
        sid
    };
    if resource_types.len() > 3 {
        base.push_str("AndMore");
    }
    base.truncate(80);
    let keys: Vec<&String> = conditions.values().flat_map(|m| m.keys()).collect();
    if keys.iter().any(|k| k.as_str() == tag_condition_key) {
        base.push_str("Tagged");
    }
    if keys.iter().any(|k| k.as_str() == "iam:PassedToService") {
        base.push_str("PassToService");
    }
    if keys.iter().any(|k| k.as_str() == "kms:ViaService") {
        base.push_str("ViaService");
    }
    base
}

/// Group actions with the same resources and conditions into statements.
/// Returns the statements and warnings about resource types without ARNs.
pub fn plan(granted: &[Granted<'_>], settings: &Settings) -> (Vec<Planned>, Vec<String>) {
    type Key = (Vec<String>, Vec<String>, Conditions);
    let mut groups: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for item in granted {
        let (mut resources, types, missing) = action_resources(item.service, item.action);
        if item
            .full
            .eq_ignore_ascii_case("iam:CreateServiceLinkedRole")
        {
            resources = service_linked_role_arns(&settings.service_linked_roles);
        }
        if !missing.is_empty() {
            warnings.push(format!(
                "{}: resource type(s) {} have no ARN format in the IAM reference; {}",
                item.full,
                missing.join(", "),
                if resources.is_empty() {
                    "granted on \"*\""
                } else {
                    "scoped to the other resource types only"
                }
            ));
        }
        let types = types
            .into_iter()
            .map(|name| format!("{} {name}", item.prefix))
            .collect();
        groups
            .entry((resources, types, item.conditions(settings)))
            .or_default()
            .insert(item.full.clone());
    }
    let mut used = BTreeSet::new();
    let planned = groups
        .into_iter()
        .map(|((resources, resource_types, conditions), actions)| {
            let base = base_sid(&resource_types, &conditions, &settings.tag_condition_key);
            let mut sid = base.clone();
            let mut counter = 2;
            while !used.insert(sid.clone()) {
                sid = format!("{base}{counter}");
                counter += 1;
            }
            Planned {
                sid,
                actions,
                resources,
                resource_types,
                conditions,
                patterns: Vec::new(),
            }
        })
        .collect();
    (planned, warnings)
}

fn render_conditions(conditions: &Conditions) -> Value {
    let mut out = Map::new();
    for (operator, keys) in conditions {
        let mut block = Map::new();
        for (key, values) in keys {
            let value = match values.as_slice() {
                [single] => Value::String(single.clone()),
                many => Value::Array(many.iter().cloned().map(Value::String).collect()),
            };
            block.insert(key.clone(), value);
        }
        out.insert((*operator).to_string(), Value::Object(block));
    }
    Value::Object(out)
}

fn render(sid: &str, actions: &[&String], planned: &Planned) -> Value {
    let mut statement = Map::new();
    statement.insert("Sid".into(), json!(sid));
    statement.insert("Effect".into(), json!("Allow"));
    statement.insert("Action".into(), json!(actions));
    let resource = match planned.resources.as_slice() {
        [] => json!("*"),
        [single] => json!(single),
        many => json!(many),
    };
    statement.insert("Resource".into(), resource);
    if !planned.conditions.is_empty() {
        statement.insert("Condition".into(), render_conditions(&planned.conditions));
    }
    Value::Object(statement)
}

/// Characters of a document that count against the limit (whitespace excluded).
pub fn policy_chars(document: &Value) -> usize {
    // Counted as serde_json writes the compact text, without holding it.
    let mut counter = NonWhitespace(0);
    match serde_json::to_writer(&mut counter, document) {
        Ok(()) => counter.0,
        Err(_) => document
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count(),
    }
}

/// Counts the non-whitespace characters written to it. serde_json writes
/// whole characters at a time; a write that is not UTF-8 is refused (and
/// [`policy_chars`] then counts the text itself).
struct NonWhitespace(usize);

impl std::io::Write for NonWhitespace {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = std::str::from_utf8(bytes).map_err(std::io::Error::other)?;
        self.0 += text.chars().filter(|c| !c.is_whitespace()).count();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Render statements into as few documents as fit the size limit. A statement
/// too large on its own is cut into parts (`Sid` + part number).
pub fn documents(planned: &[Planned]) -> Vec<Value> {
    let envelope = policy_chars(&document(Vec::new()));
    let mut statements = Vec::new();
    for item in planned {
        let actions: Vec<&String> = item.action_patterns();
        let whole = render(&item.sid, &actions, item);
        if envelope + policy_chars(&whole) <= MAX_POLICY_CHARS || actions.len() < 2 {
            statements.push(whole);
            continue;
        }
        let mut parts = 2;
        loop {
            let size = actions.len().div_ceil(parts);
            let rendered: Vec<Value> = actions
                .chunks(size)
                .enumerate()
                .map(|(index, chunk)| {
                    render(&format!("{}Part{}", item.sid, index + 1), chunk, item)
                })
                .collect();
            if size <= 1
                || rendered
                    .iter()
                    .all(|s| envelope + policy_chars(s) <= MAX_POLICY_CHARS)
            {
                statements.extend(rendered);
                break;
            }
            parts += 1;
        }
    }
    // First fit, largest statements first: fewer documents than in order.
    let mut statements: Vec<(usize, Value)> = statements
        .into_iter()
        .map(|statement| (policy_chars(&statement), statement))
        .collect();
    statements.sort_by_key(|(chars, _)| std::cmp::Reverse(*chars));
    let mut out: Vec<(usize, Vec<Value>)> = Vec::new();
    for (chars, statement) in statements {
        let slot = out.iter_mut().find(|(size, current)| {
            *size + chars + usize::from(!current.is_empty()) <= MAX_POLICY_CHARS
        });
        match slot {
            Some((size, current)) => {
                *size += chars + 1;
                current.push(statement);
            }
            None => out.push((envelope + chars, vec![statement])),
        }
    }
    out.into_iter()
        .map(|(_, statements)| document(statements))
        .collect()
}

fn valid_operator(operator: &str) -> bool {
    let base = operator
        .strip_prefix("ForAllValues:")
        .or_else(|| operator.strip_prefix("ForAnyValue:"))
        .unwrap_or(operator);
    let (base, if_exists) = match base.strip_suffix("IfExists") {
        Some(stripped) => (stripped, true),
        None => (base, false),
    };
    OPERATORS.contains(&base) && !(if_exists && base == "Null")
}

fn string_list(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(text) => Some(vec![text.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Problems with a document against the IAM policy grammar and size limit;
/// empty when it is valid.
pub fn check_document(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(object) = document.as_object() else {
        return vec!["policy is not a JSON object".into()];
    };
    for key in object.keys() {
        if !["Version", "Id", "Statement"].contains(&key.as_str()) {
            problems.push(format!("unknown policy element {key}"));
        }
    }
    if object.get("Version").and_then(Value::as_str) != Some("2012-10-17") {
        problems.push("Version must be \"2012-10-17\"".into());
    }
    let statements = match object.get("Statement") {
        Some(Value::Array(statements)) if !statements.is_empty() => statements.as_slice(),
        _ => {
            problems.push("Statement must be a non-empty list".into());
            &[]
        }
    };
    let mut sids = BTreeSet::new();
    for (index, statement) in statements.iter().enumerate() {
        let at = format!("Statement[{index}]");
        let Some(statement) = statement.as_object() else {
            problems.push(format!("{at} is not an object"));
            continue;
        };
        check_statement_header(&at, statement, &mut sids, &mut problems);
        check_actions(&at, statement, &mut problems);
        check_resources(&at, statement, &mut problems);
        if let Some(condition) = statement.get("Condition") {
            check_condition(&at, condition, &mut problems);
        }
    }
    let size = policy_chars(document);
    if size > MAX_POLICY_CHARS {
        problems.push(format!(
            "document has {size} characters (whitespace excluded), over the {MAX_POLICY_CHARS} limit"
        ));
    }
    problems
}

/// A statement's elements, Sid (unique within the document) and Effect.
fn check_statement_header(
    at: &str,
    statement: &Map<String, Value>,
    sids: &mut BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    for key in statement.keys() {
        if !gensec_policy::STATEMENT_KEYS.contains(&key.as_str()) {
            problems.push(format!("{at}: unknown element {key}"));
        }
    }
    if statement.contains_key("Principal") || statement.contains_key("NotPrincipal") {
        problems.push(format!("{at}: identity policies take no Principal"));
    }
    match statement.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() && sid.chars().all(|c| c.is_ascii_alphanumeric()) => {
            if !sids.insert(sid.to_string()) {
                problems.push(format!("{at}: duplicate Sid {sid}"));
            }
        }
        _ => problems.push(format!("{at}: Sid must be non-empty and alphanumeric")),
    }
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => problems.push(format!("{at}: Effect must be Allow or Deny")),
    }
}

/// Exactly one of Action or NotAction, each action `prefix:Name`.
fn check_actions(at: &str, statement: &Map<String, Value>, problems: &mut Vec<String>) {
    let actions = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(value), None) | (None, Some(value)) => string_list(value),
        _ => None,
    };
    match actions {
        Some(actions) => {
            for action in actions {
                let well_formed = action.split_once(':').is_some_and(|(prefix, name)| {
                    !prefix.is_empty()
                        && !name.is_empty()
                        && prefix
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '*')
                });
                if !well_formed {
                    problems.push(format!("{at}: malformed action {action:?}"));
                }
            }
        }
        None => problems.push(format!(
            "{at}: exactly one of Action or NotAction, a non-empty string or list of strings"
        )),
    }
}

/// Exactly one of Resource or NotResource, each `*` or an ARN.
fn check_resources(at: &str, statement: &Map<String, Value>, problems: &mut Vec<String>) {
    let resources = match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(value), None) | (None, Some(value)) => string_list(value),
        _ => None,
    };
    match resources {
        Some(resources) => {
            for resource in resources {
                if resource != "*" && !resource.starts_with("arn:") {
                    problems.push(format!("{at}: resource {resource:?} is not an ARN"));
                }
            }
        }
        None => problems.push(format!(
            "{at}: exactly one of Resource or NotResource, a non-empty string or list of strings"
        )),
    }
}

/// Known operators, each over `service:key` keys with scalar values.
fn check_condition(at: &str, condition: &Value, problems: &mut Vec<String>) {
    let Some(blocks) = condition.as_object().filter(|blocks| !blocks.is_empty()) else {
        problems.push(format!("{at}: Condition must be a non-empty object"));
        return;
    };
    for (operator, block) in blocks {
        if !valid_operator(operator) {
            problems.push(format!("{at}: unknown condition operator {operator}"));
        }
        let Some(keys) = block.as_object().filter(|keys| !keys.is_empty()) else {
            problems.push(format!("{at}: condition {operator} has no keys"));
            continue;
        };
        for (key, value) in keys {
            let scalar = |v: &Value| v.is_string() || v.is_boolean() || v.is_number();
            let scalar_list = match value {
                Value::Array(items) => !items.is_empty() && items.iter().all(scalar),
                other => scalar(other),
            };
            if !key.contains(':') || !scalar_list {
                problems.push(format!("{at}: bad condition {operator} {key}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_count_as_the_compact_text_without_whitespace() {
        let document = json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "A b\tc", "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::é →\u{2003}x"}]
        });
        let by_text = document
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count();
        assert_eq!(policy_chars(&document), by_text);
        assert!(by_text > 50);
    }

    #[test]
    fn grammar() {
        let good = json!({"Version": "2012-10-17", "Statement": [{"Sid": "A1", "Effect": "Allow",
            "Action": ["s3:GetObject"], "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert!(check_document(&good).is_empty());
        let bad = json!({"Version": "2008-10-17", "Statement": [{"Sid": "A-1", "Effect": "Permit",
            "Action": [], "Condition": {"StringEqualz": {"aws:x": "y"}, "NullIfExists": {"aws:y": "true"}}}]});
        let problems = check_document(&bad);
        assert_eq!(problems.len(), 7, "{problems:#?}");
    }
}
