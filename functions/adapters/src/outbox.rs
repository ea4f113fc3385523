//! The outbox mailer of the local stack: every message becomes one `.eml` file
//! (RFC 5322, opens in any mail client) in a directory. The messages hold grades and
//! addresses: the files are readable by their owner only (0600, in a 0700 folder).

use async_trait::async_trait;
use chrono::Utc;
use ework_domain::ports::{MailError, Mailer};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes messages to `dir`, atomically (temp file + rename), never overwriting.
#[derive(Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
    counter: AtomicU64,
}

impl OutboxMailer {
    /// Creates the directory if needed (0700 on Unix).
    pub fn open(dir: impl AsRef<Path>) -> std::io::Result<Self> {
        create_private_dir(dir.as_ref())?;
        Ok(Self {
            dir: dir.as_ref().to_path_buf(),
            counter: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A file-name-safe rendering of the first recipient.
fn slug(to: &[String]) -> String {
    let first = to.first().map_or("nobody", String::as_str);
    first
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nonce = hex::encode(rand::random::<[u8; 4]>());
        let name = format!("{stamp}-{n:04}-{nonce}-{}.eml", slug(to));
        let dir = self.dir.clone();
        let unavailable =
            |e: std::io::Error| MailError::Unavailable(format!("outbox {}: {e}", dir.display()));
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(&name);
        write_private(&tmp, raw).await.map_err(unavailable)?;
        // Rename is atomic: a reader never sees half a message.
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(unavailable(e));
        }
        Ok(name)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Writes a new file readable by its owner only.
async fn write_private(path: &Path, bytes: Vec<u8>) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(&bytes).await?;
    file.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_message_becomes_one_eml_file_with_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::open(dir.path().join("outbox")).unwrap();
        let a = outbox
            .send(
                &["a@example.com".into()],
                b"Subject: one\r\n\r\nbody".to_vec(),
            )
            .await
            .unwrap();
        let b = outbox
            .send(
                &["a@example.com".into()],
                b"Subject: two\r\n\r\nbody".to_vec(),
            )
            .await
            .unwrap();
        assert_ne!(a, b);
        let mut names: Vec<String> = std::fs::read_dir(outbox.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "no temp files left: {names:?}");
        assert!(names.iter().all(|n| n.ends_with("-a_example.com.eml")));
        assert_eq!(
            std::fs::read(outbox.dir().join(&a)).unwrap(),
            b"Subject: one\r\n\r\nbody"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&outbox.dir().join(&a)), 0o600, "grades are private");
            assert_eq!(mode(outbox.dir()), 0o700);
        }
    }

    #[tokio::test]
    async fn an_unwritable_outbox_is_a_retryable_failure() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::open(dir.path()).unwrap();
        std::fs::remove_dir_all(dir.path()).unwrap();
        let err = outbox
            .send(&["a@example.com".into()], b"x".to_vec())
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Unavailable(_)));
    }
}
