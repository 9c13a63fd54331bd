//! The five personas and the rule that picks each one's actions.

use crate::data::Curated;
use crate::names::{
    has_word, is_data_plane_verb, is_data_read, is_destructive, on_data_items, scoped_types,
    short_name, starts_with_word, words,
};
use gensec_kb::{AccessLevel, IamAction, ServiceDocumentation};
use std::collections::BTreeMap;

/// Which persona; the order of [`PersonaKind::ALL`] is the order of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PersonaKind {
    ReadOnlyAuditor,
    ApplicationRuntime,
    Operator,
    Administrator,
    CicdDeployer,
}

impl PersonaKind {
    pub const ALL: [PersonaKind; 5] = [
        PersonaKind::ReadOnlyAuditor,
        PersonaKind::ApplicationRuntime,
        PersonaKind::Operator,
        PersonaKind::Administrator,
        PersonaKind::CicdDeployer,
    ];

    pub fn id(self) -> &'static str {
        match self {
            PersonaKind::ReadOnlyAuditor => "read-only-auditor",
            PersonaKind::ApplicationRuntime => "application-runtime",
            PersonaKind::Operator => "operator",
            PersonaKind::Administrator => "administrator",
            PersonaKind::CicdDeployer => "cicd-deployer",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PersonaKind::ReadOnlyAuditor => "Read-only auditor",
            PersonaKind::ApplicationRuntime => "Application runtime",
            PersonaKind::Operator => "Operator / developer",
            PersonaKind::Administrator => "Administrator",
            PersonaKind::CicdDeployer => "CI/CD deployer",
        }
    }

    /// A person signs in (MFA applies), as opposed to a role a service assumes.
    pub fn human(self) -> bool {
        matches!(
            self,
            PersonaKind::ReadOnlyAuditor | PersonaKind::Operator | PersonaKind::Administrator
        )
    }

    /// MFA is enforced for these when the profile requires it. The auditor is
    /// human too, but read-only metadata access is commonly granted through
    /// federated SSO sessions whose MFA the identity provider enforces.
    pub fn mfa_enforced(self) -> bool {
        matches!(self, PersonaKind::Operator | PersonaKind::Administrator)
    }

    /// Calls come straight from the principal (so `aws:SecureTransport` is
    /// meaningful); the deployer's calls are made by CloudFormation.
    pub fn direct_calls(self) -> bool {
        !matches!(self, PersonaKind::CicdDeployer)
    }

    /// Statements are also scoped with `aws:ResourceTag/<persona scope key>`
    /// where every action of the statement supports it.
    pub fn tag_scoped(self) -> bool {
        matches!(
            self,
            PersonaKind::ApplicationRuntime | PersonaKind::Operator
        )
    }

    pub fn description(self, service: &str) -> String {
        match self {
            PersonaKind::ReadOnlyAuditor => format!(
                "Reviews the configuration of {service}: List and Read actions, without reads that return customer data."
            ),
            PersonaKind::ApplicationRuntime => format!(
                "The role the workload's compute assumes to use {service}'s data plane: reads and writes of data items and invocations; no permissions or tag management, no deletion of top-level resources."
            ),
            PersonaKind::Operator => format!(
                "Runs and changes {service} day to day: List, Read and Write, without permissions management, tagging or destructive deletes."
            ),
            PersonaKind::Administrator => format!(
                "Full control of {service}, every action enumerated, including permissions management. Break-glass use, time-bound."
            ),
            PersonaKind::CicdDeployer => format!(
                "The role CloudFormation uses to create, update and delete {service} resources: exactly the handler permissions of the resource types' schemas."
            ),
        }
    }
}

