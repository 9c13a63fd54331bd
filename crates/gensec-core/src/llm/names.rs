//! AWS names in model-written prose. A rationale or a narrative may only
//! mention names that exist: this finds the name-like tokens (resource types,
//! IAM actions and condition keys, Config rule identifiers, property paths and
//! anything in backticks) so a stage can check each against its knowledge
//! base and refuse prose that mentions one that does not exist.

use regex::Regex;
use std::sync::LazyLock;

/// What a token looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameKind {
    /// `AWS::S3::Bucket`
    ResourceType,
    /// `s3:PutBucketPolicy`, `aws:SecureTransport`, `s3:x-amz-acl`
    IamName,
    /// `S3_BUCKET_VERSIONING_ENABLED`
    ConfigRule,
    /// `VersioningConfiguration.Status`
    PropertyPath,
    /// Anything else written in backticks: a property, a value, a name.
    Quoted,
}

impl NameKind {
    pub fn label(self) -> &'static str {
        match self {
            NameKind::ResourceType => "resource type",
            NameKind::IamName => "IAM action or condition key",
            NameKind::ConfigRule => "Config rule",
            NameKind::PropertyPath => "property",
            NameKind::Quoted => "name",
        }
    }
}

/// A name-like token of a text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameToken {
    pub kind: NameKind,
    pub text: String,
}

/// Answers whether a name exists (for one service's knowledge).
pub trait NameLookup {
    fn knows(&self, kind: NameKind, name: &str) -> bool;
}

/// Upper-case words with underscores that are not Config rules: the profile's
/// framework names and control choices.
const NOT_RULES: &[&str] = &[
    "NIST_800_53",
    "NIST_800_171",
    "PCI_DSS_V4",
    "ISO_27001_2022",
];

