//! Opening and creating repositories.
//!
//! [`Repository`] ties together a backend, the unlocked keys, the config
//! and the (lazily opened) local index cache. It offers read access; all
//! writing of new data goes through [`commit::BlobWriter`], which enforces
//! the packs → index → snapshot order.

pub mod commit;
pub mod config;
pub mod lock;
pub(crate) mod spec_copy;

use crate::backend::{Backend, Kind};
use crate::chunking::{Chunker, ChunkerParams};
use crate::crypto::{KdfParams, KeyFile, MasterKey, Sealer, SubKeys};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{BlobId, KeyId, SnapshotId, TreeId};
use crate::index::{IndexCache, Location};
use crate::pack::{open_blob, BlobType};
use crate::snapshot::{Snapshot, SnapshotFilter};
use crate::tree::{Timestamp, Tree};
pub use config::Config;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Settings for `init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Argon2id cost for the first key file.
    pub kdf: KdfParams,
    /// Chunk sizes.
    pub chunker: ChunkerParams,
    /// zstd level.
    pub zstd_level: i32,
    /// Target pack size.
    pub pack_size: u32,
    /// Reed-Solomon parity `(k, m)`, if wanted.
    pub parity: Option<(u8, u8)>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            kdf: KdfParams::default(),
            chunker: ChunkerParams::default(),
            zstd_level: crate::compression::DEFAULT_LEVEL,
            pack_size: 16 << 20,
            parity: None,
        }
    }
}

/// Receives the warnings of readers that work around damage instead of
/// failing (an unreadable index file, say); the CLI prints them on stderr.
pub type WarningSink = Box<dyn Fn(&str) + Send + Sync>;

/// An open, unlocked repository.
pub struct Repository {
    backend: Arc<dyn Backend>,
    keys: SubKeys,
    sealer: Sealer,
    config: Config,
    chunker: Chunker,
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
    match backend.read_max(Kind::Root, config::MARKER_NAME, config::MAX_MARKER_FILE) {
        Ok(bytes) => config::parse_marker(&bytes).map(|_| ()),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::new(
            ErrorKind::RepositoryNotFound,
            format!(
                "no Cairn repository at {} (run `cairn init` to create one)",
                backend.location()
            ),
        )),
        Err(e) => Err(e),
    }
}

impl Repository {
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
            .any(|f| f.ends_with("(a regular file)"));
        if !backend.list(Kind::Root)?.is_empty() || foreign_files {
            return Err(Error::new(
                ErrorKind::RepositoryExists,
                format!(
                    "{} is not empty; choose an empty location for a new repository",
                    backend.location()
                ),
            ));
        }
        opts.chunker
            .validate()
            .map_err(|e| Error::invalid(e.message().to_owned()))?;
        if let Some((k, m)) = opts.parity {
            config::validate_parity(k, m)?;
        }
        opts.kdf
            .validate()
            .map_err(|e| Error::invalid(e.message().to_owned()))?;
        backend.create()?;
        let master = MasterKey::generate()?;
        let mut id = [0u8; 16];
        crate::crypto::random_bytes(&mut id)?;
        let now = Timestamp::now().secs;
        let config = Config {
            id,
            chunker: opts.chunker,
            zstd_level: opts.zstd_level,
            pack_size: opts.pack_size,
            created: now,
            parity: opts.parity,
        };
        let keys = master.subkeys();
        let sealer = Sealer::new(&keys.seal);
        // The spec goes first so even a half-initialised directory explains itself.
        spec_copy::write(&*backend)?;
        let kf = KeyFile::create(&master, password, opts.kdf, now, &lock::hostname())?;
        let kbytes = kf.encode();
        backend.write(Kind::Key, &KeyFile::id(&kbytes).to_hex(), &kbytes)?;
        backend.write(Kind::Root, config::CONFIG_NAME, &config.seal(&sealer)?)?;
        // The marker last: its presence means the repository is complete.
        backend.write(
            Kind::Root,
            config::MARKER_NAME,
            config::marker_text().as_bytes(),
        )?;
        Self::assemble(backend, keys, config, cache_root)
    }

    /// Open an existing repository with `password`.
    pub fn open(backend: Arc<dyn Backend>, password: &[u8], cache_root: PathBuf) -> Result<Self> {
        check_marker(&*backend)?;
        let mut key_names = backend.list(Kind::Key)?;
        key_names.sort();
        if key_names.is_empty() {
            return Err(Error::corrupt(format!(
                "repository at {} has no key files; restore keys/ from a copy",
                backend.location()
            )));
        }
        let mut last_err = None;
        let mut master = None;
        for (name, _) in key_names {
            // A damaged or oversized key file must not hide the others.
            let bytes = match backend.read_max(Kind::Key, &name, crate::crypto::keys::MAX_KEY_FILE)
            {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => {
                    if last_err
                        .as_ref()
                        .is_none_or(|p: &Error| p.kind() != ErrorKind::WrongPassword)
                    {
                        last_err = Some(e);
                    }
                    continue;
                }
            };
            if KeyFile::id(&bytes) != KeyId::from_hex(&name).unwrap_or_default() {
                last_err = Some(Error::corrupt(format!(
                    "key file {name} does not match its name (damaged)"
                )));
                continue;
            }
            match KeyFile::decode(&bytes).and_then(|kf| kf.open(password)) {
                Ok(m) => {
                    master = Some(m);
                    break;
                }
                Err(e) => {
                    let e = if e.kind() == ErrorKind::WrongPassword {
                        e
                    } else {
                        e.context(format!("key file {name}"))
                    };
                    if last_err
                        .as_ref()
                        .is_none_or(|p: &Error| p.kind() != ErrorKind::WrongPassword)
                    {
                        last_err = Some(e);
                    }
                }
            }
        }
        let master = match master {
            Some(m) => m,
            None => {
                return Err(last_err
                    .unwrap_or_else(|| Error::new(ErrorKind::WrongPassword, "wrong password")))
            }
        };
        let keys = master.subkeys();
        let sealer = Sealer::new(&keys.seal);
        let config = Config::open(
            &sealer,
            &backend.read_max(Kind::Root, config::CONFIG_NAME, config::MAX_CONFIG_FILE)?,
        )?;
        Self::assemble(backend, keys, config, cache_root)
    }

    fn assemble(
        backend: Arc<dyn Backend>,
        keys: SubKeys,
        config: Config,
        cache_root: PathBuf,
    ) -> Result<Self> {
        let chunker = Chunker::new(&keys.gear, config.chunker)?;
        Ok(Repository {
            sealer: Sealer::new(&keys.seal),
            backend,
            keys,
            config,
            chunker,
            cache_root,
            index: Mutex::new(None),
            resyncs: Mutex::new(0),
            warning_sink: Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// The storage.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The working keys.
    pub fn keys(&self) -> &SubKeys {
        &self.keys
    }
    /// The envelope sealer.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }
    /// The keyed chunker.
    pub fn chunker(&self) -> &Chunker {
        &self.chunker
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
    pub fn set_parity(&mut self, parity: Option<(u8, u8)>) -> Result<()> {
        if let Some((k, m)) = parity {
            config::validate_parity(k, m)?;
        }
        let mut c = self.config.clone();
        c.parity = parity;
        self.backend
            .write(Kind::Root, config::CONFIG_NAME, &c.seal(&self.sealer)?)?;
        self.config = c;
        Ok(())
    }

    /// Take a lock (shared for backup, prune for GC, exclusive for repairs).
    pub fn lock(&self, mode: lock::LockMode) -> Result<lock::LockGuard> {
        lock::acquire(self.backend.clone(), &self.sealer, mode)
    }

    /// A shared lock for audits, so that a prune armed meanwhile waits for
    /// them (`format-spec/v1/gc.md`). Storage that cannot be written
    /// (read-only media, where nothing can be pruned either) gets none.
    pub fn audit_lock(&self) -> Result<Option<lock::LockGuard>> {
        match self.lock(lock::LockMode::Shared) {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.kind() == ErrorKind::Locked => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Every readable snapshot, oldest first. A damaged snapshot file must
    /// not make the others unusable: see [`Self::snapshots_and_errors`].
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        Ok(self.snapshots_and_errors()?.0)
    }

    /// Readable snapshots (oldest first) and the snapshot files that could
    /// not be read, with why.
    #[allow(clippy::type_complexity)]
    pub fn snapshots_and_errors(
        &self,
    ) -> Result<(Vec<(SnapshotId, Snapshot)>, Vec<(String, Error)>)> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (name, _) in self.backend.list(Kind::Snapshot)? {
            let Ok(id) = SnapshotId::from_hex(&name) else {
                continue;
            };
            match self.load_snapshot(&id) {
                Ok(s) => out.push((id, s)),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => bad.push((name, e)),
            }
        }
        out.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok((out, bad))
    }

    /// Read one snapshot.
    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        let bytes = self.backend.read_max(
            Kind::Snapshot,
            &id.to_hex(),
            crate::snapshot::MAX_SNAPSHOT_FILE,
        )?;
        Snapshot::open(&self.sealer, id, &bytes)
    }

    /// Resolve `latest` or a unique hex prefix of a snapshot ID.
    pub fn find_snapshot(&self, spec: &str) -> Result<(SnapshotId, Snapshot)> {
        self.find_snapshot_matching(spec, &SnapshotFilter::default())
    }

    /// Resolve `spec`: `latest` is the newest snapshot that passes
    /// `filter`; anything else is a unique hex prefix of a snapshot ID (and
    /// then `filter` must be empty).
    ///
    /// An unreadable snapshot file fails `latest`: its time is unknown, so
    /// it could be the newest, and silently using an older snapshot would
    /// let `backup && verify latest` stay green over a damaged backup.
    pub fn find_snapshot_matching(
        &self,
        spec: &str,
        filter: &SnapshotFilter,
    ) -> Result<(SnapshotId, Snapshot)> {
        if spec == "latest" {
            return self.find_latest(filter);
        }
        if !filter.is_empty() {
            return Err(Error::invalid(format!(
                "the filters {} choose among snapshots for `latest`; they cannot be combined with a snapshot ID",
                filter.describe()
            )));
        }
        self.find_by_prefix(spec)
    }

    fn find_latest(&self, filter: &SnapshotFilter) -> Result<(SnapshotId, Snapshot)> {
        let (snaps, bad) = self.snapshots_and_errors()?;
        if let Some((name, e)) = bad.first() {
            let others = match bad.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let why = e.to_string();
            let why = why
                .strip_prefix(&format!("snapshot {name}: "))
                .unwrap_or(&why);
            return Err(Error::new(
                e.kind(),
                format!(
                    "`latest` cannot be resolved: snapshot file snapshots/{name}{others} is unreadable ({why}), \
                     and it could be the newest snapshot. Give a snapshot ID instead (see `cairn snapshots`), \
                     or restore that file from a copy of the repository (see `cairn check`); \
                     if it cannot be recovered, delete it"
                ),
            ));
        }
        if snaps.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                "the repository has no snapshots yet",
            ));
        }
        snaps
            .into_iter()
            .rev()
            .find(|(_, s)| filter.matches(s))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "no snapshot matches {} (see `cairn snapshots {}`)",
                        filter.describe(),
                        filter.describe()
                    ),
                )
            })
    }

    fn find_by_prefix(&self, spec: &str) -> Result<(SnapshotId, Snapshot)> {
        if spec.is_empty() || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "'{spec}' is not a snapshot ID, ID prefix or 'latest'"
            )));
        }
        let spec_lc = spec.to_ascii_lowercase();
        let matches: Vec<String> = self
            .backend
            .list(Kind::Snapshot)?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(&spec_lc))
            .collect();
        match matches.as_slice() {
            [one] => {
                let id = SnapshotId::from_hex(one)?;
                Ok((id, self.load_snapshot(&id)?))
            }
            [] => Err(Error::new(
                ErrorKind::NotFound,
                format!("no snapshot matches '{spec}' (see `cairn snapshots`)"),
            )),
            _ => Err(Error::new(
                ErrorKind::Ambiguous,
                format!(
                    "'{spec}' matches {} snapshots; give more digits",
                    matches.len()
                ),
            )),
        }
    }

    /// Replace snapshot `old` by `new` (e.g. changed tags): the new file is
    /// stored before the old one is removed. Trees are untouched, so the
    /// packs → index → snapshot order still holds.
    pub fn rewrite_snapshot(&self, old: &SnapshotId, new: &Snapshot) -> Result<SnapshotId> {
        let bytes = new.seal(&self.sealer)?;
        let id = SnapshotId(*blake3::hash(&bytes).as_bytes());
        if id != *old {
            self.backend.write(Kind::Snapshot, &id.to_hex(), &bytes)?;
            self.backend.remove(Kind::Snapshot, &old.to_hex())?;
        }
        Ok(id)
    }

    /// Where a blob of type `want` is stored. A miss re-syncs the index
    /// once (see [`Self::read_blob`]) before it is reported. A blob indexed
    /// with another type is corruption: file content is made of chunks and
    /// directories of trees, never the other way round.
    pub fn locate(&self, id: &BlobId, want: BlobType) -> Result<Location> {
        self.retry_after_resync(|| self.locate_cached(id, want))
    }

    fn locate_cached(&self, id: &BlobId, want: BlobType) -> Result<Location> {
        let loc = match self.index()?.locate(&*self.backend, &self.sealer, id)? {
            Some((loc, from_trailer)) => {
                if from_trailer {
                    self.warn("some blobs are in no readable index file and were found by reading pack trailers instead (slower) — run `cairn check`, then `cairn repair index`".into());
                }
                loc
            }
            None => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("blob {} is not in the index; the repository is missing data (run `cairn check`)", id.to_hex()),
                ))
            }
        };
        if loc.entry.blob_type != want {
            return Err(Error::corrupt(format!(
                "blob {} is stored as a {}, but is referenced as a {} (a forged or damaged tree; run `cairn check`)",
                id.to_hex(),
                type_name(loc.entry.blob_type),
                type_name(want)
            )));
        }
        Ok(loc)
    }

    /// Run `f`; if it finds something missing, re-sync the index (unless
    /// another thread did meanwhile) and run it once more.
    fn retry_after_resync<T>(&self, f: impl Fn() -> Result<T>) -> Result<T> {
        let seen = *self.resyncs.lock().unwrap_or_else(|p| p.into_inner());
        match f() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                {
                    let mut gen = self.resyncs.lock().unwrap_or_else(|p| p.into_inner());
                    if *gen == seen {
                        self.resync_index()?;
                        *gen += 1;
                    }
                }
                f()
            }
            other => other,
        }
    }

    /// Read and fully verify one blob.
    ///
    /// Readers take no lock, so a prune may move a blob (repack) and delete
    /// its old pack meanwhile. When the blob or its pack is not found, the
    /// index is re-synced once (one thread at a time; threads that waited
    /// reuse that re-sync) and the read is retried at the new location.
    pub fn read_blob(&self, id: &BlobId, want: BlobType) -> Result<Vec<u8>> {
        self.retry_after_resync(|| {
            self.locate_cached(id, want)
                .and_then(|l| self.read_located(&l))
        })
    }

    /// Read and fully verify the blob at a known location (found by
    /// [`Self::locate`], which checked its type).
    pub fn read_located(&self, loc: &Location) -> Result<Vec<u8>> {
        let id = &loc.entry.id;
        let pack = loc.pack.to_hex();
        let sealed = self
            .backend
            .read_range(
                Kind::Data,
                &pack,
                loc.entry.offset,
                u64::from(loc.entry.sealed_len),
            )
            .map_err(|e| e.context(format!("pack {pack}")))?;
        open_blob(&self.keys, &self.sealer, &loc.entry, &sealed).map_err(|e| {
            e.context(format!(
                "pack {pack}, blob {} (the pack is damaged; restore it from another copy)",
                id.to_hex()
            ))
        })
    }

    /// Read and decode a tree.
    pub fn read_tree(&self, id: &TreeId) -> Result<Tree> {
        let bytes = self.read_blob(&BlobId(id.0), BlobType::Tree)?;
        Tree::decode(&bytes).map_err(|e| e.context(format!("tree {id}")))
    }
}

fn type_name(t: BlobType) -> &'static str {
    match t {
        BlobType::Chunk => "chunk (file content)",
        BlobType::Tree => "tree (directory)",
    }
}
