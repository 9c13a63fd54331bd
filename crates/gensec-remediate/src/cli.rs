//! A catalogue CLI fix as the exact AWS CLI commands for one finding:
//! placeholders resolved like Terraform's ([`crate::terraform`]), the
//! resolved command checked against the API model
//! ([`gensec_kb::api_model::ApiModel::check`]), then printed with shell
//! quoting. A value only the user knows (`${fill:NAME}`), or an identifier the
//! finding does not give, is printed `<NAME>` and listed in
//! [`RenderedCli::fill_in`].

use crate::finding::Finding;
use crate::terraform::{FixError, resolve, substitute};
use gensec_kb::api_model::{ApiModel, CONFIG_FILE, POLICY_FILE, PathStep, parse_path};
use gensec_kb::controls::{CliCommand, PolicyMerge, ReadModifyWrite, Remediation};
use serde_json::{Map, Value};

/// Services whose commands take no `--region` (global APIs).
const GLOBAL_SERVICES: &[&str] = &["iam"];

/// Rendered commands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderedCli {
    /// One shell command per line, in order.
    pub commands: Vec<String>,
    /// Values to fill in before running, as `NAME: why`.
    pub fill_in: Vec<String>,
}

/// Why no CLI commands were given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Fix(#[from] FixError),
    #[error("the AWS CLI command was refused by the API model check: {0}")]
    Invalid(String),
    #[error("the AWS API model did not load: {0}")]
    Model(String),
}

struct Substitution<'a> {
    finding: &'a Finding,
    fill_in: Vec<String>,
}

impl Substitution<'_> {
    fn note(&mut self, name: &str, why: &str) {
        let entry = format!("{name}: {why}");
        if !self.fill_in.contains(&entry) {
            self.fill_in.push(entry);
        }
    }

    /// A placeholder (without `${` `}`) as a value, or as `${fill:NAME}`
    /// when the user must supply it.
    fn placeholder(&mut self, inner: &str) -> Result<Value, FixError> {
        if let Some(name) = inner.strip_prefix("fill:") {
            self.note(name, "a value only you know (see the steps)");
            return Ok(Value::String(format!("${{fill:{name}}}")));
        }
        match resolve(self.finding, inner) {
            Ok(value) => Ok(value),
            Err(FixError::Unresolved(_)) => {
                // An identifier the finding does not give: ask for it by name.
                let name = inner.rsplit(['.', ':']).next().unwrap_or(inner).to_string();
                self.note(
                    &name,
                    &format!(
                        "the finding gives neither ${{{inner}}} nor an ARN it can be read from"
                    ),
                );
                Ok(Value::String(format!("${{fill:{name}}}")))
            }
            Err(other) => Err(other),
        }
    }

    fn value(&mut self, value: &Value) -> Result<Value, FixError> {
        Ok(match value {
            Value::String(text) => self.text(text)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.value(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(fields) => Value::Object(self.object(fields)?),
            scalar => scalar.clone(),
        })
    }

    fn object(&mut self, fields: &Map<String, Value>) -> Result<Map<String, Value>, FixError> {
        fields
            .iter()
            .map(|(key, value)| Ok((key.clone(), self.value(value)?)))
            .collect()
    }

    fn text(&mut self, text: &str) -> Result<Value, FixError> {
        if let Some(inner) = text.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && !inner.contains("${")
        {
            return self.placeholder(inner);
        }
        let text = substitute(text, |placeholder| {
            Ok(match self.placeholder(placeholder)? {
                Value::String(s) => match s.strip_prefix("${fill:") {
                    Some(name) => format!("<{}>", name.trim_end_matches('}')),
                    None => s,
                },
                other => other.to_string(),
            })
        })?;
        Ok(Value::String(text))
    }
}

