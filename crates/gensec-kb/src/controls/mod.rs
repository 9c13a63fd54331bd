//! The control catalogue: one set of curated controls, kept as data in
//! `controls/*.json` (embedded at build time), read by every stage and by
//! finding remediation. A control requires something of a resource type
//! (or, for an operational control, of the account or organisation), says
//! why (STRIDE threat, priority, rationale, compliance references), names
//! the Security Hub controls it answers, its Config managed rule, its SCP
//! form, and how a failing resource is remediated.
//!
//! Loading checks the catalogue's own consistency (unique ids, well-formed
//! expectations and fixes, one remediation per Security Hub control);
//! checks against AWS's facts (properties, rules, actions) are the analysis
//! stage's validators and the catalogue test.

mod check;
mod model;

pub use check::{expectation as check_expectation, is_security_hub_id};
pub use model::*;

use gensec_data::DataError;
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/control_files.rs"));
}

/// A catalogue file or control that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("controls/{0}")]
    Data(#[from] DataError),
    #[error("controls/{file}: control {control}: {message}")]
    Control {
        file: String,
        control: String,
        message: String,
    },
}

/// Every control, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlCatalogue {
    controls: Vec<Control>,
    /// Control index by Security Hub control id (upper case).
    by_security_hub: BTreeMap<String, Vec<usize>>,
}

