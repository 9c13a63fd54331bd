//! The Service Research Profile as data (`research/service-profile.json`).
//! Every fact comes from the service documentation (CloudFormation schemas, IAM
//! reference, Config rules), the knowledge base's global condition keys, the
//! recommendations or the generated controls; where they say nothing, the
//! profile says so with [`NOT_DETERMINED`].

mod sections;

use crate::evidence::{ConditionKeyEvidence, PropertyEvidence, RuleEvidence};
use crate::load::ReportInputs;
use gensec_core::contract::analysis::{Priority, Recommendation, StrideThreat};
use gensec_core::contract::paths;
use gensec_core::contract::stage::RunContext;
use gensec_kb::ServiceDocumentation;
use gensec_kb::model::ConditionKey;
use sections::{access_controls, data_protection, logging, network};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What the profile says where the machine-readable sources say nothing.
pub const NOT_DETERMINED: &str = "not determined from the machine-readable sources";
/// What the profile says about an output of a stage that did not run.
pub const NOT_GENERATED: &str = "not generated in this run";

/// A recommendation as cited by a section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationRef {
    pub configuration_id: String,
    pub resource_type: String,
    pub property: String,
    /// The recommended value, JSON-encoded.
    pub value: String,
    pub priority: Priority,
    pub title: String,
}

impl RecommendationRef {
    fn of(recommendation: &Recommendation) -> Self {
        Self {
            configuration_id: recommendation.configuration_id.clone(),
            resource_type: recommendation.resource_type.clone(),
            property: recommendation.property.clone(),
            value: serde_json::to_string(&recommendation.recommended_value).unwrap_or_default(),
            priority: recommendation.priority,
            title: recommendation.title.clone(),
        }
    }
}

