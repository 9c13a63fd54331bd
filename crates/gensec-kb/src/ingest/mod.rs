//! Turning AWS's machine-readable sources into the KB model. Used by the
//! baseline builder and by the live documentation collector.

pub mod catalogue;
pub mod cfn;
pub mod config_facts;
pub mod config_rules;
pub mod iam;

/// A source document that could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct IngestError {
    pub source_name: String,
    pub message: String,
}

impl IngestError {
    pub fn new(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

/// First sentence of a description, at most `max` characters, whitespace collapsed.
pub fn short_description(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence_end = collapsed
        .match_indices(". ")
        .map(|(index, _)| index + 1)
        .find(|index| *index >= 20)
        .unwrap_or(collapsed.len());
    let sentence = &collapsed[..sentence_end];
    if sentence.chars().count() <= max {
        sentence.to_string()
    } else {
        let cut: String = sentence.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}
