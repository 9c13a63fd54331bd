//! Test support: SDK clients pointed at a moto server on 127.0.0.1 and fresh
//! tables, buckets and topics created from the deployment's definitions.
//! `scripts/test` starts moto and exports `GENSEC_MOTO_ENDPOINT`.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::Clients;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The table definitions the CDK app deploys.
pub const TABLES_JSON: &str = include_str!("../tables.json");

#[derive(Debug, Deserialize)]
pub struct TableDef {
    pub partition_key: String,
    #[serde(default)]
    pub sort_key: Option<String>,
    #[serde(default)]
    pub indexes: Vec<IndexDef>,
    #[serde(default)]
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct IndexDef {
    pub name: String,
    pub partition_key: String,
    pub sort_key: String,
}

/// Table definitions by logical name (`library`, `requests`, ...).
pub fn table_defs() -> BTreeMap<String, TableDef> {
    let mut value: serde_json::Value = serde_json::from_str(TABLES_JSON).unwrap();
    value.as_object_mut().unwrap().remove("_comment");
    serde_json::from_value(value).unwrap()
}

/// The moto endpoint, or a panic that says how to start one.
pub fn moto_endpoint() -> String {
    std::env::var("GENSEC_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "GENSEC_MOTO_ENDPOINT is not set: these tests talk to a moto server; \
             run scripts/test, which installs and starts one on 127.0.0.1"
        )
    })
}

/// SDK configuration for moto: fixed region and test credentials.
pub async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

pub async fn moto_clients() -> Clients {
    Clients::new(&moto_config().await)
}

/// A name unique to this process and call, so tests sharing one moto server
/// never see each other's resources.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_subsec_nanos()
    )
}

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap()
}

/// Create the table `logical` (from `tables.json`) under a fresh name.
pub async fn create_table(clients: &Clients, logical: &str) -> String {
    let defs = table_defs();
    let def = &defs[logical];
    let name = unique(logical);
    let mut attributes = vec![def.partition_key.clone()];
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(&def.partition_key, KeyType::Hash));
    if let Some(sort) = &def.sort_key {
        request = request.key_schema(key(sort, KeyType::Range));
        attributes.push(sort.clone());
    }
    for index in &def.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .key_schema(key(&index.partition_key, KeyType::Hash))
                .key_schema(key(&index.sort_key, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        );
        attributes.extend([index.partition_key.clone(), index.sort_key.clone()]);
    }
    attributes.sort();
    attributes.dedup();
    for attribute in attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
    if let Some(ttl) = &def.ttl_attribute {
        clients
            .dynamodb
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    name
}

/// Create a fresh bucket.
pub async fn create_bucket(clients: &Clients) -> String {
    let name = unique("gensec");
    clients
        .s3
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    name
}

/// Create a fresh SNS topic; returns its ARN.
pub async fn create_topic(clients: &Clients) -> String {
    let output = clients
        .sns
        .create_topic()
        .name(unique("alerts"))
        .send()
        .await
        .unwrap();
    output.topic_arn().unwrap().to_string()
}

/// Create a state machine from an ASL definition; returns its ARN.
pub async fn create_state_machine(clients: &Clients, definition: &str) -> String {
    let output = clients
        .sfn
        .create_state_machine()
        .name(unique("pipeline"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/gensec-state-machine")
        .send()
        .await
        .unwrap();
    output.state_machine_arn().to_string()
}
