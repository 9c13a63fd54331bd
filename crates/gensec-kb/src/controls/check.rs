//! The catalogue's own consistency, checked when it loads.

use super::CatalogueError;
use super::model::{Control, FieldCondition, Fix, RawExpectation, Remediation};
use std::collections::{BTreeMap, BTreeSet};

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_control_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// `S3.8`, `EC2.19`, `ELB.4`.
pub fn is_security_hub_id(id: &str) -> bool {
    id.split_once('.').is_some_and(|(service, number)| {
        !service.is_empty()
            && service.chars().all(|c| c.is_ascii_alphanumeric())
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
    })
}

/// `AwsS3Bucket`, `AwsAccount`: `Aws` and a capitalised name.
fn is_asff_resource_type(kind: &str) -> bool {
    kind.strip_prefix("Aws").is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_uppercase())
            && rest.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// `CKV_AWS_123` or `CKV2_AWS_12`.
fn is_checkov_id(id: &str) -> bool {
    ["CKV_AWS_", "CKV2_AWS_"].iter().any(|prefix| {
        id.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

fn scalar(expect: &RawExpectation) -> Result<(), String> {
    match expect {
        RawExpectation::Contains(_)
        | RawExpectation::NoElement(_)
        | RawExpectation::EveryElement(_)
        | RawExpectation::MinItems(_)
        | RawExpectation::Excludes(_) => Err("a field condition takes a scalar expectation".into()),
        other => expectation(other),
    }
}

fn conditions(conditions: &[FieldCondition]) -> Result<(), String> {
    if conditions.is_empty() {
        return Err("an element condition needs at least one field".into());
    }
    for condition in conditions {
        if condition.field.trim().is_empty() {
            return Err("a field condition names no field".into());
        }
        scalar(&condition.expect).map_err(|m| format!("field {}: {m}", condition.field))?;
    }
    Ok(())
}

/// An expectation's shape: flags true, lists non-empty, patterns that compile.
pub fn expectation(expect: &RawExpectation) -> Result<(), String> {
    match expect {
        RawExpectation::Present(false) => Err("present must be true".into()),
        RawExpectation::Absent(false) => Err("absent must be true".into()),
        RawExpectation::OneOf(values) if values.is_empty() => Err("one_of lists no values".into()),
        RawExpectation::Matches(pattern) | RawExpectation::NotMatches(pattern) => {
            regex::Regex::new(pattern)
                .map(|_| ())
                .map_err(|err| format!("pattern {pattern:?}: {err}"))
        }
        RawExpectation::Contains(element)
            if element.as_object().is_none_or(|fields| fields.is_empty()) =>
        {
            Err("contains needs an object with at least one field".into())
        }
        RawExpectation::NoElement(list) | RawExpectation::EveryElement(list) => conditions(list),
        // One element is what `present` asks.
        RawExpectation::MinItems(least) if *least < 2 => {
            Err(format!("min_items {least}: use present for one element"))
        }
        RawExpectation::Excludes(value) if value.is_object() || value.is_array() => {
            Err("excludes takes one scalar value (no_element compares fields of objects)".into())
        }
        _ => Ok(()),
    }
}

fn fix(fix: &Fix) -> Result<(), String> {
    if fix.resources.is_empty() {
        return Err("fix has no resources".into());
    }
    for resource in &fix.resources {
        if !resource.kind.starts_with("aws_") || !is_identifier(&resource.kind) {
            return Err(format!(
                "resource type {:?} is not an AWS type",
                resource.kind
            ));
        }
        if !is_identifier(&resource.name) {
            return Err(format!(
                "resource name {:?} is not an identifier",
                resource.name
            ));
        }
        if let Some(key) = resource.arguments.keys().find(|key| !is_identifier(key)) {
            return Err(format!("argument {key:?} is not an identifier"));
        }
    }
    Ok(())
}

/// A remediation: a fix or the reason none is safe; checkov checks or the
/// reason none applies, only with a fix; a documentation link.
pub fn remediation(remediation: &Remediation) -> Result<(), String> {
    if remediation.risk.trim().is_empty() {
        return Err("remediation risk is empty".into());
    }
    if let Some(kind) = &remediation.resource_type
        && !is_asff_resource_type(kind)
    {
        return Err(format!(
            "resource_type {kind:?} is not an ASFF resource type (AwsS3Bucket, AwsAccount)"
        ));
    }
    if !remediation.documentation.starts_with("https://") {
        return Err("documentation must be an https:// link".into());
    }
    let blank = |items: &[String]| items.is_empty() || items.iter().any(|i| i.trim().is_empty());
    if blank(&remediation.check_before) || blank(&remediation.verify) {
        return Err("check_before and verify need at least one non-empty step each".into());
    }
    let rmw = remediation.read_modify_write.as_ref();
    let merge = remediation.policy_merge.as_ref();
    for command in remediation
        .cli
        .iter()
        .chain(rmw.map(|r| &r.get))
        .chain(rmw.map(|r| &r.update))
        .chain(merge.map(|m| &m.get))
        .chain(merge.map(|m| &m.update))
    {
        if command.service.is_empty() || command.operation.is_empty() {
            return Err("a CLI command needs a service and an operation".into());
        }
        if let Some(flag) = command.arguments.keys().find(|flag| {
            flag.strip_prefix("--").is_none_or(|name| {
                name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
        }) {
            return Err(format!(
                "CLI argument {flag:?} of aws {} {} is not a --parameter",
                command.service, command.operation
            ));
        }
    }
    if let Some(rmw) = rmw {
        let is_flag = |flag: &str| {
            flag.strip_prefix("--").is_some_and(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
        };
        if let Some(flag) = std::iter::once(&rmw.write)
            .chain(rmw.token.as_ref().map(|t| &t.flag))
            .find(|flag| !is_flag(flag))
        {
            return Err(format!("read_modify_write: {flag:?} is not a --parameter"));
        }
        if rmw.read.trim().is_empty() || rmw.set.is_empty() {
            return Err("read_modify_write needs the read member and at least one setting".into());
        }
        if let Some(both) = rmw
            .set
            .iter()
            .find(|s| s.only_if_absent && s.only_if.is_some())
        {
            return Err(format!(
                "read_modify_write: {} has both only_if and only_if_absent",
                both.path
            ));
        }
        if let Some(whole) = &rmw.whole_input {
            let member = |name: &String| {
                name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric())
            };
            if whole.keep.is_empty() {
                return Err("read_modify_write: whole_input keeps at least one member".into());
            }
            if let Some(bad) = whole.keep.iter().chain(&whole.beside).find(|m| !member(m)) {
                return Err(format!(
                    "read_modify_write: whole_input member {bad:?} is not a member name"
                ));
            }
            if let Some(bad) = whole.take.keys().find(|m| !member(m)) {
                return Err(format!(
                    "read_modify_write: whole_input take {bad:?} is not a member name"
                ));
            }
            if let Some(bad) = whole
                .take
                .values()
                .chain(&whole.drop)
                .find(|path| crate::api_model::parse_path(path).is_err())
            {
                return Err(format!(
                    "read_modify_write: whole_input path {bad:?} is not a .Member path"
                ));
            }
            if rmw.write != "--cli-input-json" || rmw.token.is_some() {
                return Err(
                    "read_modify_write: a whole_input write takes --cli-input-json and no token"
                        .into(),
                );
            }
        }
    }
    if let Some(merge) = merge {
        if !merge.write.strip_prefix("--").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        }) {
            return Err(format!(
                "policy_merge: {:?} is not a --parameter",
                merge.write
            ));
        }
        if merge.read.trim().is_empty() {
            return Err("policy_merge needs the read member".into());
        }
        if merge
            .absent
            .as_deref()
            .is_some_and(|code| code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err("policy_merge: absent must be an error code (NoSuchBucketPolicy)".into());
        }
    }
    if let Some(bad) = remediation.checkov.iter().find(|id| !is_checkov_id(id)) {
        return Err(format!("{bad:?} is not a checkov AWS check id"));
    }
    let reason = |text: &Option<String>| text.as_deref().is_some_and(|r| !r.trim().is_empty());
    match (
        &remediation.fix,
        remediation.checkov.is_empty(),
        reason(&remediation.no_checkov_reason),
    ) {
        (None, _, _) if !reason(&remediation.no_fix_reason) => {
            Err("no_fix_reason is required without a fix".into())
        }
        (None, false, _) | (None, _, true) => {
            Err("checkov and no_checkov_reason are only for remediations with a fix".into())
        }
        (Some(_), true, false) => {
            Err("a fix needs checkov check ids or a no_checkov_reason".into())
        }
        (Some(_), false, true) => {
            Err("give checkov check ids or a no_checkov_reason, not both".into())
        }
        (Some(found), _, _) => fix(found),
        (None, _, _) => Ok(()),
    }
}

fn control(control: &Control) -> Result<(), String> {
    if !is_control_id(&control.id) {
        return Err("the id must be lower-case letters, digits and dashes".into());
    }
    if control.title.trim().is_empty() || control.rationale.trim().is_empty() {
        return Err("title and rationale must not be empty".into());
    }
    match (control.requirements.is_empty(), &control.operational) {
        (true, None) => {
            return Err("a control needs requirements, or says what to do in `operational`".into());
        }
        (false, Some(_)) => {
            return Err("`operational` is only for controls without requirements".into());
        }
        (true, Some(text)) if text.trim().is_empty() => {
            return Err("`operational` is empty".into());
        }
        _ => {}
    }
    if control.requirements.is_empty() == control.services.is_empty() {
        return Err(
            "an operational control names its services; a configuration control does not".into(),
        );
    }
    for requirement in &control.requirements {
        expectation(&requirement.expect).map_err(|m| {
            format!(
                "{} {}: {m}",
                requirement.resource_type, requirement.property
            )
        })?;
        if let Some(block) = &requirement.when_set
            && !requirement
                .property
                .strip_prefix(block.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        {
            return Err(format!(
                "{} {}: when_set {block:?} is not a block the property lies in",
                requirement.resource_type, requirement.property
            ));
        }
        if !is_control_id(&requirement.key) {
            return Err(format!(
                "requirement key {:?} is not a slug",
                requirement.key
            ));
        }
    }
    if let Some(bad) = control
        .security_hub
        .iter()
        .find(|id| !is_security_hub_id(id))
    {
        return Err(format!("{bad:?} is not a Security Hub control id"));
    }
    if let Some(found) = &control.remediation {
        if control.security_hub.is_empty() {
            return Err("a remediation needs the Security Hub controls it remediates".into());
        }
        remediation(found)?;
    }
    Ok(())
}

/// The whole catalogue: each control, unique ids and requirement keys, one
/// remediation per Security Hub control.
pub fn catalogue(controls: &[(String, Control)]) -> Result<(), CatalogueError> {
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    // Security Hub id -> (resource type, control) of each remediation.
    let mut remediated: BTreeMap<String, Vec<(Option<&str>, &str)>> = BTreeMap::new();
    for (file, found) in controls {
        let error = |message: String| CatalogueError::Control {
            file: file.clone(),
            control: found.id.clone(),
            message,
        };
        control(found).map_err(error)?;
        if !ids.insert(found.id.as_str()) {
            return Err(error("the id is used twice".into()));
        }
        for requirement in &found.requirements {
            if !keys.insert((requirement.resource_type.as_str(), requirement.key.as_str())) {
                return Err(error(format!(
                    "{} key {} is used twice",
                    requirement.resource_type, requirement.key
                )));
            }
        }
        if let Some(remediation) = &found.remediation {
            let kind = remediation.resource_type.as_deref();
            for id in &found.security_hub {
                let others = remediated.entry(id.to_ascii_uppercase()).or_default();
                // Several remediations of one Security Hub control must each
                // name the resource type whose findings they answer, and no
                // two the same: a finding then has exactly one.
                if let Some((_, other)) = others.iter().find(|(other_kind, _)| {
                    kind.is_none() || other_kind.is_none() || *other_kind == kind
                }) {
                    return Err(error(format!(
                        "{id} is remediated by {other} too; two remediations of one Security Hub control must each name a different resource_type"
                    )));
                }
                others.push((kind, found.id.as_str()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remediation with these extra fields (JSON members, comma-led).
    fn checked(extra: &str) -> Result<(), String> {
        let text = format!(
            r#"{{"risk": "r", "manual_steps": [], "check_before": ["c"], "verify": ["v"], "documentation": "https://docs.aws.amazon.com/x"{extra}}}"#
        );
        let parsed: Remediation = serde_json::from_str(&text).map_err(|err| err.to_string())?;
        remediation(&parsed)
    }

    const FIX: &str = r#", "fix": {"resources": [{"type": "aws_s3_bucket_versioning", "name": "fix", "arguments": {"bucket": "b"}}]}"#;

    #[test]
    fn a_variant_block_contains_its_requirement() {
        let with = |property: &str, block: &str| {
            let text = format!(
                r#"{{"id": "fsx-x", "title": "t", "requirements": [{{"resource_type": "AWS::FSx::FileSystem", "key": "k", "property": "{property}", "when_set": "{block}", "expect": {{"equals": true}}}}], "domain": "data_protection", "stride": "information_disclosure", "priority": "Low", "rationale": "r"}}"#
            );
            let parsed: Control = serde_json::from_str(&text).map_err(|err| err.to_string())?;
            control(&parsed)
        };
        assert!(
            with(
                "OpenZFSConfiguration.CopyTagsToBackups",
                "OpenZFSConfiguration"
            )
            .is_ok()
        );
        assert!(
            with(
                "OpenZFSConfiguration.CopyTagsToBackups",
                "LustreConfiguration"
            )
            .is_err()
        );
        assert!(with("OpenZFSConfigurationX.A", "OpenZFSConfiguration").is_err());
        assert!(with("OpenZFSConfiguration", "OpenZFSConfiguration").is_err());
    }

    #[test]
    fn a_fix_names_its_checkov_checks_or_says_why_not() {
        assert!(
            checked(&format!(
                r#"{FIX}, "checkov": ["CKV_AWS_21", "CKV2_AWS_6"]"#
            ))
            .is_ok()
        );
        assert!(checked(&format!(r#"{FIX}, "no_checkov_reason": "none exists""#)).is_ok());
        assert!(checked(FIX).is_err());
        assert!(
            checked(&format!(
                r#"{FIX}, "checkov": ["CKV_AWS_21"], "no_checkov_reason": "x""#
            ))
            .is_err()
        );
        assert!(checked(&format!(r#"{FIX}, "checkov": ["CKV_AZURE_1"]"#)).is_err());
        assert!(checked(&format!(r#"{FIX}, "checkov": ["CKV_AWS_"]"#)).is_err());
        assert!(checked(r#", "no_fix_reason": "n", "checkov": ["CKV_AWS_21"]"#).is_err());
        assert!(checked(r#", "no_fix_reason": "n""#).is_ok());
        assert!(checked("").is_err(), "neither a fix nor a reason");
        let cli = |arguments: &str| {
            checked(&format!(
                r#", "no_fix_reason": "n", "cli": [{{"service": "rds", "operation": "modify-db-instance", "arguments": {arguments}}}]"#
            ))
        };
        assert!(cli(r#"{"--db-instance-identifier": "x"}"#).is_ok());
        assert!(
            cli(r#"{"DBInstanceIdentifier": "x"}"#).is_err(),
            "not a flag"
        );
        assert!(cli(r#"{"--DB": "x"}"#).is_err(), "not the CLI's spelling");
    }

    #[test]
    fn a_read_modify_write_names_parameters_a_read_member_and_a_setting() {
        let form = |write: &str, token_flag: &str, read: &str, set: &str| {
            format!(
                r#", "no_fix_reason": "n", "read_modify_write": {{"get": {{"service": "cloudfront", "operation": "get-distribution-config", "arguments": {{"--id": "E1"}}}}, "read": "{read}", "token": {{"read": "ETag", "flag": "{token_flag}"}}, "update": {{"service": "cloudfront", "operation": "update-distribution", "arguments": {{"--id": "E1"}}}}, "write": "{write}", "set": {set}}}"#
            )
        };
        let one = r#"[{"path": ".WebACLId", "value": "arn"}]"#;
        assert!(
            checked(&form(
                "--distribution-config",
                "--if-match",
                "DistributionConfig",
                one
            ))
            .is_ok()
        );
        let err = checked(&form(
            "DistributionConfig",
            "--if-match",
            "DistributionConfig",
            one,
        ))
        .expect_err("write flag");
        assert!(err.contains("is not a --parameter"), "{err}");
        let err = checked(&form(
            "--distribution-config",
            "--IfMatch",
            "DistributionConfig",
            one,
        ))
        .expect_err("token flag");
        assert!(err.contains("is not a --parameter"), "{err}");
        let err =
            checked(&form("--distribution-config", "--if-match", " ", one)).expect_err("read");
        assert!(err.contains("read member"), "{err}");
        let err = checked(&form(
            "--distribution-config",
            "--if-match",
            "DistributionConfig",
            "[]",
        ))
        .expect_err("no setting");
        assert!(err.contains("at least one setting"), "{err}");
        // Unknown members of the form are refused when the data is read.
        let err = checked(&form(
            "--distribution-config",
            "--if-match",
            "DistributionConfig",
            r#"[{"path": ".WebACLId", "value": "arn", "when": "x"}]"#,
        ))
        .expect_err("unknown member");
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn a_whole_input_write_names_members_and_takes_the_cli_input_json() {
        let form = |write: &str, token: &str, keep: &str| {
            format!(
                r#", "no_fix_reason": "n", "read_modify_write": {{"get": {{"service": "ecs", "operation": "describe-task-definition", "arguments": {{"--task-definition": "f"}}}}, "read": "taskDefinition"{token}, "update": {{"service": "ecs", "operation": "register-task-definition", "arguments": {{}}}}, "write": "{write}", "set": [{{"path": ".pidMode", "value": "task"}}], "whole_input": {{"keep": {keep}, "beside": ["tags"]}}}}"#
            )
        };
        let keep = r#"["family", "containerDefinitions", "pidMode"]"#;
        assert!(checked(&form("--cli-input-json", "", keep)).is_ok());
        let err = checked(&form("--container-definitions", "", keep)).expect_err("write");
        assert!(err.contains("--cli-input-json and no token"), "{err}");
        let token = r#", "token": {"read": "ETag", "flag": "--if-match"}"#;
        let err = checked(&form("--cli-input-json", token, keep)).expect_err("token");
        assert!(err.contains("--cli-input-json and no token"), "{err}");
        let err = checked(&form("--cli-input-json", "", "[]")).expect_err("nothing kept");
        assert!(err.contains("keeps at least one member"), "{err}");
        // Member names go into the jq filter: names only.
        let err = checked(&form("--cli-input-json", "", r#"["family)|del(.x"]"#))
            .expect_err("not a name");
        assert!(err.contains("is not a member name"), "{err}");
        // Taken members and taken or dropped paths go into the filter too.
        let with = |extra: &str| {
            form("--cli-input-json", "", keep).replace(
                r#""beside": ["tags"]}"#,
                &format!(r#""beside": ["tags"], {extra}}}"#),
            )
        };
        assert!(checked(&with(r#""take": {"cpu": ".memory"}, "drop": [".pidMode"]"#)).is_ok());
        let err = checked(&with(r#""take": {"cpu)|del(.x": ".memory"}"#)).expect_err("take");
        assert!(
            err.contains("take \"cpu)|del(.x\" is not a member name"),
            "{err}"
        );
        let err = checked(&with(r#""take": {"cpu": "memory"}"#)).expect_err("path");
        assert!(err.contains("is not a .Member path"), "{err}");
        let err = checked(&with(r#""drop": [".a b"]"#)).expect_err("drop");
        assert!(err.contains("is not a .Member path"), "{err}");
        // Only where absent, or only where it holds a value: not both.
        let both = form("--cli-input-json", "", keep).replace(
            r#""value": "task"}"#,
            r#""value": "task", "only_if": "host", "only_if_absent": true}"#,
        );
        let err = checked(&both).expect_err("both conditions");
        assert!(err.contains("both only_if and only_if_absent"), "{err}");
    }

    #[test]
    fn a_policy_merge_names_its_write_parameter_read_member_and_error_code() {
        let form = |write: &str, read: &str, absent: &str| {
            format!(
                r#", "no_fix_reason": "n", "policy_merge": {{"get": {{"service": "s3api", "operation": "get-bucket-policy", "arguments": {{"--bucket": "b"}}}}, "read": "{read}", "absent": "{absent}", "update": {{"service": "s3api", "operation": "put-bucket-policy", "arguments": {{"--bucket": "b"}}}}, "write": "{write}", "statement": {{"Sid": "S"}}}}"#
            )
        };
        assert!(checked(&form("--policy", "Policy", "NoSuchBucketPolicy")).is_ok());
        let err = checked(&form("Policy", "Policy", "NoSuchBucketPolicy")).expect_err("write");
        assert!(err.contains("is not a --parameter"), "{err}");
        let err = checked(&form("--policy", " ", "NoSuchBucketPolicy")).expect_err("read");
        assert!(err.contains("read member"), "{err}");
        let err = checked(&form("--policy", "Policy", "No such; policy")).expect_err("code");
        assert!(err.contains("error code"), "{err}");
        let err = checked(
            &form("--policy", "Policy", "NoSuchBucketPolicy")
                .replace(r#""write""#, r#""when": "x", "write""#),
        )
        .expect_err("unknown member");
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn a_finding_resource_type_is_an_asff_type() {
        let with = |kind: &str| {
            checked(&format!(
                r#", "no_fix_reason": "n", "resource_type": "{kind}""#
            ))
        };
        assert!(with("AwsAccount").is_ok());
        assert!(with("AwsS3Bucket").is_ok());
        for bad in [
            "AWS::S3::Bucket",
            "S3Bucket",
            "Aws",
            "Awss3Bucket",
            "AwsS3 Bucket",
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fix_resources_are_terraform_aws_types_with_identifier_names() {
        let resource = |kind: &str, name: &str, argument: &str| {
            checked(&format!(
                r#", "fix": {{"resources": [{{"type": "{kind}", "name": "{name}", "arguments": {{"{argument}": 1}}}}]}}, "no_checkov_reason": "x""#
            ))
        };
        assert!(resource("aws_s3_bucket", "fix", "bucket").is_ok());
        assert!(resource("google_bucket", "fix", "bucket").is_err());
        assert!(resource("aws_s3_bucket", "1fix", "bucket").is_err());
        assert!(resource("aws_s3_bucket", "fix", "a b").is_err());
        assert!(checked(r#", "fix": {"resources": []}, "no_checkov_reason": "x""#).is_err());
    }
}
