//! Each stage's figures, typed: serialised into the manifest and printed by
//! the CLI, so a renamed figure fails to compile instead of printing `null`.

use super::analysis::ModelValidation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where one documentation source's facts came from in a run: the baseline,
/// a live fetch, or the refresh cache (a body within its TTL or revalidated
/// with a 304).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `cloudformation-schemas`, `iam-service-reference`, `config-managed-rules`.
    pub source: String,
    /// `baseline`, `live` or `cache`.
    pub origin: String,
    /// Data date or fetch time.
    pub as_of: String,
    /// Why a live source was not used (or used only in part), when it was asked for.
    pub warning: Option<String>,
}

impl SourceStatus {
    /// Whether the facts came from a refresh (`live` or `cache`), not the baseline.
    pub fn refreshed(&self) -> bool {
        self.origin != "baseline"
    }
}

/// Stage 1: what the knowledge base knows about the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentationFigures {
    /// Each source's status, as in the documentation; later stages read the
    /// run's documentation instead of the baseline when any is refreshed.
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    pub resource_types: u64,
    pub property_paths: u64,
    pub iam_actions: u64,
    pub iam_actions_by_access_level: BTreeMap<String, u64>,
    pub iam_arn_formats: u64,
    pub iam_condition_keys: u64,
    pub config_rules: u64,
}

/// Stage 2: the recommendations and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisFigures {
    pub recommendations: u64,
    pub curated: u64,
    pub inferred: u64,
    pub model_proposed: u64,
    pub by_priority: BTreeMap<String, u64>,
    pub by_domain: BTreeMap<String, u64>,
    /// How the language model's answer fared; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelValidation>,
}

/// Stage 3: the controls generated (each executed or validated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControlsFigures {
    pub config_rules_managed: u64,
    pub config_rules_custom: u64,
    pub scp_documents: u64,
    pub scp_statements: u64,
    pub guard_rules: u64,
    pub guard_test_cases: u64,
    pub library_entries: u64,
}

/// Stage 4: the hardened template and its translation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IacFigures {
    pub resources: u64,
    pub parameters: u64,
    pub schema_problems: u64,
    pub guard_rules_passed: u64,
    pub guard_rules_failed: u64,
    pub guard_rules_skipped: u64,
    pub conflicts: u64,
    pub terraform_written: bool,
    pub terraform_mapped_types: u64,
    pub terraform_unmapped_types: u64,
}

/// Stage 5: personas and the actions they are granted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamFigures {
    pub personas: u64,
    pub actions_per_persona: BTreeMap<String, u64>,
    pub risky_actions: u64,
    pub risky_actions_by_category: BTreeMap<String, u64>,
    pub policy_files: u64,
}

/// Stage 6: what the research profile and the report contain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportFigures {
    pub research_profile_sections: Vec<String>,
    pub report_sections: Vec<String>,
    pub recommendations_shown: u64,
    /// Bytes per written document, by layout path.
    pub bytes: BTreeMap<String, u64>,
    pub controls_included: bool,
    pub iac_included: bool,
    pub iam_included: bool,
    /// The decision the package supports (also `manifest.json`'s `decision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<super::decision::PackageDecision>,
}

/// A stage's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageFigures {
    Documentation(DocumentationFigures),
    Analysis(AnalysisFigures),
    Controls(ControlsFigures),
    Iac(IacFigures),
    Iam(IamFigures),
    Report(ReportFigures),
}

/// The figures of each stage of a run, found by type.
pub trait FiguresOf {
    fn from_figures(figures: &StageFigures) -> Option<&Self>;
}

macro_rules! figures_of {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        $(impl FiguresOf for $ty {
            fn from_figures(figures: &StageFigures) -> Option<&Self> {
                match figures {
                    StageFigures::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
        })*
    };
}

figures_of! {
    Documentation => DocumentationFigures,
    Analysis => AnalysisFigures,
    Controls => ControlsFigures,
    Iac => IacFigures,
    Iam => IamFigures,
    Report => ReportFigures,
}

/// The figures of type `T` among a run's stage figures, if that stage ran.
pub fn find<'a, T: FiguresOf + 'a>(
    figures: impl IntoIterator<Item = &'a StageFigures>,
) -> Option<&'a T> {
    figures.into_iter().find_map(T::from_figures)
}
