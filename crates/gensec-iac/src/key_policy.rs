//! The package key's policy: administration separated from use, use only
//! through the services of the package's own resources (`kms:ViaService`),
//! grants only for AWS resources (`kms:GrantIsForAWSResource`), service
//! principals limited to this account's resources by the encryption
//! context. The policy is executed with `gensec-policy` before it is
//! written: the package's services can use the key, nothing else can.

use crate::data::{Curated, ServicePrincipalUse};
use gensec_core::contract::controls::{ExecutedCase, Verdict};
use gensec_kb::Kb;
use gensec_policy::{Outcome, Policy, PolicyKind, PolicySet, RequestContext};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Key administration without use: these never encrypt or decrypt.
const ADMIN_ACTIONS: &[&str] = &[
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
];

/// Cryptographic use, allowed only through the package's services.
const USE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

const SAMPLE_PARTITION: &str = "aws";
const SAMPLE_ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";
const SAMPLE_REGION: &str = "us-east-1";

/// The policy, the cases it was executed against and what went wrong.
#[derive(Debug, Default)]
pub struct KeyPolicy {
    pub document: Value,
    pub cases: Vec<ExecutedCase>,
    /// Types whose key use is unknown, names the KB does not know, failed cases.
    pub problems: Vec<String>,
}

/// How the key is used by the resource types that reference it.
#[derive(Debug, Default)]
struct Uses {
    via_services: BTreeSet<String>,
    principals: Vec<ServicePrincipalUse>,
    /// A key no resource of the package uses (the KMS package's own key):
    /// the account's IAM policies decide who uses it, in this account only.
    through_iam: bool,
}

fn uses(kb: &Kb, curated: &Curated, users: &[String], problems: &mut Vec<String>) -> Uses {
    let mut uses = Uses {
        through_iam: users.is_empty(),
        ..Uses::default()
    };
    for resource_type in users {
        let namespace = resource_type
            .splitn(3, "::")
            .take(2)
            .collect::<Vec<_>>()
            .join("::");
        if let Some(usage) = curated.key_usage(&namespace) {
            uses.via_services.extend(usage.via_services.iter().cloned());
            if let Some(principal) = &usage.service_principal
                && !uses
                    .principals
                    .iter()
                    .any(|p| p.principal == principal.principal)
            {
                uses.principals.push(principal.clone());
            }
            continue;
        }
        let prefix = namespace
            .rsplit("::")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(kb.iam_service(&prefix), Ok(Some(_))) {
            uses.via_services.insert(prefix);
        } else {
            problems.push(format!(
                "{resource_type} uses the key but {prefix} is no IAM service prefix: \
                 curate its key use in gensec-iac/data/kms-key-usage.json"
            ));
        }
    }
    uses
}

/// `Fn::Sub` where the text names a pseudo parameter, else the text.
fn sub(text: &str) -> Value {
    if text.contains("${") {
        json!({"Fn::Sub": text})
    } else {
        json!(text)
    }
}

fn account_root() -> Value {
    json!({"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")})
}

fn via_service_values(uses: &Uses) -> Vec<Value> {
    uses.via_services
        .iter()
        .map(|service| sub(&format!("{service}.${{AWS::Region}}.amazonaws.com")))
        .collect()
}

