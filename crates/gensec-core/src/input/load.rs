//! Parsing with precise errors: syntax errors give line and column, type errors
//! give the JSON path, and semantic checks run after the shape is right.

use super::text::{FILE_MAX, LIST_MAX, NAME_MAX, TEXT_MAX, check_line};
use super::{SecurityProfile, ServiceRequest};
use crate::error::InputError;
use serde::de::DeserializeOwned;

/// Parse any JSON document, reporting the JSON path of a mismatch. A leading
/// UTF-8 byte-order mark is ignored.
pub fn parse_json<T: DeserializeOwned>(source_name: &str, text: &str) -> Result<T, InputError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = json_path(&err.path().to_string());
        let inner = err.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            // serde_json appends " at line L column C"; keep it, it helps in big files.
            inner.to_string()
        };
        InputError::new(source_name, path, message)
    })?;
    deserializer
        .end()
        .map_err(|err| InputError::new(source_name, "$", format!("malformed JSON: {err}")))?;
    Ok(value)
}

fn json_path(serde_path: &str) -> String {
    if serde_path == "." || serde_path.is_empty() {
        "$".to_string()
    } else {
        format!("$.{serde_path}")
    }
}

/// Parse an input document (a profile or a request: `what`) written by
/// people: at most [`FILE_MAX`] bytes, a JSON object, every list at most
/// [`LIST_MAX`] long, every string and key single-line text of at most
/// [`TEXT_MAX`] bytes; then the typed parse, which reports line and column.
fn parse_document<T: DeserializeOwned>(
    source_name: &str,
    text: &str,
    what: &str,
) -> Result<T, InputError> {
    if text.len() > FILE_MAX {
        return Err(InputError::new(
            source_name,
            "$",
            format!(
                "the file is {} bytes; a {what} may be at most {FILE_MAX} bytes (1 MiB)",
                text.len()
            ),
        ));
    }
    let value: serde_json::Value = parse_json(source_name, text)?;
    if !value.is_object() {
        return Err(InputError::new(
            source_name,
            "$",
            format!("expected a JSON object (a {what}), got {}", kind_of(&value)),
        ));
    }
    check_strings(source_name, "$", &value)?;
    parse_json(source_name, text)
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Ids and names: at most [`NAME_MAX`] bytes (other strings [`TEXT_MAX`]).
const NAME_PATHS: &[&str] = &[
    "$.profile_id",
    "$.organization_name",
    "$.security_operations.logging.third_party_integration",
    "$.request_id",
    "$.requester",
    "$.service_name",
];

/// Every string and key in `value` is single-line text within [`TEXT_MAX`];
/// every list within [`LIST_MAX`].
fn check_strings(
    source_name: &str,
    path: &str,
    value: &serde_json::Value,
) -> Result<(), InputError> {
    let fail = |path: &str, message: String| InputError::new(source_name, path, message);
    match value {
        serde_json::Value::String(text) => {
            let max = if NAME_PATHS.contains(&path) {
                NAME_MAX
            } else {
                TEXT_MAX
            };
            check_line(text, max).map_err(|message| fail(path, format!("the value {message}")))
        }
        serde_json::Value::Array(items) => {
            if items.len() > LIST_MAX {
                return Err(fail(
                    path,
                    format!(
                        "the list has {} items; the limit is {LIST_MAX}",
                        items.len()
                    ),
                ));
            }
            for (index, item) in items.iter().enumerate() {
                check_strings(source_name, &format!("{path}[{index}]"), item)?;
            }
            Ok(())
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                check_line(key, NAME_MAX)
                    .map_err(|message| fail(path, format!("a field name {message}")))?;
                check_strings(source_name, &format!("{path}.{key}"), item)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_identifier(text: &str, max: usize, extra: &[char]) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// A profile id: 1-64 lower-case letters, digits, `-` or `_`.
fn is_profile_id(text: &str) -> bool {
    is_identifier(text, 64, &['-', '_']) && !text.chars().any(|c| c.is_ascii_uppercase())
}

/// A non-blank name of at most [`NAME_MAX`] bytes.
fn check_name(source_name: &str, path: &str, value: &str, example: &str) -> Result<(), InputError> {
    if value.trim().is_empty() {
        return Err(InputError::new(
            source_name,
            path,
            format!("expected {example}"),
        ));
    }
    check_line(value, NAME_MAX)
        .map_err(|message| InputError::new(source_name, path, format!("the value {message}")))
}

/// `arn:<partition>:iam::<account or pattern>:<role|user|...>/<name>`, or
/// an `sts` assumed-role ARN; `*` and `?` allowed as IAM's ArnLike allows.
fn is_principal_arn_pattern(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov" | "*")
        && matches!(service, "iam" | "sts")
        && region.is_empty()
        && !account.is_empty()
        && account
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '?')
        && resource.len() <= 2048
        && resource.contains('/')
        && resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_/*?:-".contains(c))
}

/// Parse and check a security profile.
pub fn parse_profile(source_name: &str, text: &str) -> Result<SecurityProfile, InputError> {
    let profile: SecurityProfile = parse_document(source_name, text, "security profile")?;
    let fail = |path: &str, message: String| Err(InputError::new(source_name, path, message));
    if !is_profile_id(&profile.profile_id) {
        return fail(
            "$.profile_id",
            format!(
                "expected 1-64 lower-case letters, digits, '-' or '_', got {:?}",
                profile.profile_id
            ),
        );
    }
    check_name(
        source_name,
        "$.organization_name",
        &profile.organization_name,
        "a non-empty name",
    )?;
    let logging = &profile.security_operations.logging;
    if let Some(platform) = &logging.third_party_integration {
        check_name(
            source_name,
            "$.security_operations.logging.third_party_integration",
            platform,
            "the name of a log platform, or no field at all",
        )?;
    }
    if !(1..=3653).contains(&logging.retention_days) {
        return fail(
            "$.security_operations.logging.retention_days",
            format!(
                "expected a number of days from 1 to 3653, got {}",
                logging.retention_days
            ),
        );
    }
    let secrets = &profile.security_operations.secrets_management;
    if secrets.rotation_days().is_none() {
        return fail(
            "$.security_operations.secrets_management.rotation_frequency",
            format!(
                "expected '<days>_days' such as '90_days', got {:?}",
                secrets.rotation_frequency
            ),
        );
    }
    if profile.compliance_requirements.is_empty() {
        return fail(
            "$.compliance_requirements",
            "expected at least one compliance framework".into(),
        );
    }
    if !matches!(
        profile.data_protection.minimum_tls_version.as_str(),
        "1.2" | "1.3"
    ) {
        return fail(
            "$.data_protection.minimum_tls_version",
            format!(
                "expected \"1.2\" or \"1.3\", got {:?}",
                profile.data_protection.minimum_tls_version
            ),
        );
    }
    check_exemptions_and_regions(&profile)
        .map_err(|(path, message)| InputError::new(source_name, &path, message))?;
    check_tagging(&profile.tagging)
        .map_err(|(path, message)| InputError::new(source_name, &path, message))?;
    Ok(profile)
}

/// The SCP exemptions are IAM principal ARN patterns and the allowed regions
/// region codes; otherwise the JSON path and what is wrong.
fn check_exemptions_and_regions(profile: &SecurityProfile) -> Result<(), (String, String)> {
    let exemptions = &profile.security_controls.scp_exemptions;
    for (field, patterns) in [
        (
            "break_glass_principal_arns",
            &exemptions.break_glass_principal_arns,
        ),
        (
            "deployer_principal_arns",
            &exemptions.deployer_principal_arns,
        ),
    ] {
        for (index, pattern) in patterns.iter().enumerate() {
            if !is_principal_arn_pattern(pattern) {
                return Err((
                    format!("$.security_controls.scp_exemptions.{field}[{index}]"),
                    format!(
                        "expected an IAM principal ARN pattern such as \"arn:aws:iam::*:role/SecurityBreakGlass\", got {pattern:?}"
                    ),
                ));
            }
        }
    }
    for (index, region) in profile.allowed_regions.iter().enumerate() {
        if !is_identifier(region, 32, &['-']) || region.chars().any(|c| c.is_ascii_uppercase()) {
            return Err((
                format!("$.allowed_regions[{index}]"),
                format!("expected a region code such as \"eu-west-1\", got {region:?}"),
            ));
        }
    }
    check_bedrock_models(profile)
}

/// `allowed_bedrock_models`, when present: 1-64 distinct model ids or
/// model ARNs.
fn check_bedrock_models(profile: &SecurityProfile) -> Result<(), (String, String)> {
    let Some(models) = &profile.allowed_bedrock_models else {
        return Ok(());
    };
    if models.is_empty() || models.len() > LIST_MAX {
        return Err((
            "$.allowed_bedrock_models".into(),
            format!(
                "expected 1 to {LIST_MAX} model ids or ARNs (leave the field out for no model restriction), got {}",
                models.len()
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, model) in models.iter().enumerate() {
        let path = format!("$.allowed_bedrock_models[{index}]");
        if let Some(problem) = super::bedrock_model_problem(model) {
            return Err((path, format!("{model:?}: {problem}")));
        }
        if !seen.insert(super::bedrock_model_arn_pattern(model)) {
            return Err((path, format!("model {model:?} is listed twice")));
        }
    }
    Ok(())
}

/// The tagging section: valid, distinct keys; the persona key among them.
fn check_tagging(tagging: &super::Tagging) -> Result<(), (String, String)> {
    if tagging.required_tags.is_empty() || tagging.required_tags.len() > 6 {
        return Err((
            "$.tagging.required_tags".into(),
            format!(
                "expected 1 to 6 tag keys (Config's required-tags rule takes tag1Key..tag6Key), got {}",
                tagging.required_tags.len()
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut parameters = std::collections::BTreeMap::new();
    for (index, tag) in tagging.required_tags.iter().enumerate() {
        let path = format!("$.tagging.required_tags[{index}].key");
        if let Some(problem) = super::Tagging::key_problem(&tag.key) {
            return Err((path, format!("tag key {:?}: {problem}", tag.key)));
        }
        if !seen.insert(tag.key.as_str()) {
            return Err((path, format!("tag key {:?} is listed twice", tag.key)));
        }
        // Each key's value is a template parameter named after it.
        let parameter = super::Tagging::parameter_name(&tag.key);
        if parameter == "Tag" {
            return Err((
                path,
                format!(
                    "tag key {:?} needs at least one ASCII letter or digit",
                    tag.key
                ),
            ));
        }
        if let Some(other) = parameters.insert(parameter.clone(), tag.key.as_str()) {
            return Err((
                path,
                format!(
                    "tag keys {other:?} and {:?} would share the template parameter {parameter}",
                    tag.key
                ),
            ));
        }
        for (value_index, value) in tag.allowed_values.iter().enumerate() {
            if let Some(problem) = super::Tagging::value_problem(value) {
                return Err((
                    format!("$.tagging.required_tags[{index}].allowed_values[{value_index}]"),
                    format!("tag value {value:?}: {problem}"),
                ));
            }
        }
    }
    if !seen.contains(tagging.persona_scope_key.as_str()) {
        return Err((
            "$.tagging.persona_scope_key".into(),
            format!(
                "expected one of the required tag keys ({}), got {:?}: personas may only scope to a tag the templates set",
                tagging.keys().collect::<Vec<_>>().join(", "),
                tagging.persona_scope_key
            ),
        ));
    }
    Ok(())
}

/// Parse and check a service request.
pub fn parse_request(source_name: &str, text: &str) -> Result<ServiceRequest, InputError> {
    let request: ServiceRequest = parse_document(source_name, text, "service request")?;
    if !is_identifier(&request.request_id, 80, &['-', '_', '.']) {
        return Err(InputError::new(
            source_name,
            "$.request_id",
            format!(
                "expected 1-80 letters, digits, '.', '_' or '-' starting with a letter or digit, got {:?}",
                request.request_id
            ),
        ));
    }
    check_name(
        source_name,
        "$.service_name",
        &request.service_name,
        "a service name such as \"S3\"",
    )?;
    check_name(
        source_name,
        "$.requester",
        &request.requester,
        "who made the request",
    )?;
    if let Some(profile_id) = request
        .profile_id
        .as_deref()
        .filter(|id| !is_profile_id(id))
    {
        return Err(InputError::new(
            source_name,
            "$.profile_id",
            format!("expected 1-64 lower-case letters, digits, '-' or '_', got {profile_id:?}"),
        ));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str =
        include_str!("../../../../config-example/security-profile/example-corp.json");

    fn with_tagging(tagging: serde_json::Value) -> Result<SecurityProfile, InputError> {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["tagging"] = tagging;
        parse_profile("p.json", &value.to_string())
    }

    #[test]
    fn tagging_defaults_and_checks() {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value.as_object_mut().unwrap().remove("tagging");
        let profile = parse_profile("p.json", &value.to_string()).unwrap();
        assert_eq!(
            profile.tagging.keys().collect::<Vec<_>>(),
            ["owner", "data-classification", "workload"]
        );
        assert_eq!(
            profile.tagging.persona_condition_key(),
            "aws:ResourceTag/workload"
        );
        let err =
            with_tagging(serde_json::json!({"required_tags": [{"key": "aws:owner"}]})).unwrap_err();
        assert_eq!(err.path, "$.tagging.required_tags[0].key");
        assert!(err.message.contains("aws: prefix"), "{}", err.message);
        let long = "k".repeat(129);
        let err =
            with_tagging(serde_json::json!({"required_tags": [{"key": "team"}, {"key": long}]}))
                .unwrap_err();
        assert_eq!(err.path, "$.tagging.required_tags[1].key");
        let err =
            with_tagging(serde_json::json!({"required_tags": [{"key": "team"}]})).unwrap_err();
        assert_eq!(err.path, "$.tagging.persona_scope_key");
        let err =
            with_tagging(serde_json::json!({"required_tags": [{"key": "team"}, {"key": "team"}]}))
                .unwrap_err();
        assert!(err.message.contains("twice"), "{}", err.message);
        let profile = with_tagging(serde_json::json!({
            "required_tags": [{"key": "team", "allowed_values": ["a", "b"]}],
            "persona_scope_key": "team"
        }))
        .unwrap();
        assert_eq!(
            profile.tagging.persona_condition_key(),
            "aws:ResourceTag/team"
        );
        let err =
            with_tagging(serde_json::json!({"required_tags": [{"key": "team", "colour": 1}]}))
                .unwrap_err();
        assert!(err.message.contains("colour"), "{}", err.message);
    }

    #[test]
    fn example_profile_parses() {
        let profile = parse_profile("p.json", PROFILE).unwrap();
        assert_eq!(profile.profile_id, "example-corp");
        assert_eq!(
            profile
                .security_operations
                .secrets_management
                .rotation_days(),
            Some(90)
        );
    }

    #[test]
    fn malformed_json_names_file_and_position() {
        let err = parse_profile("bad.json", "{\"profile_id\": ").unwrap_err();
        assert_eq!(err.source_name, "bad.json");
        assert!(err.message.starts_with("malformed JSON"), "{err}");
    }

    #[test]
    fn missing_field_is_named() {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["security_operations"]["logging"]
            .as_object_mut()
            .unwrap()
            .remove("retention_days");
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(err.path, "$.security_operations.logging");
        assert!(
            err.message.contains("missing field `retention_days`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_gives_path_and_expectation() {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["security_operations"]["logging"]["retention_days"] = "a year".into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(err.path, "$.security_operations.logging.retention_days");
        assert!(err.message.contains("expected u32"), "{err}");
    }

    #[test]
    fn unknown_enum_value_lists_choices() {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["compliance_requirements"][1] = "PCI".into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(err.path, "$.compliance_requirements[1]");
        assert!(err.message.contains("PCI_DSS"), "{err}");
    }

    #[test]
    fn semantic_checks_name_the_field() {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["security_operations"]["secrets_management"]["rotation_frequency"] =
            "quarterly".into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(
            err.path,
            "$.security_operations.secrets_management.rotation_frequency"
        );
    }

    #[test]
    fn scp_exemptions_must_be_principal_arn_patterns() {
        let mut profile: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../config-example/security-profile/example-corp.json"
        ))
        .unwrap();
        profile["security_controls"]["scp_exemptions"] = serde_json::json!({"break_glass_principal_arns": ["arn:aws:iam::*:role/BreakGlass"], "deployer_principal_arns": ["role/deployer"]});
        let err = parse_profile("p.json", &profile.to_string()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("$.security_controls.scp_exemptions.deployer_principal_arns[0]"),
            "{text}"
        );
        assert!(text.contains("role/deployer"), "{text}");
        profile["security_controls"]["scp_exemptions"]["deployer_principal_arns"] =
            serde_json::json!(["arn:aws:iam::111122223333:role/cicd-*"]);
        let parsed = parse_profile("p.json", &profile.to_string()).unwrap();
        assert_eq!(
            parsed
                .security_controls
                .scp_exemptions
                .deployer_principal_arns
                .len(),
            1
        );
    }

    #[test]
    fn request_id_must_be_an_execution_name() {
        let text = r#"{"request_id":"REQ 1","requester":"a","timestamp":"2024-01-15T10:30:00Z","service_name":"S3"}"#;
        let err = parse_request("r.json", text).unwrap_err();
        assert_eq!(err.path, "$.request_id");
    }

    fn request(fields: serde_json::Value) -> String {
        let mut value = serde_json::json!({
            "request_id": "REQ-1", "requester": "team",
            "timestamp": "2024-01-15T10:30:00Z", "service_name": "S3"
        });
        for (key, field) in fields.as_object().unwrap() {
            value[key] = field.clone();
        }
        value.to_string()
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let profile = parse_profile("p.json", &format!("\u{FEFF}{PROFILE}")).unwrap();
        assert_eq!(profile.profile_id, "example-corp");
        let text = format!("\u{FEFF}{}", request(serde_json::json!({})));
        assert_eq!(parse_request("r.json", &text).unwrap().request_id, "REQ-1");
    }

    #[test]
    fn a_document_that_is_not_an_object_is_refused_at_the_root() {
        let value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        let as_array: Vec<serde_json::Value> =
            value.as_object().unwrap().values().cloned().collect();
        let err = parse_profile("p.json", &serde_json::to_string(&as_array).unwrap()).unwrap_err();
        assert_eq!(err.path, "$");
        assert!(
            err.message
                .contains("expected a JSON object (a security profile), got an array"),
            "{err}"
        );
        let err = parse_request("r.json", "\"S3\"").unwrap_err();
        assert_eq!(err.path, "$");
        assert!(err.message.contains("got a string"), "{err}");
    }

    #[test]
    fn allowed_bedrock_models_are_model_ids_or_model_arns() {
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["allowed_bedrock_models"] = serde_json::json!([
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0",
            "arn:*:bedrock:eu-west-1:*:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
        ]);
        let profile = parse_profile("p.json", &value.to_string()).unwrap();
        assert_eq!(
            profile.bedrock_model_arn_patterns().unwrap(),
            [
                "arn:*:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
                "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0",
                "arn:*:bedrock:eu-west-1:*:inference-profile/eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
            ]
        );
        for (bad, path, says) in [
            (
                serde_json::json!([]),
                "$.allowed_bedrock_models",
                "expected 1 to 64",
            ),
            (
                serde_json::json!(["*"]),
                "$.allowed_bedrock_models[0]",
                "foundation model id",
            ),
            (
                serde_json::json!(["ok.model", "anthropic.*"]),
                "$.allowed_bedrock_models[1]",
                "foundation model id",
            ),
            (
                serde_json::json!(["arn:aws:s3:::bucket/x"]),
                "$.allowed_bedrock_models[0]",
                "bedrock ARN",
            ),
            (
                serde_json::json!(["arn:aws:bedrock:*::foundation-model/*"]),
                "$.allowed_bedrock_models[0]",
                "no wildcards",
            ),
            (
                serde_json::json!(["arn:aws:bedrock:*:*:foundation-model/a.b"]),
                "$.allowed_bedrock_models[0]",
                "has no account",
            ),
            (
                serde_json::json!(["arn:aws:bedrock:*::inference-profile/a.b"]),
                "$.allowed_bedrock_models[0]",
                "names the account",
            ),
            (
                serde_json::json!(["arn:aws:bedrock:*:*:guardrail/abc"]),
                "$.allowed_bedrock_models[0]",
                "not a model resource type",
            ),
            (
                serde_json::json!(["a.b", "arn:*:bedrock:*::foundation-model/a.b"]),
                "$.allowed_bedrock_models[1]",
                "listed twice",
            ),
        ] {
            value["allowed_bedrock_models"] = bad.clone();
            let err = parse_profile("p.json", &value.to_string()).unwrap_err();
            assert_eq!(err.path, path, "{bad}: {err}");
            assert!(err.message.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_bad_timestamp_says_rfc_3339() {
        for bad in [
            "yesterday",
            "2024-01-15",
            "2024-13-01T00:00:00Z",
            "15/01/2024 10:30",
        ] {
            let err = parse_request("r.json", &request(serde_json::json!({"timestamp": bad})))
                .unwrap_err();
            assert_eq!(err.path, "$.timestamp", "{bad}");
            assert!(err.message.contains("RFC 3339"), "{bad}: {err}");
        }
    }

    #[test]
    fn control_characters_are_refused_with_their_path() {
        let err = parse_request(
            "r.json",
            &request(serde_json::json!({"service_name": "S3\u{202e}\u{7}"})),
        )
        .unwrap_err();
        assert_eq!(err.path, "$.service_name");
        assert!(err.message.contains("U+202E"), "{err}");
        let err = parse_request(
            "r.json",
            &request(serde_json::json!({"requester": "\u{1b}[31mteam"})),
        )
        .unwrap_err();
        assert_eq!(err.path, "$.requester");
        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["security_operations"]["access_management"]["password_policy"] =
            "strong\u{2028}".into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(
            err.path,
            "$.security_operations.access_management.password_policy"
        );
    }

    #[test]
    fn sizes_are_limited_and_the_limit_is_named() {
        let huge = request(serde_json::json!({"requester": "x".repeat(FILE_MAX)}));
        let err = parse_request("r.json", &huge).unwrap_err();
        assert_eq!(
            (err.source_name.as_str(), err.path.as_str()),
            ("r.json", "$")
        );
        assert!(err.message.contains("1048576 bytes (1 MiB)"), "{err}");

        let mut value: serde_json::Value = serde_json::from_str(PROFILE).unwrap();
        value["organization_name"] = "x".repeat(NAME_MAX + 1).into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(err.path, "$.organization_name");
        assert!(err.message.contains("limit is 256 bytes"), "{err}");

        value["organization_name"] = "Example".into();
        value["security_operations"]["access_management"]["password_policy"] =
            "x".repeat(TEXT_MAX + 1).into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert!(err.message.contains("limit is 4096 bytes"), "{err}");

        value["security_operations"]["access_management"]["password_policy"] = "strong".into();
        value["allowed_regions"] = vec!["eu-west-1"; LIST_MAX + 1].into();
        let err = parse_profile("p.json", &value.to_string()).unwrap_err();
        assert_eq!(err.path, "$.allowed_regions");
        assert!(err.message.contains("limit is 64"), "{err}");

        let err = parse_request(
            "r.json",
            &request(serde_json::json!({"service_name": "s".repeat(300)})),
        )
        .unwrap_err();
        assert_eq!(err.path, "$.service_name");
    }

    #[test]
    fn a_request_names_a_well_formed_profile() {
        let err = parse_request(
            "r.json",
            &request(serde_json::json!({"profile_id": "Corp Profile"})),
        )
        .unwrap_err();
        assert_eq!(err.path, "$.profile_id");
    }
}
