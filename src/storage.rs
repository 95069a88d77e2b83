//! Where the bytes of uploaded files live: a local folder (the default) or
//! any S3-compatible store, through `object_store`. Files are kept by
//! content: the key of a file is its SHA-256, so the same photo uploaded
//! twice is stored once. The database says which files exist and who may
//! see them; the store only holds bytes.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, GetResult, ObjectStore, ObjectStoreExt, WriteMultipart};

/// Where files are kept, from `AFTERCARE_STORAGE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageTarget {
    /// A folder on this machine.
    Local(PathBuf),
    /// `s3://bucket/prefix`; endpoint, region and keys come from the usual
    /// `AWS_*` variables.
    S3 { bucket: String, prefix: String },
}

impl StorageTarget {
    /// `s3://bucket/prefix`, `file:///absolute/path`, or a plain folder path.
    pub fn parse(url: &str) -> Result<StorageTarget, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("AFTERCARE_STORAGE_URL: no bucket in {url:?}"));
            }
            return Ok(StorageTarget::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(format!(
                "AFTERCARE_STORAGE_URL: {url:?} is neither a folder nor s3://bucket/prefix"
            ));
        }
        Ok(StorageTarget::Local(PathBuf::from(
            url.strip_prefix("file://").unwrap_or(url),
        )))
    }

    /// A description for logs (no secrets: those are never in the URL).
    pub fn describe(&self) -> String {
        match self {
            StorageTarget::Local(dir) => format!("folder {}", dir.display()),
            StorageTarget::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// The store, and a private folder for spooling uploads while they arrive.
///
/// Every call to the store runs on the store's own small runtime, with its
/// own blocking threads for reading spool files: a slow store never takes
/// a request worker's blocking thread, and no call to it is made while a
/// database transaction (or SQLite's write lock) is held.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    spool: PathBuf,
    target: StorageTarget,
    io: Arc<IoRuntime>,
}

/// A runtime that shuts down without blocking when the last `Storage`
/// goes (dropping a runtime inside another one would panic).
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl IoRuntime {
    fn handle(&self) -> Result<&tokio::runtime::Handle, StorageError> {
        self.0
            .as_ref()
            .map(|rt| rt.handle())
            .ok_or_else(|| StorageError::Other("the storage runtime has stopped".to_string()))
    }
}

/// The sizes a picture is served in besides its original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derived {
    Thumbnail,
    Preview,
}

impl Derived {
    /// The longest side, in pixels.
    pub fn max_side(self) -> u32 {
        match self {
            Derived::Thumbnail => 320,
            Derived::Preview => 1280,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Derived::Thumbnail => "thumbnail",
            Derived::Preview => "preview",
        }
    }

    pub const ALL: [Derived; 2] = [Derived::Thumbnail, Derived::Preview];
}

/// What went wrong with the store; the cause is logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not in the store")]
    NotFound,
    #[error("storage: {0}")]
    Other(String),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => StorageError::Other(other.to_string()),
        }
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        StorageError::Other(e.to_string())
    }
}

/// Parts of 5 MiB: S3's least part size, and the most of a file held in
/// memory at once while it is copied to the store.
const PART: usize = 5 * 1024 * 1024;

