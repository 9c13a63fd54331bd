//! Fewer, larger statements so a persona fits in at most ten managed
//! policies: statements with the same conditions share one statement when
//! no action gains a resource it was not granted, and a verb's actions
//! become `prefix:Verb*` when every action the wildcard matches in the IAM
//! reference is one the statement already grants.

use crate::arn::resource_arn;
use crate::policy::{Granted, Planned};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// `*` and `?` glob over ARNs (case-sensitive, as IAM matches resources).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        // Bytes are characters: no allocation on the common path.
        return glob_by(pattern.as_bytes(), text.as_bytes(), |a, b| a == b);
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_by(&pattern, &text, |a, b| a == b)
}

/// The glob of [`glob`] over any symbols, `same` deciding equality.
fn glob_by<T: Copy + PartialEq + From<u8>>(
    pattern: &[T],
    text: &[T],
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (any, one) = (T::from(b'*'), T::from(b'?'));
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == one || same(pattern[p], text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == any {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == any)
}

/// Does an action pattern (`ec2:Describe*`) match `full`? Case-insensitive
/// (ASCII letters, as IAM compares action names).
pub(crate) fn action_matches(pattern: &str, full: &str) -> bool {
    if pattern.is_ascii() && full.is_ascii() {
        return glob_by(pattern.as_bytes(), full.as_bytes(), |a, b| {
            a.eq_ignore_ascii_case(&b)
        });
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let full: Vec<char> = full.chars().collect();
    glob_by(&pattern, &full, |a, b| a.eq_ignore_ascii_case(&b))
}

/// Sample ARNs of every resource type an action lists, required or not.
fn samples(item: &Granted<'_>) -> Vec<String> {
    item.action
        .resource_types
        .iter()
        .filter_map(|listed| {
            item.service
                .resource_types
                .iter()
                .find(|r| r.name == listed.name)
        })
        .flat_map(|definition| &definition.arn_formats)
        .map(|format| resource_arn(format).replace('*', "x"))
        .collect()
}

/// The sample ARNs of an action that its own resources do not reach: the
/// ones a merged statement's resources must not reach either.
fn unowned(samples: Vec<String>, own: &[String]) -> Vec<String> {
    samples
        .into_iter()
        .filter(|sample| !own.iter().any(|pattern| glob(pattern, sample)))
        .collect()
}

/// Would an action reach a resource through `resources` that its own
/// resources do not give it (`unowned`: its samples its own resources miss)?
fn widened<'a>(unowned: &[String], resources: impl Iterator<Item = &'a String> + Clone) -> bool {
    unowned
        .iter()
        .any(|sample| resources.clone().any(|pattern| glob(pattern, sample)))
}

/// Are none of `actions` widened by `resources` (an action with no facts
/// counts as widened: it is never merged)?
fn none_widened<'a>(
    facts: &BTreeMap<String, Vec<String>>,
    mut actions: impl Iterator<Item = &'a String>,
    resources: impl Iterator<Item = &'a String> + Clone,
) -> bool {
    actions.all(|action| {
        facts
            .get(action)
            .is_some_and(|unowned| !widened(unowned, resources.clone()))
    })
}

/// Characters a merged statement may take, leaving room in a document.
const MERGED_STATEMENT_BUDGET: usize = crate::policy::MAX_POLICY_CHARS - 400;

/// Rendered characters of a statement's actions and resources (quotes and commas included).
fn size(statement: &Planned) -> usize {
    statement
        .actions
        .iter()
        .chain(&statement.resources)
        .map(|text| text.len() + 3)
        .sum()
}

