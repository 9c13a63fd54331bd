//! An [`ObjectStore`] in memory, for tests of stages and adapters that need
//! a store without a file system.

use crate::error::Result;
use crate::ports::ObjectStore;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Objects in a sorted map; publishing moves an attempt's keys under the package prefix.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic while holding the lock leaves the map usable: recover it.
        self.objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One object, straight from the map.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects().get(key).cloned()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.objects().keys().cloned().collect()
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<()> {
        self.objects().insert(key.to_string(), body);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.object(key))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .objects()
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn locate(&self, key: &str) -> String {
        format!("memory://{key}")
    }

    fn staging_prefix(&self, package_prefix: &str, token: &str) -> String {
        format!(".staging/{package_prefix}{token}/")
    }

    async fn publish(&self, staging_prefix: &str, package_prefix: &str) -> Result<String> {
        let mut objects = self.objects();
        objects.retain(|key, _| !key.starts_with(package_prefix));
        let staged: Vec<String> = objects
            .keys()
            .filter(|key| key.starts_with(staging_prefix))
            .cloned()
            .collect();
        for key in staged {
            if let Some(body) = objects.remove(&key) {
                let relative = &key[staging_prefix.len()..];
                objects.insert(format!("{package_prefix}{relative}"), body);
            }
        }
        Ok(package_prefix.to_string())
    }

    async fn discard(&self, staging_prefix: &str) -> Result<()> {
        self.objects()
            .retain(|key, _| !key.starts_with(staging_prefix));
        Ok(())
    }
}
