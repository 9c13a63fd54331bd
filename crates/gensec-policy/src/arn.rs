//! ARN patterns: the `Resource`/`NotResource` element and the `Arn...`
//! condition operators.
//!
//! IAM matches an ARN segment by segment: `arn:partition:service:region:account:resource`.
//! A wildcard in one of the first five segments stays inside it; the
//! resource segment is everything after the fifth colon, and there `*`
//! crosses `/` and `:` ("IAM JSON policy elements: Resource", *Using
//! wildcards in resource ARNs*). A policy ARN with fewer than six segments
//! is accepted only when it ends in `*`, which "can expand to match beyond
//! the colon boundaries": the missing segments match anything.
//!
//! Variables are substituted first, as literal text, then the ARN is split,
//! so `arn:aws:iam::${aws:PrincipalAccount}:role/x` and a whole-ARN
//! `${aws:SourceArn}` both work.

use crate::pattern::{Syntax, Template, Variables};

/// Outcome of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Match,
    NoMatch,
    /// A side cannot be compared (not an ARN, unresolvable variable): a
    /// positive test fails and so does a negated one.
    Invalid,
}

impl Cmp {
    pub fn from_bool(matches: bool) -> Self {
        if matches { Cmp::Match } else { Cmp::NoMatch }
    }
}

const SEGMENTS: usize = 6;

/// A parsed policy ARN (possibly with wildcards and variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    whole: Template,
    /// The segments, split at load time when there are no variables.
    segments: Option<Vec<Template>>,
}

/// Which segments compare ignoring case: `Resource` matching treats
/// partition, service, region and account case-insensitively, `Arn...`
/// condition operators compare everything case-sensitively.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArnCase {
    pub fold_head: bool,
    /// Allow fewer than six segments when the last ends in `*`.
    pub allow_short: bool,
}

pub(crate) const RESOURCE_ELEMENT: ArnCase = ArnCase {
    fold_head: true,
    allow_short: true,
};
pub(crate) const ARN_OPERATOR: ArnCase = ArnCase {
    fold_head: false,
    allow_short: false,
};

impl ArnPattern {
    /// Parse a policy ARN; a shape that can never match is an error.
    pub fn parse(raw: &str, variables: bool, case: ArnCase) -> Result<Self, String> {
        let whole = Template::parse(
            raw,
            Syntax {
                wildcards: true,
                variables,
            },
        )?;
        let segments = if whole.has_variables() {
            None
        } else {
            let segments = whole.split_colons(SEGMENTS);
            check_shape(&segments, case).map_err(|problem| format!("{raw:?}: {problem}"))?;
            Some(segments)
        };
        Ok(Self { whole, segments })
    }

    pub fn matches(&self, arn: &str, vars: &dyn Variables, case: ArnCase) -> Cmp {
        let substituted;
        let segments = match &self.segments {
            Some(segments) => segments,
            None => {
                let Some(template) = self.whole.substitute(vars) else {
                    return Cmp::Invalid;
                };
                substituted = template.split_colons(SEGMENTS);
                if check_shape(&substituted, case).is_err() {
                    return Cmp::Invalid;
                }
                &substituted
            }
        };
        let mut request = arn.splitn(SEGMENTS, ':');
        let mut request_segments = [""; SEGMENTS];
        for slot in &mut request_segments {
            match request.next() {
                Some(segment) => *slot = segment,
                None => return Cmp::Invalid,
            }
        }
        if request_segments[0] != "arn" {
            return Cmp::Invalid;
        }
        for (index, pattern) in segments.iter().enumerate().skip(1) {
            let fold = case.fold_head && index < SEGMENTS - 1;
            // A short pattern's last `*` covers the rest of the ARN.
            let text = if index == segments.len() - 1 && segments.len() < SEGMENTS {
                let start = request_segments[..index]
                    .iter()
                    .map(|segment| segment.len() + 1)
                    .sum::<usize>();
                &arn[start..]
            } else {
                request_segments[index]
            };
            match pattern.matches(text, vars, fold) {
                Some(true) => {}
                Some(false) => return Cmp::NoMatch,
                None => return Cmp::Invalid,
            }
        }
        Cmp::Match
    }
}

fn check_shape(segments: &[Template], case: ArnCase) -> Result<(), &'static str> {
    if segments.first().and_then(Template::as_literal) != Some("arn") {
        return Err("an ARN starts with \"arn:\"");
    }
    if segments.len() < SEGMENTS {
        let ends_with_star = segments.last().is_some_and(Template::ends_with_any_run);
        if !(case.allow_short && ends_with_star) {
            return Err("an ARN has six colon-separated segments (a shorter one must end in *)");
        }
    }
    Ok(())
}

/// One entry of `Resource` / `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourcePattern {
    Any,
    Arn(ArnPattern),
}

impl ResourcePattern {
    pub fn parse(raw: &str, variables: bool) -> Result<Self, String> {
        if raw == "*" {
            return Ok(ResourcePattern::Any);
        }
        if !raw.starts_with("arn:") {
            return Err(format!("{raw:?} is neither \"*\" nor an ARN"));
        }
        ArnPattern::parse(raw, variables, RESOURCE_ELEMENT).map(ResourcePattern::Arn)
    }

