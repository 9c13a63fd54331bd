//! A run's documentation laid over the baseline, so every stage after the
//! documentation stage validates against the facts that run collected.
//!
//! The documentation stage may refresh a service's resource schemas, IAM
//! service data and Config rules from AWS's live sources
//! (`documentation/service-documentation.json` records which). A later stage
//! calls [`run_kb`] once at the top of its `run`; it returns the shared
//! knowledge base when nothing was refreshed, and otherwise a [`Kb`] that
//! answers from the refreshed facts for that service's resource types, IAM
//! prefixes and Config rules and from the baseline for everything else.
//!
//! The overlaid `Kb` shares the baseline (its bytes, index and decompressed
//! chunks) through an `Arc`; only the documentation's own facts are held in
//! the overlay, moved out of the document. The one copy it may make is the
//! full Config rule list, built on the first [`Kb::config_rules`] call.

use crate::documentation::{SOURCE_CFN, SOURCE_CONFIG, SOURCE_IAM};
use crate::model::{ConfigRule, IamService, ResourceTypeSchema, ServiceEntry};
use crate::{Kb, ServiceDocumentation, SourceStatus};
use gensec_core::contract::figures::{DocumentationFigures, FiguresOf};
use gensec_core::contract::paths;
use gensec_core::contract::stage::{RunContext, StageId, StageOutcome, outcome_of};
use gensec_core::ports::{ObjectStore, read_json};
use gensec_core::{Error, Result};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

/// The refreshed facts of one service's documentation.
#[derive(Debug)]
pub(crate) struct Overlay {
    /// The service's catalogue entry, its resource types and Config rules as
    /// the documentation lists them.
    service: ServiceEntry,
    sources: Vec<SourceStatus>,
    schemas: HashMap<String, ResourceTypeSchema>,
    /// Resource types the baseline does not have, in document order.
    added_types: Vec<String>,
    /// By lower-case prefix, as IAM prefixes are looked up.
    iam: HashMap<String, IamService>,
    added_prefixes: Vec<String>,
    rules: HashMap<String, ConfigRule>,
    /// Kebab name -> identifier.
    rule_names: HashMap<String, String>,
    /// Rules the baseline does not have, sorted.
    added_rules: Vec<String>,
    all_rules: OnceLock<Vec<ConfigRule>>,
}

/// Whether the documentation's status for `source` says it was refreshed.
fn refreshed(sources: &[SourceStatus], source: &str) -> bool {
    sources
        .iter()
        .any(|status| status.source == source && status.refreshed())
}

impl Overlay {
    pub(crate) fn service(&self, id: &str) -> Option<&ServiceEntry> {
        (self.service.id == id).then_some(&self.service)
    }

    pub(crate) fn sources(&self, id: &str) -> Option<&[SourceStatus]> {
        (self.service.id == id).then_some(self.sources.as_slice())
    }

    pub(crate) fn resource_type(&self, type_name: &str) -> Option<&ResourceTypeSchema> {
        self.schemas.get(type_name)
    }

    pub(crate) fn added_type_names(&self) -> impl Iterator<Item = &str> {
        self.added_types.iter().map(String::as_str)
    }

    pub(crate) fn iam_service(&self, prefix: &str) -> Option<&IamService> {
        self.iam.get(&prefix.to_ascii_lowercase())
    }

    pub(crate) fn added_prefixes(&self) -> impl Iterator<Item = &str> {
        self.added_prefixes.iter().map(String::as_str)
    }

    pub(crate) fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    pub(crate) fn config_rule(&self, identifier: &str) -> Option<&ConfigRule> {
        self.rules.get(identifier)
    }

    pub(crate) fn config_rule_by_name(&self, name: &str) -> Option<&ConfigRule> {
        self.rule_names
            .get(name)
            .and_then(|identifier| self.rules.get(identifier))
    }

    /// The baseline's rules with the refreshed ones in their place, then the
    /// rules only the documentation has.
    pub(crate) fn all_rules(&self, baseline: &[ConfigRule]) -> &[ConfigRule] {
        self.all_rules.get_or_init(|| {
            baseline
                .iter()
                .map(|rule| self.rules.get(&rule.identifier).unwrap_or(rule).clone())
                .chain(
                    self.added_rules
                        .iter()
                        .filter_map(|identifier| self.rules.get(identifier).cloned()),
                )
                .collect()
        })
    }
}

