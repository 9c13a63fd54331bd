//! Risky actions: why an action needs a reviewer's attention. Access levels
//! give permissions management; a small curated list plus name rules give
//! privilege escalation, data exfiltration and resource exposure.

use crate::data::Curated;
use crate::names::{first_is_any, has_word, is_data_read, short_name, words};
use gensec_core::contract::iam::RiskCategory;
use gensec_kb::{AccessLevel, IamAction};

/// Actions that let a principal gain permissions it was not given.
const PRIVILEGE_ESCALATION: &[(&str, &str)] = &[
    (
        "iam:PassRole",
        "hands an IAM role (and all its permissions) to a service the caller controls",
    ),
    (
        "iam:CreatePolicyVersion",
        "rewrites a managed policy, possibly one attached to the caller",
    ),
    (
        "iam:SetDefaultPolicyVersion",
        "switches a managed policy to a more permissive version",
    ),
    (
        "iam:AttachRolePolicy",
        "attaches any managed policy to a role",
    ),
    (
        "iam:AttachUserPolicy",
        "attaches any managed policy to a user",
    ),
    (
        "iam:AttachGroupPolicy",
        "attaches any managed policy to a group",
    ),
    ("iam:PutRolePolicy", "writes an inline policy on a role"),
    ("iam:PutUserPolicy", "writes an inline policy on a user"),
    ("iam:PutGroupPolicy", "writes an inline policy on a group"),
    (
        "iam:UpdateAssumeRolePolicy",
        "lets another principal assume a role",
    ),
    (
        "iam:CreateAccessKey",
        "creates credentials for another user",
    ),
    (
        "iam:CreateLoginProfile",
        "sets a console password for another user",
    ),
    (
        "iam:UpdateLoginProfile",
        "changes another user's console password",
    ),
    (
        "iam:AddUserToGroup",
        "joins a group and inherits its permissions",
    ),
    (
        "iam:CreateServiceLinkedRole",
        "creates a role that a service assumes with its own permissions",
    ),
    ("sts:AssumeRole", "takes on another role's permissions"),
    (
        "lambda:CreateFunction",
        "runs code under an execution role (with iam:PassRole)",
    ),
    (
        "lambda:UpdateFunctionCode",
        "replaces code that runs with the function's execution role",
    ),
    (
        "lambda:UpdateFunctionConfiguration",
        "changes a function's layers or environment, which run with its execution role",
    ),
    (
        "ec2:RunInstances",
        "starts an instance with an instance profile whose role the caller does not hold",
    ),
    (
        "ssm:SendCommand",
        "runs commands on instances with their instance roles",
    ),
    (
        "cloudformation:CreateStack",
        "creates resources with a service role's permissions",
    ),
    (
        "cloudformation:UpdateStack",
        "changes resources with a service role's permissions",
    ),
    ("glue:UpdateDevEndpoint", "runs code with a Glue role"),
    (
        "codebuild:StartBuild",
        "runs a build with the project's service role",
    ),
];

/// Writes that copy data somewhere the owner may not control.
const EXFILTRATION_WRITES: &[(&str, &str)] = &[
    (
        "s3:PutReplicationConfiguration",
        "replicates objects to another bucket, possibly in another account",
    ),
    (
        "s3:ReplicateObject",
        "copies objects into a destination bucket",
    ),
    (
        "s3:PutInventoryConfiguration",
        "writes object listings to another bucket",
    ),
    (
        "rds:CopyDBSnapshot",
        "copies a database snapshot, possibly to another region or account",
    ),
    (
        "rds:CopyDBClusterSnapshot",
        "copies a cluster snapshot, possibly to another region or account",
    ),
    ("rds:StartExportTask", "exports snapshot data to S3"),
    (
        "ec2:CopySnapshot",
        "copies a volume snapshot, possibly to another region or account",
    ),
    (
        "kms:ReEncryptFrom",
        "decrypts and re-encrypts data under another key",
    ),
    (
        "kms:ReEncryptTo",
        "decrypts and re-encrypts data under another key",
    ),
    ("kms:GenerateDataKey", "returns a plaintext data key"),
];

