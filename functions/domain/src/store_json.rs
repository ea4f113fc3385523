//! Reading and writing JSON objects through the store port.

use crate::layout::ObjectKey;
use crate::ports::{ObjectStore, StoreError};
use serde::{de::DeserializeOwned, Serialize};

/// Reads and parses a JSON object; a stored object that does not parse is a
/// store failure (someone wrote it by hand), not the caller's fault.
pub async fn read<T: DeserializeOwned>(
    store: &(impl ObjectStore + ?Sized),
    key: &ObjectKey,
) -> Result<Option<T>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Failed(format!("{key} is not valid: {e}"))),
    }
}

pub async fn write<T: Serialize>(
    store: &(impl ObjectStore + ?Sized),
    key: &ObjectKey,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Failed(e.to_string()))?;
    store.put(key, bytes).await
}