impl Kb {
    /// This knowledge base with a run's documentation laid over it: the
    /// documented service's resource schemas, IAM services and Config rules
    /// come from the document for each source it says was refreshed (`live`
    /// or `cache`), everything else from the baseline. Nothing refreshed: a
    /// clone sharing everything. Replaces an earlier overlay.
    pub fn with_documentation(&self, doc: ServiceDocumentation) -> Kb {
        let baseline = Kb {
            base: self.base.clone(),
            overlay: None,
        };
        let cfn = refreshed(&doc.sources, SOURCE_CFN);
        let iam = refreshed(&doc.sources, SOURCE_IAM);
        let config = refreshed(&doc.sources, SOURCE_CONFIG);
        if !(cfn || iam || config) {
            return baseline;
        }
        let mut service = baseline.service_entry_of(&doc);
        let base = &baseline.base;
        let (mut schemas, mut added_types) = (HashMap::new(), Vec::new());
        if cfn {
            service.resource_types = doc
                .resource_types
                .iter()
                .map(|schema| schema.type_name.clone())
                .collect();
            for schema in doc.resource_types {
                if !base.type_chunk.contains_key(&schema.type_name) {
                    added_types.push(schema.type_name.clone());
                }
                schemas.insert(schema.type_name.clone(), schema);
            }
        }
        let (mut iam_services, mut added_prefixes) = (HashMap::new(), Vec::new());
        if iam {
            for iam_service in doc.iam_services {
                let prefix = iam_service.prefix.to_ascii_lowercase();
                if !base.prefix_chunk.contains_key(&prefix) {
                    added_prefixes.push(prefix.clone());
                }
                iam_services.insert(prefix, iam_service);
            }
        }
        let (mut rules, mut rule_names, mut added_rules) =
            (HashMap::new(), HashMap::new(), BTreeSet::new());
        if config {
            service.config_rules = doc
                .config_rules
                .iter()
                .map(|rule| rule.identifier.clone())
                .collect();
            for rule in doc.config_rules {
                if !base.rules.contains_key(&rule.identifier) {
                    added_rules.insert(rule.identifier.clone());
                }
                rule_names.insert(rule.name.clone(), rule.identifier.clone());
                rules.insert(rule.identifier.clone(), rule);
            }
        }
        let overlay = Overlay {
            service,
            sources: doc.sources,
            schemas,
            added_types,
            iam: iam_services,
            added_prefixes,
            rules,
            rule_names,
            added_rules: added_rules.into_iter().collect(),
            all_rules: OnceLock::new(),
        };
        Kb {
            base: baseline.base,
            overlay: Some(Arc::new(overlay)),
        }
    }

    /// The documented service's catalogue entry, or one made from the
    /// document for a service the catalogue lacks.
    fn service_entry_of(&self, doc: &ServiceDocumentation) -> ServiceEntry {
        self.service(&doc.service_id)
            .cloned()
            .unwrap_or_else(|| ServiceEntry {
                id: doc.service_id.clone(),
                display_name: doc.display_name.clone(),
                aliases: doc.aliases.clone(),
                cfn_namespaces: doc.cfn_namespaces.clone(),
                resource_types: Vec::new(),
                iam_prefixes: doc.iam_prefixes.clone(),
                config_rules: Vec::new(),
            })
    }

    /// Whether a run's documentation is laid over the baseline.
    pub fn is_overlaid(&self) -> bool {
        self.overlay.is_some()
    }

    /// The source statuses of the run's documentation when it documents `service_id`.
    pub(crate) fn documented_sources(&self, service_id: &str) -> Option<&[SourceStatus]> {
        self.overlay.as_ref().and_then(|o| o.sources(service_id))
    }

    /// The run's entry for a baseline catalogue entry (the same entry unless
    /// the run's documentation lists other resource types or rules).
    pub(crate) fn entry<'a>(&'a self, entry: &'a ServiceEntry) -> &'a ServiceEntry {
        self.overlay
            .as_ref()
            .and_then(|o| o.service(&entry.id))
            .unwrap_or(entry)
    }
}

