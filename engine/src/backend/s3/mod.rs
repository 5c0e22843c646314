//! A repository in an S3-compatible object store (AWS S3, Garage, Ceph
//! RGW, MinIO, s3s-fs, …), through `opendal`: request signing, HTTP,
//! retries and timeouts are the crate's, the mapping onto the [`Backend`]
//! contract is ours.
//!
//! # How the contract holds on S3
//!
//! * **Atomic, durable writes.** One `PutObject` per file: S3 makes an
//!   object visible whole or not at all, and acknowledges it only once
//!   stored (Garage: on a write quorum of its replicas). There is no rename
//!   and no directory fsync, and none is needed. Streamed writes
//!   ([`Backend::begin_write`]) buffer in memory (a pack is at most the
//!   repository's `pack_size`) and PUT at commit, so nothing is visible
//!   before.
//! * **No conditional writes.** Nothing here relies on `If-None-Match`
//!   (Garage ignores it); names are content hashes or random, and
//!   `format-spec/v1/gc.md` shows why locks and GC stay safe without it.
//! * **Directories do not exist** on S3: a kind's "directory" is a key
//!   prefix. So the missing-directory check of the contract cannot apply;
//!   the `CAIRN` marker and `config` are what make a repository.
//! * **Listing** uses `ListObjectsV2` under the kind's prefix and keeps only
//!   valid names ([`Kind::is_valid_name`], and for packs the `data/XX/`
//!   fan-out matching the name); the rest is [`Backend::foreign`]. A
//!   listing shows every acknowledged upload, but may show a removed key
//!   for up to [`S3Config::listing_lag`] ([`Backend::listing_lag`]).
//! * **Transient failures** (5xx, 429, timeouts, connection resets) are
//!   retried with exponential backoff and jitter ([`S3Config::retries`]);
//!   requests in flight are bounded ([`S3Config::concurrency`]).
//! * **Secrets** (access keys) come from the environment or the standard
//!   shared-credentials file and never appear in a message: errors are
//!   reworded from the store's error code ([`errors`]).

mod errors;

use super::{Backend, Kind};
use crate::error::{Error, Result};
use opendal::layers::{ConcurrentLimitLayer, RetryLayer, TimeoutLayer};
use opendal::options::ListOptions;
use std::time::Duration;

/// The default [`S3Config::listing_lag`]: replicas of a healthy cluster
/// receive a removal within milliseconds; ten seconds leaves a wide margin.
pub const DEFAULT_LISTING_LAG: Duration = Duration::from_secs(10);

/// Where an S3 repository is and how to reach it. Unless
/// [`credentials`](Self::credentials) are given, the access key pair comes
/// from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` or the
/// shared-credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default
/// `~/.aws/credentials`, profile `AWS_PROFILE`), read by the S3 client
/// itself; the CLI always leaves them to that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The key prefix of the repository inside the bucket, without leading
    /// or trailing `/` (empty: the whole bucket).
    pub prefix: String,
    /// The service endpoint, e.g. `http://127.0.0.1:3900`; `None` means
    /// AWS (`https://s3.<region>.amazonaws.com`).
    pub endpoint: Option<String>,
    /// The region (`AWS_REGION`); stores that ignore regions accept any.
    pub region: String,
    /// Address buckets as `host/bucket/key` (path style, the default and
    /// what most self-hosted stores need) rather than `bucket.host/key`.
    pub path_style: bool,
    /// How many times a transient failure is retried before it is an error.
    pub retries: usize,
    /// The most requests in flight at once.
    pub concurrency: usize,
    /// An explicit key pair, for programs that embed the engine (tests).
    pub credentials: Option<S3Credentials>,
    /// How long after a removal is acknowledged a listing may still show
    /// the removed key ([`Backend::listing_lag`]). A replicated store can
    /// answer a listing from a replica that has not yet received the
    /// removal (Garage filters removed keys on each replica before merging
    /// the answers).
    pub listing_lag: Duration,
}

/// An access key pair. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// The access key ID.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[secret]")
            .finish()
    }
}

impl S3Config {
    /// `s3://BUCKET/PREFIX` (`s3://BUCKET` for an empty prefix): how the
    /// place is shown. Never holds credentials.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// A configuration with the defaults for everything but the place.
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            prefix: prefix.into().trim_matches('/').to_owned(),
            endpoint: None,
            region: "us-east-1".into(),
            path_style: true,
            retries: 8,
            concurrency: 16,
            credentials: None,
            listing_lag: DEFAULT_LISTING_LAG,
        }
    }
}

/// A kind's objects: (valid name, size) pairs, and the foreign keys.
type Classified = (Vec<(String, u64)>, Vec<String>);

/// A repository under a prefix of an S3 bucket.
pub struct S3Backend {
    config: S3Config,
    op: opendal::blocking::Operator,
    // Owns the worker threads the blocking operator runs its requests on;
    // declared last so it is dropped after the operator.
    _runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Backend")
            .field("location", &self.location())
            .finish()
    }
}

