//! Resource ARNs for policies, built from the IAM reference's ARN formats.
//!
//! `${Partition}` becomes `aws`; the account, region and resource names become
//! upper-case placeholders a reviewer substitutes before deployment (see
//! [`PLACEHOLDERS`]). Identifiers AWS generates (ids, tokens, versions) and
//! child names (object keys) become `*`: they cannot be known in advance and
//! the parent name already scopes them.

use gensec_kb::{IamAction, IamService};

/// Placeholder -> what to substitute, for the review module.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "ACCOUNT_ID",
        "the 12-digit AWS account id the resources live in",
    ),
    (
        "REGION",
        "the region the resources live in (one policy per region, or `*` when the policy is region-neutral and `aws:RequestedRegion` restricts regions)",
    ),
    (
        "RESOURCE_PREFIX",
        "the naming prefix of the workload's resources (bucket, function, instance, role names); `RESOURCE_PREFIX*` matches every resource whose name starts with it",
    ),
    (
        "WORKLOAD_NAME",
        "the value of the persona scope tag (security profile `tagging.persona_scope_key`, by default `workload`) that the hardened template sets on every taggable resource from its `Tag<Key>` parameter (tag-scoped statements only)",
    ),
];

/// Suffixes of ARN variables that are generated identifiers, not names.
const GENERATED_SUFFIXES: &[&str] = &[
    "Id",
    "ID",
    "Token",
    "UUID",
    "Version",
    "Operation",
    "Alias",
    "Hash",
];

/// The policy resource for one ARN format.
pub fn resource_arn(format: &str) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    let mut named = false;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let variable = &after[..end];
        match variable {
            "Partition" => out.push_str("aws"),
            "Region" => out.push_str("REGION"),
            "Account" => out.push_str("ACCOUNT_ID"),
            _ if !named && !GENERATED_SUFFIXES.iter().any(|s| variable.ends_with(s)) => {
                named = true;
                out.push_str("RESOURCE_PREFIX*");
            }
            _ => out.push('*'),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    while out.contains("**") {
        out = out.replace("**", "*");
    }
    out
}

/// Resources of an action: the ARNs of its scoped resource types, sorted;
/// empty when the action supports no resource types (it then needs `"*"`).
/// Also returns the resource type names used, and those not found.
pub fn action_resources(
    service: &IamService,
    action: &IamAction,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut arns = Vec::new();
    let mut types = Vec::new();
    let mut missing = Vec::new();
    for name in crate::names::scoped_types(action) {
        match service.resource_types.iter().find(|r| r.name == name) {
            Some(resource) if !resource.arn_formats.is_empty() => {
                types.push(name.to_string());
                arns.extend(resource.arn_formats.iter().map(|f| resource_arn(f)));
            }
            _ => missing.push(name.to_string()),
        }
    }
    arns.sort();
    arns.dedup();
    types.sort();
    types.dedup();
    (arns, types, missing)
}

/// Does `documented` (`aws:ResourceTag/${TagKey}`) cover the concrete `key`?
pub(crate) fn key_matches(documented: &str, key: &str) -> bool {
    let documented = documented.to_ascii_lowercase();
    let key = key.to_ascii_lowercase();
    match documented.find("${") {
        None => documented == key,
        Some(start) => {
            let prefix = &documented[..start];
            let suffix = documented[start..]
                .find('}')
                .map_or("", |end| &documented[start + end + 1..]);
            key.len() > prefix.len() + suffix.len()
                && key.starts_with(prefix)
                && key.ends_with(suffix)
        }
    }
}

/// Does every scoped resource type of the action support condition `key`?
/// (Global keys pass the knowledge base's check for any action, so resource
/// tag keys are checked here against the resource types.)
pub fn resource_types_support(service: &IamService, action: &IamAction, key: &str) -> bool {
    let types = crate::names::scoped_types(action);
    !types.is_empty()
        && types.iter().all(|name| {
            let on_action = action
                .resource_types
                .iter()
                .filter(|r| r.name == *name)
                .flat_map(|r| &r.condition_keys)
                .any(|k| key_matches(k, key));
            let on_type = service
                .resource_types
                .iter()
                .filter(|r| r.name == *name)
                .flat_map(|r| &r.condition_keys)
                .any(|k| key_matches(k, key));
            on_action || on_type
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert_eq!(
            resource_arn("arn:${Partition}:s3:::${BucketName}/${ObjectName}"),
            "arn:aws:s3:::RESOURCE_PREFIX*/*"
        );
        assert_eq!(
            resource_arn("arn:${Partition}:s3:${Region}:${Account}:job/${JobId}"),
            "arn:aws:s3:REGION:ACCOUNT_ID:job/*"
        );
        assert_eq!(
            resource_arn(
                "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}:${Version}"
            ),
            "arn:aws:lambda:REGION:ACCOUNT_ID:function:RESOURCE_PREFIX*:*"
        );
        assert!(key_matches(
            "aws:ResourceTag/${TagKey}",
            "aws:ResourceTag/workload"
        ));
    }
}