/// The knowledge base a stage after the documentation stage validates
/// against: `kb` itself when the run's documentation refreshed nothing (or
/// the documentation stage is not among `earlier`, as when a stage runs on
/// its own), else `kb` with the run's documentation laid over it.
pub async fn run_kb(
    kb: &Arc<Kb>,
    store: &dyn ObjectStore,
    ctx: &RunContext,
    earlier: &[StageOutcome],
) -> Result<Arc<Kb>> {
    let Some(outcome) = outcome_of(earlier, StageId::Documentation) else {
        return Ok(kb.clone());
    };
    // The outcome's figures carry the statuses, so an unrefreshed run reads nothing.
    let statuses = DocumentationFigures::from_figures(&outcome.figures)
        .map(|figures| figures.sources.as_slice())
        .unwrap_or_default();
    if !statuses.is_empty() && !statuses.iter().any(SourceStatus::refreshed) {
        return Ok(kb.clone());
    }
    let doc: ServiceDocumentation = read_json(store, &ctx.key(paths::DOCUMENTATION)).await?;
    if doc.service_id != ctx.service_id {
        return Err(Error::Fatal(format!(
            "{} documents {}, not {}",
            paths::DOCUMENTATION,
            doc.service_id,
            ctx.service_id
        )));
    }
    if !doc.sources.iter().any(SourceStatus::refreshed) {
        return Ok(kb.clone());
    }
    Ok(Arc::new(kb.with_documentation(doc)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{AccessLevel, IamAction, Property};

    fn kb() -> Kb {
        Kb::embedded().unwrap()
    }

    fn s3_doc(kb: &Kb) -> ServiceDocumentation {
        kb.service_documentation(kb.service("s3").unwrap()).unwrap()
    }

    fn mark(doc: &mut ServiceDocumentation, source: &str, origin: &str) {
        let status = doc
            .sources
            .iter_mut()
            .find(|status| status.source == source)
            .unwrap();
        status.origin = origin.into();
        status.as_of = "2026-12-01T00:00:00Z".into();
    }

    /// S3's documentation with one fact more per source: a bucket property,
    /// a resource type, an action and a Config rule the baseline lacks.
    fn refreshed_s3(kb: &Kb) -> ServiceDocumentation {
        let mut doc = s3_doc(kb);
        let bucket = doc
            .resource_types
            .iter_mut()
            .find(|schema| schema.type_name == "AWS::S3::Bucket")
            .unwrap();
        bucket.properties.insert(
            "LiveOnlyProperty".into(),
            Property {
                types: vec![crate::model::JsonType::String],
                ..Property::default()
            },
        );
        let mut thing = bucket.clone();
        thing.type_name = "AWS::S3::LiveOnlyThing".into();
        doc.resource_types.push(thing);
        doc.iam_services[0].actions.push(IamAction {
            name: "PutLiveOnlyConfiguration".into(),
            description: String::new(),
            access_levels: vec![AccessLevel::Write],
            resource_types: Vec::new(),
            condition_keys: Vec::new(),
            dependent_actions: Vec::new(),
        });
        let mut rule = doc.config_rules[0].clone();
        rule.identifier = "S3_BUCKET_LIVE_ONLY_CHECK".into();
        rule.name = "s3-bucket-live-only-check".into();
        doc.config_rules.push(rule);
        for source in [SOURCE_CFN, SOURCE_IAM, SOURCE_CONFIG] {
            mark(&mut doc, source, "live");
        }
        doc
    }

    #[test]
    fn a_baseline_document_changes_nothing() {
        let kb = kb();
        let same = kb.with_documentation(s3_doc(&kb));
        assert!(!same.is_overlaid());
        assert!(Arc::ptr_eq(&same.base, &kb.base), "the baseline is shared");
    }

    #[test]
    fn refreshed_facts_answer_for_the_service_and_the_baseline_for_the_rest() {
        let kb = kb();
        let run = kb.with_documentation(refreshed_s3(&kb));
        assert!(run.is_overlaid());
        assert!(Arc::ptr_eq(&run.base, &kb.base), "the baseline is shared");

        live_facts_are_added_to_the_baseline(&run, &kb);
        // The service's entry lists what the documentation lists.
        the_service_entry_lists_the_documentation(&run);
        the_other_services_are_the_baselines(&run, &kb);
    }

    /// The refreshed schemas, actions and rules are the run's; the baseline
    /// stays without them.
    fn live_facts_are_added_to_the_baseline(run: &Kb, kb: &Kb) {
        let bucket = run.resource_type("AWS::S3::Bucket").unwrap().unwrap();
        assert!(bucket.resolve("LiveOnlyProperty").is_some());
        let baseline_bucket = kb.resource_type("AWS::S3::Bucket").unwrap().unwrap();
        assert!(baseline_bucket.resolve("LiveOnlyProperty").is_none());
        assert!(
            run.resource_type("AWS::S3::LiveOnlyThing")
                .unwrap()
                .is_some()
        );
        assert!(
            kb.resource_type("AWS::S3::LiveOnlyThing")
                .unwrap()
                .is_none()
        );
        assert_eq!(
            run.resource_type_names().count(),
            kb.resource_type_names().count() + 1
        );
        assert!(run.action("s3:PutLiveOnlyConfiguration").unwrap().is_some());
        assert!(run.action("S3:putliveonlyconfiguration").unwrap().is_some());
        assert!(kb.action("s3:PutLiveOnlyConfiguration").unwrap().is_none());
        assert!(run.config_rule("S3_BUCKET_LIVE_ONLY_CHECK").is_some());
        assert!(
            run.config_rule_by_name("s3-bucket-live-only-check")
                .is_some()
        );
        assert!(kb.config_rule("S3_BUCKET_LIVE_ONLY_CHECK").is_none());
        assert_eq!(run.config_rules().len(), kb.config_rules().len() + 1);
        assert!(
            run.config_rules()
                .iter()
                .any(|rule| rule.identifier == "S3_BUCKET_LIVE_ONLY_CHECK")
        );
    }

    fn the_service_entry_lists_the_documentation(run: &Kb) {
        for entry in [
            run.service("s3").unwrap(),
            run.resolve_service("Amazon S3").unwrap(),
        ] {
            assert!(
                entry
                    .resource_types
                    .iter()
                    .any(|t| t == "AWS::S3::LiveOnlyThing")
            );
            assert!(
                entry
                    .config_rules
                    .iter()
                    .any(|r| r == "S3_BUCKET_LIVE_ONLY_CHECK")
            );
        }
    }

    /// The documentation of the documented service is the run's, even given
    /// the baseline's entry; other services and IAM prefixes are the baseline's.
    fn the_other_services_are_the_baselines(run: &Kb, kb: &Kb) {
        // Given the baseline's entry, the documentation is still the run's.
        let s3 = run
            .service_documentation(kb.service("s3").unwrap())
            .unwrap();
        assert!(s3.sources.iter().all(|status| status.origin == "live"));
        assert!(
            s3.resource_types
                .iter()
                .any(|t| t.type_name == "AWS::S3::LiveOnlyThing")
        );
        let sqs = run
            .service_documentation(kb.service("sqs").unwrap())
            .unwrap();
        assert!(sqs.sources.iter().all(|status| status.origin == "baseline"));

        // Other services and the IAM data of other prefixes are the baseline's.
        assert_eq!(run.service("sqs"), kb.service("sqs"));
        assert_eq!(
            run.resource_type("AWS::SQS::Queue").unwrap(),
            kb.resource_type("AWS::SQS::Queue").unwrap()
        );
        assert_eq!(
            run.iam_service("sqs").unwrap(),
            kb.iam_service("sqs").unwrap()
        );
    }

    #[test]
    fn only_sources_the_document_says_were_refreshed_are_used() {
        let kb = kb();
        let mut doc = refreshed_s3(&kb);
        mark(&mut doc, SOURCE_IAM, "baseline");
        mark(&mut doc, SOURCE_CONFIG, "baseline");
        mark(&mut doc, SOURCE_CFN, "cache");
        let run = kb.with_documentation(doc);
        assert!(
            run.resource_type("AWS::S3::LiveOnlyThing")
                .unwrap()
                .is_some()
        );
        assert!(run.action("s3:PutLiveOnlyConfiguration").unwrap().is_none());
        assert!(run.config_rule("S3_BUCKET_LIVE_ONLY_CHECK").is_none());
        assert_eq!(run.config_rules().len(), kb.config_rules().len());
        assert_eq!(
            run.service("s3").unwrap().config_rules,
            kb.service("s3").unwrap().config_rules
        );
    }
}
