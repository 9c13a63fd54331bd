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
use std::sync::OnceLock;

/// A Security Hub control id with the catalogue control that remediates it.
#[derive(Debug, Clone, Copy)]
pub struct Catalogued<'a> {
    /// The id as the catalogue spells it (`Opensearch.1`).
    pub security_hub_id: &'a str,
    pub control: &'a Control,
    pub remediation: &'a ControlRemediation,
}

/// The control remediating `security_hub_id` (any case).
pub fn lookup<'a>(
    catalogue: &'a ControlCatalogue,
    security_hub_id: &str,
) -> Option<Catalogued<'a>> {
    let (control, remediation) = catalogue.remediation_for(security_hub_id)?;
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
fn knowledge_base() -> Option<&'static Kb> {
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
