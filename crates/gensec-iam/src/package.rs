//! The package's own resources, as the hardened template (stage 4's
//! `iac/cloudformation/template.json`) declares them: their types, the
//! tags they carry and the package key with the services it may be used
//! through. Personas are executed against these.

use serde_json::Value;

/// The value of one tag of a template resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagValue {
    Fixed(String),
    /// `{"Ref": "<parameter>"}`: the deployer's value.
    Parameter(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageResource {
    pub logical_id: String,
    pub resource_type: String,
    pub tags: Vec<(String, TagValue)>,
}

/// The package's customer managed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageKey {
    pub logical_id: String,
    /// `kms:ViaService` values of its key policy, the region as `REGION`
    /// (`s3.REGION.amazonaws.com`).
    pub via_services: Vec<String>,
    pub tags: Vec<(String, TagValue)>,
    /// The key policy as the template writes it (pseudo parameters in `Fn::Sub`).
    pub policy: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    pub resources: Vec<PackageResource>,
    pub key: Option<PackageKey>,
}

fn tags(properties: &Value) -> Vec<(String, TagValue)> {
    let mut out = Vec::new();
    for (key, value) in gensec_kb::tags::tag_pairs(&properties["Tags"]) {
        let value = match &value {
            Value::String(text) => TagValue::Fixed(text.clone()),
            other => match other["Ref"].as_str() {
                Some(parameter) => TagValue::Parameter(parameter.to_string()),
                None => continue,
            },
        };
        out.push((key, value));
    }
    out
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .or_else(|| value["Fn::Sub"].as_str())
        .map(|text| text.replace("${AWS::Region}", "REGION"))
}

fn via_services(key_policy: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for statement in key_policy["Statement"].as_array().into_iter().flatten() {
        let values = &statement["Condition"]["StringEquals"]["kms:ViaService"];
        let values: Vec<&Value> = match values {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            one => vec![one],
        };
        out.extend(values.into_iter().filter_map(text));
    }
    out.sort();
    out.dedup();
    out
}

impl Package {
    /// The resources of a CloudFormation template (JSON form).
    pub fn from_template(template: &Value) -> Package {
        let mut package = Package::default();
        for (logical_id, resource) in template["Resources"].as_object().into_iter().flatten() {
            let resource_type = resource["Type"].as_str().unwrap_or_default().to_string();
            let properties = &resource["Properties"];
            if resource_type == "AWS::KMS::Key" && package.key.is_none() {
                package.key = Some(PackageKey {
                    logical_id: logical_id.clone(),
                    via_services: via_services(&properties["KeyPolicy"]),
                    tags: tags(properties),
                    policy: properties["KeyPolicy"].clone(),
                });
            }
            package.resources.push(PackageResource {
                logical_id: logical_id.clone(),
                resource_type,
                tags: tags(properties),
            });
        }
        package
    }

    /// The tags of resources that carry them, with parameters given `value`
    /// (the tags every taggable resource of the template shares).
    pub fn common_tags(&self, parameter_value: impl Fn(&str) -> String) -> Vec<(String, String)> {
        self.resources
            .iter()
            .find(|resource| !resource.tags.is_empty())
            .map(|resource| resolve(&resource.tags, &parameter_value))
            .unwrap_or_default()
    }
}

/// Tags with parameter references resolved.
pub fn resolve(
    tags: &[(String, TagValue)],
    parameter_value: impl Fn(&str) -> String,
) -> Vec<(String, String)> {
    tags.iter()
        .map(|(key, value)| {
            let value = match value {
                TagValue::Fixed(text) => text.clone(),
                TagValue::Parameter(name) => parameter_value(name),
            };
            (key.clone(), value)
        })
        .collect()
}

/// A template value with `Fn::Sub` pseudo parameters resolved to a sample
/// partition, account and region, as IAM sees it once deployed.
pub fn resolve_pseudo(value: &Value, account: &str, region: &str) -> Value {
    match value {
        Value::Object(object) if object.len() == 1 && object.contains_key("Fn::Sub") => {
            let text = object["Fn::Sub"].as_str().unwrap_or_default();
            Value::String(
                text.replace("${AWS::Partition}", "aws")
                    .replace("${AWS::AccountId}", account)
                    .replace("${AWS::Region}", region),
            )
        }
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, child)| (key.clone(), resolve_pseudo(child, account, region)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_pseudo(item, account, region))
                .collect(),
        ),
        other => other.clone(),
    }
}
