//! The backup pipeline.
//!
//! One walker thread reads the filesystem in name order, cuts file content
//! with the keyed chunker, hashes each chunk and asks the [`BlobWriter`]
//! whether it is new. Only new chunks (and trees) travel through a bounded
//! channel to worker threads that compress, seal and pack them. Memory is
//! bounded by the channel depth, the chunker buffer and the open packs —
//! not by the size of the input or of the repository.
//!
//! A file whose size, mtime, ctime and inode equal those recorded in the
//! parent snapshot is not read: its content list is reused.
//!
//! Unreadable entries become warnings (the snapshot is then *partial*);
//! repository errors abort, index what was stored, and write no snapshot.
//!
//! This module holds the pipeline shared by every backup (the walker's
//! chunk and tree handling, the workers, the commit); `walk` walks the
//! filesystem for file backups and `stream` builds trees from streams
//! (stdin, database dumps).

mod stream;
mod walk;

pub(crate) use stream::backup_streams;
pub use stream::{backup_stdin, StreamSink};
pub use walk::backup;

use crate::chunking::StreamChunker;
use crate::error::{Error, ErrorKind, Result};
use crate::filter::PathFilter;
use crate::id::{BlobId, ChunkId, SnapshotId, TreeId};
use crate::pack::BlobType;
use crate::progress::{check_interrupt, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::Repository;
use crate::snapshot::{Snapshot, SnapshotStats};
use crate::source::files::{node_from, NameCache};
use crate::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use crossbeam_channel::Sender;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What to back up and how to label it.
#[derive(Clone, Debug, Default)]
pub struct BackupOptions {
    /// Paths to back up (made absolute; symlinks in them are not resolved).
    pub paths: Vec<PathBuf>,
    /// Tags for the snapshot.
    pub tags: Vec<String>,
    /// Host name to record (default: this machine's).
    pub host: Option<String>,
    /// Snapshot time (default: now).
    pub time: Option<Timestamp>,
    /// Exclude patterns (see [`PathFilter`]).
    pub excludes: Vec<String>,
    /// Do not descend into other filesystems.
    pub one_file_system: bool,
    /// Parent snapshot for change detection (default: the latest snapshot
    /// with the same host and paths).
    pub parent: Option<SnapshotId>,
    /// Record access times. Off by default, as in restic: reading a file
    /// changes its atime, so recording it would make every re-backup of
    /// an unchanged tree store new tree data. Without it a node's atime is
    /// its mtime.
    pub with_atime: bool,
}

/// The result of a backup.
#[derive(Clone, Debug)]
pub struct BackupSummary {
    /// The new snapshot.
    pub snapshot_id: SnapshotId,
    /// The snapshot record.
    pub snapshot: Snapshot,
    /// Problems that made the backup partial.
    pub warnings: Vec<String>,
    /// Set when the snapshot is stored but its new packs could not be
    /// protected by parity (run `cairn parity protect`).
    pub parity_error: Option<String>,
}

type Job = (BlobType, BlobId, Vec<u8>);

/// The tag a snapshot gets when some entries could not be read.
pub const PARTIAL_TAG: &str = "partial";

struct Walker<'a, 'r> {
    repo: &'r Repository,
    writer: &'a BlobWriter<'r>,
    tx: Sender<Job>,
    failed: &'a Mutex<Option<Error>>,
    excludes: PathFilter,
    one_fs: bool,
    with_atime: bool,
    names: NameCache,
    stats: SnapshotStats,
    warnings: Vec<String>,
    progress: &'a dyn Progress,
    /// Read buffer reused for every file (see `StreamChunker`).
    buf: Vec<u8>,
    /// Report chunk bytes as progress (off while a reader reports its own).
    chunk_progress: bool,
    /// Backup paths that made it into the tree (a snapshot in which none
    /// did would hold nothing and is not written).
    targets_saved: usize,
}

impl Walker<'_, '_> {
    /// The node for an `lstat` result (warnings reported), with the atime
    /// policy applied.
    fn node(&mut self, path: &Path, name: &[u8], md: &std::fs::Metadata) -> Node {
        let (mut node, warns) = node_from(path, name, md, &self.names);
        for w in warns {
            self.warn(w);
        }
        if !self.with_atime {
            node.atime = node.mtime;
        }
        node
    }

    fn warn(&mut self, msg: String) {
        self.progress.warn(&msg);
        self.warnings.push(msg);
    }

    fn send(&self, t: BlobType, id: BlobId, data: Vec<u8>) -> Result<()> {
        if let Some(e) = self.failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        self.tx
            .send((t, id, data))
            .map_err(|_| Error::new(ErrorKind::Io, "backup workers stopped unexpectedly"))
    }

    fn add_chunk(&self, data: &[u8]) -> Result<ChunkId> {
        let id = self.repo.keys().blob_id(data);
        if self.writer.claim(&BlobId(id), BlobType::Chunk)? {
            self.send(BlobType::Chunk, BlobId(id), data.to_vec())?;
        }
        Ok(ChunkId(id))
    }

    /// Are all of these chunks in the index (or stored by this session)?
    /// A parent's content is reused only then, so a lost pack is healed by
    /// reading the file again instead of being carried forward.
    fn all_stored(&self, content: &[Extent]) -> Result<bool> {
        for e in content {
            if let Extent::Chunk(id) = e {
                if !self.writer.is_stored(&BlobId(id.0), BlobType::Chunk)? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn add_tree(&self, mut tree: Tree) -> Result<TreeId> {
        for n in &tree.nodes {
            n.check_fields()?;
        }
        let bytes = tree.encode();
        let id = self.repo.keys().blob_id(&bytes);
        if self.writer.claim(&BlobId(id), BlobType::Tree)? {
            self.send(BlobType::Tree, BlobId(id), bytes)?;
        }
        Ok(TreeId(id))
    }

    fn parent_subtree(&mut self, parent: Option<&Node>) -> Option<Tree> {
        let id = parent.filter(|n| n.kind == NodeKind::Dir)?.subtree?;
        match self.repo.read_tree(&id) {
            Ok(t) => Some(t),
            Err(e) => {
                self.warn(format!(
                    "parent snapshot tree unreadable, reading all files: {e}"
                ));
                None
            }
        }
    }

    /// Chunk a stream into `content`; returns bytes read.
    fn dir_node(&mut self, mut node: Node, tree: Tree) -> Result<Node> {
        self.stats.dirs += 1;
        node.subtree = Some(self.add_tree(tree)?);
        Ok(node)
    }

    fn chunk_stream(
        &mut self,
        reader: impl Read,
        content: &mut Vec<Extent>,
    ) -> Result<std::io::Result<u64>> {
        let chunker = self.repo.chunker();
        let mut buf = std::mem::take(&mut self.buf);
        let mut sc = StreamChunker::new(chunker, reader, &mut buf);
        let mut total = 0u64;
        let result = loop {
            if let Err(e) = check_interrupt() {
                break Err(e);
            }
            match sc.next_chunk() {
                Ok(Some(chunk)) => {
                    total += chunk.len() as u64;
                    if self.chunk_progress {
                        self.progress.bytes(chunk.len() as u64);
                    }
                    match self.add_chunk(chunk) {
                        Ok(id) => content.push(Extent::Chunk(id)),
                        Err(e) => break Err(e),
                    }
                }
                Ok(None) => break Ok(Ok(total)),
                Err(e) => break Ok(Err(e)),
            }
        };
        self.buf = buf;
        result
    }
}

/// How a walk treats what it finds.
struct WalkSettings {
    excludes: PathFilter,
    one_fs: bool,
    with_atime: bool,
}

/// Run `body` on a fresh [`Walker`] whose blobs worker threads store;
/// returns the root tree ID with the walk's totals and warnings.
fn run_walker<'r>(
    repo: &'r Repository,
    writer: &BlobWriter<'r>,
    failed: &Mutex<Option<Error>>,
    settings: WalkSettings,
    progress: &dyn Progress,
    body: impl FnOnce(&mut Walker<'_, 'r>) -> Result<TreeId>,
) -> Result<(TreeId, SnapshotStats, Vec<String>)> {
    with_workers(writer, failed, |tx| {
        let mut w = Walker {
            repo,
            writer,
            tx,
            failed,
            excludes: settings.excludes,
            one_fs: settings.one_fs,
            with_atime: settings.with_atime,
            names: NameCache::default(),
            stats: SnapshotStats::default(),
            warnings: Vec::new(),
            progress,
            buf: Vec::new(),
            chunk_progress: true,
            targets_saved: 0,
        };
        let id = body(&mut w)?;
        Ok((id, w.stats, w.warnings))
    })
}

/// Run `walk` with worker threads storing what it sends; returns the walk
/// result and the writer, ready to commit or abandon.
fn with_workers<'r, T>(
    writer: &BlobWriter<'r>,
    failed: &Mutex<Option<Error>>,
    walk: impl FnOnce(Sender<Job>) -> Result<T>,
) -> Result<T> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 16);
    let (tx, rx) = crossbeam_channel::bounded::<Job>(workers);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let rx = rx.clone();
            s.spawn(move || {
                let mut scratch = Vec::new();
                for (t, id, data) in rx {
                    if let Err(e) = writer.store(t, id, &data, &mut scratch) {
                        let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
                        if f.is_none() {
                            *f = Some(e);
                        }
                    }
                }
            });
        }
        drop(rx);
        walk(tx)
    })
}

