//! In-memory fakes of the ports, for unit tests here and in other crates.

use crate::layout::ObjectKey;
use crate::ports::{Created, MailError, Mailer, ObjectInfo, ObjectStore, StoreError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A store in a `BTreeMap`, keeping old versions like a versioned bucket.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<Vec<u8>>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every current object with its bytes, for before/after comparisons.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter_map(|(k, v)| v.last().map(|b| (k.clone(), b.clone())))
            .collect()
    }

    pub fn versions(&self, key: &str) -> usize {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).map_or(0, Vec::len)
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get(key.as_str()).and_then(|v| v.last().cloned()))
    }

    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.as_str().to_owned()).or_default().push(bytes);
        Ok(())
    }

    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let versions = map.entry(key.as_str().to_owned()).or_default();
        if versions.is_empty() {
            versions.push(bytes);
            Ok(Created::Now)
        } else {
            Ok(Created::AlreadyExisted)
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| {
                let last = v.last()?;
                Some(ObjectInfo {
                    key: ObjectKey::parse(k).ok()?,
                    size: last.len() as u64,
                    last_modified: None,
                })
            })
            .collect())
    }

    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.remove(key.as_str()).map_or(0, |v| v.len()))
    }
}

/// A mailer that keeps what it was asked to send.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<(Vec<String>, Vec<u8>)>>,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push((to.to_vec(), raw));
        Ok(format!("memory-{}", sent.len()))
    }
}
