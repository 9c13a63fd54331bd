//! AWS Config managed rules: the curated rule list (`curated/config-rules.json`,
//! merged by `scripts/kb-curate-config-rules` from the developer guide and
//! public scrapes of it) checked against aws-cdk-lib's `ManagedRuleIdentifiers`
//! (rule.d.ts), whose descriptions and documentation links it also uses.

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

/// One rule in `curated/config-rules.json` (written by `scripts/kb-curate-config-rules`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedRule {
    pub name: String,
    pub description: String,
    pub resource_types: Vec<String>,
    pub triggers: Vec<String>,
    pub parameters: Vec<CuratedParameter>,
    pub sources: BTreeMap<String, serde_json::Value>,
    pub missing: Vec<String>,
    /// Parameter names conformance packs pass that the rule pages do not list.
    #[serde(default)]
    pub pack_only_parameters: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedParameter {
    pub name: String,
    #[serde(rename = "type")]
    pub value_type: String,
    /// `None` when no source says.
    pub optional: Option<bool>,
    pub default: Option<String>,
}

/// The curated rules file: provenance records and rules by identifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedRules {
    pub provenance: Vec<serde_json::Value>,
    pub rules: BTreeMap<String, CuratedRule>,
}

const TRIGGERS: &[&str] = &["configuration_changes", "periodic"];
const PARAMETER_TYPES: &[&str] = &[
    "String",
    "int",
    "double",
    "boolean",
    "CSV",
    "StringMap",
    "float",
    "long",
];
const KNOWN_GAPS: &[&str] = &[
    "description",
    "resource_types",
    "triggers",
    "parameters",
    "parameter_optional_flags",
];
static IDENTIFIER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new("^[A-Z0-9_]+$").expect("identifier pattern is valid")
});
static KEBAB: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new("^[a-z0-9]+(-[a-z0-9]+)*$").expect("kebab pattern is valid")
});

/// Check one curated rule and turn it into the model; errors name the entry.
fn curated_rule(
    file: &str,
    identifier: &str,
    raw: &CuratedRule,
    cdk_descriptions: &BTreeMap<String, (String, String)>,
) -> Result<ConfigRule, IngestError> {
    let fail = |message: String| IngestError::new(format!("{file} entry {identifier}"), message);
    check_names_and_gaps(identifier, raw).map_err(fail)?;
    let parameters = parameters(raw).map_err(fail)?;
    let (cdk_description, documentation_url) = cdk_descriptions
        .get(identifier)
        .cloned()
        .unwrap_or_default();
    let description = if raw.description.is_empty() {
        cdk_description
    } else {
        short_description(&raw.description, 240)
    };
    let documentation_url = if documentation_url.is_empty() {
        format!(
            "https://docs.aws.amazon.com/config/latest/developerguide/{}.html",
            raw.name
        )
    } else {
        documentation_url
    };
    Ok(ConfigRule {
        identifier: identifier.to_string(),
        name: raw.name.clone(),
        documentation_url,
        resource_types: raw.resource_types.clone(),
        triggers: raw.triggers.clone(),
        parameters,
        details_known: !raw
            .missing
            .iter()
            .any(|m| m == "resource_types" || m == "parameters"),
        missing: raw
            .missing
            .iter()
            .filter(|gap| *gap != "description" || description.is_empty())
            .cloned()
            .collect(),
        description,
        provenance: provenance(&raw.sources),
    })
}

/// The identifier, name, triggers, gaps and resource types of a curated rule
/// are well formed; otherwise what is wrong.
fn check_names_and_gaps(identifier: &str, raw: &CuratedRule) -> Result<(), String> {
    if !IDENTIFIER.is_match(identifier) {
        return Err("identifier is not UPPER_SNAKE_CASE".into());
    }
    if !KEBAB.is_match(&raw.name) {
        return Err(format!("name {:?} is not kebab-case", raw.name));
    }
    if let Some(bad) = raw
        .triggers
        .iter()
        .find(|t| !TRIGGERS.contains(&t.as_str()))
    {
        return Err(format!("unknown trigger {bad:?}"));
    }
    if let Some(bad) = raw
        .missing
        .iter()
        .find(|m| !KNOWN_GAPS.contains(&m.as_str()))
    {
        return Err(format!("unknown missing fact {bad:?}"));
    }
    if raw.triggers.is_empty() != raw.missing.iter().any(|m| m == "triggers") {
        return Err("triggers must be given or listed as missing".into());
    }
    if let Some(bad) = raw
        .resource_types
        .iter()
        .find(|t| t.split("::").count() != 3)
    {
        return Err(format!(
            "resource type {bad:?} is not Vendor::Service::Type"
        ));
    }
    Ok(())
}