impl S3Backend {
    /// A backend for `config`. No request is made yet.
    pub fn new(config: S3Config) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cairn-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the S3 client's threads", e))?;
        let _entered = runtime.enter();
        let root = format!("/{}", config.prefix);
        let mut builder = opendal::services::S3::default()
            .bucket(&config.bucket)
            .root(&root)
            .region(&config.region)
            // Only the environment and the shared files: never wait on an
            // EC2 metadata endpoint that is not there.
            .disable_ec2_metadata()
            // Safety never depends on conditional writes (module docs).
            .disable_write_with_if_match();
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if let Some(c) = &config.credentials {
            builder = builder
                .access_key_id(&c.access_key_id)
                .secret_access_key(&c.secret_access_key)
                .disable_config_load();
        }
        if !config.path_style {
            builder = builder.enable_virtual_host_style();
        }
        let op = opendal::Operator::new(builder)
            .map_err(|e| errors::map(&config, "configuring", "", e))?
            .layer(TimeoutLayer::new().with_io_timeout(Duration::from_secs(60)))
            .layer(
                RetryLayer::new()
                    .with_jitter()
                    .with_factor(2.0)
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(10))
                    .with_max_times(config.retries),
            )
            .layer(ConcurrentLimitLayer::new(config.concurrency.max(1)))
            .finish();
        let op = opendal::blocking::Operator::new(op)
            .map_err(|e| errors::map(&config, "configuring", "", e))?;
        drop(_entered);
        Ok(S3Backend {
            config,
            op,
            _runtime: runtime,
        })
    }

    /// The configuration this backend was made with.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn err(&self, doing: &str, path: &str, e: opendal::Error) -> Error {
        errors::map(&self.config, doing, path, e)
    }

    /// Every object under `prefix` (recursive), as repository-relative
    /// keys with sizes.
    fn list_prefix(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let opts = ListOptions {
            recursive: true,
            ..Default::default()
        };
        let entries = self
            .op
            .list_options(prefix, opts)
            .map_err(|e| self.err("listing", prefix, e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| (e.path().to_owned(), e.metadata().content_length()))
            .collect())
    }

    /// Objects of `kind`, split into (valid name, size) and foreign keys.
    fn classify(&self, kind: Kind) -> Result<Classified> {
        let mut valid = Vec::new();
        let mut foreign = Vec::new();
        let objects = match kind {
            Kind::Root => {
                let entries = self.op.list("").map_err(|e| self.err("listing", "", e))?;
                entries
                    .into_iter()
                    .filter(|e| e.metadata().is_file())
                    .map(|e| (e.path().to_owned(), e.metadata().content_length()))
                    .collect()
            }
            other => self.list_prefix(&format!("{}/", other.dir()))?,
        };
        for (key, size) in objects {
            let name = key.rsplit('/').next().unwrap_or("");
            if kind.is_valid_name(name) && kind.path_of(name) == key {
                valid.push((name.to_owned(), size));
            } else {
                foreign.push(key);
            }
        }
        Ok((valid, foreign))
    }
}

impl Backend for S3Backend {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }

    fn io_parallelism(&self) -> usize {
        self.config.concurrency
    }

    fn has_directories(&self) -> bool {
        false
    }

    fn listing_lag(&self) -> Duration {
        self.config.listing_lag
    }

    fn location(&self) -> String {
        let place = self.config.url();
        match &self.config.endpoint {
            Some(e) => format!("{place} (endpoint {e})"),
            None => place,
        }
    }

    /// Nothing to create (S3 has no directories), but the bucket must
    /// exist and the credentials must work: one listing request proves it.
    fn create(&self) -> Result<()> {
        let opts = ListOptions {
            limit: Some(1),
            ..Default::default()
        };
        self.op
            .list_options("", opts)
            .map(drop)
            .map_err(|e| self.err("listing", "", e))
    }

    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        kind.check_name(name)?;
        let path = kind.path_of(name);
        self.op
            .write(&path, data.to_vec())
            .map(drop)
            .map_err(|e| self.err("writing", &path, e))
    }

    /// As the default, but a missing repository marker or config is
    /// told apart from a missing bucket (a HEAD request's 404 does not
    /// say which).
    fn read_max(&self, kind: Kind, name: &str, max: u64) -> Result<Vec<u8>> {
        let size = match self.size(kind, name) {
            Err(e) if kind == Kind::Root && e.kind() == crate::ErrorKind::NotFound => {
                self.create()?;
                return Err(e);
            }
            other => other?,
        };
        if size > max {
            return Err(super::too_large(kind, name, size, max));
        }
        // One whole GET, not a ranged read of the size HEAD reported: a
        // file rewritten whole in between (a GC plan being armed) must be
        // read old or new, never a mix. The length is checked again after.
        let data = self.read(kind, name)?;
        if data.len() as u64 > max {
            return Err(super::too_large(kind, name, data.len() as u64, max));
        }
        Ok(data)
    }

    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        let path = kind.path_of(name);
        self.op
            .read(&path)
            .map(|b| b.to_vec())
            .map_err(|e| self.err("reading", &path, e))
    }

    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = kind.path_of(name);
        if len == 0 {
            return Ok(Vec::new());
        }
        let end = offset
            .checked_add(len)
            .ok_or_else(|| Error::invalid(format!("reading {path}: range overflows")))?;
        let data = self
            .op
            .reader(&path)
            .and_then(|r| r.read(offset..end))
            .map(|b| b.to_vec())
            .map_err(|e| self.err("reading", &path, e))?;
        if data.len() as u64 != len {
            return Err(Error::corrupt(format!(
                "{path} ({}): asked for {len} bytes at offset {offset}, the store returned {}; the object is shorter than the index says",
                self.location(),
                data.len()
            )));
        }
        Ok(data)
    }

    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        let path = kind.path_of(name);
        self.op
            .stat(&path)
            .map(|m| m.content_length())
            .map_err(|e| self.err("reading the size of", &path, e))
    }

    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        Ok(self.classify(kind)?.0)
    }

    fn foreign(&self, kind: Kind) -> Result<Vec<String>> {
        Ok(self
            .classify(kind)?
            .1
            .into_iter()
            .map(|k| format!("{k} (an object)"))
            .collect())
    }

    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        kind.check_name(name)?;
        let path = kind.path_of(name);
        self.op
            .delete(&path)
            .map_err(|e| self.err("removing", &path, e))
    }
}