/// Exposure changes that names alone do not reveal.
const EXPOSURE: &[(&str, &str)] = &[
    (
        "lambda:CreateFunctionUrlConfig",
        "creates a public HTTPS endpoint for a function (auth type NONE is possible)",
    ),
    (
        "lambda:UpdateFunctionUrlConfig",
        "can make a function URL unauthenticated",
    ),
    (
        "s3:PutBucketWebsite",
        "serves the bucket as a public website",
    ),
    (
        "s3:PutBucketCORS",
        "lets other origins' browsers read the bucket",
    ),
    (
        "rds:ModifyDBInstance",
        "can make an instance publicly accessible",
    ),
    (
        "rds:ModifyDBCluster",
        "can make a cluster publicly accessible",
    ),
    (
        "rds:ModifyDBSnapshotAttribute",
        "shares a snapshot with other accounts or publicly",
    ),
    (
        "rds:ModifyDBClusterSnapshotAttribute",
        "shares a cluster snapshot with other accounts or publicly",
    ),
    (
        "ec2:ModifySnapshotAttribute",
        "shares a volume snapshot with other accounts or publicly",
    ),
    (
        "ec2:ModifyImageAttribute",
        "shares an image with other accounts or publicly",
    ),
    (
        "rds:AuthorizeDBSecurityGroupIngress",
        "opens database network access",
    ),
];

fn lookup<'a>(list: &'a [(&str, &str)], full: &str) -> Option<&'a str> {
    list.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(full))
        .map(|(_, reason)| *reason)
}

/// Every reason the action is risky, one per category.
pub fn classify(curated: &Curated, full: &str, action: &IamAction) -> Vec<(RiskCategory, String)> {
    let mut out = Vec::new();
    if action
        .access_levels
        .contains(&AccessLevel::PermissionsManagement)
    {
        out.push((
            RiskCategory::PermissionsManagement,
            "access level Permissions management: changes who may access the resource".to_string(),
        ));
    }
    if let Some(reason) = lookup(PRIVILEGE_ESCALATION, full) {
        out.push((RiskCategory::PrivilegeEscalation, reason.to_string()));
    }
    if is_data_read(curated, full, action) {
        out.push((
            RiskCategory::DataExfiltration,
            "Read action that returns customer data, not metadata".to_string(),
        ));
    } else if let Some(reason) = lookup(EXFILTRATION_WRITES, full) {
        out.push((RiskCategory::DataExfiltration, reason.to_string()));
    }
    if let Some(reason) = lookup(EXPOSURE, full) {
        out.push((RiskCategory::ResourceExposure, reason.to_string()));
    } else if let Some(reason) = exposure_by_name(full) {
        out.push((RiskCategory::ResourceExposure, reason));
    }
    out
}

/// Changes to resource policies, ACLs, grants, public access blocks and sharing.
fn exposure_by_name(full: &str) -> Option<String> {
    let name = short_name(full);
    if !first_is_any(
        name,
        &[
            "Put", "Delete", "Set", "Add", "Remove", "Create", "Update", "Modify", "Share",
        ],
    ) {
        return None;
    }
    let all = words(name);
    let what = if all.contains(&"Policy") {
        "a resource-based policy"
    } else if all.iter().any(|w| *w == "Acl" || *w == "ACL") {
        "an access control list"
    } else if all.contains(&"Permission") {
        "a resource permission"
    } else if all.contains(&"Public") {
        "the public access settings"
    } else if all.contains(&"Grant") || all.contains(&"Grants") {
        "a grant of access"
    } else if all.first() == Some(&"Share")
        || (all.contains(&"Attribute") && has_word(full, "Modify"))
    {
        "sharing with other accounts"
    } else {
        return None;
    };
    Some(format!(
        "changes {what}, which can expose the resource outside the account"
    ))
}

/// Risky actions among the granted ones, with the personas granted each.
pub(crate) fn risky_actions(
    curated: &Curated,
    granted_to: &std::collections::BTreeMap<String, (&IamAction, Vec<&'static str>)>,
) -> Vec<gensec_core::contract::iam::RiskyAction> {
    let mut risky_actions = Vec::new();
    for (full, (action, personas)) in granted_to {
        for (category, reason) in classify(curated, full, action) {
            risky_actions.push(gensec_core::contract::iam::RiskyAction {
                action: full.clone(),
                category,
                reason,
                granted_to: personas.iter().map(|p| (*p).to_string()).collect(),
            });
        }
    }
    risky_actions.sort_by(|a, b| (a.category, &a.action).cmp(&(b.category, &b.action)));
    risky_actions
}
