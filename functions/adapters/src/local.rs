//! The local store: the same keys as the bucket, as files under a data dir, each
//! encrypted at rest with AES-256-GCM.
//!
//! Layout under the data dir:
//! - `store.key`: the 32-byte data key, created once with mode 0600.
//! - `objects/<seg>/.../<last>~`: current objects. The `~` suffix (never part of an
//!   id) keeps a file name from colliding with a directory of the same name, e.g.
//!   a student called `questions.json`.
//! - `versions/<seg>/.../<last>~/<nanos>-<random>`: earlier versions, like bucket versioning.
//! - `tmp/<owner>/`: writes land here first and are renamed into place, so a reader
//!   never sees half an object. Each open store owns one folder, marked by a held
//!   `flock` on its `.owner` file; the kernel drops that lock when the process dies
//!   (even by `kill -9`), so the next open removes the folders nobody owns.
//! - `write.lock`: held (`flock`, across processes) while an object is replaced, so
//!   a compare-and-swap and a plain write never interleave.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{Created, Etag, ObjectInfo, ObjectStore, StoreError, Swapped};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"EWK1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const OVERHEAD: u64 = (MAGIC.len() + NONCE_LEN + TAG_LEN) as u64;
const FILE_SUFFIX: char = '~';

/// An encrypted directory store. Cheap to clone.
#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    cipher: Aes256Gcm,
    /// This store's own temp folder under `tmp/`.
    tmp: PathBuf,
    /// Held for the store's lifetime: marks `tmp` as in use.
    _owner: fs::File,
}

impl Drop for Inner {
    /// A store that closes cleanly leaves no temp folder (one killed leaves it to
    /// the next open's sweep).
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.inner.root)
            .finish()
    }
}

/// Running out of file descriptors, memory or disk passes: the caller should try
/// again later (the API answers 503 with a retry hint), not report a broken store.
fn failed(context: &str, e: impl std::fmt::Display + 'static) -> StoreError {
    const EXHAUSTED: [i32; 4] = [
        24, /* EMFILE */
        23, /* ENFILE */
        28, /* ENOSPC */
        12, /* ENOMEM */
    ];
    let exhausted = (&e as &dyn std::any::Any)
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error)
        .is_some_and(|code| EXHAUSTED.contains(&code));
    if exhausted {
        StoreError::Unavailable(format!("{context}: {e}"))
    } else {
        StoreError::Failed(format!("{context}: {e}"))
    }
}

/// The tag of a stored file: a digest of its sealed bytes (a fresh nonce per write
/// makes every write's tag new).
fn file_tag(sealed: &[u8]) -> Etag {
    Etag(hex::encode(&Sha256::digest(sealed)[..16]))
}

/// Removes temp folders whose owner is gone (its `flock` is free), and loose temp
/// files of older versions of the store.
fn sweep_orphaned_temp(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let owned = fs::File::open(path.join(".owner")).map(|f| f.try_lock().is_err());
            if !matches!(owned, Ok(true)) {
                let _ = fs::remove_dir_all(&path);
            }
        } else {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Creates this store's temp folder and takes its ownership lock.
fn own_temp_dir(tmp: &Path) -> Result<(PathBuf, fs::File), StoreError> {
    let mut name = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut name);
    let dir = tmp.join(hex::encode(name));
    fs::create_dir(&dir).map_err(|e| failed("creating a temp folder", e))?;
    let owner = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join(".owner"))
        .map_err(|e| failed("creating a temp folder", e))?;
    owner
        .lock()
        .map_err(|e| failed("locking the temp folder", e))?;
    Ok((dir, owner))
}

impl LocalStore {
    /// Opens (creating on first use) a store in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = dir.as_ref().to_path_buf();
        for sub in ["objects", "versions", "tmp"] {
            fs::create_dir_all(root.join(sub))
                .map_err(|e| failed(&format!("creating {}", root.join(sub).display()), e))?;
        }
        let key = load_or_create_key(&root.join("store.key"))?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|e| failed("store key", e))?;
        sweep_orphaned_temp(&root.join("tmp"));
        let (tmp, owner) = own_temp_dir(&root.join("tmp"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                cipher,
                tmp,
                _owner: owner,
            }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| failed("store task", e))?
    }
}

