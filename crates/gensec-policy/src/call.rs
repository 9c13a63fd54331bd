//! API calls as IAM authorises them: once per resource the call touches.
//!
//! `ec2:RunInstances` is authorised against the instance, the image, the
//! subnet, the security group and the network interface (and a volume, a
//! key pair... when the call uses them). Each gets its own request context
//! with its own ARN and only the condition keys the Service Authorization
//! Reference lists for that resource type (in the action's row and in the
//! resource type's table — except the table's request-tag keys, which come
//! from other actions), the action's resource-independent keys and the
//! global keys. A key given for the call, such as
//! `ec2:MetadataHttpTokens=required`, therefore appears only in the
//! instance's context: a policy that requires it with a negated operator on
//! `Resource: "*"` denies every launch, because the key is absent (and the
//! negated operator true) for the image, subnet and the rest.
//!
//! Approximations, on purpose and documented:
//! - a key listed for a resource type is placed in its context whenever the
//!   caller gives it; AWS may leave a listed key out for a particular
//!   request (e.g. `aws:RequestTag/...` when the call carries no tags) — so
//!   give only the keys the modelled request really carries;
//! - optional resource types (`required: false` in the knowledge base) are
//!   part of the call only when the caller names them ([`ApiCall::touch`] or
//!   [`ApiCall::resource`]): whether a launch uses a key pair or an extra
//!   volume depends on the request, not on the action;
//! - resource tags and other per-resource facts are the caller's to give,
//!   per resource ([`ResourceSpec::values`]); placeholders in ARN formats
//!   take the caller's values or recognisable samples (`example-imageid`);
//! - `aws:PrincipalArn`, `aws:PrincipalAccount` and `aws:RequestedRegion`
//!   are filled in from the call unless given; other request-wide keys
//!   (`aws:SecureTransport`, `aws:CurrentTime`...) only when given.

use crate::context::{ContextValue, RequestContext, principal_account};
use crate::error::CallError;
use gensec_kb::{ActionResource, IamAction, IamResourceType, Kb};
use std::collections::BTreeMap;

/// Global keys that describe one resource (its tags, the tags the request
/// puts on it): they belong only in the contexts of resource types that
/// list them.
const RESOURCE_SCOPED_GLOBALS: [&str; 3] = [
    "aws:RequestTag/${TagKey}",
    "aws:ResourceTag/${TagKey}",
    "aws:TagKeys",
];

/// Does a global key that is not resource-scoped match `key`? Found through
/// the knowledge base's key index (every request context asked this of each
/// of its keys against all the global keys, most of the IAM cases' cost);
/// when the first match is resource-scoped, the rest are scanned, so the
/// answer is the scan's.
fn global_applies(kb: &Kb, key: &str) -> Result<bool, CallError> {
    let is_global = key
        .split_once(':')
        .is_some_and(|(prefix, _)| prefix.eq_ignore_ascii_case("aws"));
    if !is_global {
        return Ok(false);
    }
    Ok(match kb.condition_key(key)? {
        None => false,
        Some(found) if !RESOURCE_SCOPED_GLOBALS.contains(&found.name.as_str()) => true,
        Some(_) => kb.global_condition_keys().iter().any(|global| {
            !RESOURCE_SCOPED_GLOBALS.contains(&global.name.as_str())
                && gensec_kb::paths::key_matches(&global.name, key)
        }),
    })
}

/// Keys describing the tags a request sets: taken from the action's row
/// only, not from a resource type's table.
const REQUEST_TAG_KEYS: [&str; 2] = ["aws:RequestTag/${TagKey}", "aws:TagKeys"];

/// What the caller knows about one resource the call touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The full ARN; when absent it is built from the ARN format.
    pub arn: Option<String>,
    /// Values for ARN format placeholders (`ImageId` -> `ami-0abc`).
    pub placeholders: BTreeMap<String, String>,
    /// The owning account when not the principal's (and not in the ARN).
    pub account: Option<String>,
    /// Keys of this resource only (`aws:ResourceTag/env`, `ec2:Owner`).
    pub values: BTreeMap<String, ContextValue>,
}

impl ResourceSpec {
    pub fn arn(arn: impl Into<String>) -> Self {
        Self {
            arn: Some(arn.into()),
            ..Self::default()
        }
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }
}

