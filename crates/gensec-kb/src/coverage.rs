//! Which Security Hub controls the control catalogue answers, per service,
//! with the misses: what `gensec kb coverage` prints.
//!
//! A Security Hub control of the chosen standard (retired ones left out) is
//! - *checked* when a catalogue control names it and has at least one
//!   requirement on a resource property (so the packages carry a Guard rule,
//!   a Config rule and a hardened template setting for it);
//! - *operational only* when the catalogue controls naming it are all
//!   operational notes (account settings, processes), which no package checks;
//! - *missed* when no catalogue control names it.
//!
//! Controls are grouped by the service their id names (`S3.1` -> `S3`),
//! resolved with [`Kb::resolve_service`] (the names `gensec run --service`
//! accepts), except for the few prefixes AWS spells differently from any
//! service name, which `data/security-hub-prefixes.json` maps with a reason.

use crate::Kb;
use crate::controls::{Control, ControlCatalogue};
use crate::facts::{FSBP_STANDARD, SecurityHubControl};
use gensec_data::DataError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The standards a coverage report can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standard {
    /// AWS Foundational Security Best Practices v1.0.0.
    Fsbp,
    /// Every CIS AWS Foundations Benchmark version.
    Cis,
    /// Every PCI DSS version.
    Pci,
    /// NIST SP 800-53 Rev. 5 and NIST SP 800-171 Rev. 2.
    Nist,
    /// Every active control, whatever its standards.
    All,
}

impl Standard {
    /// The accepted names, in the order help text lists them.
    pub const NAMES: [&'static str; 5] = ["fsbp", "cis", "pci", "nist", "all"];

    pub fn name(self) -> &'static str {
        match self {
            Standard::Fsbp => "fsbp",
            Standard::Cis => "cis",
            Standard::Pci => "pci",
            Standard::Nist => "nist",
            Standard::All => "all",
        }
    }

    /// What the name stands for, for headings.
    pub fn description(self) -> &'static str {
        match self {
            Standard::Fsbp => FSBP_STANDARD,
            Standard::Cis => "CIS AWS Foundations Benchmark (all versions)",
            Standard::Pci => "PCI DSS (all versions)",
            Standard::Nist => "NIST SP 800-53 Rev. 5 and NIST SP 800-171 Rev. 2",
            Standard::All => "every active Security Hub control",
        }
    }

    /// Whether a standard name as Security Hub writes it
    /// (`CIS AWS Foundations Benchmark v1.4.0`) is one of this choice's.
    pub fn matches(self, standard: &str) -> bool {
        match self {
            Standard::Fsbp => standard == FSBP_STANDARD,
            Standard::Cis => standard.starts_with("CIS AWS Foundations Benchmark"),
            Standard::Pci => standard.starts_with("PCI DSS"),
            Standard::Nist => standard.starts_with("NIST SP 800-"),
            Standard::All => true,
        }
    }

    /// Whether the control is active and belongs to the standard.
    pub fn applies_to(self, control: &SecurityHubControl) -> bool {
        !control.retired
            && (self == Standard::All
                || control.standards.iter().any(|s| self.matches(&s.standard)))
    }
}

impl fmt::Display for Standard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A standard name that is not one of [`Standard::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown standard {given:?}: expected one of {}", Standard::NAMES.join(", "))]
pub struct UnknownStandard {
    pub given: String,
}

impl FromStr for Standard {
    type Err = UnknownStandard;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let key = text.trim().to_ascii_lowercase();
        Standard::NAMES
            .iter()
            .position(|name| *name == key)
            .map(|position| {
                [
                    Standard::Fsbp,
                    Standard::Cis,
                    Standard::Pci,
                    Standard::Nist,
                    Standard::All,
                ][position]
            })
            .ok_or_else(|| UnknownStandard {
                given: text.to_string(),
            })
    }
}

/// How the catalogue answers one Security Hub control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A catalogue control with a checkable requirement names it.
    Checked,
    /// Only operational catalogue controls (no requirement to check) name it.
    OperationalOnly,
    /// No catalogue control names it.
    Missed,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Checked => "checked",
            Answer::OperationalOnly => "operational only",
            Answer::Missed => "missed",
        }
    }
}

/// One Security Hub control and how it is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlCoverage {
    /// Consolidated id (`S3.5`).
    pub id: String,
    pub title: String,
    pub severity: String,
    pub answer: Answer,
    /// Ids of the catalogue controls that name it (checked ones first).
    pub answered_by: Vec<String>,
}

/// Applicable, checked, operational-only and missed counts; they add up:
/// `applicable == checked + operational_only + missed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub applicable: usize,
    pub checked: usize,
    pub operational_only: usize,
    pub missed: usize,
}