fn document(uses: &Uses) -> Value {
    let mut statements = vec![json!({
        "Sid": "AdministerKeyWithoutUse",
        "Effect": "Allow",
        "Principal": account_root(),
        "Action": ADMIN_ACTIONS,
        "Resource": "*"
    })];
    if uses.through_iam {
        let caller = json!({"kms:CallerAccount": sub("${AWS::AccountId}")});
        statements.push(json!({
            "Sid": "UseByThisAccountThroughIam",
            "Effect": "Allow",
            "Principal": account_root(),
            "Action": USE_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": caller}
        }));
        statements.push(json!({
            "Sid": "GrantOnlyForAwsResources",
            "Effect": "Allow",
            "Principal": account_root(),
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": caller
            }
        }));
    }
    if !uses.via_services.is_empty() {
        let through = json!({
            "kms:CallerAccount": sub("${AWS::AccountId}"),
            "kms:ViaService": via_service_values(uses)
        });
        statements.push(json!({
            "Sid": "UseThroughPackageServices",
            "Effect": "Allow",
            "Principal": account_root(),
            "Action": USE_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": through}
        }));
        statements.push(json!({
            "Sid": "GrantOnlyForAwsResources",
            "Effect": "Allow",
            "Principal": account_root(),
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {
                "Bool": {"kms:GrantIsForAWSResource": "true"},
                "StringEquals": through
            }
        }));
    }
    for (index, service) in uses.principals.iter().enumerate() {
        statements.push(json!({
            "Sid": format!("ServiceUseForThisAccount{}", index + 1),
            "Effect": "Allow",
            "Principal": {"Service": sub(&service.principal)},
            "Action": service.actions,
            "Resource": "*",
            "Condition": {"ArnLike": {service.context_key.clone(): sub(&service.context_arn)}}
        }));
        if !service.describe_actions.is_empty() {
            statements.push(json!({
                "Sid": format!("ServiceDescribeForThisAccount{}", index + 1),
                "Effect": "Allow",
                "Principal": {"Service": sub(&service.principal)},
                "Action": service.describe_actions,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": sub("${AWS::AccountId}")}}
            }));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Every action and condition key of the document is one the KB knows.
fn unknown_names(kb: &Kb, document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for statement in document["Statement"].as_array().into_iter().flatten() {
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(one) => vec![one.as_str()],
            other => other
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect(),
        };
        let keys: Vec<String> = statement["Condition"]
            .as_object()
            .into_iter()
            .flat_map(|operators| operators.values())
            .filter_map(Value::as_object)
            .flat_map(|block| block.keys().cloned())
            .collect();
        for action in actions {
            let concrete: Vec<String> = match action.strip_suffix('*') {
                Some(stem) => kb
                    .iam_service("kms")
                    .ok()
                    .flatten()
                    .into_iter()
                    .flat_map(|service| service.actions.iter())
                    .map(|a| format!("kms:{}", a.name))
                    .filter(|name| {
                        name.to_ascii_lowercase()
                            .starts_with(&stem.to_ascii_lowercase())
                    })
                    .collect(),
                None => match kb.action(action) {
                    Ok(Some(_)) => vec![action.to_string()],
                    _ => Vec::new(),
                },
            };
            if concrete.is_empty() {
                problems.push(format!("key policy names unknown action {action}"));
            }
            for key in &keys {
                if !concrete
                    .iter()
                    .any(|a| gensec_kb::validate::condition_key_for_action(kb, a, key).is_ok())
                    && !concrete.is_empty()
                {
                    problems.push(format!("key policy: {key} does not apply to {action}"));
                }
            }
        }
    }
    problems
}

/// The document with the template's pseudo parameters resolved to a sample
/// account and region, as IAM would see it.
fn resolved(value: &Value) -> Value {
    match value {
        Value::Object(object) if object.len() == 1 && object.contains_key("Fn::Sub") => {
            let text = object["Fn::Sub"].as_str().unwrap_or_default();
            json!(
                text.replace("${AWS::Partition}", SAMPLE_PARTITION)
                    .replace("${AWS::AccountId}", SAMPLE_ACCOUNT)
                    .replace("${AWS::Region}", SAMPLE_REGION)
            )
        }
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, child)| (key.clone(), resolved(child)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(resolved).collect()),
        other => other.clone(),
    }
}

struct Case {
    name: String,
    context: RequestContext,
    /// The caller has an identity policy allowing every KMS action.
    iam_allows: bool,
    expected: Verdict,
}

fn role(account: &str, name: &str) -> String {
    format!("arn:{SAMPLE_PARTITION}:iam::{account}:role/{name}")
}

