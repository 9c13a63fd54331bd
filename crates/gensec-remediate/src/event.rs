//! Reading input: EventBridge "Security Hub Findings - Imported" events
//! (`detail.findings[]`, ASFF) and "Findings Imported V2" events (one OCSF
//! finding each, [`crate::ocsf`]), bare ASFF or OCSF findings,
//! `{"Findings": [...]}` as the Security Hub API returns them, JSON arrays of
//! any of these, or JSON lines.
//!
//! A malformed event or finding never stops the batch and is never dropped:
//! it becomes a [`Rejected`] item naming the line and JSON path, with the raw
//! text, and [`keep_rejected`] writes it to a `rejected/` directory.

use crate::finding::Finding;
use crate::ocsf::{self, IMPORTED_V2_DETAIL_TYPE, OcsfFinding};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The EventBridge detail-type of imported Security Hub CSPM (ASFF) findings.
pub const IMPORTED_DETAIL_TYPE: &str = "Security Hub Findings - Imported";

/// A finding read from the input, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// `events.jsonl:3 $.detail.findings[1]`.
    pub source: String,
    pub finding: Finding,
}

/// Input that could not be read as a finding: kept, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// `events.jsonl:3 $.detail.findings[1]`.
    pub source: String,
    /// What was wrong and what was expected.
    pub error: String,
    /// The offending text, verbatim.
    pub raw: String,
}

/// Everything read from one input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub findings: Vec<Located>,
    pub rejected: Vec<Rejected>,
}

impl Batch {
    /// Append another batch.
    pub fn extend(&mut self, other: Batch) {
        self.findings.extend(other.findings);
        self.rejected.extend(other.rejected);
    }
}

/// Parse an input text. A text holding one JSON document is read as such;
/// otherwise every non-blank line is a document of its own.
pub fn parse_input(text: &str, source_name: &str) -> Batch {
    let mut batch = Batch::default();
    match serde_json::from_str::<Value>(text) {
        Ok(value) => read_document(&value, source_name, "$", &mut batch),
        Err(whole_error) => {
            let lines: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .collect();
            if lines.len() <= 1 {
                batch.rejected.push(Rejected {
                    source: format!("{source_name}:{}", whole_error.line()),
                    error: format!("not JSON: {whole_error}"),
                    raw: text.to_string(),
                });
                return batch;
            }
            for (index, line) in lines {
                let source = format!("{source_name}:{}", index + 1);
                match serde_json::from_str::<Value>(line) {
                    Ok(value) => read_document(&value, &source, "$", &mut batch),
                    Err(err) => batch.rejected.push(Rejected {
                        source,
                        error: format!("not JSON: {err}"),
                        raw: line.to_string(),
                    }),
                }
            }
        }
    }
    batch
}

fn reject(batch: &mut Batch, source: &str, path: &str, error: String, raw: &Value) {
    batch.rejected.push(Rejected {
        source: format!("{source} {path}"),
        error,
        raw: serde_json::to_string(raw).unwrap_or_default(),
    });
}

fn read_document(value: &Value, source: &str, path: &str, batch: &mut Batch) {
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                read_document(item, source, &format!("{path}[{index}]"), batch);
            }
        }
        Value::Object(object) if object.contains_key("detail") => {
            read_event(value, source, path, batch);
        }
        Value::Object(object) if object.contains_key("Findings") => {
            read_list(
                value.get("Findings"),
                source,
                &format!("{path}.Findings"),
                batch,
            );
        }
        Value::Object(object) if object.contains_key("findings") => {
            read_list(
                value.get("findings"),
                source,
                &format!("{path}.findings"),
                batch,
            );
        }
        Value::Object(_) => read_finding(value, source, path, batch),
        other => reject(
            batch,
            source,
            path,
            "expected an EventBridge event, an ASFF or OCSF finding or an array of them".into(),
            other,
        ),
    }
}