impl Counts {
    fn add(&mut self, answer: Answer) {
        self.applicable += 1;
        match answer {
            Answer::Checked => self.checked += 1,
            Answer::OperationalOnly => self.operational_only += 1,
            Answer::Missed => self.missed += 1,
        }
    }

    fn plus(self, other: Counts) -> Counts {
        Counts {
            applicable: self.applicable + other.applicable,
            checked: self.checked + other.checked,
            operational_only: self.operational_only + other.operational_only,
            missed: self.missed + other.missed,
        }
    }

    /// Share of the applicable controls answered by a checked requirement, in
    /// percent (0 when nothing applies).
    pub fn checked_percent(&self) -> f64 {
        if self.applicable == 0 {
            0.0
        } else {
            self.checked as f64 * 100.0 / self.applicable as f64
        }
    }
}

/// The Security Hub controls of one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceCoverage {
    /// Catalogue service id (`s3`); the lower-cased Security Hub prefix when
    /// no catalogue service has that name (see `in_catalogue`).
    pub service: String,
    pub display_name: String,
    /// Whether `service` is a catalogue service (`gensec run` can package it).
    pub in_catalogue: bool,
    /// The Security Hub id prefixes grouped here (`ES`, `Opensearch`).
    pub prefixes: Vec<String>,
    pub counts: Counts,
    /// Every applicable control, in id order.
    pub controls: Vec<ControlCoverage>,
}

impl ServiceCoverage {
    pub fn misses(&self) -> impl Iterator<Item = &ControlCoverage> {
        self.controls.iter().filter(|c| c.answer == Answer::Missed)
    }
}

/// A Security Hub id a catalogue control names that the knowledge base does
/// not know or knows as retired: a stale reference in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleReference {
    pub control: String,
    pub security_hub_id: String,
    /// `unknown` or `retired`.
    pub problem: String,
}

/// Coverage of one standard, per service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    pub standard: Standard,
    pub standard_name: String,
    /// Services with at least one applicable control, sorted by id.
    pub services: Vec<ServiceCoverage>,
    pub stale_references: Vec<StaleReference>,
}

impl CoverageReport {
    /// The services' counts added up.
    pub fn totals(&self) -> Counts {
        self.services
            .iter()
            .fold(Counts::default(), |sum, service| sum.plus(service.counts))
    }

    pub fn service(&self, id: &str) -> Option<&ServiceCoverage> {
        self.services.iter().find(|service| service.service == id)
    }

    /// Keep only these services (catalogue ids), in the order given; an id
    /// with no applicable control gets an empty row so the answer is explicit.
    pub fn retain_services(&mut self, ids: &[(&str, &str)]) {
        let mut kept = Vec::with_capacity(ids.len());
        for (id, display_name) in ids {
            if kept.iter().any(|s: &ServiceCoverage| s.service == *id) {
                continue;
            }
            let found = self.services.iter().position(|s| s.service == *id);
            kept.push(match found {
                Some(position) => self.services.swap_remove(position),
                None => ServiceCoverage {
                    service: (*id).to_string(),
                    display_name: (*display_name).to_string(),
                    in_catalogue: true,
                    prefixes: Vec::new(),
                    counts: Counts::default(),
                    controls: Vec::new(),
                },
            });
        }
        self.services = kept;
    }
}

/// A Security Hub prefix no service name resolves correctly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixMapping {
    /// Catalogue service id.
    pub service: String,
    /// Why the prefix's own name does not resolve to that service.
    pub reason: String,
}

/// `data/security-hub-prefixes.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixMappings {
    /// Where the mappings' facts come from.
    pub source: String,
    pub prefixes: BTreeMap<String, PrefixMapping>,
}

const PREFIXES_FILE: &str = "security-hub-prefixes.json";

impl PrefixMappings {
    /// The curated mappings built into the crate.
    pub fn embedded() -> Result<Self, DataError> {
        gensec_data::parse_named(crate::data::FILES, PREFIXES_FILE)
    }

    pub fn parse(text: &str) -> Result<Self, DataError> {
        gensec_data::parse(PREFIXES_FILE, text)
    }

    /// The mapping of a prefix, matched without regard to case.
    fn get(&self, prefix: &str) -> Option<&PrefixMapping> {
        self.prefixes
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(prefix))
            .map(|(_, mapping)| mapping)
    }
}

