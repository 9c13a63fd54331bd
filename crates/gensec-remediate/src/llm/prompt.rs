//! The prompt: fixed instructions, then the finding's fields and the
//! Terraform vocabulary as delimited data blocks. Every finding field is
//! untrusted (a description or a bucket name can hold instructions or HCL):
//! it only ever appears inside the `finding` block, whose delimiters it
//! cannot forge, and never in the instructions.

use super::vocabulary::Vocabulary;
use crate::email::clean;
use crate::finding::Finding;
use gensec_core::llm::prompt::{DATA_POLICY, data_block};
use gensec_core::llm::{LlmRequest, Message};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Output tokens one answer may use.
pub const MAX_ANSWER_TOKENS: u32 = 1_200;
/// Most Terraform blocks a model fix may have.
pub const MAX_BLOCKS: usize = 3;
/// Most manual steps kept.
pub const MAX_STEPS: usize = 8;
/// Longest resource details (JSON text) put in the prompt.
const MAX_DETAILS: usize = 4_000;

/// The placeholders a model may use, with what they stand for.
pub const PLACEHOLDERS: &str = "${resource.name} (the bucket, function, key or other resource name), ${resource.id} (its ARN or id), ${resource.region}, ${account} (the account id), ${details.<Path.In.Details>} (a field of the resource details, e.g. ${details.AwsS3Bucket.OwnerId}); ${ref:<type>.<name>.<attribute>} points at another block of the same fix";

/// The instructions. `fix` is false for findings that are not configuration
/// controls: they never get Terraform.
pub fn system_prompt(fix: bool) -> String {
    let terraform = if fix {
        format!(
            "- \"terraform\": null, or a list of at most {MAX_BLOCKS} AWS provider resource blocks that fix the finding's resource, each {{\"resource_type\", \"name\", \"arguments\"}}. Use only the resource types and argument paths listed in the terraform-vocabulary block; a nested block is a JSON object; values are JSON literals (true, 90, \"Enabled\"). An argument marked \"from the finding\" must be a placeholder: {PLACEHOLDERS}. Never write HCL text, provisioners, modules, data sources, provider or meta-arguments (count, for_each, depends_on, lifecycle). If the listed types and arguments cannot fix the finding, answer \"terraform\": null; that is a good answer.\n"
        )
    } else {
        "- This finding is not a configuration control: there is no configuration fix, so do not propose Terraform.\n".to_string()
    };
    format!(
        "You are a cloud security engineer explaining one AWS Security Hub finding to the team that owns the resource.\n\
{DATA_POLICY}\n\
Answer with one JSON object only, no prose, following the JSON schema you were given:\n\
- \"risk_explanation\": at most 120 words of plain English: why this finding is a risk for the affected resource.\n\
- \"manual_steps\": 2 to 6 short steps an engineer takes to fix or investigate it (console or CLI). No links.\n\
{terraform}\
Use only facts from the data blocks; never invent AWS names."
    )
}

/// JSON Schema of the answer.
pub fn answer_schema(fix: bool) -> Value {
    let mut properties = json!({
        "risk_explanation": {"type": "string"},
        "manual_steps": {"type": "array", "items": {"type": "string"}},
    });
    let mut required = vec!["risk_explanation", "manual_steps"];
    if fix {
        properties["terraform"] = json!({
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["resource_type", "name", "arguments"],
                "properties": {
                    "resource_type": {"type": "string"},
                    "name": {"type": "string"},
                    "arguments": {"type": "object"}
                }
            }
        });
        required.push("terraform");
    }
    json!({"type": "object", "additionalProperties": false,
           "required": required, "properties": properties})
}

/// The finding's fields a model needs, as JSON text (data, not instructions).
pub fn finding_text(finding: &Finding) -> String {
    let resource = finding.resource().map(|resource| {
        let details = serde_json::to_string(&resource.details).unwrap_or_default();
        json!({
            "type": resource.kind,
            "id": resource.id,
            "region": finding.region(),
            "details": if details.len() <= MAX_DETAILS {
                resource.details.clone()
            } else {
                Value::String(format!("{}…", clean(&details, MAX_DETAILS)))
            },
        })
    });
    let recommendation = finding
        .remediation
        .as_ref()
        .and_then(|r| r.recommendation.as_ref())
        .and_then(|r| r.text.as_deref())
        .map(|text| clean(text, 500));
    let value = json!({
        "control_id": finding.control_id(),
        "title": clean(&finding.title, 300),
        "description": clean(&finding.description, 2_000),
        "severity": finding.severity().as_str(),
        "product": finding.product_name.as_deref().unwrap_or(&finding.product_arn),
        "types": finding.types,
        "resource": resource,
        "recommendation": recommendation,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The provider types and arguments a fix for this finding may use.
pub fn vocabulary_text(vocabulary: &Vocabulary, finding: &Finding) -> String {
    let kind = finding.resource().map_or("", |r| r.kind.as_str());
    let types = vocabulary.related_types(kind);
    if types.is_empty() {
        return "No Terraform resource type is allowed for this resource type: answer \"terraform\": null.\n".into();
    }
    let mut out = String::from("resource type | argument path | value\n");
    for terraform_type in types {
        for (path, argument) in vocabulary.arguments(terraform_type).into_iter().flatten() {
            let _ = writeln!(out, "{terraform_type} | {path} | {}", argument.label());
        }
    }
    out
}

/// The whole request for one finding.
pub fn request(finding: &Finding, vocabulary: &Vocabulary, fix: bool) -> LlmRequest {
    let mut user = String::from(if fix {
        "Explain this Security Hub finding and, if the vocabulary allows, propose a Terraform fix.\n\n"
    } else {
        "Explain this Security Hub finding and how to investigate it.\n\n"
    });
    user.push_str(&data_block("finding", &finding_text(finding)));
    if fix {
        user.push('\n');
        user.push_str(&data_block(
            "terraform-vocabulary",
            &vocabulary_text(vocabulary, finding),
        ));
    }
    LlmRequest {
        system: system_prompt(fix),
        messages: vec![Message::user(user)],
        response_schema: Some(answer_schema(fix)),
        max_tokens: MAX_ANSWER_TOKENS,
        temperature: 0.0,
    }
}
