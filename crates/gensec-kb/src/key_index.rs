//! Condition keys found by name without scanning the list: the IAM stage and
//! the SCP execution ask for the definition of every key of every request
//! context they build, thousands of times per run.

use crate::model::ConditionKey;
use crate::paths::key_matches;
use std::collections::HashMap;

/// Positions in one list of condition keys: the plain names (lower-cased,
/// as IAM compares keys) and the templated ones (`aws:RequestTag/${TagKey}`),
/// which are matched in list order.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    plain: HashMap<String, usize>,
    templated: Vec<usize>,
}

impl KeyIndex {
    pub(crate) fn new(keys: &[ConditionKey]) -> Self {
        let mut index = Self::default();
        for (position, key) in keys.iter().enumerate() {
            if key.name.contains("${") {
                index.templated.push(position);
            } else {
                index
                    .plain
                    .entry(key.name.to_ascii_lowercase())
                    .or_insert(position);
            }
        }
        index
    }

    /// The first key of `keys` (the list this index was built from) that
    /// `key` matches, as a scan with [`key_matches`] would find it.
    pub(crate) fn find<'a>(&self, keys: &'a [ConditionKey], key: &str) -> Option<&'a ConditionKey> {
        let plain = self.plain.get(&key.to_ascii_lowercase()).copied();
        let templated = self
            .templated
            .iter()
            .copied()
            .take_while(|&position| plain.is_none_or(|plain| position < plain))
            .find(|&position| key_matches(&keys[position].name, key));
        templated.or(plain).and_then(|position| keys.get(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ConditionKey {
        ConditionKey {
            name: name.to_string(),
            description: String::new(),
            value_type: "String".to_string(),
        }
    }

    #[test]
    fn finds_what_a_scan_finds() {
        let keys = vec![
            key("aws:SourceIp"),
            key("aws:RequestTag/${TagKey}"),
            key("aws:SecureTransport"),
            key("aws:RequestTag/special"),
            key("aws:ResourceTag/${TagKey}"),
        ];
        let index = KeyIndex::new(&keys);
        for asked in [
            "aws:sourceip",
            "AWS:SecureTransport",
            "aws:RequestTag/env",
            "aws:RequestTag/special",
            "aws:ResourceTag/owner",
            "aws:RequestTag/",
            "aws:Unknown",
            "s3:x",
        ] {
            let scanned = keys.iter().find(|k| key_matches(&k.name, asked));
            assert_eq!(
                index.find(&keys, asked).map(|k| &k.name),
                scanned.map(|k| &k.name),
                "{asked}"
            );
        }
    }
}
