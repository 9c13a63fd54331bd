//! Words of an action name and the small, explicit rules built on them: what
//! counts as a data read, a data item, a destructive delete. The review module
//! quotes these rules, so keep them short.

use crate::data::Curated;
use gensec_kb::IamAction;

/// Words whose presence in a `Read` action's name means it returns customer
/// content rather than metadata (`GetObject`, `GetSecretValue`, `DownloadDBLogFilePortion`).
pub(crate) const DATA_WORDS: &[&str] = &[
    "Object",
    "Secret",
    "Item",
    "Items",
    "Record",
    "Records",
    "Download",
    "Content",
    "Data",
    "Query",
    "Scan",
    "Export",
    "Decrypt",
    "Torrent",
    "Execution",
];

/// A name ending with one of these words is about metadata even when it also
/// contains a data word (`GetObjectAcl`, `GetObjectTagging`, `DescribeExportTasks`).
pub(crate) const METADATA_SUFFIXES: &[&str] = &[
    "Acl",
    "Tagging",
    "Tags",
    "Policy",
    "Status",
    "Attributes",
    "Retention",
    "Hold",
    "Configuration",
    "Config",
    "Tasks",
];

/// Resource types holding customer data items (as opposed to containers and
/// configuration): the name ends with one of these.
pub(crate) const DATA_ITEM_TYPE_SUFFIXES: &[&str] =
    &["object", "item", "secret", "parameter", "message", "record"];

/// Verbs of data-plane calls an application makes.
pub(crate) const DATA_PLANE_VERBS: &[&str] =
    &["Invoke", "Send", "Receive", "Connect", "Execute", "Publish"];

/// Verbs that destroy what they name.
pub(crate) const DESTRUCTIVE_VERBS: &[&str] = &["Delete", "Terminate", "Purge", "Destroy"];

/// A destructive verb only removes configuration when the name ends with one of these.
pub(crate) const CONFIGURATION_SUFFIXES: &[&str] = &[
    "Configuration",
    "Config",
    "Website",
    "Cors",
    "CORS",
    "Encryption",
    "Lifecycle",
    "Replication",
    "Concurrency",
    "Annotation",
    "Endpoint",
];

/// CamelCase words of an action name: `GetBucketCORS` -> `Get`, `Bucket`, `CORS`;
/// `CreateDBInstance` -> `Create`, `DB`, `Instance`.
pub(crate) fn words(name: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = name.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for index in 1..chars.len() {
        let (position, current) = chars[index];
        let previous = chars[index - 1].1;
        let next = chars.get(index + 1).map(|(_, c)| *c);
        let boundary = current.is_ascii_uppercase()
            && (previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase())));
        if boundary {
            out.push(&name[start..position]);
            start = position;
        }
    }
    if start < name.len() {
        out.push(&name[start..]);
    }
    out
}

fn last_word_in(name: &str, list: &[&str]) -> bool {
    words(name).last().is_some_and(|last| list.contains(last))
}

fn first_word_in(name: &str, list: &[&str]) -> bool {
    words(name)
        .first()
        .is_some_and(|first| list.contains(first))
}

/// `prefix:Name` -> `Name`.
pub(crate) fn short_name(full: &str) -> &str {
    full.split_once(':').map_or(full, |(_, name)| name)
}

/// Is this `Read` action a read of customer data? (Curated list in
/// `data/data-reads.json`, or a data word in the name without a metadata suffix.)
pub(crate) fn is_data_read(curated: &Curated, full: &str, action: &IamAction) -> bool {
    // Curated entries whatever their level (`quicksight:GenerateEmbedUrl...` is Write).
    if curated.data_read(full).is_some() {
        return true;
    }
    if action.access_level() != gensec_kb::AccessLevel::Read {
        return false;
    }
    // S3 Object Lambda access points are configuration, not objects.
    let name = short_name(full).replace("ForObjectLambda", "");
    words(&name).iter().any(|word| DATA_WORDS.contains(word))
        && !last_word_in(&name, METADATA_SUFFIXES)
}

pub(crate) fn is_data_item_type(resource_type: &str) -> bool {
    let lower = resource_type.to_ascii_lowercase().replace(' ', "");
    DATA_ITEM_TYPE_SUFFIXES
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

/// The resource types an action is scoped to: the required ones when it has
/// any, otherwise every type it accepts.
pub(crate) fn scoped_types(action: &IamAction) -> Vec<&str> {
    let required: Vec<&str> = action
        .resource_types
        .iter()
        .filter(|resource| resource.required)
        .map(|resource| resource.name.as_str())
        .collect();
    if required.is_empty() {
        action
            .resource_types
            .iter()
            .map(|resource| resource.name.as_str())
            .collect()
    } else {
        required
    }
}

/// Does the action work on data items only (`PutObject`, `DeleteObject`)?
pub(crate) fn on_data_items(action: &IamAction) -> bool {
    let types = scoped_types(action);
    !types.is_empty() && types.iter().all(|name| is_data_item_type(name))
}

pub(crate) fn is_data_plane_verb(full: &str) -> bool {
    first_word_in(short_name(full), DATA_PLANE_VERBS)
}

/// A delete (or terminate) of a resource or data, not of a configuration block.
pub(crate) fn is_destructive(full: &str) -> bool {
    let name = short_name(full);
    first_word_in(name, DESTRUCTIVE_VERBS) && !last_word_in(name, CONFIGURATION_SUFFIXES)
}

pub(crate) fn starts_with_word(full: &str, word: &str) -> bool {
    words(short_name(full)).first() == Some(&word)
}

pub(crate) fn has_word(full: &str, word: &str) -> bool {
    words(short_name(full)).contains(&word)
}

pub(crate) fn first_is_any(name: &str, list: &[&str]) -> bool {
    first_word_in(name, list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_camel_case() {
        assert_eq!(words("GetBucketCORS"), ["Get", "Bucket", "CORS"]);
        assert_eq!(words("CreateDBInstance"), ["Create", "DB", "Instance"]);
        assert_eq!(
            words("GetBucketMetadataTableConfiguration"),
            ["Get", "Bucket", "Metadata", "Table", "Configuration"]
        );
        assert!(is_destructive("s3:DeleteBucket"));
        assert!(!is_destructive("s3:DeleteBucketWebsite"));
    }
}
