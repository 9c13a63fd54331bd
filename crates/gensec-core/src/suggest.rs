//! "Did you mean" suggestions for names a user typed.

/// Up to `limit` candidates closest to `input` (case-insensitive), best first.
/// A candidate qualifies when it is close in edit distance or starts with the input.
pub fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    let needle = input.to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let mut score = strsim::jaro_winkler(&needle, &lower);
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
    use super::closest;

    #[test]
    fn suggests_near_misses_first() {
        let names = ["quicksight", "s3", "sqs", "rds", "sagemaker"];
        assert_eq!(closest("quiksight", names, 3), vec!["quicksight"]);
        assert!(closest("zzzzzz", names, 3).is_empty());
    }
}
