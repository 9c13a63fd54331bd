//! How library entries and service decisions look on a terminal and in CSV.
//! Every value that came from input or storage is escaped on the way out:
//! a stored escape sequence or bidirectional override shows as `\u{...}`
//! instead of acting on the terminal.

use crate::output::print_text;
use anyhow::Context;
use gensec_core::input::text::{escape_controls, escape_json_controls, is_display_control};
use gensec_core::library::{LibraryEntry, ServiceDecision};
use std::borrow::Cow;
use std::fmt::Write as _;

/// A single-line value for a terminal.
pub fn safe(value: &str) -> Cow<'_, str> {
    escape_controls(value)
}

/// A block of text for a terminal: its newlines and tabs stay, every other
/// display control character is escaped.
pub fn safe_text(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_display_control(c) && !matches!(c, '\n' | '\t'))
    {
        return Cow::Borrowed(text);
    }
    text.split('\n')
        .map(|line| {
            line.split('\t')
                .map(|part| escape_controls(part).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

/// Pretty JSON for a terminal, with display control characters escaped
/// (`\uXXXX`: the document means the same).
pub fn print_safe_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("serialising output")?;
    print_text(&escape_json_controls(&text))
}

fn history_line(h: &gensec_core::library::StatusChange, format: &str) -> String {
    format!(
        "v{} {} by {} at {}{}",
        h.version,
        h.status.as_str(),
        safe(&h.actor),
        h.at.format(format),
        h.note
            .as_ref()
            .map(|n| format!(": {}", safe(n)))
            .unwrap_or_default()
    )
}

pub fn csv_text(entries: &[LibraryEntry]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "configuration_id",
        "profile_id",
        "service_id",
        "service_name",
        "security_domain",
        "threat_vector",
        "priority",
        "status",
        "version",
        "rationale",
        "recommended_configuration",
        "detective_controls",
        "preventive_controls",
        "proactive_controls",
        "compliance",
        "source_request_id",
        "updated_at",
        "history",
    ])?;
    for e in entries {
        let history = e
            .history
            .iter()
            .map(|h| history_line(h, "%Y-%m-%dT%H:%M:%S%.f%:z"))
            .collect::<Vec<_>>()
            .join(" | ");
        writer.write_record([
            e.configuration_id.clone(),
            e.profile_id.clone(),
            e.service_id.clone(),
            e.service_name.clone(),
            e.security_domain.clone(),
            e.threat_vector.clone(),
            e.priority.clone(),
            e.status.as_str().to_string(),
            e.version.to_string(),
            e.rationale.clone(),
            e.recommended_configuration.to_string(),
            e.detective_controls.join("; "),
            e.preventive_controls.join("; "),
            e.proactive_controls.join("; "),
            e.compliance.to_string(),
            e.source_request_id.clone(),
            e.updated_at.to_rfc3339(),
            history,
        ])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// The entries, then the decisions on the services and profiles they cover.
pub fn table(entries: &[LibraryEntry], decisions: &[ServiceDecision]) -> String {
    let mut text = format!(
        "{:<52} {:<18} {:<9} {:<10} {:>3}  {:<24} {}\n",
        "CONFIGURATION", "PROFILE", "PRIORITY", "STATUS", "V", "DOMAIN", "PROPERTY"
    );
    for e in entries {
        let property = match e.recommended_configuration["property"].as_str() {
            Some(property) => property,
            None if e.recommended_configuration["operational"].is_string() => "(operational)",
            None => "",
        };
        let _ = writeln!(
            text,
            "{:<52} {:<18} {:<9} {:<10} {:>3}  {:<24} {}",
            safe(&e.configuration_id),
            safe(&e.profile_id),
            safe(&e.priority),
            e.status.as_str(),
            e.version,
            safe(&e.security_domain),
            safe(property)
        );
    }
    let _ = write!(text, "{} entries", entries.len());
    let shown: Vec<&ServiceDecision> = decisions
        .iter()
        .filter(|d| {
            entries
                .iter()
                .any(|e| e.service_id == d.service_id && e.profile_id == d.profile_id)
        })
        .collect();
    if !shown.is_empty() {
        text.push_str("\n\nSERVICE DECISIONS\n");
        for decision in shown {
            let _ = writeln!(text, "{}", summary(decision));
        }
    }
    text.trim_end().to_string()
}

/// One line: service (profile): DECISION vN by who at when: reason [conditions].
fn summary(d: &ServiceDecision) -> String {
    let current = &d.current;
    format!(
        "{} ({}): {} v{} by {} at {}: {}{}",
        safe(&d.service_id),
        safe(&d.profile_id),
        current.decision.as_str(),
        current.version,
        safe(&current.actor),
        current.at.format("%Y-%m-%d %H:%M"),
        safe(&current.reason),
        current
            .conditions
            .as_ref()
            .map(|c| format!("; conditions: {}", safe(c)))
            .unwrap_or_default()
    )
}

/// A decision with its history.
pub fn decision_text(d: &ServiceDecision) -> String {
    let mut text = summary(d);
    if d.history.len() > 1 {
        text.push_str("\n  history:");
        for record in &d.history {
            let _ = write!(
                text,
                "\n    v{} {} by {} at {}: {}{}",
                record.version,
                record.decision.as_str(),
                safe(&record.actor),
                record.at.format("%Y-%m-%d %H:%M"),
                safe(&record.reason),
                record
                    .conditions
                    .as_ref()
                    .map(|c| format!("; conditions: {}", safe(c)))
                    .unwrap_or_default()
            );
        }
    }
    text
}

/// An entry with its history, and the decision on its service, if any.
pub fn entry_text(entry: &LibraryEntry, decision: Option<&ServiceDecision>) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} for profile {} (version {}, {})",
        safe(&entry.configuration_id),
        safe(&entry.profile_id),
        entry.version,
        entry.status.as_str()
    );
    let _ = writeln!(
        text,
        "  service: {} ({})",
        safe(&entry.service_name),
        safe(&entry.service_id)
    );
    let _ = writeln!(
        text,
        "  domain: {}; threat: {}; priority: {}",
        safe(&entry.security_domain),
        safe(&entry.threat_vector),
        safe(&entry.priority)
    );
    let _ = writeln!(
        text,
        "  configuration: {}",
        escape_json_controls(&entry.recommended_configuration.to_string())
    );
    let _ = writeln!(text, "  rationale: {}", safe(&entry.rationale));
    let list = |items: &[String]| safe(&items.join(", ")).into_owned();
    let _ = writeln!(text, "  detective: {}", list(&entry.detective_controls));
    let _ = writeln!(text, "  preventive: {}", list(&entry.preventive_controls));
    let _ = writeln!(text, "  proactive: {}", list(&entry.proactive_controls));
    let _ = writeln!(
        text,
        "  compliance: {}",
        escape_json_controls(&entry.compliance.to_string())
    );
    let _ = writeln!(text, "  history:");
    for h in &entry.history {
        let _ = writeln!(text, "    {}", history_line(h, "%Y-%m-%d %H:%M"));
    }
    if let Some(decision) = decision {
        let _ = writeln!(text, "  service decision: {}", summary(decision));
    }
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_escape_sequences_never_reach_the_terminal() {
        assert_eq!(safe("S3\u{1b}[2J"), "S3\\u{001b}[2J");
        assert_eq!(
            safe_text("a,\"b\u{202e}\"\nc\td\u{7}"),
            "a,\"b\\u{202e}\"\nc\td\\u{0007}"
        );
        assert!(matches!(safe_text("plain\ntext"), Cow::Borrowed(_)));
    }
}
