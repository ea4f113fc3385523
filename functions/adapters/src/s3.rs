//! The S3 store: one versioned, encrypted bucket.

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{Created, Etag, ObjectInfo, ObjectStore, StoreError, Swapped};

/// Loads the AWS configuration from the standard chain (env, profile, role);
/// `AWS_ENDPOINT_URL` points it at an emulator.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// An S3 client; path-style addressing when a custom endpoint is configured,
/// because emulators on 127.0.0.1 have no per-bucket host names.
pub fn s3_client(config: &aws_config::SdkConfig) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// A bucket used as the object store. Every write asks for server-side encryption.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3Store {
    /// `kms_key_id`: encrypt with this KMS key (SSE-KMS); `None` uses SSE-S3 (AES256).
    pub fn new(client: Client, bucket: String, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket,
            kms_key_id: kms_key_id.filter(|k| !k.trim().is_empty()),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn encrypted_put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type("application/json")
            .body(ByteStream::from(bytes));
        match &self.kms_key_id {
            Some(kms) => put
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(kms),
            None => put.server_side_encryption(ServerSideEncryption::Aes256),
        }
    }
}

/// Sorts SDK failures into "try again later" and "broken".
fn classify<E>(what: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let server_side = err
        .raw_response()
        .is_some_and(|r| r.status().is_server_error() || r.status().as_u16() == 429);
    let retryable = server_side
        || matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        )
        || matches!(
            err.code(),
            Some(
                "SlowDown"
                    | "ServiceUnavailable"
                    | "InternalError"
                    | "RequestTimeout"
                    | "Throttling"
            )
        );
    let detail = match err.code() {
        Some(code) => format!("{what}: {code}: {}", err.message().unwrap_or_default()),
        None => format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&err)),
    };
    if retryable {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Failed(detail)
    }
}

fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await;
        match result {
            Ok(out) => {
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("reading {key}: {e}")))?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(err) if matches!(err.as_service_error(), Some(e) if e.is_no_such_key()) => Ok(None),
            Err(err) => Err(classify(&format!("reading {key}"), err)),
        }
    }

    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await;
        match result {
            Ok(out) => {
                let etag = out.e_tag().map(|t| Etag(t.to_owned())).ok_or_else(|| {
                    StoreError::Failed(format!("reading {key}: the answer carried no ETag"))
                })?;
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("reading {key}: {e}")))?;
                Ok(Some((body.into_bytes().to_vec(), etag)))
            }
            Err(err) if matches!(err.as_service_error(), Some(e) if e.is_no_such_key()) => Ok(None),
            Err(err) => Err(classify(&format!("reading {key}"), err)),
        }
    }

    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        match self
            .encrypted_put(key, bytes)
            .if_match(&expected.0)
            .send()
            .await
        {
            Ok(_) => Ok(Swapped::Now),
            // 412: another writer came first; 409: one is writing right now; 404: the
            // object was removed. In each case the caller reads again and decides.
            Err(err) if matches!(http_status(&err), Some(404 | 409 | 412)) => Ok(Swapped::Conflict),
            Err(err) => Err(classify(&format!("replacing {key}"), err)),
        }
    }

    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.encrypted_put(key, bytes)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&format!("writing {key}"), e))
    }

    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        match self
            .encrypted_put(key, bytes)
            .if_none_match("*")
            .send()
            .await
        {
            Ok(_) => Ok(Created::Now),
            Err(err) if http_status(&err) == Some(412) => Ok(Created::AlreadyExisted),
            Err(err) => Err(classify(&format!("creating {key}"), err)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&format!("listing {prefix}"), e))?;
            for object in page.contents() {
                let Some(raw) = object.key() else { continue };
                // Objects put there by hand with odd names are not ours: skip them.
                let Ok(key) = ObjectKey::parse(raw) else {
                    tracing::warn!(key = raw, "skipping object with an unexpected key");
                    continue;
                };
                found.push(ObjectInfo {
                    key,
                    size: object.size().unwrap_or_default().max(0) as u64,
                    last_modified: object.last_modified().and_then(to_chrono),
                });
            }
        }
        Ok(found)
    }

    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let doomed = self.versions_of(key).await?;
        self.delete_versions(key, doomed.into_iter().map(|v| v.id))
            .await
    }

    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let doomed = self.versions_of(key).await?;
        // Without a version id a delete would hide the current object instead.
        let old = doomed
            .into_iter()
            .filter(|v| !v.latest && v.id.is_some())
            .map(|v| v.id);
        self.delete_versions(key, old).await
    }
}

/// One version or delete marker of a key.
struct Version {
    id: Option<String>,
    latest: bool,
}

impl S3Store {
    /// Every version and delete marker of exactly `key` (not of keys it prefixes).
    async fn versions_of(&self, key: &ObjectKey) -> Result<Vec<Version>, StoreError> {
        let mut found = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key.as_str())
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| classify(&format!("listing versions of {key}"), e))?;
            for v in page.versions() {
                if v.key() == Some(key.as_str()) {
                    found.push(Version {
                        id: v.version_id().map(str::to_owned),
                        latest: v.is_latest() == Some(true),
                    });
                }
            }
            for m in page.delete_markers() {
                if m.key() == Some(key.as_str()) {
                    found.push(Version {
                        id: m.version_id().map(str::to_owned),
                        latest: m.is_latest() == Some(true),
                    });
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        }
        Ok(found)
    }

    async fn delete_versions(
        &self,
        key: &ObjectKey,
        versions: impl IntoIterator<Item = Option<String>>,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for version in versions {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .set_version_id(version)
                .send()
                .await
                .map_err(|e| classify(&format!("deleting {key}"), e))?;
            removed += 1;
        }
        Ok(removed)
    }
}