    /// A request for a wildcard-only action names the resource `*`; only a
    /// `*` pattern covers it.
    pub fn matches(&self, resource: &str, vars: &dyn Variables) -> Cmp {
        match self {
            ResourcePattern::Any => Cmp::Match,
            ResourcePattern::Arn(_) if resource == "*" => Cmp::NoMatch,
            ResourcePattern::Arn(pattern) => pattern.matches(resource, vars, RESOURCE_ELEMENT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::RequestContext;
    use crate::pattern::NoVariables;

    fn resource(pattern: &str, arn: &str) -> Cmp {
        ResourcePattern::parse(pattern, true)
            .unwrap()
            .matches(arn, &NoVariables)
    }

    #[test]
    fn wildcards_stay_inside_head_segments() {
        use Cmp::*;
        let instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-1";
        assert_eq!(resource("arn:aws:ec2:*:*:instance/*", instance), Match);
        assert_eq!(
            resource("arn:aws:ec2:us-east-?:*:instance/i-*", instance),
            Match
        );
        assert_eq!(
            resource("arn:aws:ec2:*:444455556666:instance/*", instance),
            NoMatch
        );
        assert_eq!(resource("arn:aws:ec2:*:*:volume/*", instance), NoMatch);
        // `*` in the region does not swallow the account.
        assert_eq!(resource("arn:aws:ec2:*:instance/*", instance), NoMatch);
        // The resource segment's `*` crosses `/` and `:`.
        assert_eq!(resource("arn:aws:ec2:*:*:*", instance), Match);
        assert_eq!(resource("arn:aws:ec2:*:*:*/i-1", instance), Match);
        assert_eq!(
            resource(
                "arn:aws:logs:*:*:log-group:app*",
                "arn:aws:logs:us-east-1:1:log-group:app:log-stream:x"
            ),
            Match
        );
    }

    #[test]
    fn short_arns_need_a_trailing_star() {
        let instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-1";
        assert_eq!(resource("arn:aws:ec2:*", instance), Cmp::Match);
        assert_eq!(resource("arn:aws:ec2:us-*", instance), Cmp::Match);
        assert_eq!(resource("arn:aws:s3:*", instance), Cmp::NoMatch);
        assert!(ResourcePattern::parse("arn:aws:ec2:us-east-1", true).is_err());
        assert!(ResourcePattern::parse("bucket/*", true).is_err());
    }

    #[test]
    fn head_segments_ignore_case_resource_segment_does_not() {
        assert_eq!(
            resource("arn:AWS:S3:::bucket/*", "arn:aws:s3:::bucket/k"),
            Cmp::Match
        );
        assert_eq!(
            resource("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/k"),
            Cmp::NoMatch
        );
    }

    #[test]
    fn wildcard_only_requests_match_only_star() {
        assert_eq!(resource("*", "*"), Cmp::Match);
        assert_eq!(resource("arn:aws:ec2:*:*:*", "*"), Cmp::NoMatch);
    }

    #[test]
    fn variables_are_substituted_before_splitting() {
        let context =
            RequestContext::new("arn:aws:iam::111122223333:user/alice", "s3:GetObject", "*")
                .with("aws:username", "alice")
                .with("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic");
        let home =
            ResourcePattern::parse("arn:aws:s3:::bucket/home/${aws:username}/*", true).unwrap();
        assert_eq!(
            home.matches("arn:aws:s3:::bucket/home/alice/x", &context),
            Cmp::Match
        );
        assert_eq!(
            home.matches("arn:aws:s3:::bucket/home/bob/x", &context),
            Cmp::NoMatch
        );
        assert_eq!(
            home.matches("arn:aws:s3:::bucket/home/alice/x", &NoVariables),
            Cmp::Invalid
        );
        let whole = ArnPattern::parse("${aws:SourceArn}", true, ARN_OPERATOR).unwrap();
        assert_eq!(
            whole.matches(
                "arn:aws:sns:us-east-1:111122223333:topic",
                &context,
                ARN_OPERATOR
            ),
            Cmp::Match
        );
    }

    #[test]
    fn arn_operators_are_case_sensitive_and_need_six_segments() {
        let pattern = ArnPattern::parse("arn:aws:iam::*:role/Admin*", true, ARN_OPERATOR).unwrap();
        let admin = "arn:aws:iam::111122223333:role/AdminOps";
        assert_eq!(
            pattern.matches(admin, &NoVariables, ARN_OPERATOR),
            Cmp::Match
        );
        assert_eq!(
            pattern.matches(
                "arn:aws:iam::111122223333:role/adminops",
                &NoVariables,
                ARN_OPERATOR
            ),
            Cmp::NoMatch
        );
        assert_eq!(
            pattern.matches("not-an-arn", &NoVariables, ARN_OPERATOR),
            Cmp::Invalid
        );
        assert!(ArnPattern::parse("arn:aws:iam::*", true, ARN_OPERATOR).is_err());
    }
}