/// The rule's parameters, each of a type Config knows.
fn parameters(raw: &CuratedRule) -> Result<Vec<ConfigRuleParameter>, String> {
    raw.parameters
        .iter()
        .map(|parameter| {
            if !PARAMETER_TYPES.contains(&parameter.value_type.as_str()) {
                return Err(format!(
                    "parameter {} has unknown type {:?}",
                    parameter.name, parameter.value_type
                ));
            }
            Ok(ConfigRuleParameter {
                name: parameter.name.clone(),
                value_type: parameter.value_type.clone(),
                optional: parameter.optional.unwrap_or(false),
                optional_known: parameter.optional.is_some(),
                default: parameter.default.clone(),
            })
        })
        .collect()
}

/// Each fact's source as one line of text (a list joined by commas).
fn provenance(sources: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, String> {
    sources
        .iter()
        .map(|(fact, source)| {
            let text = match source {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|item| item.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            (fact.clone(), text)
        })
        .collect()
}

/// Every curated rule, checked; each rule aws-cdk-lib names must be among them.
pub fn curated_rules(
    file: &str,
    curated: &CuratedRules,
    cdk_identifiers: Vec<(String, String, String)>,
) -> Result<Vec<ConfigRule>, IngestError> {
    let cdk: BTreeMap<String, (String, String)> = cdk_identifiers
        .into_iter()
        .map(|(identifier, description, url)| (identifier, (description, url)))
        .collect();
    if let Some(absent) = cdk.keys().find(|id| !curated.rules.contains_key(*id)) {
        return Err(IngestError::new(
            file,
            format!("aws-cdk-lib names managed rule {absent}, which the curated file lacks"),
        ));
    }
    curated
        .rules
        .iter()
        .map(|(identifier, raw)| curated_rule(file, identifier, raw, &cdk))
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

    fn curated(entry: &str) -> CuratedRules {
        serde_json::from_str(&format!(
            r#"{{"provenance": [], "rules": {{"S3_BUCKET_VERSIONING_ENABLED": {entry}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_malformed_entry_fails_naming_file_and_entry() {
        let cdk = parse_cdk_rule_identifiers("rule.d.ts", SAMPLE).unwrap();
        let bad = curated(
            r#"{"name": "s3-bucket-versioning-enabled", "description": "", "resource_types": ["AWS::S3::Bucket"],
                "triggers": ["sometimes"], "parameters": [], "sources": {}, "missing": []}"#,
        );
        let err = curated_rules("config-rules.json", &bad, cdk.clone()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("config-rules.json entry S3_BUCKET_VERSIONING_ENABLED"),
            "{text}"
        );
        assert!(text.contains("sometimes"), "{text}");
        let good = curated(
            r#"{"name": "s3-bucket-versioning-enabled", "description": "", "resource_types": ["AWS::S3::Bucket"],
                "triggers": [], "parameters": [{"name": "isMfaDeleteEnabled", "type": "String", "optional": null, "default": null}],
                "sources": {"identifier": ["docs"]}, "missing": ["triggers", "parameter_optional_flags"]}"#,
        );
        let rules = curated_rules("config-rules.json", &good, cdk).unwrap();
        assert!(rules[0].details_known);
        assert!(!rules[0].parameters[0].optional_known);
        assert!(
            rules[0]
                .description
                .starts_with("Checks whether versioning")
        );
    }

    #[test]
    fn an_unknown_field_fails() {
        let parsed: Result<CuratedRules, _> = serde_json::from_str(
            r#"{"provenance": [], "rules": {"X": {"name": "x", "description": "", "resource_types": [],
                "triggers": [], "parameters": [], "sources": {}, "missing": [], "colour": "red"}}}"#,
        );
        assert!(parsed.unwrap_err().to_string().contains("colour"));
    }
}
