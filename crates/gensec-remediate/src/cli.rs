//! A catalogue CLI fix as the exact AWS CLI commands for one finding:
//! placeholders resolved like Terraform's ([`crate::terraform`]), the
//! resolved command checked against the API model
//! ([`gensec_kb::api_model::ApiModel::check`]), then printed with shell
//! quoting. A value only the user knows (`${fill:NAME}`), or an identifier the
//! finding does not give, is printed `<NAME>` and listed in
//! [`RenderedCli::fill_in`].

use crate::finding::Finding;
use crate::terraform::{FixError, resolve, substitute};
use gensec_kb::api_model::ApiModel;
use gensec_kb::controls::CliCommand;
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
    let model = ApiModel::embedded().map_err(|err| CliError::Model(err.to_string()))?;
    render_with(commands, finding, model)
}

/// [`render`] with a given API model.
pub fn render_with(
    commands: &[CliCommand],
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