/// Why coverage cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverageError {
    #[error(
        "data/{PREFIXES_FILE}: at $.prefixes.{prefix}.service: {service:?} is not a catalogue service"
    )]
    UnknownMappedService { prefix: String, service: String },
}

/// The prefix of a consolidated id (`S3.5` -> `S3`).
pub fn id_prefix(id: &str) -> &str {
    id.split_once('.').map_or(id, |(prefix, _)| prefix)
}

/// Sort key putting `EC2.2` before `EC2.10`.
fn id_order(id: &str) -> (String, u64, String) {
    let (prefix, rest) = id.split_once('.').unwrap_or((id, ""));
    let number = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(u64::MAX);
    (prefix.to_ascii_lowercase(), number, rest.to_string())
}

/// The catalogue service a Security Hub prefix belongs to: `(id, display name,
/// in catalogue)`.
pub fn service_for_prefix(
    kb: &Kb,
    mappings: &PrefixMappings,
    prefix: &str,
) -> Result<(String, String, bool), CoverageError> {
    if let Some(mapping) = mappings.get(prefix) {
        let entry =
            kb.service(&mapping.service)
                .ok_or_else(|| CoverageError::UnknownMappedService {
                    prefix: prefix.to_string(),
                    service: mapping.service.clone(),
                })?;
        return Ok((entry.id.clone(), entry.display_name.clone(), true));
    }
    Ok(match kb.resolve_service(prefix) {
        Ok(entry) => (entry.id.clone(), entry.display_name.clone(), true),
        Err(_) => (
            prefix.to_ascii_lowercase(),
            format!("{prefix} (no catalogue service)"),
            false,
        ),
    })
}

/// How the catalogue answers one Security Hub id.
fn answer(catalogue: &ControlCatalogue, id: &str) -> (Answer, Vec<String>) {
    let naming: Vec<&Control> = catalogue.for_security_hub(id).collect();
    let mut answered_by: Vec<String> = naming
        .iter()
        .filter(|control| !control.is_operational())
        .map(|control| control.id.clone())
        .collect();
    let answer = if naming.is_empty() {
        Answer::Missed
    } else if answered_by.is_empty() {
        Answer::OperationalOnly
    } else {
        Answer::Checked
    };
    answered_by.extend(
        naming
            .iter()
            .filter(|control| control.is_operational())
            .map(|control| control.id.clone()),
    );
    (answer, answered_by)
}