/// Companion actions the application runtime needs, in other prefixes or not
/// caught by the name rules.
pub(crate) const RUNTIME_COMPANIONS: &[(&str, &[&str])] = &[
    (
        "s3",
        &[
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:ListBucketMultipartUploads",
        ],
    ),
    // Item reads and writes; no table management.
    (
        "dynamodb",
        &[
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
    ),
    // Workloads and kubectl find the cluster endpoint; access inside it is Kubernetes RBAC.
    ("eks", &["eks:DescribeCluster"]),
    // Domain HTTP APIs (index, search); no domain management.
    (
        "es",
        &[
            "es:ESHttpDelete",
            "es:ESHttpGet",
            "es:ESHttpHead",
            "es:ESHttpPost",
            "es:ESHttpPut",
        ],
    ),
    // Envelope encryption and decryption with the service's keys.
    (
        "kms",
        &[
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
        ],
    ),
    // Applications reach the database with credentials; these find its endpoints.
    (
        "rds",
        &[
            "rds:DescribeDBInstances",
            "rds:DescribeDBClusters",
            "rds:DescribeDBClusterEndpoints",
            "rds:DescribeDBProxyEndpoints",
        ],
    ),
];

/// Notes for the review module on the runtime of particular services.
pub(crate) const RUNTIME_NOTES: &[(&str, &str)] = &[(
    "rds",
    "Applications reach the database with database credentials (from Secrets Manager) or IAM database \
     authentication. `rds-db:connect` is classified *Permissions management* in the IAM reference, so it \
     is not in this policy; if the workload uses IAM database authentication, grant it separately, scoped \
     to `arn:aws:rds-db:REGION:ACCOUNT_ID:dbuser:<DbiResourceId>/<db user>`, with security team + IAM team approval.",
)];

/// Words that make a data-item action an infrastructure one (replication
/// roles, compliance holds), not an application's.
const RUNTIME_EXCLUDED_WORDS: &[&str] = &[
    "Replicate",
    "Replication",
    "Initiate",
    "Hold",
    "Retention",
    "Encryption",
];

fn runtime_wants(curated: &Curated, full: &str, action: &IamAction) -> bool {
    if curated.runtime_withheld(full).is_some() {
        return false;
    }
    let level = action.access_level();
    if !matches!(
        level,
        AccessLevel::Read | AccessLevel::Write | AccessLevel::List
    ) {
        return false;
    }
    if words(short_name(full))
        .iter()
        .any(|word| RUNTIME_EXCLUDED_WORDS.contains(word))
    {
        return false;
    }
    // Permanently deleting versions defeats versioning; applications delete current objects.
    if starts_with_word(full, "Delete") && has_word(full, "Version") {
        return false;
    }
    let scoped = !scoped_types(action).is_empty();
    (on_data_items(action) && (level != AccessLevel::Read || is_data_read(curated, full, action)))
        || (scoped && is_data_plane_verb(full))
}

/// Candidate actions of a persona (`prefix:Name`) with where each came from.
pub fn candidates(
    kind: PersonaKind,
    curated: &Curated,
    doc: &ServiceDocumentation,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if kind == PersonaKind::CicdDeployer {
        for schema in &doc.resource_types {
            for (handler, permissions) in &schema.handler_permissions {
                for permission in permissions {
                    out.entry(permission.clone())
                        .or_insert_with(|| format!("{} {handler} handler", schema.type_name));
                }
            }
        }
        return out;
    }
    for service in &doc.iam_services {
        for action in &service.actions {
            let full = format!("{}:{}", service.prefix, action.name);
            let level = action.access_level();
            let wanted = match kind {
                PersonaKind::ReadOnlyAuditor => {
                    matches!(level, AccessLevel::List | AccessLevel::Read)
                        && !is_data_read(curated, &full, action)
                }
                PersonaKind::ApplicationRuntime => runtime_wants(curated, &full, action),
                PersonaKind::Operator => {
                    matches!(
                        level,
                        AccessLevel::List | AccessLevel::Read | AccessLevel::Write
                    ) && !action
                        .access_levels
                        .contains(&AccessLevel::PermissionsManagement)
                        && !is_destructive(&full)
                }
                PersonaKind::Administrator => true,
                PersonaKind::CicdDeployer => false,
            };
            if wanted {
                out.insert(full, format!("{} access level rule", level.as_str()));
            }
        }
    }
    if kind == PersonaKind::ApplicationRuntime {
        for (prefix, companions) in RUNTIME_COMPANIONS {
            if doc.iam_prefixes.iter().any(|p| p == prefix) {
                for companion in *companions {
                    out.entry((*companion).to_string())
                        .or_insert_with(|| "runtime companion list".to_string());
                }
            }
        }
    }
    out
}