/// One question of a section (for example "encryption at rest") and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub title: String,
    /// The answer in one or two sentences, built only from the evidence below.
    pub determination: String,
    pub resource_types: Vec<String>,
    pub properties: Vec<PropertyEvidence>,
    pub condition_keys: Vec<ConditionKeyEvidence>,
    pub config_rules: Vec<RuleEvidence>,
    pub recommendations: Vec<RecommendationRef>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    pub source: String,
    pub origin: String,
    pub as_of: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub service_id: String,
    pub service_name: String,
    pub aliases: Vec<String>,
    pub cfn_namespaces: Vec<String>,
    pub resource_types: Vec<String>,
    /// Regions whose CloudFormation registry has at least one of the resource types.
    pub regions: usize,
    pub iam_prefixes: Vec<String>,
    pub iam_actions_by_access_level: BTreeMap<String, usize>,
    pub config_rules: usize,
    pub kb_data_date: String,
    pub data_sources: Vec<DataSource>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingEntry {
    pub configuration_id: String,
    pub title: String,
    pub priority: Priority,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkMapping {
    /// As spelled in the profile (`SOC2`, `PCI_DSS`).
    pub framework: String,
    pub entries: Vec<MappingEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceMapping {
    pub frameworks: Vec<FrameworkMapping>,
    /// Recommendations with no reference to any of the profile's frameworks.
    pub unmapped: Vec<String>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatRow {
    pub threat: String,
    pub recommendations: Vec<String>,
    pub by_priority: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatModel {
    pub method: String,
    pub rows: Vec<ThreatRow>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub configuration_id: String,
    pub title: String,
    pub priority: Priority,
    pub resource_type: String,
    pub property: String,
    /// JSON-encoded.
    pub value: String,
    /// What to do, for an operational control (no property to set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enablement {
    /// The profile's environment type.
    pub environment_type: String,
    /// Which priorities a sandbox pilot needs.
    pub pilot_priorities: Vec<Priority>,
    pub pilot: Vec<ChecklistItem>,
    pub production: Vec<ChecklistItem>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCount {
    pub file: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlsOverview {
    /// False when the controls stage wrote nothing for this run.
    pub generated: bool,
    pub config_rules_file: Option<String>,
    pub config_rules_managed: usize,
    pub config_rules_custom: usize,
    pub custom_policy_files: Vec<String>,
    pub scp_files: Vec<FileCount>,
    pub scp_statements: usize,
    pub scp_not_expressible: Vec<String>,
    pub guard_files: Vec<FileCount>,
    pub guard_rules: usize,
    pub guard_test_files: Vec<String>,
    /// Every written control with the cases it was executed against and
    /// their verdicts (from `controls/controls.json`).
    #[serde(default)]
    pub executed: Vec<ExecutedControl>,
    pub sources: Vec<String>,
}

/// One control and the cases it was executed against in its own semantics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutedControl {
    pub kind: gensec_core::contract::controls::ControlKind,
    pub name: String,
    pub file: String,
    pub cases: Vec<gensec_core::contract::controls::ExecutedCase>,
    /// Checks that do not execute the control (identifier, parameters, size).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifacts {
    pub cloudformation: Option<String>,
    pub terraform: Option<String>,
    pub iam_model: Option<String>,
    pub iam_personas: Vec<String>,
    pub iam_risky_actions: usize,
    pub iam_policy_files: Vec<String>,
}

/// `research/service-profile.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceProfile {
    pub service_id: String,
    pub service_name: String,
    pub request_id: String,
    pub requester: String,
    pub profile_id: String,
    pub organization: String,
    pub generator_version: String,
    pub kb_data_date: String,
    pub overview: Overview,
    pub data_protection: Section,
    pub network: Section,
    pub access_controls: Section,
    pub logging_monitoring: Section,
    pub compliance: ComplianceMapping,
    pub threat_model: ThreatModel,
    pub enablement: Enablement,
    pub controls: ControlsOverview,
    pub artifacts: Artifacts,
    /// The language model's part, marked model-written; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_written: Option<crate::model::ModelContribution>,
}

/// Priorities a sandbox pilot must have in place; production needs all.
pub const PILOT_PRIORITIES: [Priority; 2] = [Priority::Critical, Priority::High];

/// The serde spelling of a value (`SOC2`, `production`).
pub fn serde_name(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

struct Sources<'a> {
    doc: &'a ServiceDocumentation,
    /// The schemas' configurable paths each section quotes, found in one walk.
    paths: crate::evidence::ConfigurablePaths<'a>,
}

impl Sources<'_> {
    fn as_of(&self, source: &str) -> String {
        self.doc
            .sources
            .iter()
            .find(|s| s.source == source)
            .map_or_else(|| self.doc.kb_data_date.clone(), |s| s.as_of.clone())
    }

    fn schemas(&self) -> String {
        format!(
            "CloudFormation resource schemas (as of {})",
            self.as_of("cloudformation-schemas")
        )
    }

    fn iam(&self) -> String {
        format!(
            "IAM service authorization reference (as of {})",
            self.as_of("iam-service-reference")
        )
    }

    fn config(&self) -> String {
        format!(
            "AWS Config managed rules (as of {})",
            self.as_of("config-managed-rules")
        )
    }

    fn globals(&self) -> String {
        format!(
            "IAM global condition keys (knowledge base {})",
            self.doc.kb_data_date
        )
    }
}

/// The recommendations as a source of the profile.
fn recommendations_source() -> String {
    format!("gensec recommendations ({})", paths::RECOMMENDATIONS)
}

/// Build the profile from the run's inputs.
pub fn build(ctx: &RunContext, globals: &[ConditionKey], inputs: &ReportInputs) -> ServiceProfile {
    let doc = &inputs.documentation;
    let recs = &inputs.recommendations.recommendations;
    let sources = Sources {
        doc,
        paths: crate::evidence::ConfigurablePaths::new(doc, &sections::PROPERTY_FILTERS),
    };
    ServiceProfile {
        service_id: doc.service_id.clone(),
        service_name: doc.display_name.clone(),
        request_id: ctx.request.request_id.clone(),
        requester: ctx.request.requester.clone(),
        profile_id: ctx.profile.profile_id.clone(),
        organization: ctx.profile.organization_name.clone(),
        generator_version: gensec_core::GENERATOR_VERSION.to_string(),
        kb_data_date: doc.kb_data_date.clone(),
        overview: overview(doc, &sources),
        data_protection: data_protection(doc, globals, recs, &sources),
        network: network(doc, globals, recs, &sources),
        access_controls: access_controls(doc, recs, &sources),
        logging_monitoring: logging(doc, recs, &sources),
        compliance: compliance(ctx, recs),
        threat_model: threat_model(recs),
        enablement: enablement(ctx, recs),
        controls: controls(inputs),
        artifacts: artifacts(inputs),
        model_written: None,
    }
}

fn overview(doc: &ServiceDocumentation, sources: &Sources<'_>) -> Overview {
    let regions: BTreeSet<&str> = doc
        .resource_types
        .iter()
        .flat_map(|schema| schema.regions.iter().map(String::as_str))
        .collect();
    let mut by_level = BTreeMap::new();
    for action in doc.iam_services.iter().flat_map(|s| &s.actions) {
        *by_level
            .entry(action.access_level().as_str().to_string())
            .or_insert(0) += 1;
    }
    Overview {
        service_id: doc.service_id.clone(),
        service_name: doc.display_name.clone(),
        aliases: doc.aliases.clone(),
        cfn_namespaces: doc.cfn_namespaces.clone(),
        resource_types: doc
            .resource_types
            .iter()
            .map(|s| s.type_name.clone())
            .collect(),
        regions: regions.len(),
        iam_prefixes: doc.iam_prefixes.clone(),
        iam_actions_by_access_level: by_level,
        config_rules: doc.config_rules.len(),
        kb_data_date: doc.kb_data_date.clone(),
        data_sources: doc
            .sources
            .iter()
            .map(|s| DataSource {
                source: s.source.clone(),
                origin: s.origin.clone(),
                as_of: s.as_of.clone(),
            })
            .collect(),
        sources: vec![
            "gensec service catalogue (knowledge base)".into(),
            sources.schemas(),
            sources.iam(),
            sources.config(),
        ],
    }
}

fn compliance(ctx: &RunContext, recs: &[Recommendation]) -> ComplianceMapping {
    let frameworks = ctx
        .profile
        .compliance_requirements
        .iter()
        .map(|framework| FrameworkMapping {
            framework: serde_name(framework),
            entries: recs
                .iter()
                .filter_map(|r| {
                    r.compliance
                        .iter()
                        .find(|(f, refs)| f == framework && !refs.is_empty())
                        .map(|(_, refs)| MappingEntry {
                            configuration_id: r.configuration_id.clone(),
                            title: r.title.clone(),
                            priority: r.priority,
                            references: refs.clone(),
                        })
                })
                .collect(),
        })
        .collect();
    let unmapped = recs
        .iter()
        .filter(|r| r.compliance.iter().all(|(_, refs)| refs.is_empty()))
        .map(|r| r.configuration_id.clone())
        .collect();
    ComplianceMapping {
        frameworks,
        unmapped,
        sources: vec![
            recommendations_source(),
            "security profile compliance_requirements (order kept)".into(),
        ],
    }
}

const STRIDE: [StrideThreat; 6] = [
    StrideThreat::Spoofing,
    StrideThreat::Tampering,
    StrideThreat::Repudiation,
    StrideThreat::InformationDisclosure,
    StrideThreat::DenialOfService,
    StrideThreat::ElevationOfPrivilege,
];

fn threat_model(recs: &[Recommendation]) -> ThreatModel {
    let rows = STRIDE
        .iter()
        .map(|threat| {
            let matching: Vec<&Recommendation> =
                recs.iter().filter(|r| r.threat_vector == *threat).collect();
            let mut by_priority = BTreeMap::new();
            for r in &matching {
                *by_priority
                    .entry(r.priority.as_str().to_string())
                    .or_insert(0) += 1;
            }
            ThreatRow {
                threat: threat.label().to_string(),
                recommendations: matching
                    .iter()
                    .map(|r| r.configuration_id.clone())
                    .collect(),
                by_priority,
            }
        })
        .collect();
    ThreatModel {
        method: "STRIDE".into(),
        rows,
        sources: vec![recommendations_source()],
    }
}

fn checklist_item(r: &Recommendation) -> ChecklistItem {
    ChecklistItem {
        configuration_id: r.configuration_id.clone(),
        title: r.title.clone(),
        priority: r.priority,
        resource_type: r.resource_type.clone(),
        property: r.property.clone(),
        value: serde_json::to_string(&r.recommended_value).unwrap_or_default(),
        operational: r.operational.clone(),
    }
}

fn enablement(ctx: &RunContext, recs: &[Recommendation]) -> Enablement {
    let mut ordered: Vec<&Recommendation> = recs.iter().collect();
    ordered.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| a.configuration_id.cmp(&b.configuration_id))
    });
    Enablement {
        environment_type: serde_name(&ctx.profile.environment_type),
        pilot_priorities: PILOT_PRIORITIES.to_vec(),
        pilot: ordered
            .iter()
            .filter(|r| PILOT_PRIORITIES.contains(&r.priority))
            .map(|r| checklist_item(r))
            .collect(),
        production: ordered.iter().map(|r| checklist_item(r)).collect(),
        sources: vec![recommendations_source()],
    }
}