/// The sample key every case calls.
fn sample_key() -> String {
    format!(
        "arn:{SAMPLE_PARTITION}:kms:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
}

/// `principal` calls `action` on the sample key of the sample account.
fn call(principal: &str, action: &str) -> RequestContext {
    RequestContext::new(principal, action, sample_key()).with_resource_account(SAMPLE_ACCOUNT)
}

fn cases(uses: &Uses) -> Vec<Case> {
    let workload = role(SAMPLE_ACCOUNT, "workload-runtime");
    let admin = role(SAMPLE_ACCOUNT, "key-administrator");
    let mut cases = vec![
        Case {
            name: "kms:PutKeyPolicy by the account's administrators (no lockout)".into(),
            context: call(&admin, "kms:PutKeyPolicy"),
            iam_allows: true,
            expected: Verdict::Allowed,
        },
        Case {
            name: "kms:ScheduleKeyDeletion by the account's administrators".into(),
            context: call(&admin, "kms:ScheduleKeyDeletion"),
            iam_allows: true,
            expected: Verdict::Allowed,
        },
    ];
    if uses.through_iam {
        cases.extend(iam_delegated_cases());
    } else {
        cases.push(Case {
            name: "kms:Decrypt called directly, not through a service".into(),
            context: call(&workload, "kms:Decrypt").with("kms:CallerAccount", SAMPLE_ACCOUNT),
            iam_allows: true,
            expected: Verdict::Denied,
        });
    }
    for service in &uses.via_services {
        cases.extend(via_service_cases(service));
    }
    for service in &uses.principals {
        cases.extend(service_principal_cases(service));
    }
    cases
}

/// Use through `service` (`kms:ViaService`): the account's roles may decrypt,
/// generate data keys and grant to AWS resources; another account's may not.
/// A key whose use the account's IAM policies decide: a role with such a
/// policy uses it, one without or from another account does not, grants
/// only for AWS resources.
fn iam_delegated_cases() -> Vec<Case> {
    let workload = role(SAMPLE_ACCOUNT, "workload-runtime");
    let outsider = role(OTHER_ACCOUNT, "workload-runtime");
    let mut cases = Vec::new();
    for (principal, account, iam_allows, expected, who) in [
        (
            &workload,
            SAMPLE_ACCOUNT,
            true,
            Verdict::Allowed,
            "a role of the account its IAM policy allows",
        ),
        (
            &workload,
            SAMPLE_ACCOUNT,
            false,
            Verdict::Denied,
            "a role of the account without an IAM policy",
        ),
        (
            &outsider,
            OTHER_ACCOUNT,
            true,
            Verdict::Denied,
            "a role of another account",
        ),
    ] {
        cases.push(Case {
            name: format!("kms:Decrypt by {who}"),
            context: call(principal, "kms:Decrypt").with("kms:CallerAccount", account),
            iam_allows,
            expected,
        });
    }
    cases.extend(grant_cases(&workload, None));
    cases
}

/// A grant for an AWS resource is allowed, one that is not is denied;
/// through `endpoint` when the key's use goes through a service.
fn grant_cases(workload: &str, endpoint: Option<&str>) -> Vec<Case> {
    [("true", Verdict::Allowed), ("false", Verdict::Denied)]
        .into_iter()
        .map(|(for_resource, expected)| {
            let mut context =
                call(workload, "kms:CreateGrant").with("kms:CallerAccount", SAMPLE_ACCOUNT);
            let through = match endpoint {
                Some(endpoint) => {
                    context = context.with("kms:ViaService", endpoint);
                    format!(" through {endpoint}")
                }
                None => String::new(),
            };
            Case {
                name: format!(
                    "kms:CreateGrant{through} with kms:GrantIsForAWSResource={for_resource}"
                ),
                context: context.with("kms:GrantIsForAWSResource", for_resource),
                iam_allows: true,
                expected,
            }
        })
        .collect()
}

fn via_service_cases(service: &str) -> Vec<Case> {
    let workload = role(SAMPLE_ACCOUNT, "workload-runtime");
    let outsider = role(OTHER_ACCOUNT, "workload-runtime");
    let endpoint = format!("{service}.{SAMPLE_REGION}.amazonaws.com");
    let mut cases = Vec::new();
    for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
        cases.push(Case {
            name: format!("{action} through {endpoint} by a role of the account"),
            context: call(&workload, action)
                .with("kms:ViaService", endpoint.as_str())
                .with("kms:CallerAccount", SAMPLE_ACCOUNT),
            iam_allows: true,
            expected: Verdict::Allowed,
        });
    }
    cases.push(Case {
        name: format!("kms:Decrypt through {endpoint} by a role of another account"),
        context: call(&outsider, "kms:Decrypt")
            .with("kms:ViaService", endpoint.as_str())
            .with("kms:CallerAccount", OTHER_ACCOUNT),
        iam_allows: true,
        expected: Verdict::Denied,
    });
    cases.extend(grant_cases(&workload, Some(&endpoint)));
    cases
}