fn finish(
    repo: &Repository,
    lock: &crate::repo::lock::LockGuard,
    writer: BlobWriter<'_>,
    failed: Mutex<Option<Error>>,
    walked: Result<(TreeId, SnapshotStats, Vec<String>)>,
    mut snapshot: Snapshot,
) -> Result<BackupSummary> {
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    // An interrupt that arrived while a stream ended (a signal closes the
    // pipe too) still means "no snapshot": check once more before commit.
    let walked = walked.and_then(|w| check_interrupt().map(|()| w));
    let (tree, mut stats, warnings) = match (walked, failed) {
        (Ok(v), None) => v,
        (Err(e), _) | (Ok(_), Some(e)) => {
            let _ = writer.abandon();
            return Err(backup_wording(e));
        }
    };
    let (new_bytes, stored_bytes) = writer.totals();
    stats.new_bytes = new_bytes;
    stats.stored_bytes = stored_bytes;
    snapshot.tree = tree;
    snapshot.stats = stats;
    if !warnings.is_empty() {
        // Visible in `snapshots`, selectable with --tag (spec: reserved tags).
        snapshot.tags.push(PARTIAL_TAG.to_owned());
        snapshot.tags.sort();
        snapshot.tags.dedup();
    }
    if let Err(e) = lock.ensure_fresh() {
        let _ = writer.abandon();
        return Err(e);
    }
    let id = writer.commit(&snapshot)?;
    // Protect the new packs with parity (the snapshot is already safe; a
    // failure here only leaves packs unprotected until the next run).
    let parity_error = match repo.config().parity {
        Some(_) => crate::parity::protect(repo, &crate::progress::NoProgress)
            .err()
            .map(|e| match e.kind() {
                ErrorKind::Interrupted => "interrupted".to_owned(),
                _ => e.to_string(),
            }),
        None => None,
    };
    Ok(BackupSummary {
        parity_error,
        snapshot_id: id,
        snapshot,
        warnings,
    })
}

/// What an interrupted backup means for the user, whatever was
/// interrupted (a read, a worker, the walk).
fn backup_wording(e: Error) -> Error {
    match e.kind() {
        ErrorKind::Interrupted => Error::new(
            ErrorKind::Interrupted,
            "interrupted; no snapshot was written, data already stored is intact and will be reused",
        ),
        _ => e,
    }
}

fn base_snapshot(opts: &BackupOptions, paths: Vec<String>, source: &str) -> Snapshot {
    let mut tags = opts.tags.clone();
    tags.sort();
    tags.dedup();
    Snapshot {
        time: opts.time.unwrap_or_else(Timestamp::now),
        tree: TreeId::default(),
        paths,
        host: opts
            .host
            .clone()
            .unwrap_or_else(crate::repo::lock::hostname),
        user: nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default(),
        tags,
        parent: None,
        source: source.into(),
        stats: SnapshotStats::default(),
        program: format!("cairn {}", env!("CARGO_PKG_VERSION")),
    }
}
