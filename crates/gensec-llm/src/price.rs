//! Estimated prices per model, for the cost figures in manifests and request
//! records. The built-in table holds list prices (US dollars per million
//! tokens, on-demand, as published in 2025) of common models; a JSON file
//! (`GENSEC_LLM_PRICES`, `--llm-prices`) adds or overrides entries:
//! `{"claude-3-5-haiku": {"input_per_mtok": 0.8, "output_per_mtok": 4.0}}`.
//! A model matches the longest entry its id contains, so
//! `us.anthropic.claude-3-5-haiku-20241022-v1:0` finds `claude-3-5-haiku`.

use gensec_core::llm::ModelPrice;
use std::collections::BTreeMap;

const BUILTIN: &[(&str, f64, f64)] = &[
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-opus-4", 15.00, 75.00),
    ("nova-micro", 0.035, 0.14),
    ("nova-lite", 0.06, 0.24),
    ("nova-pro", 0.80, 3.20),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    entries: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    pub fn builtin() -> Self {
        Self {
            entries: BUILTIN
                .iter()
                .map(|(name, input, output)| {
                    (
                        name.to_string(),
                        ModelPrice {
                            input_per_mtok: *input,
                            output_per_mtok: *output,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Entries from a JSON object of `{model: {input_per_mtok, output_per_mtok}}`.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let entries: BTreeMap<String, ModelPrice> =
            serde_json::from_str(text).map_err(|err| format!("price table: {err}"))?;
        if let Some((name, _)) = entries
            .iter()
            .find(|(_, p)| p.input_per_mtok < 0.0 || p.output_per_mtok < 0.0)
        {
            return Err(format!("price table: negative price for {name}"));
        }
        Ok(Self {
            entries: entries
                .into_iter()
                .map(|(name, price)| (name.to_ascii_lowercase(), price))
                .collect(),
        })
    }

    /// This table with `other`'s entries added or replacing.
    pub fn merged(mut self, other: PriceTable) -> Self {
        self.entries.extend(other.entries);
        self
    }

    /// The price of the longest entry the model id contains.
    pub fn lookup(&self, model_id: &str) -> Option<ModelPrice> {
        let id = model_id.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|(name, _)| id.contains(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_longest_entry_wins_and_files_override() {
        let table = PriceTable::builtin();
        let haiku = table
            .lookup("us.anthropic.claude-3-5-haiku-20241022-v1:0")
            .unwrap();
        assert_eq!(haiku.input_per_mtok, 0.80);
        assert_eq!(table.lookup("gpt-4o-mini").unwrap().input_per_mtok, 0.15);
        assert_eq!(
            table.lookup("gpt-4o-2024-08-06").unwrap().input_per_mtok,
            2.50
        );
        assert!(table.lookup("llama3.1:8b").is_none());
        let local =
            PriceTable::from_json(r#"{"Llama3.1": {"input_per_mtok": 0, "output_per_mtok": 0}}"#)
                .unwrap();
        let merged = table.merged(local);
        assert_eq!(merged.lookup("llama3.1:8b").unwrap().output_per_mtok, 0.0);
        assert!(
            PriceTable::from_json(r#"{"x": {"input_per_mtok": -1, "output_per_mtok": 0}}"#)
                .is_err()
        );
        assert!(PriceTable::from_json("[]").is_err());
    }
}