fn controls(inputs: &ReportInputs) -> ControlsOverview {
    let c = &inputs.controls;
    let managed = c.managed_rules();
    let mut not_expressible: Vec<String> = c
        .scp_coverage
        .iter()
        .filter(|item| item.status == "not_expressible")
        .map(|item| item.configuration_id.clone())
        .collect();
    not_expressible.sort();
    ControlsOverview {
        generated: !c.is_empty(),
        config_rules_file: c.config_rules_file.clone(),
        config_rules_managed: managed,
        config_rules_custom: c.config_rules.len() - managed,
        custom_policy_files: c.custom_policy_files.clone(),
        scp_files: c
            .scp_files
            .iter()
            .map(|f| FileCount {
                file: f.file.clone(),
                count: f.statements.len(),
            })
            .collect(),
        scp_statements: c.scp_statements(),
        scp_not_expressible: not_expressible,
        guard_files: c
            .guard_files
            .iter()
            .map(|f| FileCount {
                file: f.file.clone(),
                count: f.rules.len(),
            })
            .collect(),
        guard_rules: c.guard_rules(),
        guard_test_files: c.guard_test_files.clone(),
        executed: inputs
            .control_set
            .iter()
            .flat_map(|set| &set.controls)
            .map(|control| ExecutedControl {
                kind: control.kind,
                name: control.name.clone(),
                file: control.file.clone(),
                cases: control.cases.clone(),
                checks: control.checks.clone(),
            })
            .collect(),
        sources: if c.is_empty() {
            Vec::new()
        } else {
            vec!["generated controls (controls/)".into()]
        },
    }
}

fn artifacts(inputs: &ReportInputs) -> Artifacts {
    Artifacts {
        cloudformation: inputs.cloudformation.as_ref().map(|f| f.path.clone()),
        terraform: inputs.terraform.as_ref().map(|f| f.path.clone()),
        iam_model: inputs
            .iam_model
            .as_ref()
            .map(|_| paths::IAM_MODEL.to_string()),
        iam_personas: inputs
            .iam_model
            .as_ref()
            .map(|m| m.personas.iter().map(|p| p.id.clone()).collect())
            .unwrap_or_default(),
        iam_risky_actions: inputs
            .iam_model
            .as_ref()
            .map_or(0, |m| m.risky_actions.len()),
        iam_policy_files: inputs.iam_policies.iter().map(|f| f.path.clone()).collect(),
    }
}
