//! "Did you mean" suggestions for names a user typed.
//!
//! Jaro-Winkler costs up to the product of the two lengths, so a huge input
//! (a 200,000-character "service name") would take seconds against a
//! catalogue of aliases. Only the first [`COMPARED_CHARS`] characters of the
//! input and of each candidate are compared: no real name is that long, and
//! the work per candidate is bounded whatever the input's length.

/// How many characters of a name are compared.
pub const COMPARED_CHARS: usize = 64;

/// Up to `limit` candidates closest to `input` (case-insensitive), best first.
/// A candidate qualifies when it is close in edit distance or starts with the input.
pub fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    closest_by(input, candidates, limit, strsim::jaro_winkler)
}

/// Lower-cased prefix of at most [`COMPARED_CHARS`] characters.
fn compared(text: &str) -> String {
    text.chars()
        .take(COMPARED_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// [`closest`] with the similarity measure as a parameter (the tests count
/// the work it is given).
fn closest_by<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
    mut similarity: impl FnMut(&str, &str) -> f64,
) -> Vec<String> {
    let needle = compared(input);
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = compared(candidate);
            let mut score = similarity(&needle, &lower);
            if needle.len() >= 3
                && lower.len() >= 3
                && (lower.starts_with(&needle) || needle.starts_with(&lower))
            {
                score = score.max(0.9);
            }
            (score >= 0.8).then_some((score, candidate))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, candidate) in scored {
        if !out.iter().any(|seen| seen.eq_ignore_ascii_case(candidate)) {
            out.push(candidate.to_string());
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_first() {
        let names = ["quicksight", "s3", "sqs", "rds", "sagemaker"];
        assert_eq!(closest("quiksight", names, 3), vec!["quicksight"]);
        assert!(closest("zzzzzz", names, 3).is_empty());
    }

    /// The work (characters handed to the similarity measure, whose cost is
    /// at most their product) does not grow with the input: a 200,000-
    /// character name costs what a 64-character one does.
    #[test]
    fn work_is_bounded_whatever_the_input_length() {
        let names = ["quicksight", "s3", "sqs", "rds", "sagemaker"];
        let work = |input: &str| {
            let mut pairs = 0usize;
            let found = closest_by(input, names, 3, |a, b| {
                pairs += a.chars().count() * b.chars().count();
                strsim::jaro_winkler(a, b)
            });
            (pairs, found)
        };
        let (short, _) = work(&"s".repeat(COMPARED_CHARS));
        let (huge, found) = work(&"s".repeat(200_000));
        assert_eq!(huge, short);
        assert!(huge <= names.len() * COMPARED_CHARS * COMPARED_CHARS);
        assert!(found.is_empty(), "{found:?}");
        // A long name that starts like a real one is still recognised.
        let (_, found) = work(&format!("quicksight{}", "x".repeat(200_000)));
        assert_eq!(found, ["quicksight"]);
    }
}
