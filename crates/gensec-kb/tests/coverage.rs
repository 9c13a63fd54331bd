//! Coverage of Security Hub controls on the real knowledge base and catalogue.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use gensec_kb::Kb;
use gensec_kb::controls::ControlCatalogue;
use gensec_kb::coverage::{
    Answer, PrefixMappings, Standard, coverage, id_prefix, service_for_prefix,
};
use std::collections::BTreeSet;

#[test]
fn every_security_hub_prefix_names_a_catalogue_service() {
    let kb = Kb::embedded().unwrap();
    let mappings = PrefixMappings::embedded().unwrap();
    let prefixes: BTreeSet<&str> = kb
        .security_hub_controls()
        .iter()
        .map(|c| id_prefix(&c.id))
        .collect();
    assert!(prefixes.len() >= 80, "{}", prefixes.len());
    for prefix in prefixes {
        let (id, _, in_catalogue) = service_for_prefix(&kb, &mappings, prefix).unwrap();
        assert!(in_catalogue, "{prefix} resolves to no catalogue service");
        // Where the controls name CloudFormation types, the service owns one.
        let types: BTreeSet<&str> = kb
            .security_hub_controls()
            .iter()
            .filter(|c| id_prefix(&c.id) == prefix)
            .flat_map(|c| c.cfn_resource_types.iter().map(String::as_str))
            .collect();
        let service = kb.service(&id).unwrap();
        assert!(
            types.is_empty()
                || types
                    .iter()
                    .any(|t| service.resource_types.iter().any(|own| own == t)),
            "{prefix} -> {id}, which owns none of {types:?}"
        );
    }
    for (prefix, mapping) in &mappings.prefixes {
        assert!(
            kb.resolve_service(prefix).ok().map(|e| e.id.as_str())
                != Some(mapping.service.as_str()),
            "{prefix} already resolves to {}; the mapping is not needed",
            mapping.service
        );
    }
}

#[test]
fn fsbp_coverage_adds_up_and_knows_known_answers() {
    let kb = Kb::embedded().unwrap();
    let catalogue = ControlCatalogue::embedded().unwrap();
    let mappings = PrefixMappings::embedded().unwrap();
    let report = coverage(&kb, catalogue, &mappings, Standard::Fsbp).unwrap();
    let totals = report.totals();
    assert_eq!(
        totals.applicable,
        kb.meta().counts.security_hub_fsbp as usize
    );
    assert_eq!(
        totals.applicable,
        totals.checked + totals.operational_only + totals.missed
    );
    assert!(
        report.stale_references.is_empty(),
        "{:?}",
        report.stale_references
    );
    let answer = |id: &str| {
        report
            .services
            .iter()
            .flat_map(|s| s.controls.iter())
            .find(|c| c.id == id)
            .map(|c| c.answer)
    };
    assert_eq!(answer("S3.5"), Some(Answer::Checked));
    // S3.6 depends on which accounts are "other": only the Config rule checks it.
    assert_eq!(answer("S3.6"), Some(Answer::OperationalOnly));
    // ACM.1 (certificate expiry) is runtime state: only the Config rule checks it.
    assert_eq!(answer("ACM.1"), Some(Answer::OperationalOnly));
    assert_eq!(answer("WorkSpaces.2"), Some(Answer::Checked));
    // EC2.13 (SSH open to the world) is a CIS, PCI and NIST control, not FSBP.
    assert_eq!(answer("EC2.13"), None);
    let all = coverage(&kb, catalogue, &mappings, Standard::All).unwrap();
    let ec2 = all.service("ec2").unwrap();
    let ssh = ec2.controls.iter().find(|c| c.id == "EC2.13").unwrap();
    assert_eq!(ssh.answer, Answer::Checked);
    assert!(all.totals().applicable > totals.applicable);
}