fn merge(planned: Vec<Planned>, granted: &[Granted<'_>]) -> Vec<Planned> {
    let by_name: BTreeMap<&str, &Granted<'_>> =
        granted.iter().map(|g| (g.full.as_str(), g)).collect();
    // action -> the sample ARNs (of every type it lists) its own resources
    // do not reach, found once rather than at every merge it is part of
    let mut facts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in &planned {
        for action in &statement.actions {
            let sample = by_name.get(action.as_str()).map(|g| samples(g));
            facts.insert(
                action.clone(),
                unowned(sample.unwrap_or_default(), &statement.resources),
            );
        }
    }
    // A bucket is open when none of its actions is widened by the bucket's
    // own resources; merging keeps it so. A merge into an open bucket then
    // needs testing only what is new to each side (the bucket's actions
    // against the statement's resources, the statement's actions against
    // both), not every action against the whole union again.
    // Each bucket: (statement, open, rendered size).
    let mut merged: Vec<(Planned, bool, usize)> = Vec::new();
    for statement in planned {
        let statement_size = size(&statement);
        if statement.resources.is_empty() {
            merged.push((statement, false, statement_size));
            continue;
        }
        let fits = |(bucket, open, bucket_size): &(Planned, bool, usize)| {
            // A statement too large for one document is cut into parts that
            // each repeat the resources: merge only while it fits whole.
            if !open
                || bucket_size + statement_size > MERGED_STATEMENT_BUDGET
                || bucket.conditions != statement.conditions
            {
                return false;
            }
            none_widened(&facts, bucket.actions.iter(), statement.resources.iter())
                && none_widened(
                    &facts,
                    statement.actions.iter(),
                    bucket.resources.iter().chain(&statement.resources),
                )
        };
        match merged.iter_mut().find(|bucket| fits(bucket)) {
            Some((bucket, _, bucket_size)) => {
                bucket.actions.extend(statement.actions);
                let resources: BTreeSet<String> = bucket
                    .resources
                    .drain(..)
                    .chain(statement.resources)
                    .collect();
                bucket.resources = resources.into_iter().collect();
                let types: BTreeSet<String> = bucket
                    .resource_types
                    .drain(..)
                    .chain(statement.resource_types)
                    .collect();
                bucket.resource_types = types.into_iter().collect();
                if !bucket.sid.ends_with("Merged") {
                    bucket.sid.push_str("Merged");
                }
                *bucket_size = size(bucket);
            }
            None => {
                let open =
                    none_widened(&facts, statement.actions.iter(), statement.resources.iter());
                merged.push((statement, open, statement_size));
            }
        }
    }
    let mut merged: Vec<Planned> = merged
        .into_iter()
        .map(|(statement, _, _)| statement)
        .collect();
    let mut used = BTreeSet::new();
    for statement in &mut merged {
        let base = statement.sid.clone();
        let mut counter = 2;
        while !used.insert(statement.sid.clone()) {
            statement.sid = format!("{base}{counter}");
            counter += 1;
        }
    }
    merged
}

/// The first CamelCase word of an action name (`DescribeInstances` -> `Describe`).
fn verb(name: &str) -> &str {
    let end = name
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(name.len(), |(index, _)| index);
    &name[..end]
}

/// `prefix:Verb*` where the wildcard's every match in the IAM reference
/// (`known`: prefix -> action names) is an action of the statement.
fn wildcards(actions: &BTreeSet<String>, known: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for full in actions {
        if let Some((prefix, name)) = full.split_once(':') {
            groups
                .entry(format!("{prefix}:{}*", verb(name)))
                .or_default()
                .push(full);
        }
    }
    let granted = lower_case(actions);
    let mut out = Vec::new();
    for (pattern, members) in groups {
        let (prefix, rest) = pattern.split_once(':').unwrap_or_default();
        let verb = rest.trim_end_matches('*');
        // `prefix:Verb*` matches the names that start with the verb, in any
        // case (IAM action matching); testing the name's head avoids building
        // a string for each of a large service's actions.
        let mut expansion = known.get(prefix).into_iter().flatten().filter(|name| {
            name.get(..verb.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(verb))
        });
        let mut matched = 0;
        // One buffer for every name looked up, not a string per name.
        let mut full = String::new();
        let covered = expansion.all(|name| {
            matched += 1;
            full.clear();
            full.push_str(prefix);
            full.push(':');
            full.push_str(name);
            full.make_ascii_lowercase();
            granted.contains(full.as_str())
        }) && matched >= 2;
        if covered {
            out.push(pattern);
        } else {
            out.extend(members.into_iter().cloned());
        }
    }
    out
}

/// Action names, ASCII-lower-cased, to look names up regardless of case.
fn lower_case(actions: &BTreeSet<String>) -> HashSet<String> {
    actions
        .iter()
        .map(|action| action.to_ascii_lowercase())
        .collect()
}

/// Merge statements, then write verbs as wildcards where that is exact.
pub fn compact(planned: Vec<Planned>, granted: &[Granted<'_>]) -> Vec<Planned> {
    let known = known_actions(granted);
    merge(planned, granted)
        .into_iter()
        .map(|mut statement| {
            statement.patterns = wildcards(&statement.actions, &known);
            statement
        })
        .collect()
}

/// Every action name of the IAM reference per prefix the persona is granted
/// (prefix -> action names): what a wildcard would match.
pub fn known_actions(granted: &[Granted<'_>]) -> BTreeMap<String, Vec<String>> {
    let mut known: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in granted {
        known.entry(item.prefix.clone()).or_insert_with(|| {
            item.service
                .actions
                .iter()
                .map(|action| action.name.clone())
                .collect()
        });
    }
    known
}

/// Patterns of `written` that match an action outside `persona`, per the
/// IAM reference (`known`): each is a wildcard that grants too much.
pub fn wildcard_overreach(
    written: &[String],
    persona: &BTreeSet<String>,
    known: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let persona = lower_case(persona);
    let mut problems = Vec::new();
    for pattern in written.iter().filter(|p| p.contains('*')) {
        // The reference is keyed by the pattern's own prefix, so only the
        // name part is left to match: no string is built for a non-match.
        let Some((prefix, name_pattern)) = pattern.split_once(':') else {
            continue;
        };
        for name in known.get(prefix).into_iter().flatten() {
            if !action_matches(name_pattern, name) {
                continue;
            }
            let full = format!("{prefix}:{name}");
            if !persona.contains(&full.to_ascii_lowercase()) {
                problems.push(format!("{pattern} also matches {full}"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(
            "arn:aws:s3:::RESOURCE_PREFIX*",
            "arn:aws:s3:::RESOURCE_PREFIXx/x"
        ));
        assert!(!glob(
            "arn:aws:s3:::RESOURCE_PREFIX*/*",
            "arn:aws:s3:::RESOURCE_PREFIXx"
        ));
        assert!(action_matches("ec2:Describe*", "ec2:describeinstances"));
        assert!(!action_matches("ec2:Describe*", "ec2:DeleteVolume"));
        assert_eq!(verb("DescribeInstances"), "Describe");
        assert_eq!(verb("GetObject"), "Get");
    }

    #[test]
    fn a_verb_wildcard_is_written_only_when_it_matches_nothing_else() {
        let known = BTreeMap::from([(
            "s3".to_string(),
            [
                "GetObject",
                "GetObjectAcl",
                "PutObject",
                "ListBucket",
                "ListBuckets",
            ]
            .map(String::from)
            .to_vec(),
        )]);
        let actions = |names: &[&str]| names.iter().map(|n| (*n).to_string()).collect();
        // Both Get* actions granted: the wildcard; one Put* action: itself.
        assert_eq!(
            wildcards(
                &actions(&["s3:GetObject", "s3:GetObjectAcl", "s3:PutObject"]),
                &known
            ),
            ["s3:Get*", "s3:PutObject"]
        );
        // List* would also match ListBuckets, which is not granted.
        assert_eq!(
            wildcards(&actions(&["s3:ListBucket"]), &known),
            ["s3:ListBucket"]
        );
        // The reference's names match whatever case the statement uses.
        assert_eq!(
            wildcards(&actions(&["s3:getObject", "s3:getObjectAcl"]), &known),
            ["s3:get*"]
        );
    }

    #[test]
    fn an_overreaching_wildcard_names_each_extra_action() {
        let known = BTreeMap::from([(
            "s3".to_string(),
            ["GetObject", "GetObjectAcl", "PutObject"]
                .map(String::from)
                .to_vec(),
        )]);
        let persona: BTreeSet<String> = ["s3:GetObject".to_string()].into();
        assert_eq!(
            wildcard_overreach(&["s3:get*".into(), "s3:GetObject".into()], &persona, &known),
            ["s3:get* also matches s3:GetObjectAcl"]
        );
        assert_eq!(
            wildcard_overreach(&["s3:GetObject*".into()], &persona, &known),
            ["s3:GetObject* also matches s3:GetObjectAcl"]
        );
    }
}
