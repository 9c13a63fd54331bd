//! `gensec kb`: what the knowledge base holds.

use crate::output::{print_json, print_text};
use gensec_kb::controls::ControlCatalogue;
use gensec_kb::coverage::{self, CoverageReport, PrefixMappings, Standard};
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
    /// Which Security Hub controls the control catalogue answers, per service,
    /// with the misses.
    Coverage {
        /// fsbp, cis (every CIS version), pci, nist or all.
        #[arg(long, default_value = "fsbp", value_parser = parse_standard)]
        standard: Standard,
        /// Only these services (names as `gensec run --service` takes them,
        /// comma-separated); lists their misses.
        #[arg(long)]
        service: Option<String>,
        /// List the missed controls of every service.
        #[arg(long)]
        misses: bool,
        #[arg(long)]
        json: bool,
    },
}

fn parse_standard(text: &str) -> Result<Standard, String> {
    text.parse()
        .map_err(|err: coverage::UnknownStandard| err.to_string())
}

pub fn run(kb_path: Option<&Path>, command: KbCommand) -> anyhow::Result<()> {
    let kb = Kb::open(kb_path).map_err(gensec_core::Error::from)?;
    match command {
        KbCommand::Info { json } => info(&kb, json),
        KbCommand::Service { name, json } => service(&kb, &name, json),
        KbCommand::Coverage {
            standard,
            service,
            misses,
            json,
        } => coverage_cmd(&kb, standard, service.as_deref(), misses, json),
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

fn coverage_cmd(
    kb: &Kb,
    standard: Standard,
    services: Option<&str>,
    misses: bool,
    json: bool,
) -> anyhow::Result<()> {
    let catalogue = ControlCatalogue::embedded()
        .map_err(|err| gensec_core::Error::Fatal(format!("control catalogue: {err}")))?;
    let mappings = PrefixMappings::embedded()
        .map_err(|err| gensec_core::Error::Fatal(format!("curated/{err}")))?;
    let mut report = coverage::coverage(kb, catalogue, &mappings, standard)
        .map_err(|err| gensec_core::Error::Fatal(err.to_string()))?;
    if let Some(names) = services {
        let mut wanted: Vec<(&str, &str)> = Vec::new();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let entry = kb.resolve_service(name)?;
            wanted.push((&entry.id, &entry.display_name));
        }
        if wanted.is_empty() {
            return Err(gensec_core::Error::Input(gensec_core::InputError::new(
                "--service",
                "$",
                "no service named; give one or more names, comma-separated",
            ))
            .into());
        }
        report.retain_services(&wanted);
    }
    if json {
        return print_json(&serde_json::json!({
            "standard": report.standard,
            "standard_name": report.standard_name,
            "totals": report.totals(),
            "services": report.services,
            "stale_references": report.stale_references,
        }));
    }
    print_text(coverage_table(&report, misses || services.is_some()).trim_end())
}

/// The coverage table, with each service's misses under it when asked.
fn coverage_table(report: &CoverageReport, with_misses: bool) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Security Hub coverage: {} ({})",
        report.standard_name, report.standard
    );
    let _ = writeln!(
        text,
        "checked: a catalogue control with a requirement the package checks; operational: only an operational note; %: checked / applicable"
    );
    let _ = writeln!(
        text,
        "{:<44} {:>10} {:>8} {:>11} {:>7} {:>6}",
        "service", "applicable", "checked", "operational", "missed", "%"
    );
    let row = |text: &mut String, label: &str, counts: &coverage::Counts| {
        let _ = writeln!(
            text,
            "{:<44} {:>10} {:>8} {:>11} {:>7} {:>5.0}%",
            label,
            counts.applicable,
            counts.checked,
            counts.operational_only,
            counts.missed,
            counts.checked_percent()
        );
    };
    for service in &report.services {
        let label = format!("{} ({})", service.display_name, service.service);
        row(&mut text, &label, &service.counts);
        if with_misses {
            for missed in service.misses() {
                let _ = writeln!(
                    text,
                    "    missed {:<10} {:<8} {}",
                    missed.id, missed.severity, missed.title
                );
            }
            for operational in service
                .controls
                .iter()
                .filter(|c| c.answer == coverage::Answer::OperationalOnly)
            {
                let _ = writeln!(
                    text,
                    "    operational {:<10} {} ({})",
                    operational.id,
                    operational.title,
                    operational.answered_by.join(", ")
                );
            }
        }
    }
    row(&mut text, "total", &report.totals());
    for stale in &report.stale_references {
        let _ = writeln!(
            text,
            "warning: catalogue control {} names {} Security Hub control {}",
            stale.control, stale.problem, stale.security_hub_id
        );
    }
    text
}
