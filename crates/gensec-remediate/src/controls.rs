//! The remediation path's view of the shared control catalogue
//! ([`gensec_kb::controls::ControlCatalogue`], the same controls `gensec run`
//! reads): the control that remediates a Security Hub control id, with the
//! title and finding resource type from the KB's Security Hub facts where the
//! control does not state them.

use gensec_kb::Kb;
pub use gensec_kb::controls::{
    CatalogueError, Control, ControlCatalogue, Fix, FixResource, Remediation as ControlRemediation,
};
use gensec_kb::facts::SecurityHubControl;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A Security Hub control id with the catalogue control that remediates it.
#[derive(Debug, Clone, Copy)]
pub struct Catalogued<'a> {
    /// The id as the catalogue spells it (`Opensearch.1`).
    pub security_hub_id: &'a str,
    pub control: &'a Control,
    pub remediation: &'a ControlRemediation,
}

/// The control remediating `security_hub_id` (any case); when several do
/// (one per resource type), the first in catalogue order.
pub fn lookup<'a>(
    catalogue: &'a ControlCatalogue,
    security_hub_id: &str,
) -> Option<Catalogued<'a>> {
    lookup_for(catalogue, security_hub_id, None)
}

/// The control remediating `security_hub_id` for a finding on a resource of
/// ASFF type `resource_type`: the remediation naming that type, else the
/// first (see [`ControlCatalogue::remediation_for_resource`]).
pub fn lookup_for<'a>(
    catalogue: &'a ControlCatalogue,
    security_hub_id: &str,
    resource_type: Option<&str>,
) -> Option<Catalogued<'a>> {
    let (control, remediation) =
        catalogue.remediation_for_resource(security_hub_id, resource_type)?;
    let spelled = control
        .security_hub
        .iter()
        .find(|id| id.eq_ignore_ascii_case(security_hub_id))?;
    Some(Catalogued {
        security_hub_id: spelled,
        control,
        remediation,
    })
}

/// Every Security Hub control id the catalogue remediates, with its control.
pub fn remediated(catalogue: &ControlCatalogue) -> impl Iterator<Item = Catalogued<'_>> {
    catalogue.controls().iter().flat_map(|control| {
        control.remediation.iter().flat_map(move |remediation| {
            control.security_hub.iter().map(move |id| Catalogued {
                security_hub_id: id,
                control,
                remediation,
            })
        })
    })
}

/// The KB's Security Hub facts (the embedded baseline, opened once; `None`
/// if it does not load, when the catalogue's own titles stand).
pub(crate) fn knowledge_base() -> Option<&'static Kb> {
    static KB: OnceLock<Option<Kb>> = OnceLock::new();
    KB.get_or_init(|| Kb::embedded().ok()).as_ref()
}

/// Security Hub's definition of a control id, from the KB.
pub fn security_hub_facts(security_hub_id: &str) -> Option<&'static SecurityHubControl> {
    knowledge_base()?.security_hub_control(security_hub_id)
}

impl Catalogued<'_> {
    /// Security Hub's title for the control, else the catalogue control's.
    pub fn title(&self) -> String {
        security_hub_facts(self.security_hub_id)
            .map_or_else(|| self.control.title.clone(), |facts| facts.title.clone())
    }

    /// The ASFF resource type its findings name: the remediation's own, else
    /// the first one in the Security Hub facts.
    pub fn resource_type(&self) -> Option<String> {
        self.remediation.resource_type.clone().or_else(|| {
            security_hub_facts(self.security_hub_id)
                .and_then(|facts| facts.asff_resource_types.first().cloned())
        })
    }
}

/// The ASFF name of a resource type (`AWS::RDS::DBInstance` → `AwsRdsDbInstance`),
/// from the KB's Security Hub facts, which list both names for each control;
/// a name that is already ASFF, or that the facts do not pair, stays as given.
pub fn asff_resource_type(kind: &str) -> String {
    static PAIRS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        let mut pairs = BTreeMap::new();
        let Some(kb) = knowledge_base() else {
            return pairs;
        };
        for control in kb.security_hub_controls() {
            // Config's and CloudFormation's names; only lists of the same
            // length pair up one by one.
            for names in [&control.resource_types, &control.cfn_resource_types] {
                if names.len() == control.asff_resource_types.len() {
                    for (name, asff) in names.iter().zip(&control.asff_resource_types) {
                        pairs.entry(name.clone()).or_insert_with(|| asff.clone());
                    }
                }
            }
        }
        pairs
    });
    pairs.get(kind).cloned().unwrap_or_else(|| kind.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudformation_type_names_become_asff_names() {
        assert_eq!(asff_resource_type("AWS::S3::Bucket"), "AwsS3Bucket");
        assert_eq!(
            asff_resource_type("AWS::RDS::DBInstance"),
            "AwsRdsDbInstance"
        );
        assert_eq!(
            asff_resource_type("AWS::ElasticLoadBalancingV2::LoadBalancer"),
            "AwsElbv2LoadBalancer"
        );
        assert_eq!(asff_resource_type("AwsS3Bucket"), "AwsS3Bucket");
        assert_eq!(asff_resource_type("AWS::Made::Up"), "AWS::Made::Up");
    }
}
