//! `gensec kb`: what the knowledge base holds.

use crate::output::{print_json, print_text};
use gensec_kb::{AccessLevel, Kb};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum KbCommand {
    /// Counts, data date and sources.
    Info {
        #[arg(long)]
        json: bool,
    },
    /// What the knowledge base knows about one service.
    Service {
        /// Service name, alias, CloudFormation namespace or IAM prefix.
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(kb_path: Option<&Path>, command: KbCommand) -> anyhow::Result<()> {
    let kb = Kb::open(kb_path).map_err(gensec_core::Error::from)?;
    match command {
        KbCommand::Info { json } => info(&kb, json),
        KbCommand::Service { name, json } => service(&kb, &name, json),
    }
}

fn info(kb: &Kb, json: bool) -> anyhow::Result<()> {
    let meta = kb.meta();
    if json {
        return print_json(&serde_json::json!({ "origin": kb.origin(), "meta": meta }));
    }
    let c = &meta.counts;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "knowledge base: {} (data date {}, built {})",
        kb.origin(),
        meta.data_date,
        meta.built_at
    );
    let _ = writeln!(text, "  services in catalogue      {:>7}", c.services);
    let _ = writeln!(text, "  CloudFormation namespaces  {:>7}", c.cfn_namespaces);
    let _ = writeln!(text, "  CloudFormation types       {:>7}", c.resource_types);
    let _ = writeln!(text, "  property paths             {:>7}", c.properties);
    let _ = writeln!(text, "  IAM service prefixes       {:>7}", c.iam_services);
    let _ = writeln!(text, "  IAM actions                {:>7}", c.iam_actions);
    let _ = writeln!(
        text,
        "  IAM resource types         {:>7}",
        c.iam_resource_types
    );
    let _ = writeln!(
        text,
        "  IAM condition keys         {:>7} (+{} global)",
        c.condition_keys, c.global_condition_keys
    );
    let _ = writeln!(
        text,
        "  Config managed rules       {:>7} ({} with details known, {} with resource types, {} with parameters, {} with trigger types, {} complete)",
        c.config_rules,
        c.config_rules_with_details,
        c.config_rules_with_resource_types,
        c.config_rules_with_parameters,
        c.config_rules_with_triggers,
        c.config_rules_complete
    );
    let _ = writeln!(
        text,
        "  Config resource types      {:>7} ({} named differently in CloudFormation, {} without a CloudFormation type)",
        c.config_types, c.config_types_renamed, c.config_types_without_cfn
    );
    let _ = writeln!(
        text,
        "  configuration-item shapes  {:>7} types, {} paths",
        c.ci_shape_types, c.ci_shape_paths
    );
    let _ = writeln!(
        text,
        "  Security Hub controls      {:>7} ({} active, {} FSBP)",
        c.security_hub_controls, c.security_hub_active, c.security_hub_fsbp
    );
    for (standard, count) in &c.security_hub_per_standard {
        let _ = writeln!(text, "    {standard:<52} {count:>4}");
    }
    let _ = writeln!(text, "sources:");
    for source in &meta.sources {
        let _ = writeln!(
            text,
            "  {} {} ({}, {}): {}",
            source.name, source.version, source.date, source.licence, source.used_for
        );
    }
    print_text(text.trim_end())
}

fn service(kb: &Kb, name: &str, json: bool) -> anyhow::Result<()> {
    let entry = kb.resolve_service(name)?;
    let doc = kb
        .service_documentation(entry)
        .map_err(gensec_core::Error::from)?;
    if json {
        return print_json(&serde_json::json!({
            "service": entry,
            "summary": doc.figures(),
        }));
    }
    let mut text = String::new();
    let _ = writeln!(text, "{} ({})", entry.display_name, entry.id);
    let _ = writeln!(text, "  aliases: {}", entry.aliases.join(", "));
    let _ = writeln!(
        text,
        "  CloudFormation namespaces: {}",
        or_none(&entry.cfn_namespaces)
    );
    let _ = writeln!(text, "  IAM prefixes: {}", or_none(&entry.iam_prefixes));
    let _ = writeln!(text, "  resource types ({}):", doc.resource_types.len());
    for schema in &doc.resource_types {
        let _ = writeln!(
            text,
            "    {:<52} {:>4} properties, {} regions",
            schema.type_name,
            schema.properties.len(),
            schema.regions.len()
        );
    }
    let levels = [
        AccessLevel::List,
        AccessLevel::Read,
        AccessLevel::Write,
        AccessLevel::PermissionsManagement,
        AccessLevel::Tagging,
    ];
    let by_level: Vec<String> = levels
        .iter()
        .map(|level| format!("{} {}", doc.actions_at(*level).len(), level.as_str()))
        .collect();
    let actions: usize = doc.iam_services.iter().map(|s| s.actions.len()).sum();
    let _ = writeln!(text, "  IAM actions: {actions} ({})", by_level.join(", "));
    let arns: Vec<String> = doc
        .iam_services
        .iter()
        .flat_map(|s| {
            s.resource_types
                .iter()
                .map(move |r| format!("{}:{}", s.prefix, r.name))
        })
        .collect();
    let _ = writeln!(
        text,
        "  IAM resource types ({}): {}",
        arns.len(),
        arns.join(", ")
    );
    let keys: usize = doc
        .iam_services
        .iter()
        .map(|s| s.condition_keys.len())
        .sum();
    let _ = writeln!(text, "  condition keys: {keys} service-specific");
    let _ = writeln!(text, "  Config managed rules ({}):", doc.config_rules.len());
    for rule in &doc.config_rules {
        let _ = writeln!(text, "    {}", rule.identifier);
    }
    print_text(text.trim_end())
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