/// A service principal's own use, scoped by its context key: allowed for a
/// resource of the account, denied for another account's.
fn service_principal_cases(service: &ServicePrincipalUse) -> Vec<Case> {
    let principal = service.principal.replace("${AWS::Region}", SAMPLE_REGION);
    let Some(action) = service
        .actions
        .iter()
        .find(|a| !a.contains('*'))
        .cloned()
        .or_else(|| {
            service
                .actions
                .first()
                .map(|a| a.trim_end_matches('*').to_string())
        })
    else {
        return Vec::new();
    };
    [
        (SAMPLE_ACCOUNT, Verdict::Allowed),
        (OTHER_ACCOUNT, Verdict::Denied),
    ]
    .into_iter()
    .map(|(account, expected)| {
        let arn = service
            .context_arn
            .replace("${AWS::Partition}", SAMPLE_PARTITION)
            .replace("${AWS::Region}", SAMPLE_REGION)
            .replace("${AWS::AccountId}", account)
            .replace('*', "sample");
        Case {
            name: format!("{action} by {principal} for {arn}"),
            context: call(&principal, &action)
                .with(service.context_key.as_str(), arn.as_str())
                .with("aws:SourceAccount", account),
            iam_allows: false,
            expected,
        }
    })
    .collect()
}

/// The key policy's cases for an independent evaluator: the resolved policy
/// as the resource policy, an identity policy allowing every KMS action
/// where the caller has one, and the verdict gensec requires.
pub fn corpus_cases(
    kb: &Kb,
    curated: &Curated,
    users: &[String],
) -> Result<Vec<gensec_policy::corpus::Case>, String> {
    use gensec_policy::corpus::{Case as CorpusCase, NamedPolicy, SimulatorMode};
    let mut problems = Vec::new();
    let uses = uses(kb, curated, users, &mut problems);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let document = resolved(&document(&uses));
    let allow_kms = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]});
    Ok(cases(&uses)
        .into_iter()
        .enumerate()
        .map(|(index, case)| {
            // iam-simulate checks a request's keys against the IAM reference
            // without expanding its templated `kms:EncryptionContext:${EncryptionContextKey}`,
            // so it drops the context a service principal's request carries.
            let templated_context = case
                .context
                .values
                .keys()
                .any(|key| key.starts_with("kms:EncryptionContext:"));
            let dropped = "iam-simulate ignores kms:EncryptionContext:<key> (a templated key in \
                           the IAM reference), so the encryption-context condition never matches";
            let simulator = match (templated_context, case.expected) {
                (true, Verdict::Allowed) => SimulatorMode::Diverges {
                    reason: dropped.into(),
                    reference: "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context"
                        .into(),
                    simulator_outcome: Outcome::ImplicitlyDenied,
                },
                // Its denial would agree by accident, not for the reason.
                (true, _) => SimulatorMode::Skip {
                    reason: dropped.into(),
                },
                _ => SimulatorMode::default(),
            };
            (index, case, simulator)
        })
        .map(|(index, case, simulator)| CorpusCase {
            id: if users.is_empty() {
                format!("key-policy/own-key/{index}")
            } else {
                format!("key-policy/{}/{index}", users.join("+"))
            },
            category: "catalogue-key-policy".into(),
            description: case.name,
            identity_policies: if case.iam_allows {
                vec![NamedPolicy::new("caller", allow_kms.clone())]
            } else {
                Vec::new()
            },
            resource_policy: Some(NamedPolicy::new("key-policy", document.clone())),
            permission_boundary: None,
            scps: Vec::new(),
            requests: vec![case.context],
            expected: Some(match case.expected {
                Verdict::Allowed => Outcome::Allowed,
                _ => Outcome::ImplicitlyDenied,
            }),
            simulator,
        })
        .collect())
}

