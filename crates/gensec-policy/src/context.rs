//! The request context: who asks, for which action, on which resource, with
//! which condition keys. IAM authorises an API call once per resource it
//! touches; each of those is one `RequestContext` (see [`crate::call`]).

use crate::pattern::Variables;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value of a condition key: one value, or a set for multivalued keys
/// (`aws:TagKeys`, `aws:CalledVia`, `ArrayOf...` keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    pub fn single(value: impl Into<String>) -> Self {
        ContextValue::Single(value.into())
    }

    pub fn multi<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> Self {
        ContextValue::Multi(values.into_iter().map(Into::into).collect())
    }

    /// A multivalued key without values: IAM's "null dataset", which
    /// evaluates as if the key were absent.
    pub fn is_null_dataset(&self) -> bool {
        matches!(self, ContextValue::Multi(values) if values.is_empty())
    }
}

impl From<&str> for ContextValue {
    fn from(value: &str) -> Self {
        ContextValue::Single(value.to_string())
    }
}

/// One authorisation request: principal, action, resource and context keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// ARN of the calling principal (`arn:aws:sts::1111:assumed-role/R/s`),
    /// or a service principal (`cloudtrail.amazonaws.com`).
    pub principal: String,
    /// `service:Action`.
    pub action: String,
    /// The resource ARN, or `*` for an action without resource types.
    pub resource: String,
    /// The account that owns the resource (S3 ARNs carry none).
    pub resource_account: String,
    /// The knowledge base's resource type this context is for (`instance`),
    /// when it was built from the knowledge base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Condition keys present in the request; names are case-insensitive.
    #[serde(default)]
    pub values: BTreeMap<String, ContextValue>,
}

impl RequestContext {
    /// A context with no condition keys; `resource_account` defaults to the
    /// principal's account (a same-account request).
    pub fn new(
        principal: impl Into<String>,
        action: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        let principal = principal.into();
        let resource_account = principal_account(&principal)
            .unwrap_or_default()
            .to_string();
        Self {
            principal,
            action: action.into(),
            resource: resource.into(),
            resource_account,
            resource_type: None,
            values: BTreeMap::new(),
        }
    }

    pub fn with_resource_account(mut self, account: impl Into<String>) -> Self {
        self.resource_account = account.into();
        self
    }

    /// Set a key, replacing one of the same name in any case.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.set(key, value);
        self
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<ContextValue>) {
        let key = key.into();
        self.values
            .retain(|existing, _| !existing.eq_ignore_ascii_case(&key));
        self.values.insert(key, value.into());
    }

    /// A key's value, by case-insensitive name.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.values.get(key).or_else(|| {
            self.values
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, value)| value)
        })
    }

    /// The key's value unless absent or a null dataset.
    pub(crate) fn present(&self, key: &str) -> Option<&ContextValue> {
        self.get(key).filter(|value| !value.is_null_dataset())
    }

    /// The principal's account, from its ARN.
    pub fn principal_account(&self) -> Option<&str> {
        principal_account(&self.principal)
    }

    /// Same account, as IAM decides which policies must allow the request.
    pub fn is_same_account(&self) -> bool {
        self.principal_account() == Some(self.resource_account.as_str())
    }
}

impl Variables for RequestContext {
    fn variable(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            ContextValue::Single(value) => Some(value),
            ContextValue::Multi(_) => None,
        }
    }
}

/// The account field of an ARN (`arn:aws:iam::111122223333:role/x`).
pub fn principal_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next() != Some("arn") {
        return None;
    }
    let account = parts.nth(3)?;
    parts.next()?;
    (!account.is_empty()).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_replace_each_other() {
        let context =
            RequestContext::new("arn:aws:iam::111122223333:user/alice", "s3:GetObject", "*")
                .with("aws:PrincipalTag/Team", "red")
                .with("AWS:principaltag/team", "blue");
        assert_eq!(context.values.len(), 1);
        assert_eq!(
            context.get("aws:principaltag/TEAM"),
            Some(&ContextValue::single("blue"))
        );
    }

    #[test]
    fn accounts_come_from_arns() {
        assert_eq!(
            principal_account("arn:aws:iam::111122223333:role/x"),
            Some("111122223333")
        );
        assert_eq!(principal_account("arn:aws:s3:::bucket"), None);
        assert_eq!(principal_account("cloudtrail.amazonaws.com"), None);
        let context = RequestContext::new(
            "arn:aws:iam::111122223333:user/a",
            "s3:GetObject",
            "arn:aws:s3:::b/k",
        );
        assert!(context.is_same_account());
        assert!(
            !context
                .with_resource_account("444455556666")
                .is_same_account()
        );
    }

    #[test]
    fn empty_sets_are_null_datasets_and_lists_are_not_variables() {
        let context = RequestContext::new("arn:aws:iam::1:user/a", "s3:GetObject", "*")
            .with("aws:TagKeys", ContextValue::multi(Vec::<String>::new()))
            .with("aws:CalledVia", ContextValue::multi(["a"]));
        assert!(context.get("aws:TagKeys").is_some());
        assert!(context.present("aws:TagKeys").is_none());
        assert_eq!(context.variable("aws:CalledVia"), None);
    }
}