/// Shell word for a value: bare when it is plain, else single-quoted.
fn word(text: &str) -> String {
    if let Some(name) = text
        .strip_prefix("${fill:")
        .and_then(|r| r.strip_suffix('}'))
    {
        return format!("<{name}>");
    }
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:=@,+-".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// JSON with fill placeholders shown as `<NAME>`, single-quoted.
fn json_word(value: &Value) -> String {
    let mut text = value.to_string();
    while let Some(start) = text.find("${fill:") {
        let Some(end) = text[start..].find('}').map(|e| e + start) else {
            break;
        };
        let name = text[start + 7..end].to_string();
        text.replace_range(start..=end, &format!("<{name}>"));
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn print(command: &CliCommand, region: Option<&str>) -> String {
    let mut line = format!("aws {} {}", command.service, command.operation);
    for (flag, value) in &command.arguments {
        match value {
            Value::Bool(true) => line.push_str(&format!(" {flag}")),
            Value::Bool(false) => {
                line.push_str(&format!(" --no-{}", flag.trim_start_matches("--")));
            }
            Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                line.push_str(&format!(" {flag}"));
                for item in items {
                    line.push(' ');
                    line.push_str(&match item {
                        Value::String(s) => word(s),
                        other => other.to_string(),
                    });
                }
            }
            Value::Array(_) | Value::Object(_) => {
                line.push_str(&format!(" {flag} {}", json_word(value)));
            }
            Value::String(s) => line.push_str(&format!(" {flag} {}", word(s))),
            other => line.push_str(&format!(" {flag} {other}")),
        }
    }
    if let Some(region) = region
        && !GLOBAL_SERVICES.contains(&command.service.as_str())
        && !command.arguments.contains_key("--region")
    {
        line.push_str(&format!(" --region {}", word(region)));
    }
    line
}

/// Render and check the commands of a fix for a finding.
pub fn render(commands: &[CliCommand], finding: &Finding) -> Result<RenderedCli, CliError> {
    render_fix(commands, None, finding)
}

/// Render and check the commands and the read-modify-write of a fix.
pub fn render_fix(
    commands: &[CliCommand],
    read_modify_write: Option<&ReadModifyWrite>,
    finding: &Finding,
) -> Result<RenderedCli, CliError> {
    let model = ApiModel::embedded().map_err(|err| CliError::Model(err.to_string()))?;
    render_with(commands, read_modify_write, finding, model)
}

/// Render and check every CLI form of a catalogue remediation: its
/// commands, read-modify-write and policy merge, in that order.
pub fn render_remediation(
    remediation: &Remediation,
    finding: &Finding,
) -> Result<RenderedCli, CliError> {
    let model = ApiModel::embedded().map_err(|err| CliError::Model(err.to_string()))?;
    render_forms(
        &remediation.cli,
        remediation.read_modify_write.as_ref(),
        remediation.policy_merge.as_ref(),
        finding,
        model,
    )
}

/// The file the read's error output is saved to (to tell "no policy yet"
/// from any other failure).
pub const READ_ERROR_FILE: &str = "read-error.txt";

/// The policy document a merge starts from when the resource has none.
const EMPTY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

/// The jq filter of a policy merge: the policy text of member `read` parsed
/// (an empty document when the member is absent), `Statement` made a list
/// (the grammar allows a single object), the statement with the same `Sid`
/// dropped and `statement` appended; every other statement and member kept.
pub fn policy_merge_filter(read: &str, statement: &Value) -> String {
    let sid = statement.get("Sid").cloned().unwrap_or(Value::Null);
    format!(
        ".{read} | if . == null then {EMPTY_POLICY} else fromjson end \
         | .Statement |= ((if type == \"array\" then . elif . == null then [] else [.] end) \
         | map(select(.Sid != {sid})) + [{}])",
        fill_names(&statement.to_string())
    )
}

/// A fix command with its arguments' identifiers resolved.
fn resolved_command(
    substitution: &mut Substitution<'_>,
    command: &CliCommand,
) -> Result<CliCommand, FixError> {
    Ok(CliCommand {
        service: command.service.clone(),
        operation: command.operation.clone(),
        arguments: substitution.object(&command.arguments)?,
    })
}

/// The read, the jq merge and the guarded write of a policy merge.
fn policy_merge(
    merge: &PolicyMerge,
    substitution: &mut Substitution<'_>,
    model: &ApiModel,
    region: Option<&str>,
) -> Result<Vec<String>, CliError> {
    let mut resolved = merge.clone();
    resolved.get = resolved_command(substitution, &merge.get)?;
    resolved.update = resolved_command(substitution, &merge.update)?;
    resolved.statement = substitution.value(&merge.statement)?;
    model
        .check_policy_merge(&resolved)
        .map_err(CliError::Invalid)?;
    // The read: its output saved; when it fails because the resource has no
    // policy yet (and only then), an empty object stands for it.
    let mut read = format!("{} > {CURRENT_FILE}", print(&resolved.get, region));
    if let Some(code) = &resolved.absent {
        read.push_str(&format!(
            " 2> {READ_ERROR_FILE} || {{ grep -q {code} {READ_ERROR_FILE} && echo '{{}}' > {CURRENT_FILE}; }}"
        ));
    }
    let filter = policy_merge_filter(&resolved.read, &resolved.statement);
    let mut update = resolved.update.clone();
    update.arguments.insert(
        resolved.write.clone(),
        Value::String(format!("file://{POLICY_FILE}")),
    );
    Ok(vec![
        read,
        format!(
            "jq -c '{}' {CURRENT_FILE} > {POLICY_FILE}",
            filter.replace('\'', r"'\''")
        ),
        // A failed read leaves the file empty: nothing is written then.
        format!("test -s {POLICY_FILE} && {}", print(&update, region)),
    ])
}

/// The file the read saves the current configuration to.
pub const CURRENT_FILE: &str = "current.json";

/// A jq path expression for a `set` path, selecting only the current value
/// `only_if` when given.
fn jq_path(steps: &[PathStep], only_if: Option<&Value>) -> String {
    let mut terms = Vec::new();
    for step in steps {
        match step {
            PathStep::Member(name) => terms.push(format!(".{name}")),
            PathStep::Present(name) => {
                terms.push(format!(".{name}"));
                terms.push("select(. != null)".into());
            }
            PathStep::Each(name) => terms.push(format!(".{name}[]?")),
        }
    }
    if let Some(current) = only_if {
        terms.push(format!("select(. == {})", fill_names(&current.to_string())));
    }
    terms.join(" | ")
}

/// `${fill:NAME}` inside JSON text shown as `<NAME>`.
fn fill_names(text: &str) -> String {
    let mut text = text.to_string();
    while let Some(start) = text.find("${fill:") {
        let Some(end) = text[start..].find('}').map(|e| e + start) else {
            break;
        };
        let name = text[start + 7..end].to_string();
        text.replace_range(start..=end, &format!("<{name}>"));
    }
    text
}

/// The read, the jq edit and the write of a read-modify-write fix.
fn read_modify_write(
    rmw: &ReadModifyWrite,
    substitution: &mut Substitution<'_>,
    model: &ApiModel,
    region: Option<&str>,
) -> Result<Vec<String>, CliError> {
    let mut resolved = rmw.clone();
    resolved.get = resolved_command(substitution, &rmw.get)?;
    resolved.update = resolved_command(substitution, &rmw.update)?;
    for setting in &mut resolved.set {
        setting.value = substitution.value(&setting.value)?;
        if let Some(current) = &setting.only_if {
            setting.only_if = Some(substitution.value(current)?);
        }
    }
    model
        .check_read_modify_write(&resolved)
        .map_err(CliError::Invalid)?;
    // A whole input: the configuration reduced to the members kept, plus
    // the members taken from other paths (where the read has a value), less
    // the paths dropped; then the settings changed, then the members beside
    // it (unless empty).
    let mut filter = match &resolved.whole_input {
        Some(whole) => {
            let kept: Vec<String> = whole
                .keep
                .iter()
                .map(|m| Value::String(m.clone()).to_string())
                .collect();
            let config = if resolved.read == gensec_kb::api_model::WHOLE_OUTPUT {
                ".".to_string()
            } else {
                format!(".{}", resolved.read)
            };
            let mut filter = format!(". as $read | {config}");
            let taken: Vec<String> = whole
                .take
                .iter()
                .map(|(member, path)| format!("{}: $config{path}", Value::String(member.clone())))
                .collect();
            if taken.is_empty() {
                filter.push_str(&format!(
                    " | with_entries(select(.key | IN({})))",
                    kept.join(", ")
                ));
            } else {
                filter.push_str(&format!(
                    " | . as $config | with_entries(select(.key | IN({}))) + ({{{}}} | with_entries(select(.value != null)))",
                    kept.join(", "),
                    taken.join(", ")
                ));
            }
            for path in &whole.drop {
                let steps = parse_path(path).map_err(CliError::Invalid)?;
                filter.push_str(&format!(" | del({})", jq_path(&steps, None)));
            }
            filter
        }
        None => format!(".{}", resolved.read),
    };
    for setting in &resolved.set {
        let steps = parse_path(&setting.path).map_err(CliError::Invalid)?;
        filter.push_str(&format!(
            " | ({}) = {}",
            jq_path(
                &steps,
                setting
                    .only_if
                    .as_ref()
                    .or(setting.only_if_absent.then_some(&Value::Null)),
            ),
            fill_names(&setting.value.to_string())
        ));
    }
    if let Some(whole) = resolved
        .whole_input
        .as_ref()
        .filter(|w| !w.beside.is_empty())
    {
        filter.push_str(&format!(
            " | . + ($read | {{{}}} | with_entries(select(.value != null and .value != [])))",
            whole.beside.join(", ")
        ));
    }
    let mut update = resolved.update.clone();
    let mut token = None;
    if let Some(t) = &resolved.token {
        // Printed below as the token read from the saved output.
        update
            .arguments
            .insert(t.flag.clone(), Value::String("${token}".into()));
        token = Some(format!("\"$(jq -r .{} {CURRENT_FILE})\"", t.read));
    }
    update.arguments.insert(
        resolved.write.clone(),
        Value::String(format!("file://{CONFIG_FILE}")),
    );
    let mut write = print(&update, region);
    if let Some(token) = token {
        write = write.replace("'${token}'", &token);
    }
    Ok(vec![
        format!("{} > {CURRENT_FILE}", print(&resolved.get, region)),
        format!(
            "jq '{}' {CURRENT_FILE} > {CONFIG_FILE}",
            filter.replace('\'', r"'\''")
        ),
        write,
    ])
}

/// [`render_fix`] with a given API model.
pub fn render_with(
    commands: &[CliCommand],
    read_modify_write_fix: Option<&ReadModifyWrite>,
    finding: &Finding,
    model: &ApiModel,
) -> Result<RenderedCli, CliError> {
    render_forms(commands, read_modify_write_fix, None, finding, model)
}

fn render_forms(
    commands: &[CliCommand],
    read_modify_write_fix: Option<&ReadModifyWrite>,
    policy_merge_fix: Option<&PolicyMerge>,
    finding: &Finding,
    model: &ApiModel,
) -> Result<RenderedCli, CliError> {
    let mut substitution = Substitution {
        finding,
        fill_in: Vec::new(),
    };
    let region = finding.region().filter(|r| crate::terraform::is_safe(r));
    let mut printed = Vec::new();
    for command in commands {
        let resolved = CliCommand {
            service: command.service.clone(),
            operation: command.operation.clone(),
            arguments: substitution.object(&command.arguments)?,
        };
        model.check(&resolved).map_err(CliError::Invalid)?;
        printed.push(print(&resolved, region));
    }
    if let Some(rmw) = read_modify_write_fix {
        printed.extend(read_modify_write(rmw, &mut substitution, model, region)?);
    }
    if let Some(merge) = policy_merge_fix {
        printed.extend(policy_merge(merge, &mut substitution, model, region)?);
    }
    Ok(RenderedCli {
        commands: printed,
        fill_in: substitution.fill_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(resource_id: &str) -> Finding {
        serde_json::from_value(json!({
            "SchemaVersion": "2018-10-08",
            "Id": "f-1",
            "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub",
            "GeneratorId": "security-control/RDS.8",
            "AwsAccountId": "123456789012",
            "Title": "t",
            "Description": "d",
            "CreatedAt": "2024-05-01T10:00:00Z",
            "UpdatedAt": "2024-05-01T10:00:00Z",
            "Severity": {"Label": "HIGH"},
            "Resources": [{"Type": "AwsRdsDbInstance", "Id": resource_id, "Region": "eu-west-1"}]
        }))
        .expect("finding")
    }

    fn command(arguments: Value) -> CliCommand {
        CliCommand {
            service: "rds".into(),
            operation: "modify-db-instance".into(),
            arguments: arguments.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn commands_print_with_resolved_identifiers_and_shell_quoting() {
        let rendered = render(
            &[command(json!({
                "--db-instance-identifier": "${details.AwsRdsDbInstance.DbInstanceIdentifier}",
                "--publicly-accessible": false,
                "--cloudwatch-logs-export-configuration": {"EnableLogTypes": ["${fill:LOG_TYPE}"]},
                "--apply-immediately": true
            }))],
            &finding("arn:aws:rds:eu-west-1:123456789012:db:prod-db"),
        )
        .expect("renders");
        assert_eq!(
            rendered.commands,
            [
                "aws rds modify-db-instance --db-instance-identifier prod-db --no-publicly-accessible --cloudwatch-logs-export-configuration '{\"EnableLogTypes\":[\"<LOG_TYPE>\"]}' --apply-immediately --region eu-west-1"
            ]
        );
        assert_eq!(rendered.fill_in.len(), 1);
        assert!(rendered.fill_in[0].starts_with("LOG_TYPE: "));
    }

    #[test]
    fn a_command_the_model_does_not_know_is_refused() {
        let bad = command(
            json!({"--db-instance-identifier": "${resource.name}", "--deletion-protect": true}),
        );
        let err = render(
            &[bad],
            &finding("arn:aws:rds:eu-west-1:123456789012:db:prod-db"),
        )
        .expect_err("unknown parameter");
        assert!(
            matches!(&err, CliError::Invalid(m) if m.contains("--deletion-protect: unknown parameter")),
            "{err}"
        );
        let missing = command(json!({"--deletion-protection": true}));
        let err = render(
            &[missing],
            &finding("arn:aws:rds:eu-west-1:123456789012:db:prod-db"),
        )
        .expect_err("missing identifier");
        assert!(
            err.to_string().contains("missing required parameter"),
            "{err}"
        );
    }

    fn distribution_finding() -> Finding {
        let mut value = serde_json::to_value(finding(
            "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
        ))
        .expect("finding");
        value["Resources"][0]["Type"] = json!("AwsCloudFrontDistribution");
        serde_json::from_value(value).expect("finding")
    }

    fn origin_fix() -> ReadModifyWrite {
        serde_json::from_value(json!({
            "get": {"service": "cloudfront", "operation": "get-distribution-config",
                    "arguments": {"--id": "${arn.DistributionId}"}},
            "read": "DistributionConfig",
            "token": {"read": "ETag", "flag": "--if-match"},
            "update": {"service": "cloudfront", "operation": "update-distribution",
                       "arguments": {"--id": "${arn.DistributionId}"}},
            "write": "--distribution-config",
            "set": [
                {"path": ".Origins.Items[].CustomOriginConfig?.OriginProtocolPolicy",
                 "value": "https-only", "only_if": "http-only"},
                {"path": ".Logging.Bucket", "value": "${fill:LOG_BUCKET_DOMAIN}"}
            ]
        }))
        .expect("form")
    }

    #[test]
    fn a_read_modify_write_prints_read_edit_and_conditional_write() {
        let rendered =
            render_fix(&[], Some(&origin_fix()), &distribution_finding()).expect("renders");
        assert_eq!(
            rendered.commands,
            [
                "aws cloudfront get-distribution-config --id E2QWRUHAPOMQZL --region eu-west-1 > current.json",
                "jq '.DistributionConfig | (.Origins | .Items[]? | .CustomOriginConfig | select(. != null) | .OriginProtocolPolicy | select(. == \"http-only\")) = \"https-only\" | (.Logging | .Bucket) = \"<LOG_BUCKET_DOMAIN>\"' current.json > config.json",
                "aws cloudfront update-distribution --id E2QWRUHAPOMQZL --if-match \"$(jq -r .ETag current.json)\" --distribution-config file://config.json --region eu-west-1",
            ]
        );
        assert!(rendered.fill_in[0].starts_with("LOG_BUCKET_DOMAIN: "));
    }

    /// The jq edit, run by jq on a saved configuration: only the named
    /// settings change, custom origins only, everything else is kept.
    #[test]
    fn the_jq_edit_changes_only_the_settings_it_names() {
        let rendered =
            render_fix(&[], Some(&origin_fix()), &distribution_finding()).expect("renders");
        let line = &rendered.commands[1];
        let filter = line
            .strip_prefix("jq '")
            .and_then(|rest| rest.strip_suffix("' current.json > config.json"))
            .expect("jq line");
        let current = json!({
            "ETag": "E3ABC",
            "DistributionConfig": {
                "CallerReference": "ref-1",
                "Comment": "site",
                "Logging": {"Enabled": false, "IncludeCookies": false, "Bucket": "", "Prefix": "cf/"},
                "Origins": {"Quantity": 3, "Items": [
                    {"Id": "web", "DomainName": "a.example.com",
                     "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}},
                    {"Id": "api", "DomainName": "b.example.com",
                     "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "match-viewer"}},
                    {"Id": "s3", "DomainName": "c.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
                ]}
            }
        });
        let dir = std::env::temp_dir().join(format!("gensec-jq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let input = dir.join("current.json");
        std::fs::write(&input, current.to_string()).expect("write");
        let output = std::process::Command::new("jq")
            .arg("-c")
            .arg(filter)
            .arg(&input)
            .output()
            .expect("jq runs (install jq)");
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let edited: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let mut expected = current["DistributionConfig"].clone();
        expected["Origins"]["Items"][0]["CustomOriginConfig"]["OriginProtocolPolicy"] =
            json!("https-only");
        expected["Logging"]["Bucket"] = json!("<LOG_BUCKET_DOMAIN>");
        assert_eq!(edited, expected);
    }

    #[test]
    fn a_read_modify_write_with_a_wrong_path_is_refused() {
        let mut fix = origin_fix();
        fix.set[0].path = ".Origins.Items[].CustomOriginConfig?.OriginProtocol".into();
        let err = render_fix(&[], Some(&fix), &distribution_finding()).expect_err("path");
        assert!(
            err.to_string().contains("no member \"OriginProtocol\""),
            "{err}"
        );
        let mut fix = origin_fix();
        fix.set[0].value = json!("https");
        let err = render_fix(&[], Some(&fix), &distribution_finding()).expect_err("enum");
        assert!(err.to_string().contains("\"https\" is not one of"), "{err}");
    }

    fn bucket_finding() -> Finding {
        let mut value =
            serde_json::to_value(finding("arn:aws:s3:::acme-billing-exports")).expect("finding");
        value["Resources"][0]["Type"] = json!("AwsS3Bucket");
        serde_json::from_value(value).expect("finding")
    }

    fn ssl_only_merge() -> PolicyMerge {
        serde_json::from_value(json!({
            "get": {"service": "s3api", "operation": "get-bucket-policy",
                    "arguments": {"--bucket": "${resource.name}"}},
            "read": "Policy",
            "absent": "NoSuchBucketPolicy",
            "update": {"service": "s3api", "operation": "put-bucket-policy",
                       "arguments": {"--bucket": "${resource.name}"}},
            "write": "--policy",
            "statement": {"Sid": "GensecDenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                          "Action": "s3:*", "Resource": ["${resource.id}", "${resource.id}/*"],
                          "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        }))
        .expect("form")
    }

    fn merge_lines(merge: &PolicyMerge) -> Result<Vec<String>, CliError> {
        let model = ApiModel::embedded().expect("model");
        render_forms(&[], None, Some(merge), &bucket_finding(), model).map(|r| r.commands)
    }

    const STATEMENT: &str = r#"{"Sid":"GensecDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-billing-exports","arn:aws:s3:::acme-billing-exports/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#;

    #[test]
    fn a_policy_merge_prints_read_merge_and_guarded_write() {
        let lines = merge_lines(&ssl_only_merge()).expect("renders");
        assert_eq!(
            lines,
            [
                "aws s3api get-bucket-policy --bucket acme-billing-exports --region eu-west-1 > current.json 2> read-error.txt || { grep -q NoSuchBucketPolicy read-error.txt && echo '{}' > current.json; }".to_string(),
                format!(
                    "jq -c '.Policy | if . == null then {{\"Version\":\"2012-10-17\",\"Statement\":[]}} else fromjson end | .Statement |= ((if type == \"array\" then . elif . == null then [] else [.] end) | map(select(.Sid != \"GensecDenyInsecureTransport\")) + [{STATEMENT}])' current.json > policy.json"
                ),
                "test -s policy.json && aws s3api put-bucket-policy --bucket acme-billing-exports --policy file://policy.json --region eu-west-1".to_string(),
            ]
        );
    }

    /// The three lines run by bash against a stand-in `aws` (a script that
    /// answers the read from a saved policy, or fails like the CLI does, and
    /// records what the write was given), with the real jq.
    fn run_merge(read: Result<Value, &str>) -> Option<Value> {
        let lines = merge_lines(&ssl_only_merge()).expect("renders");
        let dir = std::env::temp_dir().join(format!(
            "gensec-merge-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(dir.join("bin")).expect("dir");
        let (answer, status) = match &read {
            Ok(policy) => (
                format!(
                    "printf '%s\\n' '{}'",
                    json!({"Policy": policy.to_string()})
                        .to_string()
                        .replace('\'', r"'\''")
                ),
                0,
            ),
            Err(code) => (
                format!(
                    "echo 'An error occurred ({code}) when calling the GetBucketPolicy operation: x' >&2"
                ),
                254,
            ),
        };
        let fake = format!(
            "#!/bin/sh\ncase \"$2\" in\nget-bucket-policy) {answer}; exit {status};;\nput-bucket-policy) while [ $# -gt 0 ]; do if [ \"$1\" = --policy ]; then cat \"${{2#file://}}\" > written.json; fi; shift; done;;\nesac\n"
        );
        let aws = dir.join("bin/aws");
        std::fs::write(&aws, fake).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        for line in &lines {
            let status = std::process::Command::new("bash")
                .arg("-c")
                .arg(line)
                .current_dir(&dir)
                .env(
                    "PATH",
                    format!(
                        "{}:{}",
                        dir.join("bin").display(),
                        std::env::var("PATH").unwrap_or_default()
                    ),
                )
                .status()
                .expect("bash and jq run (install jq)");
            // Each step may fail (a refused read); the next ones must then
            // write nothing.
            let _ = status;
        }
        let written = std::fs::read_to_string(dir.join("written.json")).ok();
        std::fs::remove_dir_all(&dir).ok();
        written.map(|text| serde_json::from_str(&text).expect("the written policy is JSON"))
    }

    #[test]
    fn a_policy_merge_keeps_every_other_statement() {
        let ours: Value = serde_json::from_str(STATEMENT).expect("statement");
        let cloudtrail = json!({"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::acme-billing-exports/AWSLogs/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}});
        let no_sid = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::acme-billing-exports/shared/*"});
        let old_ours = json!({"Sid": "GensecDenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-billing-exports/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        // Other statements and members kept in order; an earlier statement
        // of the same Sid replaced, not repeated.
        let current = json!({"Version": "2012-10-17", "Id": "billing",
            "Statement": [cloudtrail, old_ours, no_sid]});
        assert_eq!(
            run_merge(Ok(current)),
            Some(json!({"Version": "2012-10-17", "Id": "billing",
                "Statement": [cloudtrail, no_sid, ours]}))
        );
        // The grammar allows a single statement object.
        let single = json!({"Version": "2012-10-17", "Statement": cloudtrail});
        assert_eq!(
            run_merge(Ok(single)),
            Some(json!({"Version": "2012-10-17", "Statement": [cloudtrail, ours]}))
        );
        // No policy yet: the read fails with NoSuchBucketPolicy and the
        // merge starts from an empty document.
        assert_eq!(
            run_merge(Err("NoSuchBucketPolicy")),
            Some(json!({"Version": "2012-10-17", "Statement": [ours]}))
        );
        // Any other failure of the read: nothing is written.
        assert_eq!(run_merge(Err("AccessDenied")), None);
    }

    #[test]
    fn a_policy_merge_is_checked_against_the_model_and_the_grammar() {
        let mut merge = ssl_only_merge();
        merge.write = "--policy-document".into();
        let err = merge_lines(&merge).expect_err("unknown write");
        assert!(err.to_string().contains("unknown parameter"), "{err}");
        let mut merge = ssl_only_merge();
        merge.read = "PolicyStatus".into();
        let err = merge_lines(&merge).expect_err("unknown read member");
        assert!(err.to_string().contains("no output member"), "{err}");
        let mut merge = ssl_only_merge();
        merge
            .update
            .arguments
            .insert("--policy".into(), json!("{}"));
        let err = merge_lines(&merge).expect_err("write given twice");
        assert!(err.to_string().contains("set by the policy merge"), "{err}");
        let mut merge = ssl_only_merge();
        merge.write = "--confirm-remove-self-bucket-access".into();
        merge_lines(&merge).expect_err("a boolean parameter takes no policy");
        for (member, value, message) in [
            ("Sid", json!("Gensec Deny"), "alphanumeric Sid"),
            ("Effect", json!("Block"), "Effect must be"),
            (
                "Principal",
                json!({"User": "x"}),
                "Principal has the wrong form",
            ),
            ("Actions", json!("s3:*"), "unknown member \"Actions\""),
        ] {
            let mut merge = ssl_only_merge();
            merge.statement[member] = value;
            let err = merge_lines(&merge).expect_err(member);
            assert!(err.to_string().contains(message), "{member}: {err}");
        }
        let mut merge = ssl_only_merge();
        merge
            .statement
            .as_object_mut()
            .expect("object")
            .remove("Resource");
        let err = merge_lines(&merge).expect_err("no resource");
        assert!(
            err.to_string().contains("Resource and NotResource"),
            "{err}"
        );
    }

    #[test]
    fn unsafe_values_from_the_finding_are_refused() {
        let err = render(
            &[command(
                json!({"--db-instance-identifier": "${resource.name}"}),
            )],
            &finding("arn:aws:rds:eu-west-1:123456789012:db:x;rm -rf /"),
        )
        .expect_err("unsafe");
        assert!(err.to_string().contains("not safe"), "{err}");
    }
}
