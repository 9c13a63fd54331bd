//! Persona cases: each persona's written policy executed with
//! `gensec-policy` against the package's own resources, with the ARNs of
//! their resource types, the tags the template sets and the package key.
//! The runtime (and the auditor) can make their calls there; the auditor
//! reads no data; no persona can pass a role to a service outside the
//! package, create a role off the service-linked path, decrypt with a key
//! outside its services, or (as the runtime) delete or overwrite secrets;
//! MFA holds for IAM users and lets federated sessions through.

use crate::PersonaKind;
use crate::arn::resource_arn;
use crate::data::Curated;
use crate::names::{is_data_read, scoped_types};
use crate::package::{Package, resolve, resolve_pseudo};
use crate::policy::{Granted, Settings, WORKLOAD_TAG_VALUE, is_kms_use};
use gensec_core::contract::controls::{ExecutedCase, Verdict};
use gensec_kb::{IamAction, IamService, Kb, ServiceDocumentation};
use gensec_policy::{ApiCall, Outcome, Policy, PolicyKind, PolicySet, ResourceSpec};
use serde_json::Value;

pub const SAMPLE_ACCOUNT: &str = "111122223333";
pub const SAMPLE_REGION: &str = "eu-west-1";
/// What RESOURCE_PREFIX stands for in the cases.
pub const SAMPLE_PREFIX: &str = "orders";
/// The value the deployer gives the persona scope tag's parameter.
pub const SAMPLE_WORKLOAD: &str = "orders-service";
const OTHER_WORKLOAD: &str = "payments-service";
/// Services no package passes roles to.
const FOREIGN_SERVICES: &[&str] = &["glue.amazonaws.com", "codebuild.amazonaws.com"];

/// One call and the verdict the persona's policy must give it.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// The grant a failure is blamed on.
    pub action: String,
    pub call: ApiCall,
    pub expected: Verdict,
    /// The key's policy for a call on a KMS key: KMS needs the key policy
    /// to allow as well as the caller's.
    pub key_policy: Option<Value>,
}

/// The default key policy: the account's IAM policies decide (for keys
/// the package does not create).
fn default_key_policy() -> Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "EnableIamPolicies", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{SAMPLE_ACCOUNT}:root")},
        "Action": "kms:*", "Resource": "*"}]})
}

/// Each placeholder and the value a deployment fills it with, in the order
/// they are replaced.
const SUBSTITUTIONS: [(&str, &str); 4] = [
    ("ACCOUNT_ID", SAMPLE_ACCOUNT),
    ("REGION", SAMPLE_REGION),
    ("RESOURCE_PREFIX", SAMPLE_PREFIX),
    (WORKLOAD_TAG_VALUE, SAMPLE_WORKLOAD),
];

/// Placeholders as a deployment fills them.
pub fn substitute(text: &str) -> String {
    SUBSTITUTIONS
        .iter()
        .fold(text.to_string(), |text, (placeholder, value)| {
            text.replace(placeholder, value)
        })
}

/// Whether `text` has two capitals in a row, as every placeholder does: most
/// strings (action names, ARNs) have none, and then need no search.
fn two_capitals_in_a_row(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_uppercase() && pair[1].is_ascii_uppercase())
}

/// Apply [`substitute`] to every string and object key of `value`: the
/// placeholders only occur inside strings, so this is the text substitution
/// without printing and parsing the document again. Only strings holding a
/// placeholder are rewritten (most are action names).
fn substitute_strings(value: &mut Value) {
    let placeholder = |text: &str| {
        two_capitals_in_a_row(text)
            && SUBSTITUTIONS
                .iter()
                .any(|(placeholder, _)| text.contains(placeholder))
    };
    match value {
        Value::String(text) if placeholder(text) => *text = substitute(text),
        Value::Array(items) => items.iter_mut().for_each(substitute_strings),
        Value::Object(fields) => {
            if fields.keys().any(|key| placeholder(key)) {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(key, field)| (substitute(&key), field))
                    .collect();
            }
            fields.values_mut().for_each(substitute_strings);
        }
        _ => {}
    }
}

fn principal(kind: PersonaKind) -> String {
    format!(
        "arn:aws:iam::{SAMPLE_ACCOUNT}:role/{SAMPLE_PREFIX}-{}",
        kind.id()
    )
}

/// The policy a deployment attaches: every document, placeholders filled.
pub fn policy_set(documents: &[Value]) -> Result<PolicySet, String> {
    let mut identity = Vec::new();
    for (index, document) in documents.iter().enumerate() {
        let mut value = document.clone();
        substitute_strings(&mut value);
        identity.push(
            Policy::from_value(
                &format!("document-{}", index + 1),
                PolicyKind::Identity,
                &value,
            )
            .map_err(|err| err.to_string())?,
        );
    }
    Ok(PolicySet {
        identity,
        ..PolicySet::default()
    })
}

