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

/// Heading note for text a language model wrote.
const BY_MODEL: &str = "written by a language model, not verified by gensec";

/// The sections of one finding's e-mail as `(heading, text)`: where the
/// finding is, the risk, what to check, the fixes, then the steps, the
/// finding's own description and the documentation.
fn sections(r: &Remediation) -> Vec<(String, String)> {
    let model = r.model.as_ref();
    let mut out = location_sections(r);
    out.push((
        marked("Why this is a risk", model.is_some_and(|m| m.risk)),
        r.risk.clone(),
    ));
    if !r.check_before.is_empty() {
        out.push((
            "Check before changing".to_string(),
            numbered(&r.check_before),
        ));
    }
    out.extend(fix_sections(r));
    out.push((
        marked("Manual steps", model.is_some_and(|m| m.manual_steps)),
        numbered(&r.manual_steps),
    ));
    if !r.verify.is_empty() {
        out.push(("How to verify".to_string(), numbered(&r.verify)));
    }
    if let Some(model) = model {
        out.push(("Language model".to_string(), model_note(model)));
    }
    out.push((
        "Finding description (quoted from Security Hub, untrusted)".to_string(),
        clean(&r.description, 1000),
    ));
    out.push(("Documentation".to_string(), r.documentation.clone()));
    out
}

/// A heading, marked when a language model wrote the text under it.
fn marked(heading: &str, by_model: bool) -> String {
    if by_model {
        format!("{heading} ({BY_MODEL})")
    } else {
        heading.to_string()
    }
}

/// `1. first\n2. second`.
fn numbered(items: &[String]) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| format!("{}. {item}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which finding, in which account and region, on which resource and control.
fn location_sections(r: &Remediation) -> Vec<(String, String)> {
    vec![
        ("Finding ID".to_string(), one_line(&r.finding_id, 400)),
        ("Account".to_string(), one_line(&r.account, 40)),
        (
            "Region".to_string(),
            one_line(r.region.as_deref().unwrap_or("unknown"), 40),
        ),
        (
            "Resource".to_string(),
            one_line(&format!("{} ({})", r.resource_id, r.resource_type), 400),
        ),
        (
            "Control".to_string(),
            r.control_id.as_deref().map_or_else(
                || "not a Security Hub control finding".into(),
                |c| one_line(c, 60),
            ),
        ),
    ]
}

/// The Terraform fix (or why there is none) with its plan checklist, and the
/// AWS CLI fix with what to fill in (or why there is none beside Terraform).
fn fix_sections(r: &Remediation) -> Vec<(String, String)> {
    let model = r.model.as_ref();
    let mut out = Vec::new();
    match (&r.terraform, &r.no_fix_reason) {
        (Some(code), _) if model.is_some_and(|m| m.fix) => out.push((
            "Terraform fix (proposed by a language model; it passed gensec's allow-list and argument checks, but review it with extra care, then apply)".to_string(),
            code.clone(),
        )),
        (Some(code), _) => out.push((
            "Terraform fix (review, then apply)".to_string(),
            code.clone(),
        )),
        (None, reason) => out.push((
            "Terraform fix".to_string(),
            format!(
                "No fix was generated: {}",
                reason
                    .as_deref()
                    .unwrap_or("no fix is known for this finding")
            ),
        )),
    }
    if !r.plan_checklist.is_empty() {
        out.push((
            "Plan checklist (the resource already exists; the import block brings it under Terraform)"
                .to_string(),
            numbered(&r.plan_checklist),
        ));
    }
    if !r.cli.is_empty() {
        out.push((
            "AWS CLI fix (checked against the AWS API model; review, then run)".to_string(),
            r.cli.join("\n"),
        ));
        if !r.fill_in.is_empty() {
            out.push((
                "Fill in before running (replace each <NAME>)".to_string(),
                r.fill_in.join("\n"),
            ));
        }
    } else if let Some(reason) = &r.no_cli_reason
        && r.terraform.is_some()
    {
        out.push((
            "AWS CLI fix".to_string(),
            format!("No CLI command was generated: {reason}"),
        ));
    }
    out
}

/// What the model did for this finding, for the e-mail.
fn model_note(model: &crate::llm::ModelContribution) -> String {
    let id = one_line(&model.model_id, 120);
    let mut note = match &model.fallback {
        Some(reason) => format!(
            "The language model ({id}) was asked, but nothing it wrote is used: {}. Everything above is gensec's own text.",
            clean(reason, 400)
        ),
        None if model.wrote_anything() => format!(
            "Sections marked \"{BY_MODEL}\" come from the language model ({id}). The finding was given to it as untrusted data."
        ),
        None => format!(
            "The language model ({id}) was asked, but nothing it wrote passed gensec's checks."
        ),
    };
    if !model.rejected.is_empty() {
        note.push_str("\nRejected from its answer:");
        for reason in model.rejected.iter().take(12) {
            note.push_str(&format!("\n- {}", clean(reason, 400)));
        }
    }
    note
}

fn text_body(parts: &[Vec<(String, String)>], intro: &str) -> String {
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

fn html_body(parts: &[Vec<(String, String)>], intro: &str) -> String {
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
            let code =
                heading.starts_with("Terraform fix (") || heading.starts_with("AWS CLI fix (");
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

const INTRO: &str = "AWS Security Hub reported a finding. The fix below was generated from gensec's catalogue and checked (Terraform against an allow-list, AWS CLI commands against the AWS API model); review it before applying.";
const INTRO_NO_FIX: &str = "AWS Security Hub reported a finding. gensec generated no fix for it; the reason, the risk and the manual steps are below. Review them before changing anything.";
const INTRO_MODEL: &str = "AWS Security Hub reported a finding that gensec's catalogue does not cover. Sections marked as written by a language model are its proposal, not gensec's reviewed catalogue; any Terraform it proposed was checked against the same allow-list as catalogue fixes. Review everything before applying.";

/// The e-mail for one finding.
pub fn render(remediation: &Remediation) -> EmailMessage {
    let parts = vec![sections(remediation)];
    let intro = if remediation
        .model
        .as_ref()
        .is_some_and(crate::llm::ModelContribution::wrote_anything)
    {
        INTRO_MODEL
    } else if remediation.terraform.is_some() || !remediation.cli.is_empty() {
        INTRO
    } else {
        INTRO_NO_FIX
    };
    EmailMessage {
        subject: subject(remediation),
        text: text_body(&parts, intro),
        html: html_body(&parts, intro),
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
    let mut intro = format!(
        "AWS Security Hub reported {} findings. Each has its own fix (checked against an allow-list) or says why there is none; review before applying.",
        remediations.len()
    );
    if remediations.iter().any(|r| {
        r.model
            .as_ref()
            .is_some_and(crate::llm::ModelContribution::wrote_anything)
    }) {
        intro.push_str(" Sections marked as written by a language model are its proposal, not gensec's reviewed catalogue.");
    }
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
