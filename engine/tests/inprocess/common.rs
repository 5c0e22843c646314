//! Helpers every in-process test shares: a repository on the in-memory
//! backend that is cheap to create (a tiny Argon2id cost, small chunks and
//! packs, so a few kilobytes make several chunks and packs), a synthetic
//! [`Source`] that backs up an in-memory set of files, a restore that reads
//! the restored directory back, forgetting snapshots, and a seeded RNG.
//!
//! Invariant: nothing here reaches around the engine's operations to make a
//! test pass; `forget` removes snapshot files under a prune lock exactly as
//! the CLI does today (there is no engine operation for it yet).

use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::ops::backup::backup_source;
use cairn_engine::source::stream::StreamNodes;
use cairn_engine::source::{BuildContext, Sink, Source};
use cairn_engine::{
    BackupOptions, BackupSummary, ChunkerParams, InitOptions, KdfParams, NoProgress, Node,
    Repository, RestoreOptions, Result, SnapshotId, Timestamp, Tree,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

pub const PASSWORD: &[u8] = b"in-process tests";

/// Repository settings that keep tests fast: a 64 KiB Argon2id, chunks of
/// 256 B to 4 KiB (1 KiB average) and 4 KiB packs (the smallest allowed).
pub fn init_options() -> InitOptions {
    InitOptions {
        kdf: KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        chunker: ChunkerParams {
            min_size: 256,
            avg_size: 1024,
            max_size: 4096,
        },
        pack_size: 4096,
        ..InitOptions::default()
    }
}

/// A repository on the in-memory backend, with its own index cache
/// directory. `storage` outlives `repo`, so a test can reopen it.
pub struct MemRepo {
    pub storage: Arc<MemoryBackend>,
    /// The index cache directory, removed on drop.
    _cache: tempfile::TempDir,
    pub repo: Repository,
}

impl MemRepo {
    pub fn new() -> Self {
        let storage = Arc::new(MemoryBackend::new());
        let cache = scratch_dir();
        let repo = Repository::init(
            storage.clone(),
            PASSWORD,
            &init_options(),
            cache.path().to_path_buf(),
        )
        .expect("init");
        MemRepo {
            storage,
            _cache: cache,
            repo,
        }
    }

    /// The names and bytes of every file of `kind`, sorted by name.
    pub fn files(&self, kind: Kind) -> Vec<(String, Vec<u8>)> {
        let mut names: Vec<String> = self
            .storage
            .list(kind)
            .expect("list")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let bytes = self.storage.read(kind, &n).expect("read");
                (n, bytes)
            })
            .collect()
    }
}

/// Create a repository in `disk` as `Repository::init` does, but with the
/// given master key instead of a random one, and Reed-Solomon parity
/// `(k, m)` if asked. The keyed chunker then cuts
/// the same data at the same places in every run, so a randomized case
/// replays with the same chunks, packs and storage mutations (pack and
/// lock names, which hash random nonces, still differ).
pub fn init_with_key(
    disk: &Arc<MemoryBackend>,
    master: [u8; 32],
    parity: Option<(u8, u8)>,
) -> Result<()> {
    use cairn_engine::codec::config::{Config, CONFIG_NAME};
    use cairn_engine::codec::crypto::{MasterKey, Sealer};
    use cairn_engine::codec::keyfile::KeyFile;
    let scratch = scratch_dir();
    let opts = init_options();
    drop(Repository::init(
        disk.clone(),
        PASSWORD,
        &opts,
        scratch.path().to_path_buf(),
    )?);
    for (name, _) in disk.list(Kind::Key)? {
        disk.remove(Kind::Key, &name)?;
    }
    let master = MasterKey::from_bytes(master);
    let key = KeyFile::create_with(&master, PASSWORD, opts.kdf, vec![7; 32], &[9; 24], 0, "t")?;
    let key = key.encode();
    disk.write(Kind::Key, &KeyFile::id(&key).to_hex(), &key)?;
    let config = Config {
        id: [0x5a; 16],
        chunker: opts.chunker,
        fine: opts.fine,
        zstd_level: opts.zstd_level,
        pack_size: opts.pack_size,
        created: 0,
        parity,
    };
    let sealer = Sealer::new(&master.subkeys().seal);
    disk.write(Kind::Root, CONFIG_NAME, &config.seal(&sealer)?)
}

/// A temporary directory in memory where the machine has `/dev/shm`:
/// restore ends with a `syncfs`, and RocksDB syncs its files, which on a
/// busy disk cost far more than the tests' own work.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("temporary directory")
}

/// Open the repository in `storage` with the test password.
pub fn open(storage: Arc<dyn Backend>, cache: &Path) -> Result<Repository> {
    Repository::open(storage, PASSWORD, cache.to_path_buf())
}