/// Run one case: `None` when the knowledge base cannot model the call.
pub fn run(kb: &Kb, set: &mut PolicySet, case: &Case) -> Option<Verdict> {
    let contexts = case.call.contexts(kb).ok()?;
    // A case with a key policy lends it to the persona's set for its call
    // (cloning every persona policy for each case was most of its cost).
    let outcome = match &case.key_policy {
        Some(policy) => {
            let key = Policy::from_value("key-policy", PolicyKind::Resource, policy).ok()?;
            let persona_own = set.resource.replace(key);
            let outcome = set.evaluate_call(&contexts).outcome;
            set.resource = persona_own;
            outcome
        }
        None => set.evaluate_call(&contexts).outcome,
    };
    Some(match outcome {
        Outcome::Allowed => Verdict::Allowed,
        _ => Verdict::Denied,
    })
}

/// Does a resource type (or the action's row for it) list `aws:ResourceTag/${TagKey}`?
fn takes_resource_tags(service: &IamService, action: &IamAction, type_name: &str) -> bool {
    let listed = |keys: &[String]| keys.iter().any(|k| k.starts_with("aws:ResourceTag/"));
    action
        .resource_types
        .iter()
        .filter(|r| r.name == type_name)
        .any(|r| listed(&r.condition_keys))
        || service
            .resource_types
            .iter()
            .filter(|r| r.name == type_name)
            .any(|r| listed(&r.condition_keys))
}

/// A call of `item` on package resources of its scoped types, carrying
/// `tags` where the resource type's requests carry them.
fn call_on_package(
    kind: PersonaKind,
    item: &Granted<'_>,
    settings: &Settings,
    tags: &[(String, String)],
) -> Option<ApiCall> {
    let mut call = ApiCall::new(&item.full, principal(kind))
        .region(SAMPLE_REGION)
        .value("aws:SecureTransport", "true");
    let types = scoped_types(item.action);
    let required = item.action.resource_types.iter().any(|r| r.required);
    // An action with optional types only touches one of them per call.
    let touched: Vec<&str> = if required {
        types
    } else {
        types.into_iter().take(1).collect()
    };
    for type_name in touched {
        let definition = item
            .service
            .resource_types
            .iter()
            .find(|r| r.name == type_name)?;
        let format = definition.arn_formats.first()?;
        let arn = substitute(&resource_arn(format).replace('*', "sample"));
        let mut spec = ResourceSpec::arn(arn);
        if takes_resource_tags(item.service, item.action, type_name)
            && !settings.untagged(&item.prefix, type_name)
        {
            for (key, value) in tags {
                spec = spec.with(format!("aws:ResourceTag/{key}"), value.as_str());
            }
        }
        call = call.resource(type_name, spec);
    }
    if item.prefix == "kms" && call.resources.contains_key("key") {
        // KMS always knows the caller's account.
        call = call.value("kms:CallerAccount", SAMPLE_ACCOUNT);
    }
    Some(call)
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:key/{id}")
}

const OTHER_KEY_ID: &str = "0000aaaa-00aa-00aa-00aa-000000000000";
static PACKAGE_KEY_ID_ARN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| key_arn("1234abcd-12ab-34cd-56ef-1234567890ab"));

fn kms_call(kind: PersonaKind, action: &str, key: &str) -> ApiCall {
    ApiCall::new(action, principal(kind))
        .region(SAMPLE_REGION)
        .value("aws:SecureTransport", "true")
        .value("kms:CallerAccount", SAMPLE_ACCOUNT)
        .resource("key", ResourceSpec::arn(key))
}

fn with_tags(mut call: ApiCall, tags: &[(String, String)]) -> ApiCall {
    if let Some(spec) = call.resources.get_mut("key") {
        for (key, value) in tags {
            spec.values
                .insert(format!("aws:ResourceTag/{key}"), value.as_str().into());
        }
    }
    call
}

/// An IAM call on a role carrying `tags` (the package's roles carry the template's).
fn iam_call(kind: PersonaKind, action: &str, role: &str, tags: &[(String, String)]) -> ApiCall {
    let mut spec = ResourceSpec::arn(role);
    for (key, value) in tags {
        spec = spec.with(format!("aws:ResourceTag/{key}"), value.as_str());
    }
    ApiCall::new(action, principal(kind))
        .region(SAMPLE_REGION)
        .value("aws:SecureTransport", "true")
        .resource("role", spec)
}

