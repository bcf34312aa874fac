//! Where the contents of attachments are kept: an `object_store` (a local directory by default,
//! or any S3-compatible store), content-addressed by SHA-256, so identical files are stored once.
//!
//! An upload is streamed: the bytes are hashed, counted and written as they arrive (through
//! `object_store`'s buffered writer, which holds at most one part of [`PART_BYTES`] in memory)
//! to a temporary object, which then moves to its content address. Nothing here knows about
//! tickets or who may read what; the rows that refer to objects live in the database
//! (`store::attachments`).

use std::{ops::Range, path::PathBuf, sync::Arc};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, aws::AmazonS3Builder, buffered::BufWriter,
    local::LocalFileSystem, path::Path, prefix::PrefixStore,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::config::AttachmentsConfig;

/// Bytes of an upload held in memory at most while it is written: S3's smallest multipart part.
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// How much of the start of a file the type is sniffed from.
pub const SNIFF_BYTES: usize = 8192;

/// Where `attachments.store` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Directory(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// `file://DIR` or `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<Location, String> {
        if let Some(dir) = url.strip_prefix("file://") {
            if dir.is_empty() {
                return Err("file:// needs a directory (file://attachments)".into());
            }
            return Ok(Location::Directory(PathBuf::from(dir)));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !valid_bucket {
                return Err("s3:// needs a bucket name (s3://bucket/prefix)".into());
            }
            return Ok(Location::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        Err("must be file://DIR or s3://BUCKET/PREFIX".into())
    }
}

/// What an upload became.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
}

/// Why an upload was not stored.
#[derive(Debug)]
pub enum PutError<E> {
    /// Larger than the limit; nothing was kept.
    TooLarge,
    /// The first bytes were refused by the caller's check; nothing was kept.
    Refused(E),
    /// Reading the upload or writing the store failed.
    Failed(anyhow::Error),
}

impl<E> From<std::io::Error> for PutError<E> {
    fn from(err: std::io::Error) -> Self {
        PutError::Failed(err.into())
    }
}

impl<E> From<object_store::Error> for PutError<E> {
    fn from(err: object_store::Error) -> Self {
        PutError::Failed(err.into())
    }
}

/// The object store of attachments. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// Opens the store `attachments.store` names (creating a local directory when missing).
    pub fn open(config: &AttachmentsConfig) -> anyhow::Result<Blobs> {
        let location = Location::parse(&config.store)
            .map_err(|reason| anyhow::anyhow!("attachments.store: {reason}"))?;
        let store: Arc<dyn ObjectStore> = match location {
            Location::Directory(dir) => {
                std::fs::create_dir_all(&dir).map_err(|err| {
                    anyhow::anyhow!("attachments.store: cannot create {}: {err}", dir.display())
                })?;
                Arc::new(LocalFileSystem::new_with_prefix(&dir)?)
            }
            Location::S3 { bucket, prefix } => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(&config.s3_region)
                    .with_allow_http(config.s3_allow_http);
                if !config.s3_endpoint.is_empty() {
                    builder = builder.with_endpoint(&config.s3_endpoint);
                }
                if !config.s3_access_key_id.is_empty() {
                    builder = builder
                        .with_access_key_id(&config.s3_access_key_id)
                        .with_secret_access_key(&config.s3_secret_access_key);
                }
                let s3 = builder.build()?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                }
            }
        };
        Ok(Blobs { store })
    }

    /// Streams `reader` into the store. `check` sees the first [`SNIFF_BYTES`] (or the whole
    /// file when shorter) before anything is written and may refuse it. More than `max_bytes`
    /// is [`PutError::TooLarge`], noticed as the bytes arrive, and the partial upload is
    /// discarded.
    pub async fn put<R, E, T>(
        &self,
        mut reader: R,
        max_bytes: u64,
        check: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<(Stored, T), PutError<E>>
    where
        R: AsyncRead + Unpin,
    {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        while head.len() < SNIFF_BYTES {
            let mut chunk = [0u8; 4096];
            let want = (SNIFF_BYTES - head.len()).min(chunk.len());
            let n = reader.read(&mut chunk[..want]).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&chunk[..n]);
        }
        if head.len() as u64 > max_bytes {
            return Err(PutError::TooLarge);
        }
        let checked = check(&head).map_err(PutError::Refused)?;

        let temp = Path::from(format!("tmp/{}", uuid::Uuid::new_v4().simple()));
        let mut writer = BufWriter::with_capacity(self.store.clone(), temp.clone(), PART_BYTES);
        let mut hasher = Sha256::new();
        let mut size = head.len() as u64;
        hasher.update(&head);
        let written: Result<(), PutError<E>> = async {
            writer.write_all(&head).await?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                if size > max_bytes {
                    return Err(PutError::TooLarge);
                }
                hasher.update(&buf[..n]);
                writer.write_all(&buf[..n]).await?;
            }
            writer.shutdown().await?;
            Ok(())
        }
        .await;
        if let Err(err) = written {
            // Nothing of a refused or broken upload stays behind.
            let _ = writer.abort().await;
            let _ = self.store.delete(&temp).await;
            return Err(err);
        }
        let sha256 = hex::encode(hasher.finalize());
        let target = object_path(&sha256);
        // Identical content is kept once: a second upload only drops its temporary copy. Two
        // uploads of the same content at once both move theirs; the content is the same.
        match self.store.head(&target).await {
            Ok(_) => {
                self.store.delete(&temp).await?;
            }
            Err(object_store::Error::NotFound { .. }) => {
                self.store.rename(&temp, &target).await?;
            }
            Err(err) => {
                let _ = self.store.delete(&temp).await;
                return Err(err.into());
            }
        }
        Ok((Stored { sha256, size }, checked))
    }

    /// The bytes `range` (end exclusive; `None`: all) of the object `sha256`, as a stream.
    pub async fn get(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(&object_path(sha256), options).await?;
        Ok(result.into_stream().map_err(std::io::Error::other))
    }

    /// Whether the object `sha256` is stored.
    pub async fn exists(&self, sha256: &str) -> anyhow::Result<bool> {
        match self.store.head(&object_path(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes the object `sha256` (no error when it is already gone).
    pub async fn delete(&self, sha256: &str) -> anyhow::Result<()> {
        match self.store.delete(&object_path(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes temporary objects older than `before` (Unix seconds): uploads cut off by a crash.
    pub async fn delete_stale_temporaries(&self, before: i64) -> anyhow::Result<u64> {
        let stale: Vec<Path> = self
            .store
            .list(Some(&Path::from("tmp")))
            .try_filter(|meta| futures::future::ready(meta.last_modified.timestamp() < before))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for path in &stale {
            let _ = self.store.delete(path).await;
        }
        Ok(stale.len() as u64)
    }
}

/// `sha256/ab/cd/abcd...`: two levels of fan-out keep directories small on a local disk.
fn object_path(sha256: &str) -> Path {
    Path::from(format!(
        "sha256/{}/{}/{sha256}",
        &sha256[..2.min(sha256.len())],
        &sha256[2.min(sha256.len())..4.min(sha256.len())]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("file://attachments"),
            Ok(Location::Directory("attachments".into()))
        );
        assert_eq!(
            Location::parse("s3://files/escalated/"),
            Ok(Location::S3 {
                bucket: "files".into(),
                prefix: "escalated".into()
            })
        );
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("ftp://x").is_err());
        assert!(Location::parse("file://").is_err());
    }
}
