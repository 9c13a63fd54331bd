//! The e-mail: subject "Security Alert: <SEVERITY> - <title>", and a body
//! (plain text and HTML, everything escaped) with the finding id, account,
//! region, resource, risk, Terraform fix or why there is none, import
//! commands, manual steps and documentation. [`to_rfc5322`] renders a
//! `multipart/alternative` message.

use crate::Remediation;
use gensec_core::ports::EmailMessage;
use lettre::message::{Mailbox, MultiPart};

/// Text from a finding, cut to `max` characters, control characters removed.
pub fn clean(text: &str, max: usize) -> String {
    let one: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if one.chars().count() > max {
        format!("{}…", one.chars().take(max).collect::<String>())
    } else {
        one
    }
}

fn one_line(text: &str, max: usize) -> String {
    clean(&text.replace(['\n', '\r'], " "), max)
}

/// Escape text for HTML.
pub use gensec_core::html::escape as html_escape;

/// The subject line.
pub fn subject(remediation: &Remediation) -> String {
    format!(
        "Security Alert: {} - {}",
        remediation.severity.as_str(),
        one_line(&remediation.title, 150)
    )
}

/// The sections of one finding's e-mail as `(heading, text)`.
fn sections(r: &Remediation) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Finding ID", one_line(&r.finding_id, 400)),
        ("Account", one_line(&r.account, 40)),
        (
            "Region",
            one_line(r.region.as_deref().unwrap_or("unknown"), 40),
        ),
        (
            "Resource",
            one_line(&format!("{} ({})", r.resource_id, r.resource_type), 400),
        ),
        (
            "Control",
            r.control_id.as_deref().map_or_else(
                || "not a Security Hub control finding".into(),
                |c| one_line(c, 60),
            ),
        ),
        ("Why this is a risk", r.risk.clone()),
    ];
    match (&r.terraform, &r.no_fix_reason) {
        (Some(code), _) => out.push(("Terraform fix (review, then apply)", code.clone())),
        (None, reason) => out.push((
            "Terraform fix",
            format!(
                "No fix was generated: {}",
                reason
                    .as_deref()
                    .unwrap_or("no fix is known for this finding")
            ),
        )),
    }
    if !r.imports.is_empty() {
        out.push((
            "Import first (the resource already exists)",
            r.imports.join("\n"),
        ));
    }
    let steps = r
        .manual_steps
        .iter()
        .enumerate()
        .map(|(i, step)| format!("{}. {step}", i + 1))
        .collect::<Vec<_>>()
        .join("\n");
    out.push(("Manual steps", steps));
    out.push((
        "Finding description (quoted from Security Hub, untrusted)",
        clean(&r.description, 1000),
    ));
    out.push(("Documentation", r.documentation.clone()));
    out
}

fn text_body(parts: &[Vec<(&'static str, String)>], intro: &str) -> String {
    let mut text = format!("{intro}\n");
    for (index, sections) in parts.iter().enumerate() {
        if parts.len() > 1 {
            text.push_str(&format!(
                "\n==== Finding {} of {} ====\n",
                index + 1,
                parts.len()
            ));
        }
        for (heading, body) in sections {
            text.push_str(&format!("\n{heading}:\n{body}\n"));
        }
    }
    text
}

fn html_body(parts: &[Vec<(&'static str, String)>], intro: &str) -> String {
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><p>{}</p>",
        html_escape(intro)
    );
    for (index, sections) in parts.iter().enumerate() {
        if parts.len() > 1 {
            html.push_str(&format!(
                "<h2>Finding {} of {}</h2>",
                index + 1,
                parts.len()
            ));
        }
        for (heading, body) in sections {
            let code = heading.starts_with("Terraform fix (") || heading.starts_with("Import");
            let rendered = if code {
                format!("<pre><code>{}</code></pre>", html_escape(body))
            } else {
                format!("<p>{}</p>", html_escape(body).replace('\n', "<br>"))
            };
            html.push_str(&format!("<h3>{}</h3>{rendered}", html_escape(heading)));
        }
    }
    html.push_str("</body></html>");
    html
}

const INTRO: &str = "AWS Security Hub reported a finding. The fix below was generated from gensec's catalogue and checked against an allow-list; review it before applying.";

/// The e-mail for one finding.
pub fn render(remediation: &Remediation) -> EmailMessage {
    let parts = vec![sections(remediation)];
    EmailMessage {
        subject: subject(remediation),
        text: text_body(&parts, INTRO),
        html: html_body(&parts, INTRO),
        finding_ids: vec![remediation.finding_id.clone()],
    }
}

/// One digest e-mail for a burst of findings.
pub fn render_digest(remediations: &[Remediation]) -> EmailMessage {
    let highest = remediations
        .iter()
        .map(|r| r.severity)
        .max()
        .unwrap_or(crate::finding::Severity::High);
    let parts: Vec<_> = remediations.iter().map(sections).collect();
    let intro = format!(
        "AWS Security Hub reported {} findings. Each has its own fix (checked against an allow-list) or says why there is none; review before applying.",
        remediations.len()
    );
    EmailMessage {
        subject: format!(
            "Security Alert: {} - {} findings (digest)",
            highest.as_str(),
            remediations.len()
        ),
        text: text_body(&parts, &intro),
        html: html_body(&parts, &intro),
        finding_ids: remediations.iter().map(|r| r.finding_id.clone()).collect(),
    }
}

/// Errors building the RFC 5322 message.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("bad address {0:?}: {1}")]
    Address(String, String),
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
}

/// A `lettre` message (multipart/alternative: text, then HTML).
pub fn to_message(
    message: &EmailMessage,
    from: &str,
    to: &str,
) -> Result<lettre::Message, MessageError> {
    let from: Mailbox = from.parse().map_err(|err: lettre::address::AddressError| {
        MessageError::Address(from.into(), err.to_string())
    })?;
    let to: Mailbox = to.parse().map_err(|err: lettre::address::AddressError| {
        MessageError::Address(to.into(), err.to_string())
    })?;
    Ok(lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(message.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))?)
}

/// The RFC 5322 text of a message.
pub fn to_rfc5322(message: &EmailMessage, from: &str, to: &str) -> Result<Vec<u8>, MessageError> {
    Ok(to_message(message, from, to)?.formatted())
}

/// A finding title for display: one line, at most 200 characters.
pub fn one_line_title(title: &str) -> String {
    one_line(title, 200)
}