/// What every kind of case is built from.
struct Context<'a> {
    kind: PersonaKind,
    curated: &'a Curated,
    doc: &'a ServiceDocumentation,
    package: &'a Package,
    settings: &'a Settings,
    granted: &'a [Granted<'a>],
    scope_key: &'a str,
    /// The scope tag's parameter, which the cases give a workload's name.
    parameter: String,
    /// The package's common tags with this workload's and another's name.
    ours: Vec<(String, String)>,
    theirs: Vec<(String, String)>,
}

impl Context<'_> {
    /// Parameter values as a deployer of workload `workload` gives them.
    fn value_of(&self, workload: &'static str) -> impl Fn(&str) -> String + use<'_> {
        move |name: &str| {
            if name == self.parameter {
                workload.to_string()
            } else {
                format!("value-of-{name}")
            }
        }
    }

    fn has(&self, action: &str) -> bool {
        self.granted
            .iter()
            .any(|g| g.full.eq_ignore_ascii_case(action))
    }
}

/// The cases collected so far, each with the key policy that also decides it.
struct Recorder {
    package_key_policy: Option<Value>,
    out: Vec<Case>,
}

impl Recorder {
    fn push(&mut self, name: String, action: &str, call: ApiCall, expected: Verdict) {
        // Calls on a KMS key are also decided by its key policy: the
        // package key's for the package's resources, else the default.
        let key_policy = call.resources.get("key").map(|spec| {
            let ours = spec.arn.as_deref() == Some(PACKAGE_KEY_ID_ARN.as_str())
                || !spec
                    .arn
                    .as_deref()
                    .is_some_and(|arn| arn.ends_with(OTHER_KEY_ID));
            match (&self.package_key_policy, ours) {
                (Some(policy), true) => policy.clone(),
                _ => default_key_policy(),
            }
        });
        self.out.push(Case {
            name,
            action: action.to_string(),
            call,
            expected,
            key_policy,
        });
    }
}

