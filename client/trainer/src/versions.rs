//! The older versions of an object, for a student's export: the store port only
//! reads current versions, so they are read here from what each store keeps.
//!
//! - A bucket: `ListObjectVersions` and a `GetObject` per version id.
//! - The local store: `versions/<key>~/<nanos>-<random>` files, each encrypted under
//!   its key like the current object. One opens by placing it as the current object
//!   of a scratch store that shares the data key (a link to `store.key`), so the
//!   adapter's own decryption is used and no key material is copied.

use crate::target::Opened;
use anyhow::Context;
use chrono::{DateTime, Utc};
use ework_adapters::local::LocalStore;
use ework_domain::layout::ObjectKey;
use ework_domain::ports::ObjectStore;

/// One earlier version of an object.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub stored_at: Option<DateTime<Utc>>,
    pub bytes: Vec<u8>,
}

/// Every version of `key` but the current one, oldest first.
pub async fn older_versions(opened: &Opened, key: &ObjectKey) -> anyhow::Result<Vec<Version>> {
    if let Some(dir) = &opened.local_dir {
        return local(dir, key).await;
    }
    match (&opened.stack, &opened.aws) {
        (Some(stack), Some(aws)) => bucket(aws, &stack.bucket, key).await,
        _ => Ok(Vec::new()),
    }
}

/// Suffix of the local store's file names (never part of an id).
const FILE_SUFFIX: &str = "~";

async fn local(data_dir: &std::path::Path, key: &ObjectKey) -> anyhow::Result<Vec<Version>> {
    let kept = data_dir
        .join("versions")
        .join(format!("{}{FILE_SUFFIX}", key.as_str()));
    let mut names: Vec<String> = match std::fs::read_dir(&kept) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", kept.display())),
    };
    if names.is_empty() {
        return Ok(Vec::new());
    }
    // Named by the nanosecond they were kept at, zero-padded: sorted by name is by age.
    names.sort();
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    let store_key = std::fs::canonicalize(data_dir.join("store.key"))
        .with_context(|| format!("finding {}", data_dir.join("store.key").display()))?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(&store_key, scratch.path().join("store.key"))
        .context("linking the data key into a scratch store")?;
    #[cfg(not(unix))]
    std::fs::copy(&store_key, scratch.path().join("store.key"))
        .context("copying the data key into a scratch store")?;
    let current = scratch
        .path()
        .join("objects")
        .join(format!("{}{FILE_SUFFIX}", key.as_str()));
    if let Some(parent) = current.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let store = LocalStore::open(scratch.path()).context("opening a scratch store")?;
    let mut found = Vec::new();
    for name in names {
        std::fs::copy(kept.join(&name), &current)
            .with_context(|| format!("reading {}", kept.join(&name).display()))?;
        let bytes = store
            .get(key)
            .await
            .with_context(|| format!("opening version {name} of {key}"))?
            .unwrap_or_default();
        let stored_at = name
            .split('-')
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            .map(DateTime::from_timestamp_nanos);
        found.push(Version {
            id: name,
            stored_at,
            bytes,
        });
    }
    Ok(found)
}

async fn bucket(
    aws: &aws_config::SdkConfig,
    bucket: &str,
    key: &ObjectKey,
) -> anyhow::Result<Vec<Version>> {
    let s3 = ework_adapters::s3::s3_client(aws);
    let mut ids = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key.as_str())
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
            .with_context(|| format!("listing the versions of {key}"))?;
        for v in page.versions() {
            if v.key() == Some(key.as_str()) && v.is_latest() != Some(true) {
                if let Some(id) = v.version_id() {
                    let at = v
                        .last_modified()
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
                    ids.push((id.to_owned(), at));
                }
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    ids.sort_by_key(|(_, at)| *at);
    let mut found = Vec::new();
    for (id, stored_at) in ids {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(key.as_str())
            .version_id(&id)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
            .with_context(|| format!("reading version {id} of {key}"))?;
        let bytes = got
            .body
            .collect()
            .await
            .with_context(|| format!("reading version {id} of {key}"))?
            .into_bytes()
            .to_vec();
        found.push(Version {
            id,
            stored_at,
            bytes,
        });
    }
    Ok(found)
}