impl Storage {
    /// Opens the store; a local folder (and the spool folder) is created
    /// when missing.
    pub fn open(target: &StorageTarget, spool: &FsPath) -> Result<Storage, String> {
        std::fs::create_dir_all(spool)
            .map_err(|e| format!("cannot create {}: {e}", spool.display()))?;
        clear_stale_spool(spool);
        let store: Arc<dyn ObjectStore> = match target {
            StorageTarget::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| format!("cannot use {}: {e}", dir.display()))?,
                )
            }
            StorageTarget::S3 { bucket, prefix } => {
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| format!("cannot use s3://{bucket}: {e}"))?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                }
            }
        };
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(4)
            .thread_name("storage")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the storage runtime: {e}"))?;
        Ok(Storage {
            store,
            spool: spool.to_path_buf(),
            target: target.clone(),
            io: Arc::new(IoRuntime(Some(io))),
        })
    }

    /// Runs a call to the store on the store's runtime.
    async fn run<T, F>(&self, call: F) -> Result<T, StorageError>
    where
        F: std::future::Future<Output = Result<T, StorageError>> + Send + 'static,
        T: Send + 'static,
    {
        self.io
            .handle()?
            .spawn(call)
            .await
            .map_err(|e| StorageError::Other(format!("storage task: {e}")))?
    }

    pub fn target(&self) -> &StorageTarget {
        &self.target
    }

    /// The folder where uploads are spooled while they arrive.
    pub fn spool(&self) -> &FsPath {
        &self.spool
    }

    /// The key of a file's original bytes: `files/ab/abcdef…`.
    pub fn original_key(sha256: &str) -> Path {
        Path::from(format!("files/{}/{sha256}", &sha256[..2.min(sha256.len())]))
    }

    /// The key of a picture's thumbnail or preview.
    pub fn derived_key(sha256: &str, size: Derived) -> Path {
        Path::from(format!(
            "derived/{}/{sha256}-{}.jpg",
            &sha256[..2.min(sha256.len())],
            size.as_str()
        ))
    }

    pub async fn exists(&self, key: &Path) -> Result<bool, StorageError> {
        let (store, key) = (self.store.clone(), key.clone());
        self.run(async move { exists(&store, &key).await }).await
    }

    /// Copies a local file to `key` part by part, unless `key` already holds
    /// it (keys are content hashes: present means the same bytes).
    pub async fn ensure_file(&self, key: &Path, file: &FsPath) -> Result<(), StorageError> {
        let (store, key, file) = (self.store.clone(), key.clone(), file.to_path_buf());
        self.run(async move {
            use std::io::Read;
            if exists(&store, &key).await? {
                return Ok(());
            }
            let mut source = Some(std::fs::File::open(&file)?);
            let mut writer =
                WriteMultipart::new_with_chunk_size(store.put_multipart(&key).await?, PART);
            loop {
                // the spool file is read on the store runtime's own blocking
                // threads, never on the thread that drives the store's I/O;
                // never more than two parts are buffered before they are sent
                let mut file = source.take().ok_or_else(|| {
                    StorageError::Other("the spool file was lost between reads".to_string())
                })?;
                let (file, buf) = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; 256 * 1024];
                    let n = file.read(&mut buf)?;
                    buf.truncate(n);
                    Ok::<_, std::io::Error>((file, buf))
                })
                .await
                .map_err(|e| StorageError::Other(format!("reading the spool file: {e}")))??;
                if buf.is_empty() {
                    break;
                }
                source = Some(file);
                writer.wait_for_capacity(2).await?;
                writer.write(&buf);
            }
            writer.finish().await?;
            Ok(())
        })
        .await
    }

    pub async fn put_bytes(&self, key: &Path, bytes: Bytes) -> Result<(), StorageError> {
        let (store, key) = (self.store.clone(), key.clone());
        self.run(async move {
            store.put(&key, bytes.into()).await?;
            Ok(())
        })
        .await
    }

    /// The bytes at `key`, or the given byte range of them.
    pub async fn get(
        &self,
        key: &Path,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<GetResult, StorageError> {
        let (store, key) = (self.store.clone(), key.clone());
        self.run(async move {
            let options = GetOptions {
                range: range.map(GetRange::Bounded),
                ..Default::default()
            };
            Ok(store.get_opts(&key, options).await?)
        })
        .await
    }

    /// All the bytes at `key`.
    pub async fn get_bytes(&self, key: &Path) -> Result<Bytes, StorageError> {
        let (store, key) = (self.store.clone(), key.clone());
        self.run(async move { Ok(store.get(&key).await?.bytes().await?) })
            .await
    }

    /// Removes a file's original and whatever was derived from it. The
    /// sweeper calls it with no database transaction open.
    pub async fn delete_file(&self, sha256: &str) -> Result<(), StorageError> {
        let (store, sha256) = (self.store.clone(), sha256.to_string());
        self.run(async move {
            let keys = std::iter::once(Storage::original_key(&sha256))
                .chain(Derived::ALL.map(|size| Storage::derived_key(&sha256, size)));
            for key in keys {
                match store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(StorageError::from(e)),
                }
            }
            Ok(())
        })
        .await
    }
}

/// Spool files a day old were left by a process that stopped mid-upload
/// (a finished or failed upload removes its own at once); newer ones may
/// belong to another instance sharing the folder.
fn clear_stale_spool(spool: &FsPath) {
    let Ok(entries) = std::fs::read_dir(spool) else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if stale {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                log::warn!(
                    "cannot remove the stale spool file {}: {e}",
                    entry.path().display()
                );
            }
        }
    }
}

async fn exists(store: &Arc<dyn ObjectStore>, key: &Path) -> Result<bool, StorageError> {
    match store.head(key).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_url_is_a_folder_or_an_s3_bucket_with_a_prefix() {
        assert_eq!(
            StorageTarget::parse("s3://photos/aftercare/prod/").ok(),
            Some(StorageTarget::S3 {
                bucket: "photos".into(),
                prefix: "aftercare/prod".into()
            })
        );
        assert_eq!(
            StorageTarget::parse("file:///srv/files").ok(),
            Some(StorageTarget::Local(PathBuf::from("/srv/files")))
        );
        assert_eq!(
            StorageTarget::parse("data/files").ok(),
            Some(StorageTarget::Local(PathBuf::from("data/files")))
        );
        assert!(StorageTarget::parse("s3:///nobucket").is_err());
        assert!(StorageTarget::parse("gs://elsewhere").is_err());
    }
}