/// Build the key policy for the resource types that use the key, and run
/// it against its cases.
/// A key no resource of the package uses (`users` empty, the KMS package's
/// own key) leaves its use to the account's IAM policies, in this account.
pub fn build(kb: &Kb, curated: &Curated, users: &[String]) -> KeyPolicy {
    let mut problems = Vec::new();
    let uses = uses(kb, curated, users, &mut problems);
    let document = document(&uses);
    problems.extend(unknown_names(kb, &document));
    let mut executed = Vec::new();
    match Policy::from_value("key-policy", PolicyKind::Resource, &resolved(&document)) {
        Err(err) => problems.push(format!("key policy does not parse: {err}")),
        Ok(key_policy) => {
            let allow_kms = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]});
            let identity = Policy::from_value("caller", PolicyKind::Identity, &allow_kms);
            for case in cases(&uses) {
                let set = PolicySet {
                    identity: match (&identity, case.iam_allows) {
                        (Ok(policy), true) => vec![policy.clone()],
                        _ => Vec::new(),
                    },
                    resource: Some(key_policy.clone()),
                    ..PolicySet::default()
                };
                let decision = set.evaluate(&case.context);
                let actual = match decision.outcome {
                    Outcome::Allowed => Verdict::Allowed,
                    _ => Verdict::Denied,
                };
                if actual != case.expected {
                    problems.push(format!(
                        "key policy case \"{}\" expected {:?}, got {:?}: {}",
                        case.name,
                        case.expected,
                        actual,
                        decision.to_string().replace('\n', "; ")
                    ));
                }
                executed.push(ExecutedCase {
                    name: case.name,
                    expected: case.expected,
                    actual,
                });
            }
        }
    }
    KeyPolicy {
        document,
        cases: executed,
        problems,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn built(users: &[&str]) -> KeyPolicy {
        let kb = Kb::embedded().unwrap();
        let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        build(&kb, crate::data::curated().unwrap(), &users)
    }

    #[test]
    fn services_use_the_key_through_their_endpoint_and_nothing_else_can() {
        let policy = built(&["AWS::S3::Bucket", "AWS::OpenSearchService::Domain"]);
        assert!(policy.problems.is_empty(), "{:?}", policy.problems);
        let text = policy.document.to_string();
        assert!(text.contains("s3.${AWS::Region}.amazonaws.com"), "{text}");
        assert!(text.contains("es.${AWS::Region}.amazonaws.com"), "{text}");
        assert!(
            !text.contains("kms:*"),
            "administration is separated from use"
        );
        let denied: Vec<&str> = policy
            .cases
            .iter()
            .filter(|c| c.actual == Verdict::Denied)
            .map(|c| c.name.as_str())
            .collect();
        assert!(denied.iter().any(|n| n.contains("called directly")));
        assert!(denied.iter().any(|n| n.contains("another account")));
        assert!(
            denied
                .iter()
                .any(|n| n.contains("GrantIsForAWSResource=false"))
        );
        assert!(policy.cases.iter().all(ExecutedCase::passed));
    }

    #[test]
    fn service_principals_are_limited_to_this_accounts_resources() {
        let policy = built(&["AWS::CloudTrail::Trail", "AWS::Logs::LogGroup"]);
        assert!(policy.problems.is_empty(), "{:?}", policy.problems);
        let text = policy.document.to_string();
        assert!(
            text.contains("\"cloudtrail.amazonaws.com\""),
            "no Fn::Sub without a variable: {text}"
        );
        assert!(
            text.contains("kms:EncryptionContext:aws:logs:arn"),
            "{text}"
        );
        assert!(
            !text.contains("UseThroughPackageServices"),
            "no via-service use without such a service"
        );
        assert_eq!(
            policy
                .cases
                .iter()
                .filter(|c| c.name.contains("444455556666"))
                .count(),
            2
        );
        assert!(policy.cases.iter().all(ExecutedCase::passed));
    }

    #[test]
    fn a_key_no_resource_uses_is_used_through_iam_in_this_account_only() {
        let policy = built(&[]);
        assert!(policy.problems.is_empty(), "{:?}", policy.problems);
        let text = policy.document.to_string();
        assert!(text.contains("UseByThisAccountThroughIam"), "{text}");
        assert!(
            !text.contains("kms:*"),
            "administration is separated from use"
        );
        let verdict = |name: &str| {
            policy
                .cases
                .iter()
                .find(|c| c.name.contains(name))
                .map(|c| c.actual)
        };
        assert_eq!(verdict("its IAM policy allows"), Some(Verdict::Allowed));
        assert_eq!(verdict("without an IAM policy"), Some(Verdict::Denied));
        assert_eq!(verdict("another account"), Some(Verdict::Denied));
        assert_eq!(
            verdict("GrantIsForAWSResource=false"),
            Some(Verdict::Denied)
        );
        assert!(policy.cases.iter().all(ExecutedCase::passed));
    }

    #[test]
    fn a_namespace_without_a_known_endpoint_is_a_problem() {
        let policy = built(&["AWS::NoSuchService::Thing"]);
        assert!(
            policy
                .problems
                .iter()
                .any(|p| p.contains("kms-key-usage.json")),
            "{:?}",
            policy.problems
        );
    }
}
