//! What the controls stage wrote, read back from its files: Config rules from
//! the template, SCP statements and coverage, Guard rules by name. Nothing is
//! taken from elsewhere, so the report shows exactly what was generated.

use crate::load::TextFile;
use gensec_core::analysis::{Preventive, Recommendation};
use serde::{Deserialize, Serialize};

/// Directory of detective controls, relative to the run prefix.
pub const DETECTIVE_DIR: &str = "controls/detective/";
/// Directory of preventive controls.
pub const PREVENTIVE_DIR: &str = "controls/preventive/";
/// Directory of proactive controls.
pub const PROACTIVE_DIR: &str = "controls/proactive/";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigRuleItem {
    /// `ConfigRuleName`.
    pub name: String,
    /// `AWS` (managed) or `CUSTOM_POLICY`.
    pub owner: String,
    /// Managed rule identifier.
    pub source_identifier: Option<String>,
    pub description: String,
    pub resource_types: Vec<String>,
    /// Recommendations named in a custom policy's violation messages.
    pub configuration_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScpStatement {
    pub sid: String,
    pub actions: Vec<String>,
    pub has_condition: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScpFile {
    pub file: String,
    pub characters: usize,
    pub statements: Vec<ScpStatement>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScpCoverage {
    pub configuration_id: String,
    /// `scp`, `not_expressible` or `none`.
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub document: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardRule {
    pub name: String,
    pub configuration_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardFile {
    pub file: String,
    pub rules: Vec<GuardRule>,
}

/// The controls of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControlsSummary {
    /// Every file under `controls/`, relative to the run prefix.
    pub files: Vec<String>,
    pub config_rules_file: Option<String>,
    pub config_rules: Vec<ConfigRuleItem>,
    /// Custom Config policies (`controls/detective/*.guard`).
    pub custom_policy_files: Vec<String>,
    pub scp_files: Vec<ScpFile>,
    pub scp_coverage_file: Option<String>,
    pub scp_coverage: Vec<ScpCoverage>,
    /// Proactive Guard rule files (`controls/proactive/*.guard`).
    pub guard_files: Vec<GuardFile>,
    pub guard_test_files: Vec<String>,
}

impl ControlsSummary {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn managed_rules(&self) -> usize {
        self.config_rules
            .iter()
            .filter(|rule| rule.source_identifier.is_some())
            .count()
    }

    pub fn scp_statements(&self) -> usize {
        self.scp_files
            .iter()
            .map(|file| file.statements.len())
            .sum()
    }

    pub fn guard_rules(&self) -> usize {
        self.guard_files.iter().map(|file| file.rules.len()).sum()
    }

    /// The generated controls that implement a recommendation, as short labels.
    pub fn for_recommendation(&self, recommendation: &Recommendation) -> Vec<String> {
        let id = &recommendation.configuration_id;
        let mut out = Vec::new();
        let managed = recommendation
            .detective
            .as_ref()
            .map(|rule| rule.identifier.as_str());
        for rule in &self.config_rules {
            let by_identifier = managed.is_some() && rule.source_identifier.as_deref() == managed;
            if by_identifier || rule.configuration_ids.contains(id) {
                out.push(format!("Config: {}", rule.name));
            }
        }
        match self
            .scp_coverage
            .iter()
            .find(|item| &item.configuration_id == id)
        {
            Some(item) if item.status == "scp" => out.push(format!(
                "SCP: {}#{}",
                item.document.as_deref().unwrap_or("?"),
                item.sid.as_deref().unwrap_or("?")
            )),
            Some(item) if item.status == "not_expressible" => {
                out.push("SCP: not expressible".into());
            }
            Some(_) => {}
            None => {
                if matches!(
                    recommendation.preventive,
                    Some(Preventive::NotExpressible(_))
                ) {
                    out.push("SCP: not expressible".into());
                }
            }
        }
        for file in &self.guard_files {
            for rule in &file.rules {
                if rule.configuration_ids.contains(id) {
                    out.push(format!("Guard: {}", rule.name));
                }
            }
        }
        out
    }
}

/// Read the controls stage's files (paths relative to the run prefix).
pub fn summarise(files: &[TextFile], warnings: &mut Vec<String>) -> ControlsSummary {
    let mut summary = ControlsSummary::default();
    for file in files {
        let path = file.path.as_str();
        summary.files.push(path.to_string());
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        if let Some(rest) = path.strip_prefix(DETECTIVE_DIR) {
            if rest.ends_with(".yaml") || rest.ends_with(".yml") {
                match config_rules(&file.text) {
                    Ok(rules) => {
                        summary.config_rules_file = Some(path.to_string());
                        summary.config_rules.extend(rules);
                    }
                    Err(err) => warnings.push(format!("{path}: {err}")),
                }
            } else if rest.ends_with(".guard") {
                summary.custom_policy_files.push(path.to_string());
            }
        } else if let Some(rest) = path.strip_prefix(PREVENTIVE_DIR) {
            if rest == "coverage.json" {
                match coverage(&file.text) {
                    Ok(items) => {
                        summary.scp_coverage_file = Some(path.to_string());
                        summary.scp_coverage = items;
                    }
                    Err(err) => warnings.push(format!("{path}: {err}")),
                }
            } else if rest.ends_with(".json") {
                match scp(&file.text) {
                    Ok(statements) => summary.scp_files.push(ScpFile {
                        file: path.to_string(),
                        characters: file.text.chars().count(),
                        statements,
                    }),
                    Err(err) => warnings.push(format!("{path}: {err}")),
                }
            }
        } else if let Some(rest) = path.strip_prefix(PROACTIVE_DIR) {
            if rest.ends_with(".guard") {
                summary.guard_files.push(GuardFile {
                    file: path.to_string(),
                    rules: guard_rules(&file.text),
                });
            } else if name.ends_with("_tests.yaml") {
                summary.guard_test_files.push(path.to_string());
            }
        }
    }
    summary
}

fn config_rules(text: &str) -> Result<Vec<ConfigRuleItem>, String> {
    let template: serde_json::Value =
        serde_yaml::from_str(text).map_err(|err| format!("not a YAML template: {err}"))?;
    let Some(resources) = template.get("Resources").and_then(|r| r.as_object()) else {
        return Ok(Vec::new());
    };
    let text_of = |value: &serde_json::Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let mut rules = Vec::new();
    for (logical_id, resource) in resources {
        if resource.get("Type").and_then(|t| t.as_str()) != Some("AWS::Config::ConfigRule") {
            continue;
        }
        let policy = text_of(
            resource,
            "/Properties/Source/CustomPolicyDetails/PolicyText",
        )
        .unwrap_or_default();
        rules.push(ConfigRuleItem {
            name: text_of(resource, "/Properties/ConfigRuleName")
                .unwrap_or_else(|| logical_id.clone()),
            owner: text_of(resource, "/Properties/Source/Owner").unwrap_or_default(),
            source_identifier: text_of(resource, "/Properties/Source/SourceIdentifier"),
            description: text_of(resource, "/Properties/Description").unwrap_or_default(),
            resource_types: resource
                .pointer("/Properties/Scope/ComplianceResourceTypes")
                .and_then(|v| v.as_array())
                .map(|types| {
                    types
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            configuration_ids: violation_ids(&policy),
        });
    }
    Ok(rules)
}

fn coverage(text: &str) -> Result<Vec<ScpCoverage>, String> {
    #[derive(Deserialize)]
    struct Coverage {
        #[serde(default)]
        controls: Vec<ScpCoverage>,
    }
    serde_json::from_str::<Coverage>(text)
        .map(|coverage| coverage.controls)
        .map_err(|err| format!("not an SCP coverage document: {err}"))
}

fn scp(text: &str) -> Result<Vec<ScpStatement>, String> {
    let document: serde_json::Value =
        serde_json::from_str(text).map_err(|err| format!("not a JSON policy: {err}"))?;
    let statements = match document.get("Statement") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(single @ serde_json::Value::Object(_)) => vec![single.clone()],
        _ => return Err("policy has no Statement".into()),
    };
    Ok(statements
        .iter()
        .map(|statement| ScpStatement {
            sid: statement
                .get("Sid")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            actions: match statement.get("Action") {
                Some(serde_json::Value::String(action)) => vec![action.clone()],
                Some(serde_json::Value::Array(actions)) => actions
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            has_condition: statement.get("Condition").is_some(),
        })
        .collect())
}

/// Rule names and the recommendation ids in their violation messages.
fn guard_rules(text: &str) -> Vec<GuardRule> {
    let mut rules: Vec<GuardRule> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("rule ") {
            let name = rest
                .split(|c: char| c.is_whitespace() || c == '{')
                .next()
                .unwrap_or_default();
            if !name.is_empty() {
                rules.push(GuardRule {
                    name: name.to_string(),
                    configuration_ids: Vec::new(),
                });
            }
        } else if let Some(rule) = rules.last_mut() {
            for id in violation_ids(trimmed) {
                if !rule.configuration_ids.contains(&id) {
                    rule.configuration_ids.push(id);
                }
            }
        }
    }
    rules
}

/// `[CFG-...]` references after `Violation:` markers.
fn violation_ids(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split("Violation:").skip(1) {
        let part = part.trim_start();
        let id = part
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .map(|(id, _)| id);
        let fresh = id.filter(|id| !id.is_empty() && !out.iter().any(|known| known == id));
        if let Some(id) = fresh {
            out.push(id.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_rules_carry_their_recommendation_ids() {
        let text = "let x = 1\nrule a_b when %x !empty {\n  x == 1\n  <<\n    Violation: [CFG-A] t\n  >>\n}\nrule c {\n}\n";
        let rules = guard_rules(text);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "a_b");
        assert_eq!(rules[0].configuration_ids, vec!["CFG-A".to_string()]);
        assert!(rules[1].configuration_ids.is_empty());
    }

    #[test]
    fn a_single_statement_scp_is_read() {
        let statements = scp(r#"{"Statement": {"Sid": "S", "Action": "s3:X", "Effect": "Deny"}}"#)
            .unwrap_or_default();
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0].actions, vec!["s3:X".to_string()]);
    }
}