/// One API call by one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    /// `service:Action`, case-insensitive.
    pub action: String,
    pub principal_arn: String,
    pub partition: String,
    pub region: String,
    /// Keys of the request as a whole (`ec2:MetadataHttpTokens`,
    /// `aws:SourceIp`): each goes to every context whose resource type
    /// (or the action, or the global list) has it.
    pub values: BTreeMap<String, ContextValue>,
    /// Resources the call touches, by the knowledge base's resource type
    /// name; required types are always touched (unless `only_named`).
    pub resources: BTreeMap<String, ResourceSpec>,
    /// The call is authorised against the named resources only: for
    /// actions whose listed resource types are alternatives, all marked
    /// required in the reference (`bedrock:InvokeModel` names one model: a
    /// foundation model, an inference profile, a provisioned model...).
    pub only_named: bool,
}

impl ApiCall {
    /// A call in partition `aws`, region `us-east-1`.
    pub fn new(action: impl Into<String>, principal_arn: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            principal_arn: principal_arn.into(),
            partition: "aws".to_string(),
            region: "us-east-1".to_string(),
            values: BTreeMap::new(),
            resources: BTreeMap::new(),
            only_named: false,
        }
    }

    /// The call is authorised against the resources named with
    /// [`Self::resource`] / [`Self::touch`] only, not every required type:
    /// for actions whose resource types are alternatives.
    pub fn only_named(mut self) -> Self {
        self.only_named = true;
        self
    }

    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    pub fn value(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// The call also touches this optional resource type.
    pub fn touch(mut self, resource_type: impl Into<String>) -> Self {
        self.resources.entry(resource_type.into()).or_default();
        self
    }

    pub fn resource(mut self, resource_type: impl Into<String>, spec: ResourceSpec) -> Self {
        self.resources.insert(resource_type.into(), spec);
        self
    }

    /// One request context per resource the call is authorised against
    /// (one with resource `*` for an action without resource types).
    pub fn contexts(&self, kb: &Kb) -> Result<Vec<RequestContext>, CallError> {
        let account = principal_account(&self.principal_arn)
            .ok_or_else(|| CallError::Principal {
                action: self.action.clone(),
                principal: self.principal_arn.clone(),
            })?
            .to_string();
        let action = kb
            .action(&self.action)?
            .ok_or_else(|| CallError::UnknownAction {
                action: self.action.clone(),
            })?;
        let prefix = self.action.split(':').next().unwrap_or_default();
        let resource_types = match kb.iam_service(prefix)? {
            Some(service) => service.resource_types.as_slice(),
            None => &[],
        };
        let mut contexts = Vec::new();
        if action.resource_types.is_empty() {
            if let Some(named) = self.resources.keys().next() {
                return Err(CallError::UnknownResourceType {
                    action: self.action.clone(),
                    resource_type: named.clone(),
                    known: "none: the action has no resource types, its resource is *".to_string(),
                });
            }
            let keys: Vec<&str> = action.condition_keys.iter().map(String::as_str).collect();
            contexts.push(self.context(kb, "*", &account, None, &keys, None)?);
        } else {
            for touched in self.touched(action)? {
                let definition = resource_types
                    .iter()
                    .find(|definition| definition.name == touched.name);
                let spec = self.resources.get(&touched.name);
                // The resource type's table is a union over every action:
                // its request-tag keys describe other actions' requests.
                let table_keys = definition
                    .map_or(&[][..], |d| d.condition_keys.as_slice())
                    .iter()
                    .map(String::as_str)
                    .filter(|key| !REQUEST_TAG_KEYS.contains(key));
                let keys: Vec<&str> = touched
                    .condition_keys
                    .iter()
                    .chain(&action.condition_keys)
                    .map(String::as_str)
                    .chain(table_keys)
                    .collect();
                let arn = self.arn(&touched.name, definition, spec, &account);
                contexts.push(self.context(
                    kb,
                    &arn,
                    &account,
                    Some(&touched.name),
                    &keys,
                    spec,
                )?);
            }
        }
        self.check_every_value_placed(&contexts)?;
        self.apply_value_types(kb, &mut contexts)?;
        Ok(contexts)
    }

    /// Required resource types, plus the optional ones the caller named.
    fn touched<'a>(&self, action: &'a IamAction) -> Result<Vec<&'a ActionResource>, CallError> {
        let known = || {
            action
                .resource_types
                .iter()
                .map(|resource| resource.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(unknown) = self.resources.keys().find(|name| {
            !action
                .resource_types
                .iter()
                .any(|resource| &resource.name == *name)
        }) {
            return Err(CallError::UnknownResourceType {
                action: self.action.clone(),
                resource_type: unknown.clone(),
                known: known(),
            });
        }
        let only_named = self.only_named && !self.resources.is_empty();
        let mut touched: Vec<&ActionResource> = action
            .resource_types
            .iter()
            .filter(|resource| {
                (resource.required && !only_named) || self.resources.contains_key(&resource.name)
            })
            .collect();
        if touched.is_empty() {
            match action.resource_types.as_slice() {
                [only] => touched.push(only),
                _ => {
                    return Err(CallError::ChooseResourceTypes {
                        action: self.action.clone(),
                        options: known(),
                    });
                }
            }
        }
        Ok(touched)
    }

    /// The caller's ARN, or the first ARN format with placeholders filled.
    fn arn(
        &self,
        resource_type: &str,
        definition: Option<&IamResourceType>,
        spec: Option<&ResourceSpec>,
        account: &str,
    ) -> String {
        if let Some(arn) = spec.and_then(|spec| spec.arn.clone()) {
            return arn;
        }
        let format = definition
            .and_then(|definition| definition.arn_formats.first())
            .cloned()
            .unwrap_or_else(|| {
                format!("arn:${{Partition}}:{resource_type}:${{Region}}:${{Account}}:${{Id}}")
            });
        let mut arn = String::with_capacity(format.len());
        let mut rest = format.as_str();
        while let Some(start) = rest.find("${") {
            let Some(length) = rest[start..].find('}') else {
                break;
            };
            arn.push_str(&rest[..start]);
            let name = &rest[start + 2..start + length];
            let value = match name {
                "Partition" => self.partition.clone(),
                "Region" => self.region.clone(),
                "Account" => spec
                    .and_then(|spec| spec.account.clone())
                    .unwrap_or_else(|| account.to_string()),
                other => spec
                    .and_then(|spec| spec.placeholders.get(other).cloned())
                    .unwrap_or_else(|| format!("example-{}", other.to_ascii_lowercase())),
            };
            arn.push_str(&value);
            rest = &rest[start + length + 1..];
        }
        arn.push_str(rest);
        arn
    }

    /// The request context on one resource. `keys`: the action's and the
    /// resource type's condition keys; the global keys that are not
    /// resource-scoped apply as well.
    fn context(
        &self,
        kb: &Kb,
        resource: &str,
        account: &str,
        resource_type: Option<&str>,
        keys: &[&str],
        spec: Option<&ResourceSpec>,
    ) -> Result<RequestContext, CallError> {
        let applies = |key: &str| -> Result<bool, CallError> {
            Ok(keys
                .iter()
                .any(|known| gensec_kb::paths::key_matches(known, key))
                || global_applies(kb, key)?)
        };
        let arn_account = principal_account(resource);
        let resource_account = spec
            .and_then(|spec| spec.account.as_deref())
            .or(arn_account)
            .unwrap_or(account);
        let mut context = RequestContext::new(&self.principal_arn, &self.action, resource)
            .with_resource_account(resource_account);
        context.resource_type = resource_type.map(str::to_string);
        context.set("aws:PrincipalArn", self.principal_arn.as_str());
        context.set("aws:PrincipalAccount", account);
        context.set("aws:RequestedRegion", self.region.as_str());
        for (key, value) in &self.values {
            if applies(key)? {
                context.set(key.clone(), value.clone());
            }
        }
        for (key, value) in spec.map(|spec| &spec.values).into_iter().flatten() {
            if !applies(key)? {
                return Err(CallError::ResourceKeyNotApplicable {
                    action: self.action.clone(),
                    resource_type: resource_type.unwrap_or("*").to_string(),
                    key: key.clone(),
                });
            }
            context.set(key.clone(), value.clone());
        }
        Ok(context)
    }

    /// A key given for the call that no context takes is a mistake (a typo,
    /// or a key of another action): say so rather than test without it.
    fn check_every_value_placed(&self, contexts: &[RequestContext]) -> Result<(), CallError> {
        for key in self.values.keys() {
            if !contexts.iter().any(|context| context.get(key).is_some()) {
                let resource_types = contexts
                    .iter()
                    .map(|context| context.resource_type.as_deref().unwrap_or("*"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(CallError::KeyNotApplicable {
                    action: self.action.clone(),
                    key: key.clone(),
                    resource_types,
                });
            }
        }
        Ok(())
    }

    /// Multivalued keys (`ArrayOf...`) always hold a set; single-valued
    /// keys never do.
    fn apply_value_types(&self, kb: &Kb, contexts: &mut [RequestContext]) -> Result<(), CallError> {
        for context in contexts {
            for (key, value) in context.values.iter_mut() {
                let multivalued = kb
                    .condition_key(key)?
                    .is_some_and(|definition| definition.value_type.starts_with("ArrayOf"));
                match (multivalued, &*value) {
                    (true, ContextValue::Single(single)) => {
                        *value = ContextValue::Multi(vec![single.clone()]);
                    }
                    (false, ContextValue::Multi(_)) => {
                        return Err(CallError::SingleValuedKey {
                            action: self.action.clone(),
                            key: key.clone(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
