//! AWS Config managed rules: identifiers and one-line descriptions from
//! aws-cdk-lib's `ManagedRuleIdentifiers` (rule.d.ts), resource types and
//! parameters from the curated facts file taken from the rule documentation.

use super::{IngestError, short_description};
use crate::model::{ConfigRule, ConfigRuleParameter};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Identifier, description and documentation URL of each managed rule in
/// aws-cdk-lib's `rule.d.ts`.
pub fn parse_cdk_rule_identifiers(
    source_name: &str,
    rule_d_ts: &str,
) -> Result<Vec<(String, String, String)>, IngestError> {
    let start = rule_d_ts
        .find("class ManagedRuleIdentifiers")
        .ok_or_else(|| IngestError::new(source_name, "no ManagedRuleIdentifiers class"))?;
    let body = &rule_d_ts[start..];
    let end = body.find("\n}").unwrap_or(body.len());
    let body = &body[..end];
    let mut rules = BTreeMap::new();
    let mut doc = String::new();
    for line in body.lines().map(str::trim) {
        if line.starts_with("/**") {
            doc.clear();
        }
        if line.starts_with('*') || line.starts_with("/**") {
            doc.push_str(
                line.trim_start_matches("/**")
                    .trim_start_matches('*')
                    .trim(),
            );
            doc.push('\n');
            continue;
        }
        let Some(rest) = line.strip_prefix("static readonly ") else {
            continue;
        };
        let Some((_, value)) = rest.split_once(" = ") else {
            continue;
        };
        let identifier = value.trim_end_matches(';').trim_matches('"').to_string();
        let url = doc
            .lines()
            .find_map(|line| line.strip_prefix("@see "))
            .unwrap_or("")
            .trim()
            .to_string();
        let text: String = doc
            .lines()
            .filter(|line| !line.starts_with('@'))
            .collect::<Vec<_>>()
            .join(" ");
        rules
            .entry(identifier)
            .or_insert((short_description(&text, 240), url));
        doc.clear();
    }
    if rules.is_empty() {
        return Err(IngestError::new(source_name, "no rule identifiers found"));
    }
    Ok(rules
        .into_iter()
        .map(|(identifier, (description, url))| (identifier, description, url))
        .collect())
}

/// Facts about one rule from its documentation page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleDetails {
    #[serde(default)]
    pub resource_types: Vec<String>,
    #[serde(default)]
    pub trigger: Vec<String>,
    #[serde(default)]
    pub parameters: Vec<RawParameter>,
    #[serde(default)]
    pub not_found: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawParameter {
    pub name: String,
    #[serde(rename = "type")]
    pub value_type: Option<String>,
    #[serde(default)]
    pub optional: bool,
    pub default: Option<String>,
}

/// Join identifiers with their documented details.
pub fn merge_rules(
    identifiers: Vec<(String, String, String)>,
    details: &BTreeMap<String, RuleDetails>,
) -> Vec<ConfigRule> {
    identifiers
        .into_iter()
        .map(|(identifier, description, documentation_url)| {
            let found = details.get(&identifier).filter(|found| !found.not_found);
            ConfigRule {
                details_known: found.is_some(),
                resource_types: found.map(|d| d.resource_types.clone()).unwrap_or_default(),
                triggers: found.map(|d| d.trigger.clone()).unwrap_or_default(),
                parameters: found
                    .map(|d| {
                        d.parameters
                            .iter()
                            .map(|raw| ConfigRuleParameter {
                                name: raw.name.clone(),
                                value_type: raw
                                    .value_type
                                    .clone()
                                    .unwrap_or_else(|| "String".into()),
                                optional: raw.optional,
                                default: raw.default.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                identifier,
                description,
                documentation_url,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
export declare class ManagedRuleIdentifiers {
    /**
     * Checks whether versioning is enabled for your S3 buckets.
     * @see https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-versioning-enabled.html
     */
    static readonly S3_BUCKET_VERSIONING_ENABLED = "S3_BUCKET_VERSIONING_ENABLED";
    /**
     * Old name.
     * @deprecated use X
     */
    static readonly OLD_NAME = "S3_BUCKET_VERSIONING_ENABLED";
}
export declare class ResourceType {
    static readonly S3_BUCKET: ResourceType;
}
"#;

    #[test]
    fn reads_identifiers_once_with_their_docs() {
        let rules = parse_cdk_rule_identifiers("rule.d.ts", SAMPLE).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].0, "S3_BUCKET_VERSIONING_ENABLED");
        assert!(rules[0].1.starts_with("Checks whether versioning"));
        assert!(rules[0].2.ends_with("s3-bucket-versioning-enabled.html"));
    }
}
