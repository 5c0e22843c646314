//! Opening and creating repositories.
//!
//! [`Repository`] ties together a backend, the unlocked keys, the config
//! and the (lazily opened) local index cache. It offers read access; all
//! writing of new data goes through [`commit::BlobWriter`], which enforces
//! the packs → index → snapshot order. Finding snapshots lives in
//! `snapshots`, reading blobs in `blobs`, key files in `keys`.

mod blobs;
pub mod browse;
pub mod commit;
pub mod file_map;
pub mod gc;
pub mod index_cache;
mod keys;
pub mod lock;
pub mod pack;
pub mod scrub_state;
mod snapshots;
pub(crate) mod spec_copy;

pub use snapshots::SnapshotFilter;

use crate::backend::{Backend, Kind};
use crate::chunking::{ChunkClass, Chunker, ChunkerParams, FineParams, StreamChunker};
use crate::crypto::{KdfParams, MasterKey, Sealer, SubKeys};
use crate::error::{Error, ErrorKind, Remedy, Result};
pub use crate::format::config::Config;
use crate::format::keyfile::KeyFile;
use crate::format::tree::Timestamp;
use crate::id::KeyId;
use crate::repo::index_cache::IndexCache;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Settings for `init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Argon2id cost for the first key file.
    pub kdf: KdfParams,
    /// Chunk sizes.
    pub chunker: ChunkerParams,
    /// The fine chunk class for database-like files (`None`: off).
    pub fine: Option<FineParams>,
    /// zstd level.
    pub zstd_level: i32,
    /// Target pack size.
    pub pack_size: u32,
    /// Reed-Solomon parity `(k, m)`, if wanted.
    pub parity: Option<(u8, u8)>,
    /// Share another repository's keys and chunker parameters
    /// (`init --copy-chunker-params-from`), so that `copy` between the two
    /// deduplicates and moves blobs without re-identifying them.
    pub share_keys: Option<SharedKeys>,
}

/// Another repository's master key and chunker parameters, for a new
/// repository that is to deduplicate with it ([`InitOptions::share_keys`]).
/// The new repository gets its own ID and its own key file (password); its
/// chunk boundaries, blob IDs and sealing key are those of the original.
#[derive(Clone)]
pub struct SharedKeys {
    master: MasterKey,
    chunker: ChunkerParams,
    fine: Option<FineParams>,
}

impl std::fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKeys(<redacted>)")
    }
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            kdf: KdfParams::default(),
            chunker: ChunkerParams::default(),
            fine: Some(FineParams::default()),
            zstd_level: crate::compression::DEFAULT_LEVEL,
            pack_size: 16 << 20,
            parity: None,
            share_keys: None,
        }
    }
}

/// Receives the warnings of readers that work around damage instead of
/// failing (an unreadable index file, say); the CLI prints them on stderr.
pub type WarningSink = Box<dyn Fn(&str) + Send + Sync>;

/// An open, unlocked repository.
pub struct Repository {
    backend: Arc<dyn Backend>,
    /// Kept only to hand to a repository that shares keys ([`SharedKeys`])
    /// and to wrap in new key files (`keys`).
    master: MasterKey,
    /// The key file that opened it (`None`: a paper key).
    key_id: Option<KeyId>,
    keys: SubKeys,
    /// Read trees through the local cache (off for audits).
    tree_cache: std::sync::atomic::AtomicBool,
    sealer: Sealer,
    config: Config,
    chunker: Chunker,
    /// The fine class's chunker, if the config declares the class (its
    /// limit and page size are the config's).
    fine_chunker: Option<Chunker>,
    cache_root: PathBuf,
    index: Mutex<Option<Arc<IndexCache>>>,
    /// Bumped by every completed index re-sync (see [`Self::read_blob`]).
    resyncs: Mutex<u64>,
    /// Where warnings go (see [`Self::set_warning_sink`]).
    warning_sink: Mutex<Option<WarningSink>>,
    /// Every warning so far, once each.
    warnings: Mutex<Vec<String>>,
}

/// The default cache root: `$XDG_CACHE_HOME/cairn`, else `~/.cache/cairn`.
pub fn default_cache_root() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("cairn");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(h).join(".cache").join("cairn");
    }
    std::env::temp_dir().join("cairn-cache")
}

fn check_marker(backend: &dyn Backend) -> Result<()> {
    match backend.read_max(
        Kind::Root,
        crate::format::config::MARKER_NAME,
        crate::format::config::MAX_MARKER_FILE,
    ) {
        Ok(bytes) => crate::format::config::parse_marker(&bytes).map(|_| ()),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::new(
            ErrorKind::RepositoryNotFound,
            format!("no Cairn repository at {}", backend.location()),
        )
        .with_remedy(Remedy::Init)),
        Err(e) => Err(e),
    }
}

impl Repository {
    /// Is there a repository in `backend` whose format this build reads?
    /// Needs no password: callers use it to say "no repository here"
    /// before asking for one.
    pub fn probe(backend: &dyn Backend) -> Result<()> {
        check_marker(backend)
    }

    /// Create a new repository protected by `password`.
    pub fn init(
        backend: Arc<dyn Backend>,
        password: &[u8],
        opts: &InitOptions,
        cache_root: PathBuf,
    ) -> Result<Self> {
        match check_marker(&*backend) {
            Err(e) if e.kind() == ErrorKind::RepositoryNotFound => {}
            Err(e) => return Err(e),
            Ok(()) => {
                return Err(Error::new(
                    ErrorKind::RepositoryExists,
                    format!("a repository already exists at {}", backend.location()),
                ))
            }
        }
        // Files make a location non-empty; directories such as a fresh
        // file system's `lost+found` do not.
        let foreign_files = backend
            .foreign(Kind::Root)?
            .into_iter()
            .any(|f| f.ends_with("(a regular file)") || f.ends_with("(an object)"));
        // On object stores there are no directories to find: any object
        // of any kind under the prefix makes it non-empty (a missing
        // directory of a local location is simply empty).
        let mut objects = false;
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::Root) {
            match backend.list(kind) {
                Ok(l) => objects |= !l.is_empty(),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if !backend.list(Kind::Root)?.is_empty() || foreign_files || objects {
            return Err(Error::new(
                ErrorKind::RepositoryExists,
                format!(
                    "{} is not empty; choose an empty location for a new repository",
                    backend.location()
                ),
            ));
        }
        let (master, chunker, fine) = match &opts.share_keys {
            Some(shared) => (shared.master.clone(), shared.chunker, shared.fine),
            None => (MasterKey::generate()?, opts.chunker, opts.fine),
        };
        chunker
            .validate()
            .map_err(|e| Error::invalid(e.message().to_owned()))?;
        if let Some(f) = &fine {
            f.validate()
                .map_err(|e| Error::invalid(e.message().to_owned()))?;
        }
        if let Some((k, m)) = opts.parity {
            crate::format::config::validate_parity(k, m)?;
        }
        opts.kdf
            .validate()
            .map_err(|e| Error::invalid(e.message().to_owned()))?;
        backend.create()?;
        let mut id = [0u8; 16];
        crate::crypto::random_bytes(&mut id)?;
        let now = Timestamp::now().secs;
        let config = Config {
            id,
            chunker,
            fine,
            zstd_level: opts.zstd_level,
            pack_size: opts.pack_size,
            created: now,
            parity: opts.parity,
        };
        let sealer = Sealer::new(&master.subkeys().seal);
        // The spec goes first so even a half-initialised directory explains itself.
        spec_copy::write(&*backend)?;
        let kf = KeyFile::create(&master, password, opts.kdf, now, &lock::hostname())?;
        let kbytes = kf.encode();
        let key_id = KeyFile::id(&kbytes);
        backend.write(Kind::Key, &key_id.to_hex(), &kbytes)?;
        backend.write(
            Kind::Root,
            crate::format::config::CONFIG_NAME,
            &config.seal(&sealer)?,
        )?;
        // The marker last: its presence means the repository is complete.
        backend.write(
            Kind::Root,
            crate::format::config::MARKER_NAME,
            crate::format::config::marker_text().as_bytes(),
        )?;
        Self::assemble(backend, master, config, cache_root, Some(key_id))
    }

    /// This repository's keys and chunker parameters, for a new
    /// repository that is to share them ([`InitOptions::share_keys`]).
    pub fn shared_keys(&self) -> SharedKeys {
        SharedKeys {
            master: self.master.clone(),
            chunker: self.config.chunker,
            fine: self.config.fine,
        }
    }

    /// Do `self` and `other` identify blobs alike (the same blob-ID key),
    /// so that an ID in one names the same plaintext in the other?
    pub fn same_blob_ids(&self, other: &Repository) -> bool {
        self.keys.blob_id == other.keys.blob_id
    }

    /// Open an existing repository with `password`.
    pub fn open(backend: Arc<dyn Backend>, password: &[u8], cache_root: PathBuf) -> Result<Self> {
        check_marker(&*backend)?;
        let (master, key_id) = keys::unlock(&*backend, password)?;
        let sealer = Sealer::new(&master.subkeys().seal);
        let config = Config::open(
            &sealer,
            &backend.read_max(
                Kind::Root,
                crate::format::config::CONFIG_NAME,
                crate::format::config::MAX_CONFIG_FILE,
            )?,
        )?;
        Self::assemble(backend, master, config, cache_root, Some(key_id))
    }

    fn assemble(
        backend: Arc<dyn Backend>,
        master: MasterKey,
        config: Config,
        cache_root: PathBuf,
        key_id: Option<KeyId>,
    ) -> Result<Self> {
        let keys = master.subkeys();
        let chunker = Chunker::new(&keys.gear, config.chunker)?;
        let fine_chunker = match &config.fine {
            Some(f) => Some(Chunker::new(&keys.gear, f.chunker)?),
            None => None,
        };
        Ok(Repository {
            master,
            key_id,
            tree_cache: std::sync::atomic::AtomicBool::new(true),
            sealer: Sealer::new(&keys.seal),
            backend,
            keys,
            config,
            chunker,
            fine_chunker,
            cache_root,
            index: Mutex::new(None),
            resyncs: Mutex::new(0),
            warning_sink: Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// Make sure the storage can serve what `need` reads (an export asks
    /// for missing volumes, or fails naming them).
    pub fn make_available(&self, need: crate::backend::Need) -> Result<()> {
        self.backend.make_available(&need)
    }

    /// The storage. Crate-private: every mutation goes through a function
    /// that takes the lock guard its protocol needs.
    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// Where the repository is (never with credentials).
    pub fn location(&self) -> String {
        self.backend.location()
    }
    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The working keys (for test forgers and vectors; not a stable API).
    #[doc(hidden)]
    pub fn keys(&self) -> &SubKeys {
        &self.keys
    }
    /// The envelope sealer (for test forgers and vectors; not a stable
    /// API).
    #[doc(hidden)]
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }
    /// The keyed chunker.
    pub fn chunker(&self) -> &Chunker {
        &self.chunker
    }

    /// A chunker for a stream of `class` that starts `offset` bytes into
    /// its file (`format-spec/v1/chunking.md`, "Chunk classes").
    pub(crate) fn stream_chunker<'c, 'b, R: std::io::Read>(
        &'c self,
        class: ChunkClass,
        offset: u64,
        reader: R,
        buf: &'b mut Vec<u8>,
    ) -> StreamChunker<'c, 'b, R> {
        let sc = StreamChunker::new(&self.chunker, reader, buf);
        let (Some(params), Some(fine)) = (&self.config.fine, &self.fine_chunker) else {
            return sc;
        };
        let until = params.limit.saturating_sub(offset);
        match (class, params.page) {
            (ChunkClass::Page, Some(page)) => sc.pages_until(page, offset, until),
            (ChunkClass::Fine | ChunkClass::Page, _) => sc.fine_until(fine, until),
            (ChunkClass::Normal, _) => sc,
        }
    }

    /// Send every warning (past and future) to `sink` as well; the engine
    /// itself never prints.
    pub fn set_warning_sink(&self, sink: WarningSink) {
        for w in self.warnings() {
            sink(&w);
        }
        *self.warning_sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }

    /// The warnings so far (each once), e.g. for a `--json` report.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Record a warning (once per distinct message) and pass it on.
    pub fn warn(&self, message: String) {
        {
            let mut seen = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
            if seen.contains(&message) {
                return;
            }
            seen.push(message.clone());
        }
        if let Some(sink) = &*self.warning_sink.lock().unwrap_or_else(|p| p.into_inner()) {
            sink(&message);
        }
    }

    /// Warn about the index files the cache could not read.
    fn report_unreadable(&self, cache: &IndexCache) {
        for (id, why) in cache.unreadable() {
            self.warn(format!(
                "index file index/{id} cannot be read ({why}); it is skipped: readers find the blobs it lists through the pack trailers, and a backup stores them again — run `cairn repair index`"
            ));
        }
    }

    /// The index cache, opened and synced with the repository on first use.
    pub fn index(&self) -> Result<Arc<IndexCache>> {
        let mut slot = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = &*slot {
            return Ok(c.clone());
        }
        let cache = Arc::new(IndexCache::open(&self.cache_root, &self.config.id_hex())?);
        cache.sync(&*self.backend, &self.sealer)?;
        *slot = Some(cache.clone());
        drop(slot);
        self.report_unreadable(&cache);
        Ok(cache)
    }

    /// Bring an open index cache in step with the repository's index files
    /// now (opening it if needed).
    pub fn resync_index(&self) -> Result<()> {
        let open = self.index.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match open {
            Some(c) => {
                c.sync(&*self.backend, &self.sealer)?;
                self.report_unreadable(&c);
                Ok(())
            }
            None => self.index().map(|_| ()),
        }
    }

    /// Change the parity setting: rewrite the config atomically.
    pub fn set_parity(&mut self, lock: &lock::LockGuard, parity: Option<(u8, u8)>) -> Result<()> {
        lock.require(lock::LockMode::Exclusive)?;
        lock.ensure_fresh()?;
        if let Some((k, m)) = parity {
            crate::format::config::validate_parity(k, m)?;
        }
        let mut c = self.config.clone();
        c.parity = parity;
        self.backend.write(
            Kind::Root,
            crate::format::config::CONFIG_NAME,
            &c.seal(&self.sealer)?,
        )?;
        self.config = c;
        Ok(())
    }

    /// Take a lock (shared for backup, prune for GC, exclusive for repairs).
    ///
    /// Every writer takes one, so this is where an older repository's
    /// `spec/` copy is brought up to this writer's (the spec, vectors and
    /// reference restorer); a failure there is a warning, not an error:
    /// no data depends on it.
    pub fn lock(&self, mode: lock::LockMode) -> Result<lock::LockGuard> {
        let guard = lock::acquire(self.backend.clone(), &self.sealer, mode)?;
        if let Err(e) = spec_copy::refresh_if_stale(&*self.backend) {
            self.warn(format!("could not bring spec/ up to date: {e}"));
        }
        Ok(guard)
    }

    /// A shared lock for audits, so that a prune armed meanwhile waits for
    /// them (`format-spec/v1/gc.md`). Storage that cannot be written
    /// (read-only media, where nothing can be pruned either) gets none.
    pub fn audit_lock(&self) -> Result<Option<lock::LockGuard>> {
        match lock::acquire(self.backend.clone(), &self.sealer, lock::LockMode::Shared) {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.kind() == ErrorKind::Locked => Err(e),
            Err(_) => Ok(None),
        }
    }
}