/// The coverage of a standard by the catalogue, over every service.
pub fn coverage(
    kb: &Kb,
    catalogue: &ControlCatalogue,
    mappings: &PrefixMappings,
    standard: Standard,
) -> Result<CoverageReport, CoverageError> {
    let mut services: BTreeMap<String, ServiceCoverage> = BTreeMap::new();
    let mut resolved: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
    let mut applicable: Vec<&SecurityHubControl> = kb
        .security_hub_controls()
        .iter()
        .filter(|control| standard.applies_to(control))
        .collect();
    applicable.sort_by_key(|control| id_order(&control.id));
    for control in applicable {
        let prefix = id_prefix(&control.id);
        let key = prefix.to_ascii_lowercase();
        if !resolved.contains_key(&key) {
            resolved.insert(key.clone(), service_for_prefix(kb, mappings, prefix)?);
        }
        let (id, display_name, in_catalogue) = &resolved[&key];
        let service = services
            .entry(id.clone())
            .or_insert_with(|| ServiceCoverage {
                service: id.clone(),
                display_name: display_name.clone(),
                in_catalogue: *in_catalogue,
                prefixes: Vec::new(),
                counts: Counts::default(),
                controls: Vec::new(),
            });
        if !service.prefixes.iter().any(|p| p == prefix) {
            service.prefixes.push(prefix.to_string());
        }
        let (answer, answered_by) = answer(catalogue, &control.id);
        service.counts.add(answer);
        service.controls.push(ControlCoverage {
            id: control.id.clone(),
            title: control.title.clone(),
            severity: control.severity.clone(),
            answer,
            answered_by,
        });
    }

    let mut stale_references = Vec::new();
    for control in catalogue.controls() {
        for id in &control.security_hub {
            let problem = match kb.security_hub_control(id) {
                None => "unknown",
                Some(known) if known.retired => "retired",
                Some(_) => continue,
            };
            stale_references.push(StaleReference {
                control: control.id.clone(),
                security_hub_id: id.clone(),
                problem: problem.to_string(),
            });
        }
    }
    Ok(CoverageReport {
        standard,
        standard_name: standard.description().to_string(),
        services: services.into_values().collect(),
        stale_references,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::baseline::{self, KbContent};
    use crate::facts::StandardMembership;
    use crate::model::{KbCounts, KbMeta, ServiceEntry};
    use std::borrow::Cow;

    fn service(id: &str, display_name: &str, aliases: &[&str]) -> ServiceEntry {
        ServiceEntry {
            id: id.into(),
            display_name: display_name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            cfn_namespaces: Vec::new(),
            resource_types: Vec::new(),
            iam_prefixes: Vec::new(),
            config_rules: Vec::new(),
        }
    }

    fn hub(id: &str, standards: &[&str], retired: bool) -> SecurityHubControl {
        SecurityHubControl {
            id: id.into(),
            title: format!("title of {id}"),
            severity: "HIGH".into(),
            standards: standards
                .iter()
                .map(|standard| StandardMembership {
                    standard: standard.to_string(),
                    control_id: id.into(),
                })
                .collect(),
            resource_types: Vec::new(),
            cfn_resource_types: Vec::new(),
            asff_resource_types: Vec::new(),
            config_rule: None,
            config_rule_identifier: None,
            config_rule_custom: false,
            parameters: Vec::new(),
            schedule: None,
            retired,
            custom_parameters: false,
            related_requirements: Vec::new(),
            provenance: BTreeMap::new(),
            missing: Vec::new(),
        }
    }

    const CIS: &str = "CIS AWS Foundations Benchmark v1.4.0";
    const PCI: &str = "PCI DSS v4.0.1";

    /// Storage: S3.1 checked, S3.2 operational only, S3.10 missed, S3.3
    /// retired; Private CA's `PCA` prefix is mapped by data; `Widget` has no
    /// catalogue service.
    fn kb() -> Kb {
        let content = KbContent {
            meta: KbMeta {
                format_version: baseline::FORMAT_VERSION,
                data_date: "2026-01-01".into(),
                built_at: "2026-01-01".into(),
                sources: Vec::new(),
                counts: KbCounts::default(),
            },
            catalogue: vec![
                service("s3", "Amazon S3", &["s3", "Amazon S3", "S3"]),
                service("acmpca", "AWS Private CA", &["acmpca"]),
            ],
            config_rules: Vec::new(),
            global_condition_keys: Vec::new(),
            resource_types: Vec::new(),
            iam: Vec::new(),
            config_types: Vec::new(),
            security_hub_controls: vec![
                hub("S3.10", &[FSBP_STANDARD], false),
                hub("S3.1", &[FSBP_STANDARD, CIS], false),
                hub("S3.2", &[FSBP_STANDARD, PCI], false),
                hub("S3.3", &[FSBP_STANDARD], true),
                hub("PCA.1", &[FSBP_STANDARD], false),
                hub("Widget.1", &["NIST SP 800-53 Rev. 5"], false),
            ],
            ci_shapes: Vec::new(),
        };
        let bytes = baseline::write(&content).unwrap();
        Kb::from_bytes(Cow::Owned(bytes), "synthetic".into()).unwrap()
    }

    fn catalogue() -> ControlCatalogue {
        let controls = serde_json::json!([
            {
                "id": "s3-block-public", "title": "Block public access",
                "requirements": [{
                    "resource_type": "AWS::S3::Bucket", "key": "bpa",
                    "property": "PublicAccessBlockConfiguration.BlockPublicAcls",
                    "expect": {"equals": true}
                }],
                "domain": "data_protection", "stride": "information_disclosure",
                "priority": "High", "rationale": "r",
                "security_hub": ["S3.1", "S3.3"]
            },
            {
                "id": "s3-review", "title": "Review access", "operational": "Review it.",
                "services": ["s3"], "domain": "data_protection",
                "stride": "information_disclosure", "priority": "Low", "rationale": "r",
                "security_hub": ["S3.1", "s3.2", "S3.99"]
            }
        ])
        .to_string();
        ControlCatalogue::from_files(&[("s3.json", &controls)]).unwrap()
    }

    fn mappings() -> PrefixMappings {
        PrefixMappings::parse(
            r#"{"source": "test", "prefixes": {"PCA": {"service": "acmpca", "reason": "short name"}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn counts_checked_operational_and_missed_controls_per_service() {
        let report = coverage(&kb(), &catalogue(), &mappings(), Standard::Fsbp).unwrap();
        let s3 = report.service("s3").unwrap();
        assert_eq!(
            s3.counts,
            Counts {
                applicable: 3,
                checked: 1,
                operational_only: 1,
                missed: 1
            }
        );
        let ids: Vec<&str> = s3.controls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["S3.1", "S3.2", "S3.10"],
            "natural id order, retired left out"
        );
        assert_eq!(s3.controls[0].answer, Answer::Checked);
        assert_eq!(s3.controls[0].answered_by, ["s3-block-public", "s3-review"]);
        assert_eq!(s3.controls[1].answer, Answer::OperationalOnly);
        let misses: Vec<&str> = s3.misses().map(|c| c.id.as_str()).collect();
        assert_eq!(misses, ["S3.10"]);
        let pca = report.service("acmpca").unwrap();
        assert!(pca.in_catalogue);
        assert_eq!(pca.prefixes, ["PCA"]);
        assert_eq!(pca.counts.missed, 1);
        assert!(report.service("widget").is_none(), "not in FSBP");
        let totals = report.totals();
        assert_eq!(totals.applicable, 4);
        assert_eq!(
            totals.applicable,
            totals.checked + totals.operational_only + totals.missed
        );
        assert!((s3.counts.checked_percent() - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn stale_references_are_listed() {
        let report = coverage(&kb(), &catalogue(), &mappings(), Standard::Fsbp).unwrap();
        let stale: Vec<(&str, &str)> = report
            .stale_references
            .iter()
            .map(|s| (s.security_hub_id.as_str(), s.problem.as_str()))
            .collect();
        assert_eq!(stale, [("S3.3", "retired"), ("S3.99", "unknown")]);
    }

    #[test]
    fn standards_select_their_controls() {
        let ids = |standard: Standard| -> Vec<String> {
            let report = coverage(&kb(), &catalogue(), &mappings(), standard).unwrap();
            report
                .services
                .iter()
                .flat_map(|s| s.controls.iter().map(|c| c.id.clone()))
                .collect()
        };
        assert_eq!(ids(Standard::Cis), ["S3.1"]);
        assert_eq!(ids(Standard::Pci), ["S3.2"]);
        assert_eq!(ids(Standard::Nist), ["Widget.1"]);
        assert_eq!(ids(Standard::All).len(), 5);
        let report = coverage(&kb(), &catalogue(), &mappings(), Standard::Nist).unwrap();
        let widget = report.service("widget").unwrap();
        assert!(!widget.in_catalogue);
        assert_eq!(widget.display_name, "Widget (no catalogue service)");
    }

    #[test]
    fn unknown_standard_lists_the_accepted_names() {
        assert_eq!("FSBP".parse::<Standard>().unwrap(), Standard::Fsbp);
        assert_eq!(" pci ".parse::<Standard>().unwrap(), Standard::Pci);
        let err = "soc2".parse::<Standard>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown standard \"soc2\": expected one of fsbp, cis, pci, nist, all"
        );
    }

    #[test]
    fn a_mapping_to_an_unknown_service_fails_naming_it() {
        let bad = PrefixMappings::parse(
            r#"{"source": "t", "prefixes": {"S3": {"service": "nope", "reason": "r"}}}"#,
        )
        .unwrap();
        let err = coverage(&kb(), &catalogue(), &bad, Standard::Fsbp).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data/security-hub-prefixes.json: at $.prefixes.S3.service: \"nope\" is not a catalogue service"
        );
        let malformed =
            PrefixMappings::parse(r#"{"source": "t", "prefixes": {"S3": {}}}"#).unwrap_err();
        assert_eq!(malformed.file, "security-hub-prefixes.json");
        assert_eq!(malformed.path, "$.prefixes.S3");
    }

    #[test]
    fn the_curated_mappings_load() {
        let mappings = PrefixMappings::embedded().unwrap();
        assert!(mappings.prefixes.values().all(|m| !m.reason.is_empty()));
    }

    #[test]
    fn retain_services_keeps_the_asked_order_and_empty_rows() {
        let mut report = coverage(&kb(), &catalogue(), &mappings(), Standard::Fsbp).unwrap();
        report.retain_services(&[
            ("acmpca", "AWS Private CA"),
            ("s3", "Amazon S3"),
            ("ec2", "Amazon EC2"),
        ]);
        let ids: Vec<&str> = report.services.iter().map(|s| s.service.as_str()).collect();
        assert_eq!(ids, ["acmpca", "s3", "ec2"]);
        assert_eq!(report.services[2].counts, Counts::default());
        assert_eq!(report.totals().applicable, 4);
    }
}