impl ControlCatalogue {
    /// Parse and check catalogue files given as `(file name, JSON text)`.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Self, CatalogueError> {
        let parsed = gensec_data::parse_files::<Control>(files)?;
        check::catalogue(&parsed)?;
        let controls: Vec<Control> = parsed.into_iter().map(|(_, control)| control).collect();
        let mut by_security_hub: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (index, control) in controls.iter().enumerate() {
            for id in &control.security_hub {
                by_security_hub
                    .entry(id.to_ascii_uppercase())
                    .or_default()
                    .push(index);
            }
        }
        Ok(Self {
            controls,
            by_security_hub,
        })
    }

    /// The catalogue built into the binary (loaded once).
    pub fn embedded() -> Result<&'static ControlCatalogue, CatalogueError> {
        static CATALOGUE: OnceLock<Result<ControlCatalogue, CatalogueError>> = OnceLock::new();
        CATALOGUE
            .get_or_init(|| Self::from_files(embedded::FILES))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|control| control.id == id)
    }

    /// Controls answering a Security Hub control id (any case).
    pub fn for_security_hub(&self, id: &str) -> impl Iterator<Item = &Control> {
        self.by_security_hub
            .get(&id.to_ascii_uppercase())
            .into_iter()
            .flatten()
            .map(|index| &self.controls[*index])
    }

    /// The control that remediates a Security Hub control id, with its
    /// remediation: the first in catalogue order (see
    /// [`Self::remediation_for_resource`] when several do).
    pub fn remediation_for(&self, security_hub_id: &str) -> Option<(&Control, &Remediation)> {
        self.remediations_for(security_hub_id).next()
    }

    /// Every control remediating a Security Hub control id, in catalogue
    /// order. Several are allowed only when each names a different
    /// `resource_type` (checked at load).
    pub fn remediations_for(
        &self,
        security_hub_id: &str,
    ) -> impl Iterator<Item = (&Control, &Remediation)> {
        self.for_security_hub(security_hub_id)
            .filter_map(|control| control.remediation.as_ref().map(|r| (control, r)))
    }

    /// The remediation for a finding of `security_hub_id` on a resource of
    /// ASFF type `resource_type`: the one whose `resource_type` is the
    /// finding's, else the first in catalogue order. Two controls answering
    /// one Security Hub control (one per resource type it evaluates) thus
    /// never compete for a finding.
    pub fn remediation_for_resource(
        &self,
        security_hub_id: &str,
        resource_type: Option<&str>,
    ) -> Option<(&Control, &Remediation)> {
        let all: Vec<_> = self.remediations_for(security_hub_id).collect();
        resource_type
            .and_then(|kind| {
                all.iter()
                    .find(|(_, r)| r.resource_type.as_deref() == Some(kind))
            })
            .or_else(|| all.first())
            .copied()
    }

    /// Controls with a requirement on one of these resource types.
    pub fn for_resource_types<'a>(
        &'a self,
        types: &'a [&str],
    ) -> impl Iterator<Item = &'a Control> + 'a {
        self.controls.iter().filter(move |control| {
            control
                .requirements
                .iter()
                .any(|r| types.contains(&r.resource_type.as_str()))
        })
    }

    /// Security Hub control ids with a remediation, sorted.
    pub fn remediated_security_hub_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .controls
            .iter()
            .filter(|control| control.remediation.is_some())
            .flat_map(|control| control.security_hub.iter().map(String::as_str))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn len(&self) -> usize {
        self.controls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.controls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An operational control answering `security_hub` with a remediation
    /// for `resource_type` (none when `None`).
    fn control(id: &str, security_hub: &str, resource_type: Option<&str>) -> String {
        let kind = resource_type
            .map(|k| format!(r#""resource_type": "{k}", "#))
            .unwrap_or_default();
        format!(
            r#"{{"id": "{id}", "title": "t", "operational": "do it", "services": ["rds"],
                "domain": "data_protection", "stride": "information_disclosure", "priority": "High",
                "rationale": "r", "security_hub": ["{security_hub}"], "compliance": {{}},
                "remediation": {{{kind}"risk": "risk of {id}", "no_fix_reason": "none",
                  "manual_steps": [], "check_before": ["c"], "verify": ["v"],
                  "documentation": "https://docs.aws.amazon.com/x"}}}}"#
        )
    }

    fn catalogue(controls: &[String]) -> Result<ControlCatalogue, CatalogueError> {
        let text = format!("[{}]", controls.join(","));
        ControlCatalogue::from_files(&[("t.json", &text)])
    }

    /// Two controls may remediate one Security Hub control when each names
    /// the resource type it answers; a finding gets the one of its type.
    #[test]
    fn two_remediations_of_one_security_hub_control_split_by_resource_type() {
        let both = catalogue(&[
            control("db-instance", "RDS.99", Some("AwsRdsDbInstance")),
            control("db-cluster", "RDS.99", Some("AwsRdsDbCluster")),
        ])
        .expect("loads");
        let pick = |kind: Option<&str>| {
            both.remediation_for_resource("rds.99", kind)
                .map(|(c, _)| c.id.as_str())
        };
        assert_eq!(pick(Some("AwsRdsDbCluster")), Some("db-cluster"));
        assert_eq!(pick(Some("AwsRdsDbInstance")), Some("db-instance"));
        // A type neither names, or none: the first in catalogue order.
        assert_eq!(pick(Some("AwsAccount")), Some("db-instance"));
        assert_eq!(pick(None), Some("db-instance"));
        assert_eq!(both.remediations_for("RDS.99").count(), 2);
        assert_eq!(both.remediated_security_hub_ids(), ["RDS.99"]);
    }

    /// Two remediations for the same resource type (or without one) would
    /// compete for the same finding: the catalogue does not load.
    #[test]
    fn competing_remediations_of_one_security_hub_control_are_refused() {
        for (a, b) in [
            (Some("AwsRdsDbCluster"), Some("AwsRdsDbCluster")),
            (None, None),
            (None, Some("AwsRdsDbCluster")),
        ] {
            let err = catalogue(&[control("one", "RDS.99", a), control("two", "RDS.99", b)])
                .expect_err("competing remediations");
            let text = err.to_string();
            assert!(
                text.contains("control two")
                    && text.contains("RDS.99 is remediated by one too")
                    && text.contains("must each name a different resource_type"),
                "{text}"
            );
        }
    }
}