/// Everything a persona's policy is executed against.
#[allow(clippy::too_many_arguments)]
pub fn cases(
    kind: PersonaKind,
    curated: &Curated,
    doc: &ServiceDocumentation,
    package: &Package,
    settings: &Settings,
    granted: &[Granted<'_>],
    scope_key: &str,
) -> Vec<Case> {
    let mut cx = Context {
        kind,
        curated,
        doc,
        package,
        settings,
        granted,
        scope_key,
        parameter: gensec_core::input::Tagging::parameter_name(scope_key),
        ours: Vec::new(),
        theirs: Vec::new(),
    };
    cx.ours = tags_or_scope(
        package.common_tags(cx.value_of(SAMPLE_WORKLOAD)),
        scope_key,
        SAMPLE_WORKLOAD,
    );
    cx.theirs = tags_or_scope(
        package.common_tags(cx.value_of(OTHER_WORKLOAD)),
        scope_key,
        OTHER_WORKLOAD,
    );
    let mut cases = Recorder {
        package_key_policy: package.key.as_ref().map(|key| match &key.policy {
            // Without a KeyPolicy, KMS applies the default one.
            Value::Null => default_key_policy(),
            policy => resolve_pseudo(policy, SAMPLE_ACCOUNT, SAMPLE_REGION),
        }),
        out: Vec::new(),
    };
    calls_on_the_package(&cx, &mut cases);
    auditor_data_reads(&cx, &mut cases);
    package_key_use(&cx, &mut cases);
    role_passing(&cx, &mut cases);
    service_linked_roles(&cx, &mut cases);
    runtime_withheld(&cx, &mut cases);
    mfa(&cx, &mut cases);
    cases.out
}

/// Without a template, the persona scope tag the tagging control sets.
fn tags_or_scope(
    tags: Vec<(String, String)>,
    scope_key: &str,
    value: &str,
) -> Vec<(String, String)> {
    if tags.is_empty() {
        vec![(scope_key.to_string(), value.to_string())]
    } else {
        tags
    }
}

/// The persona can make each of its calls on the package's resources.
fn calls_on_the_package(cx: &Context<'_>, cases: &mut Recorder) {
    let (kind, settings, scope_key) = (cx.kind, cx.settings, cx.scope_key);
    if !matches!(
        kind,
        PersonaKind::ApplicationRuntime | PersonaKind::ReadOnlyAuditor
    ) {
        return;
    }
    for item in cx.granted {
        let via = settings
            .kms_via_services
            .as_ref()
            .filter(|_| is_kms_use(&item.full))
            .and_then(|via| via.first());
        if via.is_some() {
            continue; // the key cases below
        }
        if let Some(call) = call_on_package(kind, item, settings, &cx.ours) {
            cases.push(
                format!(
                    "{} on the package's resources tagged {scope_key}={SAMPLE_WORKLOAD}",
                    item.full
                ),
                &item.full,
                call,
                Verdict::Allowed,
            );
        }
        if kind == PersonaKind::ApplicationRuntime
            && settings.tag_scoped
            && !cx.ours.is_empty()
            && let Some(call) = call_on_package(kind, item, settings, &cx.theirs)
            && item
                .conditions(settings)
                .values()
                .any(|keys| keys.contains_key(&settings.tag_condition_key))
        {
            cases.push(
                format!(
                    "{} on resources tagged {scope_key}={OTHER_WORKLOAD}",
                    item.full
                ),
                &item.full,
                call,
                Verdict::Denied,
            );
        }
    }
}

/// The auditor reads no data.
fn auditor_data_reads(cx: &Context<'_>, cases: &mut Recorder) {
    if cx.kind != PersonaKind::ReadOnlyAuditor {
        return;
    }
    for service in &cx.doc.iam_services {
        for action in &service.actions {
            let full = format!("{}:{}", service.prefix, action.name);
            if !is_data_read(cx.curated, &full, action) {
                continue;
            }
            let item = Granted {
                full: full.clone(),
                prefix: service.prefix.clone(),
                action,
                service,
            };
            if let Some(call) = call_on_package(cx.kind, &item, cx.settings, &cx.ours) {
                cases.push(
                    format!("data read {full} on the package's resources"),
                    &full,
                    call,
                    Verdict::Denied,
                );
            }
        }
    }
}

/// The package key: the runtime uses it through the package's services;
/// nobody outside the KMS package decrypts directly or with another key.
fn package_key_use(cx: &Context<'_>, cases: &mut Recorder) {
    let kind = cx.kind;
    let Some(via) = &cx.settings.kms_via_services else {
        return;
    };
    let key_tags = cx
        .package
        .key
        .as_ref()
        .map(|key| resolve(&key.tags, cx.value_of(SAMPLE_WORKLOAD)))
        .unwrap_or_default();
    let package_key = PACKAGE_KEY_ID_ARN.clone();
    if kind == PersonaKind::ApplicationRuntime && cx.package.key.is_some() {
        for endpoint in via {
            let endpoint = substitute(endpoint);
            for action in ["kms:Decrypt", "kms:GenerateDataKey"]
                .into_iter()
                .filter(|action| cx.has(action))
            {
                let call = with_tags(kms_call(kind, action, &package_key), &key_tags)
                    .value("kms:ViaService", endpoint.as_str());
                cases.push(
                    format!("{action} with the package key through {endpoint}"),
                    action,
                    call,
                    Verdict::Allowed,
                );
            }
        }
    }
    let call = with_tags(kms_call(kind, "kms:Decrypt", &package_key), &key_tags);
    cases.push(
        "kms:Decrypt with the package key called directly, not through a service".into(),
        "kms:Decrypt",
        call,
        Verdict::Denied,
    );
    let other = key_arn(OTHER_KEY_ID);
    cases.push(
        "kms:Decrypt with another key of the account, directly".into(),
        "kms:Decrypt",
        kms_call(kind, "kms:Decrypt", &other),
        Verdict::Denied,
    );
}

fn workload_role() -> String {
    format!("arn:aws:iam::{SAMPLE_ACCOUNT}:role/{SAMPLE_PREFIX}-workload")
}

/// iam:PassRole only to the package's services that take a role.
fn role_passing(cx: &Context<'_>, cases: &mut Recorder) {
    let (kind, settings) = (cx.kind, cx.settings);
    let role = workload_role();
    if let Some(foreign) = FOREIGN_SERVICES
        .iter()
        .find(|s| !settings.passed_to_services.iter().any(|p| p == *s))
    {
        cases.push(
            format!("iam:PassRole to {foreign}, a service outside the package"),
            "iam:PassRole",
            iam_call(kind, "iam:PassRole", &role, &cx.ours).value("iam:PassedToService", *foreign),
            Verdict::Denied,
        );
    }
    if cx.has("iam:PassRole") {
        for service in &settings.passed_to_services {
            cases.push(
                format!("iam:PassRole to {service}"),
                "iam:PassRole",
                iam_call(kind, "iam:PassRole", &role, &cx.ours)
                    .value("iam:PassedToService", service.as_str()),
                Verdict::Allowed,
            );
        }
    }
}

/// Service-linked roles only on their own path.
fn service_linked_roles(cx: &Context<'_>, cases: &mut Recorder) {
    let (kind, settings) = (cx.kind, cx.settings);
    let name = settings
        .service_linked_roles
        .first()
        .cloned()
        .unwrap_or_else(|| "ec2.amazonaws.com".into());
    cases.push(
        format!("iam:CreateServiceLinkedRole for {name} outside aws-service-role/"),
        "iam:CreateServiceLinkedRole",
        iam_call(
            kind,
            "iam:CreateServiceLinkedRole",
            &workload_role(),
            &cx.ours,
        )
        .value("iam:AWSServiceName", name.as_str()),
        Verdict::Denied,
    );
    if cx.has("iam:CreateServiceLinkedRole") {
        for name in &settings.service_linked_roles {
            let linked = format!(
                "arn:aws:iam::{SAMPLE_ACCOUNT}:role/aws-service-role/{name}/AWSServiceRoleForSample"
            );
            cases.push(
                format!("iam:CreateServiceLinkedRole for {name}"),
                "iam:CreateServiceLinkedRole",
                iam_call(kind, "iam:CreateServiceLinkedRole", &linked, &[])
                    .value("iam:AWSServiceName", name.as_str()),
                Verdict::Allowed,
            );
        }
    }
}

/// The runtime never deletes or overwrites what the curated list withholds.
fn runtime_withheld(cx: &Context<'_>, cases: &mut Recorder) {
    if cx.kind != PersonaKind::ApplicationRuntime {
        return;
    }
    let doc = cx.doc;
    for withheld in &cx.curated.escalation.runtime_withheld {
        let Some((prefix, name)) = withheld.action.split_once(':') else {
            continue;
        };
        if !doc.iam_prefixes.iter().any(|p| p == prefix) {
            continue;
        }
        let Some((service, action)) = doc
            .iam_services
            .iter()
            .find(|s| s.prefix == prefix)
            .and_then(|s| s.actions.iter().find(|a| a.name == name).map(|a| (s, a)))
        else {
            continue;
        };
        let item = Granted {
            full: withheld.action.clone(),
            prefix: prefix.to_string(),
            action,
            service,
        };
        if let Some(call) = call_on_package(cx.kind, &item, cx.settings, &cx.ours) {
            cases.push(
                format!(
                    "{} on the package's resources (withheld: {})",
                    withheld.action, withheld.why
                ),
                &withheld.action,
                call,
                Verdict::Denied,
            );
        }
    }
}

/// MFA: a federated session (no key) is let through, an IAM user's
/// session without MFA is not.
fn mfa(cx: &Context<'_>, cases: &mut Recorder) {
    if cx.settings.mfa
        && let Some(item) = cx
            .granted
            .iter()
            .find(|g| !is_kms_use(&g.full) && !g.full.starts_with("iam:"))
        && let Some(call) = call_on_package(cx.kind, item, cx.settings, &cx.ours)
    {
        cases.push(
            format!(
                "{} from a federated (IAM Identity Center) session: no MFA key",
                item.full
            ),
            &item.full,
            call.clone(),
            Verdict::Allowed,
        );
        cases.push(
            format!("{} from an IAM user session without MFA", item.full),
            &item.full,
            call.value("aws:MultiFactorAuthPresent", "false"),
            Verdict::Denied,
        );
    }
}

/// Cases and verdicts as recorded.
pub fn executed(case: &Case, actual: Verdict) -> ExecutedCase {
    ExecutedCase {
        name: case.name.clone(),
        expected: case.expected,
        actual,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn substituting_strings_is_the_text_substitution() {
        let document = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": "arn:aws:s3:::RESOURCE_PREFIX-data/*",
                "Condition": {
                    "StringEquals": {
                        "aws:ResourceAccount": "ACCOUNT_ID",
                        "aws:RequestedRegion": ["REGION"],
                        "aws:ResourceTag/RESOURCE_PREFIX": WORKLOAD_TAG_VALUE
                    },
                    "NumericLessThan": {"s3:max-keys": 10},
                    "Bool": {"aws:SecureTransport": true}
                }
            }]
        });
        let by_text: Value = serde_json::from_str(&substitute(&document.to_string())).unwrap();
        let mut walked = document.clone();
        substitute_strings(&mut walked);
        assert_eq!(walked, by_text);
        assert_ne!(by_text, document);
        // The walk skips strings without two capitals in a row.
        for (placeholder, _) in SUBSTITUTIONS {
            assert!(two_capitals_in_a_row(placeholder), "{placeholder}");
        }
    }
}
