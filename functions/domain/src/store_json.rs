//! Reading and writing JSON objects through the store port.

use crate::layout::ObjectKey;
use crate::ports::{Created, ObjectStore, StoreError, Swapped};
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

/// How many times [`update`] re-reads after losing a race before it gives up.
const UPDATE_ATTEMPTS: u32 = 64;

/// Changes one shared JSON object without losing anyone else's update: reads it
/// (an absent object reads as `T::default()`), applies `change`, and writes the
/// result only if nobody wrote in between (create-once when it was absent, else a
/// compare-and-swap on its tag). When another writer came first it reads again and
/// applies `change` to what that writer left, so `change` must be a function of the
/// value it is given (e.g. "remove X, add Y"), never of a value read earlier.
/// Nothing is written when the change leaves the object as it was.
pub async fn update<T, R, E>(
    store: &(impl ObjectStore + ?Sized),
    key: &ObjectKey,
    mut change: impl FnMut(&mut T) -> Result<R, E>,
) -> Result<R, E>
where
    T: DeserializeOwned + Serialize + Default,
    E: From<StoreError>,
{
    for attempt in 0..UPDATE_ATTEMPTS {
        let current = store.get_tagged(key).await?;
        let mut value: T = match &current {
            Some((bytes, _)) => serde_json::from_slice(bytes)
                .map_err(|e| StoreError::Failed(format!("{key} is not valid: {e}")))?,
            None => T::default(),
        };
        let outcome = change(&mut value)?;
        let bytes =
            serde_json::to_vec_pretty(&value).map_err(|e| StoreError::Failed(e.to_string()))?;
        let won = match &current {
            Some((old, _)) if *old == bytes => return Ok(outcome),
            Some((_, tag)) => store.put_if_match(key, bytes, tag).await? == Swapped::Now,
            None => store.create(key, bytes).await? == Created::Now,
        };
        if won {
            return Ok(outcome);
        }
        // Lost a race: back off a little (more each time, with jitter) so that a
        // crowd of writers spreads out instead of colliding again in lockstep.
        let spread = 1 + u64::from(attempt.min(8)) * 4;
        let pause = rand::random::<u64>() % spread;
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    Err(StoreError::Unavailable(format!(
        "{key} is being changed by too many writers at once; try again"
    ))
    .into())
}
