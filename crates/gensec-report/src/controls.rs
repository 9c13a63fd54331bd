//! The controls of the run as the report shows them, derived from the
//! controls stage's typed output (`controls/controls.json`): Config rules,
//! SCP statements and coverage, Guard rules. Nothing is parsed back from the
//! control files, so the report shows exactly what was generated.

use gensec_core::contract::analysis::{Preventive, Recommendation};
use gensec_core::contract::controls::{ControlKind, ControlSet, GapCause, GeneratedControl};
use gensec_core::contract::paths;
use serde::{Deserialize, Serialize};

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

/// The report's view of the controls stage's output.
pub fn summarise(set: &ControlSet) -> ControlsSummary {
    let mut summary = ControlsSummary {
        files: set.documents.iter().map(|d| d.path.clone()).collect(),
        ..ControlsSummary::default()
    };
    for control in &set.controls {
        match control.kind {
            ControlKind::ConfigManagedRule | ControlKind::ConfigCustomRule => {
                add_config_rule(&mut summary, control)
            }
            ControlKind::ScpStatement => add_scp_statement(&mut summary, set, control),
            ControlKind::GuardRule => add_guard_rule(&mut summary, control),
        }
    }
    add_scp_gaps(&mut summary, set);
    if !summary.scp_coverage.is_empty() {
        summary.scp_coverage_file = Some(paths::SCP_COVERAGE.to_string());
    }
    summary.guard_test_files = set
        .documents
        .iter()
        .filter(|d| d.path.ends_with("_tests.yaml"))
        .map(|d| d.path.clone())
        .collect();
    summary
}

fn add_config_rule(summary: &mut ControlsSummary, control: &GeneratedControl) {
    summary.config_rules_file = Some(paths::CONFIG_RULES.to_string());
    let managed = control.kind == ControlKind::ConfigManagedRule;
    if !managed {
        summary.custom_policy_files.push(control.file.clone());
    }
    summary.config_rules.push(ConfigRuleItem {
        name: control.name.clone(),
        owner: if managed { "AWS" } else { "CUSTOM_POLICY" }.to_string(),
        source_identifier: control.source_identifier.clone(),
        description: control.description.clone(),
        resource_types: control.resource_types.clone(),
        configuration_ids: if managed {
            Vec::new()
        } else {
            control.configuration_ids.clone()
        },
    });
}

/// The statement under its policy file, and one coverage row per
/// configuration it answers.
fn add_scp_statement(summary: &mut ControlsSummary, set: &ControlSet, control: &GeneratedControl) {
    let file = file_name(&control.file);
    for id in &control.configuration_ids {
        summary.scp_coverage.push(ScpCoverage {
            configuration_id: id.clone(),
            status: "scp".into(),
            reason: None,
            document: Some(file.clone()),
            sid: Some(control.name.clone()),
        });
    }
    let statement = ScpStatement {
        sid: control.name.clone(),
        actions: control.actions.clone(),
        has_condition: control.conditional,
    };
    match summary
        .scp_files
        .iter_mut()
        .find(|f| f.file == control.file)
    {
        Some(existing) => existing.statements.push(statement),
        None => summary.scp_files.push(ScpFile {
            file: control.file.clone(),
            characters: size_of(set, &control.file),
            statements: vec![statement],
        }),
    }
}

fn add_guard_rule(summary: &mut ControlsSummary, control: &GeneratedControl) {
    let rule = GuardRule {
        name: control.name.clone(),
        configuration_ids: control.configuration_ids.clone(),
    };
    match summary
        .guard_files
        .iter_mut()
        .find(|f| f.file == control.file)
    {
        Some(existing) => existing.rules.push(rule),
        None => summary.guard_files.push(GuardFile {
            file: control.file.clone(),
            rules: vec![rule],
        }),
    }
}

/// Coverage rows for configurations with no SCP statement, with the cause.
fn add_scp_gaps(summary: &mut ControlsSummary, set: &ControlSet) {
    for gap in set
        .gaps
        .iter()
        .filter(|g| g.kind == ControlKind::ScpStatement)
    {
        let status = match gap.cause {
            GapCause::NotDefined => "none",
            GapCause::NotExpressible => "not_expressible",
            GapCause::Rejected => "rejected",
        };
        summary.scp_coverage.push(ScpCoverage {
            configuration_id: gap.configuration_id.clone(),
            status: status.into(),
            reason: Some(gap.reason.clone()),
            document: None,
            sid: None,
        });
    }
}

fn file_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn size_of(set: &ControlSet, path: &str) -> usize {
    set.documents
        .iter()
        .find(|d| d.path == path)
        .map_or(0, |d| d.bytes as usize)
}
