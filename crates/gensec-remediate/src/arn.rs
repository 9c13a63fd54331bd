//! Identifiers from a resource ARN, read with the ARN formats of the KB's IAM
//! resource types (`arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}`):
//! the ARN's variables by name, and its resource name (the format's last
//! variable). Used when a finding's `Resources[].Details` lack an identifier.

use crate::controls::knowledge_base;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

/// One ARN format compiled: the regex, its variable names in order, and how
/// many literal characters it has (more is more specific).
#[derive(Debug)]
struct Format {
    regex: Regex,
    variables: Vec<String>,
    literal_len: usize,
}

/// A format as a regex: literal text escaped, every variable one segment
/// (no `:` or `/`) except the last, which takes the rest (IAM paths, S3 keys).
fn compile(format: &str) -> Option<Format> {
    let mut pattern = String::from("^");
    let mut variables = Vec::new();
    let mut literal_len = 0;
    let mut rest = format;
    while let Some(start) = rest.find("${") {
        let literal = &rest[..start];
        pattern.push_str(&regex::escape(literal));
        literal_len += literal.len();
        let end = rest[start..].find('}')? + start;
        variables.push(rest[start + 2..end].to_string());
        pattern.push('\u{0}');
        rest = &rest[end + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    literal_len += rest.len();
    pattern.push('$');
    let count = variables.len();
    let mut index = 0;
    let pattern: String = pattern
        .split('\u{0}')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                index += 1;
                let group = if index == count { "(.+)" } else { "([^:/]*)" };
                format!("{group}{part}")
            }
        })
        .collect();
    Some(Format {
        regex: Regex::new(&pattern).ok()?,
        variables,
        literal_len,
    })
}

/// The formats of one entry: the IAM reference lists some resource types
/// with several formats in one string, separated by `, ` (API Gateway's
/// Stage: `.../apis/${ApiId}/stages/${StageName}, .../restapis/${RestApiId}/stages/${StageName}`).
/// Read as one format it never matches, and a stage ARN then fell to the
/// RestApi format, whose last variable took `ID/stages/NAME`.
fn split_formats(entry: &str) -> Vec<&str> {
    entry
        .split(", ")
        .map(str::trim)
        .filter(|format| format.starts_with("arn:"))
        .collect()
}

/// The compiled formats of one IAM service prefix, most specific first.
fn formats(prefix: &str) -> std::sync::Arc<Vec<Format>> {
    static CACHE: OnceLock<Mutex<HashMap<String, std::sync::Arc<Vec<Format>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(prefix).cloned()) {
        return found;
    }
    let mut compiled: Vec<Format> = knowledge_base()
        .and_then(|kb| kb.iam_service(prefix).ok().flatten())
        .map(|service| {
            service
                .resource_types
                .iter()
                .flat_map(|r| r.arn_formats.iter())
                .flat_map(|f| split_formats(f))
                .filter_map(compile)
                .collect()
        })
        .unwrap_or_default();
    compiled.sort_by(|a, b| {
        (b.literal_len, b.variables.len()).cmp(&(a.literal_len, a.variables.len()))
    });
    let compiled = std::sync::Arc::new(compiled);
    if let Ok(mut cache) = cache.lock() {
        cache.insert(prefix.to_string(), compiled.clone());
    }
    compiled
}

/// An ARN read against its service's formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArn {
    /// Every variable of the matching format (`DbInstanceName` -> `prod-db`).
    pub variables: BTreeMap<String, String>,
    /// The format's last variable: the resource's own name or id.
    pub resource_name: String,
}

/// Read `arn` with the KB's formats for its service; `None` when it is not
/// an ARN or no format of its service matches.
pub fn parse(arn: &str) -> Option<ParsedArn> {
    let mut parts = arn.splitn(4, ':');
    let (Some("arn"), Some(_partition), Some(service)) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    for format in formats(service).iter() {
        if let Some(captures) = format.regex.captures(arn) {
            let variables: BTreeMap<String, String> = format
                .variables
                .iter()
                .zip(captures.iter().skip(1))
                .filter_map(|(name, value)| Some((name.clone(), value?.as_str().to_string())))
                .collect();
            let resource_name = captures.get(format.variables.len())?.as_str().to_string();
            return Some(ParsedArn {
                variables,
                resource_name,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_come_from_the_kb_arn_formats() {
        let rds = parse("arn:aws:rds:eu-west-1:123456789012:db:prod-db").expect("rds");
        assert_eq!(rds.resource_name, "prod-db");
        assert_eq!(rds.variables["DbInstanceName"], "prod-db");
        let ecs = parse("arn:aws:ecs:eu-west-1:123456789012:service/web-cluster/web")
            .expect("ecs service");
        assert_eq!(ecs.variables["ClusterName"], "web-cluster");
        assert_eq!(ecs.resource_name, "web");
        let function = parse("arn:aws:lambda:eu-west-1:123456789012:function:resize:7")
            .expect("qualified function");
        assert_eq!(function.variables["FunctionName"], "resize");
        let table = parse("arn:aws:dynamodb:eu-west-1:123456789012:table/orders").expect("table");
        assert_eq!(table.resource_name, "orders");
        // A stage ARN reads with the Stage format (listed together with the
        // HTTP API's in one entry of the IAM reference), not as a RestApi
        // whose id runs to the end.
        let stage =
            parse("arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5/stages/prod").expect("stage");
        assert_eq!(stage.variables["RestApiId"], "a1b2c3d4e5");
        assert_eq!(stage.variables["StageName"], "prod");
        assert_eq!(stage.resource_name, "prod");
        let http = parse("arn:aws:apigateway:eu-west-1::/apis/h1t2t3p4/stages/$default")
            .expect("HTTP API stage");
        assert_eq!(http.variables["ApiId"], "h1t2t3p4");
        let api = parse("arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5").expect("api");
        assert_eq!(api.variables["RestApiId"], "a1b2c3d4e5");
        assert_eq!(
            split_formats("arn:${Partition}:a::/x/${X}, arn:${Partition}:a::/y/${Y}"),
            ["arn:${Partition}:a::/x/${X}", "arn:${Partition}:a::/y/${Y}"]
        );
        assert_eq!(parse("arn:aws:nosuchservice:eu-west-1:1:thing/x"), None);
        assert_eq!(parse("i-0123456789abcdef0"), None);
    }
}
