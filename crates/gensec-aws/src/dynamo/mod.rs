//! DynamoDB adapters: the control library, request tracking and the
//! once-per-finding state. Items are plain attribute maps; documents that are
//! only ever read whole are kept as one JSON string attribute.

mod decisions;
mod findings;
mod library;
mod requests;

pub use findings::DynamoFindingState;
pub use library::DynamoControlLibrary;
pub use requests::DynamoRequestTracker;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use gensec_core::{Error, Result};
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute, or a fatal error naming the table and attribute.
pub(crate) fn get_s<'a>(item: &'a Item, table: &str, name: &str) -> Result<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| malformed(table, name))
}

pub(crate) fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, table: &str, name: &str) -> Result<T> {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| malformed(table, name))
}

pub(crate) fn get_time(item: &Item, table: &str, name: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(get_s(item, table, name)?)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| malformed(table, name))
}

pub(crate) fn opt_time(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    opt_s(item, name)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
}

fn malformed(table: &str, name: &str) -> Error {
    Error::Fatal(format!(
        "DynamoDB table {table}: an item lacks attribute {name:?} or has the wrong type"
    ))
}

/// Fixed-width UTC time, so string order is time order (GSI sort keys and
/// condition expressions compare strings).
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn now() -> String {
    timestamp(Utc::now())
}