static RESOURCE_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bAWS::[A-Za-z0-9]+::[A-Za-z0-9]+\b").expect("valid regex"));
static IAM_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[a-z][a-z0-9-]*:[A-Za-z*][A-Za-z0-9*_-]*(?:/[A-Za-z0-9${}_.*-]+)?")
        .expect("valid regex")
});
static CONFIG_RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){2,}\b").expect("valid regex"));
static PROPERTY_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z][A-Za-z0-9]+(?:\[\])?(?:\.[A-Z][A-Za-z0-9]+(?:\[\])?)+")
        .expect("valid regex")
});
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([^`\n]{1,200})`").expect("valid regex"));

/// Every name-like token of `text`, sorted and without repeats.
pub fn tokens(text: &str) -> Vec<NameToken> {
    let mut out = Vec::new();
    let mut push = |kind, text: &str| {
        out.push(NameToken {
            kind,
            text: text.to_string(),
        })
    };
    for found in RESOURCE_TYPE.find_iter(text) {
        push(NameKind::ResourceType, found.as_str());
    }
    for found in IAM_NAME.find_iter(text) {
        let token = found.as_str();
        let prefix = token.split(':').next().unwrap_or_default();
        let rest = &text[found.end()..];
        // URLs and ARNs are not names of actions or keys.
        if matches!(prefix, "http" | "https" | "arn") || rest.starts_with("//") {
            continue;
        }
        if text[..found.start()].ends_with("arn:") || text[..found.start()].ends_with(':') {
            continue;
        }
        push(NameKind::IamName, token);
    }
    for found in CONFIG_RULE.find_iter(text) {
        if !NOT_RULES.contains(&found.as_str()) {
            push(NameKind::ConfigRule, found.as_str());
        }
    }
    for found in PROPERTY_PATH.find_iter(text) {
        let path = found.as_str();
        let before = &text[..found.start()];
        // `AWS::S3::Bucket.Versioning...`: the resource type was taken above;
        // what follows its dot is the property path.
        if before.ends_with("::") || path.contains("::") {
            continue;
        }
        // A sentence ending before a capitalised word (`S3.Then`) is prose.
        if path.split('.').any(|segment| segment.len() < 2)
            || !path.chars().any(|c| c.is_ascii_lowercase())
        {
            continue;
        }
        push(NameKind::PropertyPath, path);
    }
    for captures in QUOTED.captures_iter(text) {
        if let Some(inner) = captures.get(1) {
            let inner = inner.as_str().trim();
            // Patterns above already classify structured names.
            let structured = RESOURCE_TYPE.is_match(inner)
                || IAM_NAME.find(inner).is_some_and(|m| m.as_str() == inner)
                || CONFIG_RULE.find(inner).is_some_and(|m| m.as_str() == inner)
                || PROPERTY_PATH
                    .find(inner)
                    .is_some_and(|m| m.as_str() == inner);
            if !structured && !inner.is_empty() {
                push(NameKind::Quoted, inner);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Literals a backticked token may be without naming anything.
pub fn is_literal(text: &str) -> bool {
    matches!(text, "true" | "false" | "null") || text.parse::<f64>().is_ok()
}

/// Tokens of `text` that `lookup` does not know; each is checked once.
pub fn unknown(text: &str, lookup: &dyn NameLookup) -> (u64, Vec<NameToken>) {
    let all = tokens(text);
    let checked = all.len() as u64;
    let unknown = all
        .into_iter()
        .filter(|token| {
            let literal = token.kind == NameKind::Quoted && is_literal(&token.text);
            !literal && !lookup.knows(token.kind, &token.text)
        })
        .collect();
    (checked, unknown)
}

/// The reason a text is refused, naming each unknown token.
/// The verdict on model-written prose, with the names it counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProseCheck {
    /// AWS names found in the text.
    pub names_checked: u64,
    /// Of those, names that do not exist.
    pub names_unknown: u64,
    /// `Err(reason)` when the text must not be shown.
    pub verdict: Result<(), String>,
}

/// Model-written text a reader will see: not empty, plain (no markup), at
/// most `limit` characters, and every AWS name in it exists.
pub fn check_prose(text: &str, limit: usize, lookup: &dyn NameLookup) -> ProseCheck {
    let refuse = |reason: String| ProseCheck {
        names_checked: 0,
        names_unknown: 0,
        verdict: Err(reason),
    };
    if text.trim().is_empty() {
        return refuse("empty".into());
    }
    if text.chars().count() > limit {
        return refuse(format!("longer than {limit} characters"));
    }
    if text.contains(['<', '>']) {
        return refuse("contains markup; model-written text must be plain".into());
    }
    let (names_checked, unknown_names) = unknown(text, lookup);
    ProseCheck {
        names_checked,
        names_unknown: unknown_names.len() as u64,
        verdict: if unknown_names.is_empty() {
            Ok(())
        } else {
            Err(refusal(&unknown_names))
        },
    }
}

pub fn refusal(unknown: &[NameToken]) -> String {
    let names: Vec<String> = unknown
        .iter()
        .map(|token| format!("{} {}", token.kind.label(), token.text))
        .collect();
    format!("mentions names that do not exist: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn kinds(text: &str) -> Vec<(NameKind, String)> {
        tokens(text).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn finds_the_names_a_rationale_may_use() {
        let found = kinds(
            "Set `VersioningConfiguration.Status` to `Enabled` on AWS::S3::Bucket; deny s3:PutBucketVersioning unless aws:SecureTransport, checked by S3_BUCKET_VERSIONING_ENABLED (NIST_800_53).",
        );
        assert_eq!(
            found,
            vec![
                (NameKind::ResourceType, "AWS::S3::Bucket".into()),
                (NameKind::IamName, "aws:SecureTransport".into()),
                (NameKind::IamName, "s3:PutBucketVersioning".into()),
                (NameKind::ConfigRule, "S3_BUCKET_VERSIONING_ENABLED".into()),
                (
                    NameKind::PropertyPath,
                    "VersioningConfiguration.Status".into()
                ),
                (NameKind::Quoted, "Enabled".into()),
            ]
        );
    }

    #[test]
    fn prose_urls_and_arns_are_not_names() {
        assert!(kinds("See https://docs.aws.amazon.com/x. It is fine. Amazon S3.").is_empty());
        assert!(kinds("arn:aws:s3:::bucket is the bucket").is_empty());
    }

    struct Knows(&'static [&'static str]);
    impl NameLookup for Knows {
        fn knows(&self, _kind: NameKind, name: &str) -> bool {
            self.0.contains(&name)
        }
    }

    #[test]
    fn unknown_names_are_listed_in_the_refusal() {
        let lookup = Knows(&["s3:PutBucketPolicy"]);
        let (checked, unknown) = unknown(
            "Deny s3:PutBucketPolicy and s3:MakeEverythingSafe; set `MadeUpFlag` to `true`.",
            &lookup,
        );
        assert_eq!(checked, 4);
        assert_eq!(
            refusal(&unknown),
            "mentions names that do not exist: IAM action or condition key s3:MakeEverythingSafe, name MadeUpFlag"
        );
    }
}