fn load_or_create_key(path: &Path) -> Result<[u8; 32], StoreError> {
    let mut key = [0u8; 32];
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            rand::rngs::OsRng.fill_bytes(&mut key);
            file.write_all(&key)
                .and_then(|_| file.sync_all())
                .map_err(|e| failed("writing store.key", e))?;
            return Ok(key);
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed(&format!("creating {}", path.display()), e)),
    }
    let meta = fs::metadata(path).map_err(|e| failed("reading store.key", e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "store.key is readable by other users; chmod 600 it");
    }
    let mut file = fs::File::open(path).map_err(|e| failed("reading store.key", e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| failed("reading store.key", e))?;
    if bytes.len() != key.len() {
        return Err(StoreError::Failed(format!(
            "{} must hold exactly 32 bytes (found {}); restore it from a backup",
            path.display(),
            bytes.len()
        )));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

impl Inner {
    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        let mut path = self.root.join("objects");
        path.push(format!("{}{FILE_SUFFIX}", key.as_str()));
        path
    }

    fn versions_dir(&self, key: &ObjectKey) -> PathBuf {
        let mut path = self.root.join("versions");
        path.push(format!("{}{FILE_SUFFIX}", key.as_str()));
        path
    }

    fn encrypt(&self, key: &ObjectKey, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // The key is authenticated too, so a file moved to another key fails to open.
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: key.as_str().as_bytes(),
                },
            )
            .map_err(|_| StoreError::Failed(format!("encrypting {key}")))?;
        let mut out = Vec::with_capacity(sealed.len() + MAGIC.len() + NONCE_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn decrypt(&self, key: &ObjectKey, data: &[u8]) -> Result<Vec<u8>, StoreError> {
        let corrupt = || {
            StoreError::Failed(format!(
                "{key} cannot be decrypted (wrong store.key or damaged file)"
            ))
        };
        if data.len() < OVERHEAD as usize || &data[..MAGIC.len()] != MAGIC {
            return Err(corrupt());
        }
        let (nonce, sealed) = data[MAGIC.len()..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: key.as_str().as_bytes(),
                },
            )
            .map_err(|_| corrupt())
    }

    /// Writes sealed bytes to a fresh temp file, flushed to disk.
    fn write_temp(&self, sealed: &[u8]) -> Result<PathBuf, StoreError> {
        let mut name = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut name);
        let path = self.tmp.join(hex::encode(name));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| failed("creating temp file", e))?;
        file.write_all(sealed)
            .and_then(|_| file.sync_data())
            .map_err(|e| {
                let _ = fs::remove_file(&path);
                failed("writing temp file", e)
            })?;
        Ok(path)
    }

    fn ensure_parent(path: &Path) -> Result<(), StoreError> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| failed(&format!("creating {}", parent.display()), e))?;
        }
        Ok(())
    }

    fn keep_version(&self, key: &ObjectKey, current: &Path) -> Result<(), StoreError> {
        let dir = self.versions_dir(key);
        fs::create_dir_all(&dir).map_err(|e| failed("creating versions dir", e))?;
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let mut tag = [0u8; 4];
        rand::rngs::OsRng.fill_bytes(&mut tag);
        match fs::hard_link(
            current,
            dir.join(format!("{nanos:020}-{}", hex::encode(tag))),
        ) {
            Ok(()) => Ok(()),
            // Replaced or purged by a concurrent writer: nothing left to keep.
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(failed("keeping old version", e)),
        }
    }

    fn read_sealed(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(self.object_path(key)) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed(&format!("reading {key}"), e)),
        }
    }

    fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_sealed(key)?
            .map(|data| self.decrypt(key, &data))
            .transpose()
    }

    fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        self.read_sealed(key)?
            .map(|data| Ok((self.decrypt(key, &data)?, file_tag(&data))))
            .transpose()
    }

    /// Runs `f` holding the store-wide write lock (across processes).
    fn locked<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.root.join("write.lock"))
            .map_err(|e| failed("opening write.lock", e))?;
        lock.lock().map_err(|e| failed("locking write.lock", e))?;
        f()
        // The lock is released when `lock` is dropped.
    }

    /// Moves a finished temp file over the current object, keeping the old one as a
    /// version. Called with the write lock held.
    fn replace_with(&self, key: &ObjectKey, temp: &Path) -> Result<(), StoreError> {
        let target = self.object_path(key);
        // Under the lock, so a purge cannot remove the folder between here and the rename.
        Self::ensure_parent(&target)?;
        if target.exists() {
            self.keep_version(key, &target)?;
        }
        fs::rename(temp, &target).map_err(|e| failed(&format!("storing {key}"), e))
    }

    fn put(&self, key: &ObjectKey, bytes: &[u8]) -> Result<(), StoreError> {
        let temp = self.write_temp(&self.encrypt(key, bytes)?)?;
        let stored = self.locked(|| self.replace_with(key, &temp));
        if stored.is_err() {
            let _ = fs::remove_file(&temp);
        }
        stored
    }

    fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: &[u8],
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        let temp = self.write_temp(&self.encrypt(key, bytes)?)?;
        let outcome = self.locked(|| {
            let current = self.read_sealed(key)?;
            if current.as_deref().map(file_tag).as_ref() != Some(expected) {
                return Ok(Swapped::Conflict);
            }
            self.replace_with(key, &temp).map(|()| Swapped::Now)
        });
        if !matches!(outcome, Ok(Swapped::Now)) {
            let _ = fs::remove_file(&temp);
        }
        outcome
    }

    fn create(&self, key: &ObjectKey, bytes: &[u8]) -> Result<Created, StoreError> {
        let target = self.object_path(key);
        let temp = self.write_temp(&self.encrypt(key, bytes)?)?;
        // link(2) fails if the target exists: the exclusive create of a complete file.
        // A purge of the folder's last object removes the folder (erasure leaves no
        // folder named after a student), so a link that finds its folder gone makes
        // it again and retries.
        let mut outcome = Err(StoreError::Failed(format!("creating {key}: no attempt")));
        for _ in 0..8 {
            if let Err(e) = Self::ensure_parent(&target) {
                // The same race can hit the folder while it is being made.
                outcome = Err(e);
                continue;
            }
            outcome = match fs::hard_link(&temp, &target) {
                Ok(()) => Ok(Created::Now),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Created::AlreadyExisted),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    outcome = Err(failed(&format!("creating {key}"), e));
                    continue;
                }
                Err(e) => Err(failed(&format!("creating {key}"), e)),
            };
            break;
        }
        let _ = fs::remove_file(&temp);
        outcome
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let objects = self.root.join("objects");
        // Start at the deepest directory the prefix names completely.
        let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        if dir_part.split('/').any(|s| s == ".." || s == ".") {
            return Ok(Vec::new());
        }
        let start = if dir_part.is_empty() {
            objects.clone()
        } else {
            objects.join(dir_part)
        };
        let mut found = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(failed(&format!("listing {}", dir.display()), e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| failed("listing", e))?;
                let path = entry.path();
                let meta = entry.metadata().map_err(|e| failed("listing", e))?;
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Ok(rel) = path.strip_prefix(&objects) else {
                    continue;
                };
                let Some(rel) = rel.to_str().and_then(|r| r.strip_suffix(FILE_SUFFIX)) else {
                    continue;
                };
                if !rel.starts_with(prefix) {
                    continue;
                }
                let Ok(key) = ObjectKey::parse(rel) else {
                    continue;
                };
                found.push(ObjectInfo {
                    key,
                    size: meta.len().saturating_sub(OVERHEAD),
                    last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
                });
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.locked(|| self.purge_unlocked(key))
    }

    fn purge_unlocked(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let mut removed = 0;
        match fs::remove_file(self.object_path(key)) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(failed(&format!("removing {key}"), e)),
        }
        let versions = self.versions_dir(key);
        if let Ok(entries) = fs::read_dir(&versions) {
            removed += entries.count();
            fs::remove_dir_all(&versions)
                .map_err(|e| failed(&format!("removing versions of {key}"), e))?;
        }
        // Erasure must not leave a folder named after the student behind.
        self.remove_empty_parents(&self.object_path(key), &self.root.join("objects"));
        self.remove_empty_parents(&versions, &self.root.join("versions"));
        Ok(removed)
    }

    fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let versions = self.versions_dir(key);
        let entries = match fs::read_dir(&versions) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(failed(&format!("listing versions of {key}"), e)),
        };
        let mut removed = 0;
        for entry in entries {
            let path = entry
                .map_err(|e| failed(&format!("listing versions of {key}"), e))?
                .path();
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                // Taken by a concurrent purge.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(failed(&format!("removing a version of {key}"), e)),
            }
        }
        // The versions folder carries the key in its name; the object itself stays.
        let _ = fs::remove_dir(&versions);
        self.remove_empty_parents(&versions, &self.root.join("versions"));
        Ok(removed)
    }

    /// Removes now-empty directories from `path`'s parent up to (not including) `top`.
    /// A directory that is not empty (or was just refilled by a writer) stays.
    fn remove_empty_parents(&self, path: &Path, top: &Path) {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == top || !d.starts_with(top) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.clone();
        self.blocking(move |s| s.get(&key)).await
    }

    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        let key = key.clone();
        self.blocking(move |s| s.put(&key, &bytes)).await
    }

    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        let key = key.clone();
        self.blocking(move |s| s.create(&key, &bytes)).await
    }

    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        let key = key.clone();
        self.blocking(move |s| s.get_tagged(&key)).await
    }

    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        let key = key.clone();
        let expected = expected.clone();
        self.blocking(move |s| s.put_if_match(&key, &bytes, &expected))
            .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |s| s.list(&prefix)).await
    }

    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let key = key.clone();
        self.blocking(move |s| s.purge(&key)).await
    }

    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let key = key.clone();
        self.blocking(move |s| s.purge_history(&key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ObjectKey {
        ObjectKey::parse(s).unwrap()
    }

    #[test]
    fn running_out_of_files_or_disk_is_a_passing_failure() {
        for code in [24, 23, 28] {
            let e = std::io::Error::from_raw_os_error(code);
            assert!(matches!(failed("reading x", e), StoreError::Unavailable(_)));
        }
        let denied = std::io::Error::from_raw_os_error(13);
        assert!(matches!(failed("reading x", denied), StoreError::Failed(_)));
    }

    #[tokio::test]
    async fn temp_files_of_a_dead_process_are_removed_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let live = LocalStore::open(dir.path()).unwrap();
        // What `kill -9` mid-write leaves: a folder whose owner lock nobody holds,
        // with half a temp file in it, and a loose temp file of an older version.
        let dead = dir.path().join("tmp/deadbeef");
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join(".owner"), b"").unwrap();
        fs::write(dead.join("0123456789ab"), b"half").unwrap();
        fs::write(dir.path().join("tmp/loose"), b"half").unwrap();
        let _again = LocalStore::open(dir.path()).unwrap();
        assert!(!dead.exists());
        assert!(!dir.path().join("tmp/loose").exists());
        // The live store's own folder is still in use and stays.
        assert!(live.inner.tmp.exists());
        live.put(&key("a"), b"x".to_vec()).await.unwrap();
        assert_eq!(live.get(&key("a")).await.unwrap().unwrap(), b"x");
    }

    #[tokio::test]
    async fn objects_are_encrypted_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store
            .put(&key("s/t/questions.json"), b"What is a kernel?".to_vec())
            .await
            .unwrap();
        let raw = fs::read(dir.path().join("objects/s/t/questions.json~")).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"kernel"));
        assert_eq!(
            store
                .get(&key("s/t/questions.json"))
                .await
                .unwrap()
                .unwrap(),
            b"What is a kernel?"
        );
    }

    #[tokio::test]
    async fn the_key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.put(&key("a"), b"x".to_vec()).await.unwrap();
        let mode = fs::metadata(dir.path().join("store.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = LocalStore::open(dir.path()).unwrap();
        assert_eq!(again.get(&key("a")).await.unwrap().unwrap(), b"x");
    }

    #[tokio::test]
    async fn a_file_moved_to_another_key_does_not_decrypt() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.put(&key("a"), b"x".to_vec()).await.unwrap();
        fs::copy(dir.path().join("objects/a~"), dir.path().join("objects/b~")).unwrap();
        assert!(store.get(&key("b")).await.is_err());
    }

    #[tokio::test]
    async fn a_student_named_like_a_file_does_not_collide_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store
            .put(&key("s/t/questions.json"), b"q".to_vec())
            .await
            .unwrap();
        store
            .put(&key("s/t/questions.json/testResult.json"), b"r".to_vec())
            .await
            .unwrap();
        assert_eq!(
            store
                .get(&key("s/t/questions.json"))
                .await
                .unwrap()
                .unwrap(),
            b"q"
        );
        assert_eq!(store.list("s/t/").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn purging_leaves_no_folder_named_after_what_was_erased() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let k = key("s/t/student01/testResult.json");
        store.put(&k, b"1".to_vec()).await.unwrap();
        store.put(&k, b"2".to_vec()).await.unwrap();
        store
            .put(&key("s/t/questions.json"), b"q".to_vec())
            .await
            .unwrap();
        assert_eq!(store.purge(&k).await.unwrap(), 2);
        assert!(!dir.path().join("objects/s/t/student01").exists());
        assert!(!dir.path().join("versions/s/t/student01").exists());
        assert!(dir.path().join("objects/s/t/questions.json~").exists());
        // The store still works where the folders were.
        store.put(&k, b"3".to_vec()).await.unwrap();
        assert_eq!(store.get(&k).await.unwrap().unwrap(), b"3");
    }

    #[tokio::test]
    async fn purging_the_history_keeps_the_object_and_no_folder_of_old_versions() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let k = key("_system/results/s/t/results.json");
        store.put(&k, b"1".to_vec()).await.unwrap();
        store.put(&k, b"2".to_vec()).await.unwrap();
        assert_eq!(store.purge_history(&k).await.unwrap(), 1);
        assert!(!dir.path().join("versions/_system").exists());
        assert_eq!(store.get(&k).await.unwrap().unwrap(), b"2");
        // Later writes keep their history again.
        store.put(&k, b"3".to_vec()).await.unwrap();
        assert_eq!(store.purge_history(&k).await.unwrap(), 1);
    }
}
