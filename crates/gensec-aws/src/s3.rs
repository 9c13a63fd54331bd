//! [`ObjectStore`] on an S3 bucket.
//!
//! S3 cannot rename, so an attempt's package stays where it was written,
//! under `<service>/<request>/attempt-<n>/`: its manifest is written last
//! (the commit point), then `<service>/<request>/current.json` is pointed at
//! it and the request record names it; the previously published attempt is
//! removed afterwards.

use crate::error::{aws_error, code};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use gensec_core::ports::ObjectStore;
use gensec_core::{Error, Result};

/// One bucket; keys are used as they are.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<()> {
        // S3 PUTs are atomic: readers see the old object or the whole new one.
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| aws_error(format!("writing {}", self.locate(key)), err))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) if matches!(code(&err), Some("NoSuchKey")) => return Ok(None),
            Err(err) => return Err(aws_error(format!("reading {}", self.locate(key)), err)),
        };
        let body = output.body.collect().await.map_err(|err| Error::Storage {
            what: format!("reading {}", self.locate(key)),
            message: err.to_string(),
            retryable: true,
            source: Some(Box::new(err)),
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|err| aws_error(format!("listing {}", self.locate(prefix)), err))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_string)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    fn locate(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn staging_prefix(&self, package_prefix: &str, token: &str) -> String {
        format!("{package_prefix}{token}/")
    }

    async fn publish(&self, staging_prefix: &str, package_prefix: &str) -> Result<String> {
        let pointer_key = format!("{package_prefix}{CURRENT_POINTER}");
        let earlier = match self.get(&pointer_key).await? {
            Some(body) => serde_json::from_slice::<CurrentPackage>(&body)
                .ok()
                .map(|pointer| pointer.prefix),
            None => None,
        };
        let pointer = CurrentPackage {
            prefix: staging_prefix.to_string(),
        };
        let body = serde_json::to_vec_pretty(&pointer)
            .map_err(|err| Error::Fatal(format!("serialising {pointer_key}: {err}")))?;
        self.put(&pointer_key, body, "application/json").await?;
        if let Some(earlier) = earlier.filter(|earlier| earlier != staging_prefix) {
            self.discard(&earlier).await?;
        }
        Ok(staging_prefix.to_string())
    }

    async fn discard(&self, staging_prefix: &str) -> Result<()> {
        let keys = self.list(staging_prefix).await?;
        // DeleteObjects takes at most 1,000 keys per call.
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|err| Error::Fatal(format!("naming objects to delete: {err}")))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|err| Error::Fatal(format!("naming objects to delete: {err}")))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|err| {
                    aws_error(format!("deleting {}", self.locate(staging_prefix)), err)
                })?;
            if let Some(failed) = output.errors().first() {
                return Err(Error::Storage {
                    what: format!("deleting {}", self.locate(staging_prefix)),
                    message: format!(
                        "{} of {} objects were not deleted, e.g. {}: {}",
                        output.errors().len(),
                        batch.len(),
                        failed.key().unwrap_or("?"),
                        failed.message().unwrap_or("no reason given")
                    ),
                    retryable: true,
                    source: None,
                });
            }
        }
        Ok(())
    }
}

/// Key, under a package prefix, of the pointer to its published attempt.
pub const CURRENT_POINTER: &str = "current.json";

/// `<service>/<request>/current.json`: which attempt's package is the published one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CurrentPackage {
    pub prefix: String,
}