fn read_event(event: &Value, source: &str, path: &str, batch: &mut Batch) {
    if let Some(detail_type) = event.get("detail-type").and_then(Value::as_str)
        && detail_type != IMPORTED_DETAIL_TYPE
        && detail_type != IMPORTED_V2_DETAIL_TYPE
    {
        reject(
            batch,
            source,
            &format!("{path}.detail-type"),
            format!(
                "detail-type {detail_type:?} is neither {IMPORTED_DETAIL_TYPE:?} (ASFF) nor {IMPORTED_V2_DETAIL_TYPE:?} (OCSF)"
            ),
            event,
        );
        return;
    }
    if let Some(event_source) = event.get("source").and_then(Value::as_str)
        && event_source != "aws.securityhub"
    {
        reject(
            batch,
            source,
            &format!("{path}.source"),
            format!("event source {event_source:?} is not \"aws.securityhub\""),
            event,
        );
        return;
    }
    read_list(
        event.get("detail").and_then(|d| d.get("findings")),
        source,
        &format!("{path}.detail.findings"),
        batch,
    );
}

fn read_list(list: Option<&Value>, source: &str, path: &str, batch: &mut Batch) {
    match list {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (index, item) in items.iter().enumerate() {
                read_finding(item, source, &format!("{path}[{index}]"), batch);
            }
        }
        Some(other) => reject(
            batch,
            source,
            path,
            "expected a non-empty array of ASFF or OCSF findings".into(),
            other,
        ),
        None => reject(batch, source, path, "missing".into(), &Value::Null),
    }
}

fn read_ocsf(value: &Value, source: &str, path: &str, batch: &mut Batch) {
    let parsed = serde_path_to_error::deserialize::<_, OcsfFinding>(value)
        .map_err(|err| {
            let inner = err.path().to_string();
            let at = if inner == "." {
                path.to_string()
            } else {
                format!("{path}.{inner}")
            };
            (at, err.inner().to_string())
        })
        .and_then(|finding| {
            finding
                .into_finding()
                .map_err(|message| (path.to_string(), message))
        });
    match parsed {
        Ok(finding) => batch.findings.push(Located {
            source: format!("{source} {path}"),
            finding,
        }),
        Err((at, message)) => reject(
            batch,
            source,
            &at,
            format!("not an OCSF finding: {message}"),
            value,
        ),
    }
}

fn read_finding(value: &Value, source: &str, path: &str, batch: &mut Batch) {
    if value.as_object().is_some_and(ocsf::is_ocsf) {
        read_ocsf(value, source, path, batch);
        return;
    }
    match serde_path_to_error::deserialize::<_, Finding>(value) {
        Ok(finding) if finding.resources.is_empty() => reject(
            batch,
            source,
            &format!("{path}.Resources"),
            "an ASFF finding needs at least one resource".into(),
            value,
        ),
        Ok(finding) => batch.findings.push(Located {
            source: format!("{source} {path}"),
            finding,
        }),
        Err(err) => {
            let inner = err.path().to_string();
            let at = if inner == "." {
                path.to_string()
            } else {
                format!("{path}.{inner}")
            };
            reject(
                batch,
                source,
                &at,
                format!("not an ASFF finding: {}", err.inner()),
                value,
            );
        }
    }
}

/// Write each rejected item to `dir` as `<stamp>-<n>.json` (`source`, `error`,
/// `raw`); returns the files written.
pub fn keep_rejected(dir: &Path, rejected: &[Rejected]) -> std::io::Result<Vec<PathBuf>> {
    if rejected.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut written = Vec::new();
    for (index, item) in rejected.iter().enumerate() {
        let path = dir.join(format!("{stamp}-{}-{index}.json", std::process::id()));
        let body = serde_json::to_vec_pretty(item).map_err(std::io::Error::other)?;
        std::fs::write(&path, body)?;
        written.push(path);
    }
    Ok(written)
}
