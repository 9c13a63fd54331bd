//! `validation-report.json`: every validator verdict of a run, assembled once
//! from the stages' outcomes (no stage rewrites another stage's file).

use super::analysis::ModelValidation;
use super::stage::{Rejection, StageId, StageOutcome, ValidationCounts};
use serde::{Deserialize, Serialize};

/// One stage's share of the verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageVerdictCounts {
    pub stage: StageId,
    #[serde(flatten)]
    pub counts: ValidationCounts,
}

/// `validation-report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Totals over every stage.
    pub totals: ValidationCounts,
    pub stages: Vec<StageVerdictCounts>,
    /// Every rejection, in stage order.
    pub rejected: Vec<Rejection>,
    /// How the language model's answer fared; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<ModelValidation>,
}

impl ValidationReport {
    /// The report of the stages that ran, in the order given.
    pub fn assemble(outcomes: &[StageOutcome]) -> Self {
        let mut report = Self::default();
        for outcome in outcomes {
            let counts = outcome.validation();
            report.totals.add(counts);
            report.stages.push(StageVerdictCounts {
                stage: outcome.stage,
                counts,
            });
            report
                .rejected
                .extend(outcome.verdicts.rejected.iter().cloned());
        }
        let records: Vec<_> = outcomes.iter().filter_map(|o| o.llm.clone()).collect();
        report.llm = ModelValidation::from_records(&records);
        report
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::contract::figures::{DocumentationFigures, StageFigures};
    use crate::contract::stage::Verdicts;

    #[test]
    fn the_report_sums_the_stages_and_reads_back() {
        let mut verdicts = Verdicts::new(StageId::Documentation);
        verdicts.accept();
        verdicts.reject("item", "reason");
        let outcome = StageOutcome {
            stage: StageId::Documentation,
            files: Vec::new(),
            figures: StageFigures::Documentation(DocumentationFigures::default()),
            verdicts,
            warnings: Vec::new(),
            llm: None,
        };
        let report = ValidationReport::assemble(&[outcome.clone(), outcome]);
        assert_eq!(
            report.totals,
            ValidationCounts {
                checked: 4,
                accepted: 2,
                rejected: 2
            }
        );
        assert_eq!(report.rejected.len(), 2);
        assert_eq!(report.stages.len(), 2);
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(
            serde_json::from_str::<ValidationReport>(&text).unwrap(),
            report
        );
    }
}
