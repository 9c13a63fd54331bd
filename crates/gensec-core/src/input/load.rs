//! Parsing with precise errors: syntax errors give line and column, type errors
//! give the JSON path, and semantic checks run after the shape is right.

use super::{SecurityProfile, ServiceRequest};
use crate::error::InputError;
use serde::de::DeserializeOwned;

/// Parse any JSON document, reporting the JSON path of a mismatch.
pub fn parse_json<T: DeserializeOwned>(source_name: &str, text: &str) -> Result<T, InputError> {
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

/// Parse and check a security profile.
pub fn parse_profile(source_name: &str, text: &str) -> Result<SecurityProfile, InputError> {
    let profile: SecurityProfile = parse_json(source_name, text)?;
    let fail = |path: &str, message: String| Err(InputError::new(source_name, path, message));
    if !is_identifier(&profile.profile_id, 64, &['-', '_'])
        || profile.profile_id.chars().any(|c| c.is_ascii_uppercase())
    {
        return fail(
            "$.profile_id",
            format!(
                "expected 1-64 lower-case letters, digits, '-' or '_', got {:?}",
                profile.profile_id
            ),
        );
    }
    if profile.organization_name.trim().is_empty() {
        return fail("$.organization_name", "expected a non-empty name".into());
    }
    let logging = &profile.security_operations.logging;
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
    for (index, region) in profile.allowed_regions.iter().enumerate() {
        if !is_identifier(region, 32, &['-']) || region.chars().any(|c| c.is_ascii_uppercase()) {
            return fail(
                &format!("$.allowed_regions[{index}]"),
                format!("expected a region code such as \"eu-west-1\", got {region:?}"),
            );
        }
    }
    Ok(profile)
}

/// Parse and check a service request.
pub fn parse_request(source_name: &str, text: &str) -> Result<ServiceRequest, InputError> {
    let request: ServiceRequest = parse_json(source_name, text)?;
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
    if request.service_name.trim().is_empty() {
        return Err(InputError::new(
            source_name,
            "$.service_name",
            "expected a service name such as \"S3\"",
        ));
    }
    if request.requester.trim().is_empty() {
        return Err(InputError::new(
            source_name,
            "$.requester",
            "expected who made the request",
        ));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str =
        include_str!("../../../../config-example/security-profile/example-corp.json");

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
    fn request_id_must_be_an_execution_name() {
        let text = r#"{"request_id":"REQ 1","requester":"a","timestamp":"2024-01-15T10:30:00Z","service_name":"S3"}"#;
        let err = parse_request("r.json", text).unwrap_err();
        assert_eq!(err.path, "$.request_id");
    }
}