/// Relative path (`name` or `dir/name`) → content.
pub type Files = BTreeMap<String, Vec<u8>>;

/// A [`Source`] backing up [`Files`]: top-level files and one level of
/// directories, each node synthetic (as for standard input). Its snapshots
/// have the `stdin` source kind and the path `/synthetic`.
pub struct Synthetic<'a> {
    pub files: &'a Files,
}

impl Source for Synthetic<'_> {
    fn kind(&self) -> &'static str {
        "stdin"
    }

    fn paths(&self) -> Vec<String> {
        vec!["/synthetic".to_owned()]
    }

    fn build(&mut self, sink: &mut dyn Sink, ctx: &BuildContext<'_>) -> Result<Tree> {
        let mut nodes = StreamNodes::new(sink, ctx);
        let mut root: Vec<Node> = Vec::new();
        let mut dirs: BTreeMap<&str, Vec<Node>> = BTreeMap::new();
        for (path, data) in self.files {
            match path.split_once('/') {
                Some((dir, name)) => {
                    let node = nodes.file(name.as_bytes(), data.as_slice(), path)?;
                    dirs.entry(dir).or_default().push(node);
                }
                None => root.push(nodes.file(path.as_bytes(), data.as_slice(), path)?),
            }
        }
        for (dir, children) in dirs {
            root.push(nodes.dir(dir.as_bytes(), children)?);
        }
        Ok(Tree { nodes: root })
    }
}

/// Back up `files` as a snapshot taken at `secs` (so snapshots of one test
/// have distinct, increasing times).
pub fn backup(repo: &Repository, files: &Files, secs: i64) -> Result<BackupSummary> {
    let opts = BackupOptions {
        host: Some("in-process".into()),
        time: Some(Timestamp { secs, nanos: 0 }),
        ..BackupOptions::default()
    };
    backup_source(repo, &mut Synthetic { files }, &opts, &NoProgress)
}

/// Restore snapshot `id` into a fresh directory with the restore operation
/// and read it back. Fails if the directory holds anything [`Files`] cannot
/// express (an empty directory, a link, a deeper path).
pub fn restore(repo: &Repository, id: &SnapshotId) -> Result<Files> {
    let snap = repo.load_snapshot(id)?;
    let target = scratch_dir();
    let opts = RestoreOptions {
        target: target.path().to_path_buf(),
        ..RestoreOptions::default()
    };
    cairn_engine::restore(repo, &snap, &opts, &NoProgress)?;
    Ok(read_back(target.path()))
}

/// Every regular file under `root` by relative path; panics on anything a
/// synthetic snapshot cannot contain.
pub fn read_back(root: &Path) -> Files {
    let mut files = Files::new();
    let mut dirs = BTreeSet::new();
    for entry in std::fs::read_dir(root).expect("read restore dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().into_string().expect("UTF-8 name");
        let ft = entry.file_type().expect("file type");
        if ft.is_file() {
            files.insert(name, std::fs::read(entry.path()).expect("read"));
        } else if ft.is_dir() {
            for sub in std::fs::read_dir(entry.path()).expect("read dir") {
                let sub = sub.expect("entry");
                let sub_name = sub.file_name().into_string().expect("UTF-8 name");
                assert!(
                    sub.file_type().expect("type").is_file(),
                    "{name}/{sub_name}"
                );
                files.insert(
                    format!("{name}/{sub_name}"),
                    std::fs::read(sub.path()).expect("read"),
                );
            }
            dirs.insert(name);
        } else {
            panic!("restored {name} is neither a file nor a directory");
        }
    }
    for d in dirs {
        let prefix = format!("{d}/");
        assert!(
            files.keys().any(|k| k.starts_with(&prefix)),
            "restored directory {d} is empty"
        );
    }
    files
}

/// The IDs of every snapshot the repository lists, sorted.
pub fn listed(repo: &Repository) -> Result<BTreeSet<SnapshotId>> {
    Ok(repo.snapshots()?.into_iter().map(|(id, _)| id).collect())
}

/// Remove snapshots as `cairn forget ID...` does (the forget operation,
/// with the full IDs given explicitly).
pub fn forget(repo: &Repository, ids: &[SnapshotId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(()); // `cairn forget` with nothing to forget is refused
    }
    let opts = cairn_engine::ops::forget::ForgetOptions {
        snapshots: ids.iter().map(|id| id.to_hex()).collect(),
        ..Default::default()
    };
    cairn_engine::ops::forget::forget(repo, &opts, &cairn_engine::NoProgress).map(|_| ())
}

/// SplitMix64: a tiny, well-mixed, reproducible generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}
