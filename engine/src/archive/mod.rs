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

mod stream;

pub(crate) use stream::backup_streams;
pub use stream::{backup_stdin, StreamSink};

use crate::chunking::StreamChunker;
use crate::error::{Error, ErrorKind, Result};
use crate::filter::PathFilter;
use crate::id::{BlobId, ChunkId, SnapshotId, TreeId};
use crate::pack::BlobType;
use crate::progress::{check_interrupt, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use crate::snapshot::{Snapshot, SnapshotStats};
use crate::source::files::{data_regions, node_from, ts, NameCache};
use crate::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use crossbeam_channel::Sender;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
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

    fn file(&mut self, path: &Path, mut node: Node, parent: Option<&Node>) -> Result<Option<Node>> {
        self.progress.file(path);
        if let Some(p) = parent {
            if unchanged(p, node.size, node.mtime, node.ctime, node.inode)
                && self.all_stored(&p.content)?
            {
                node.content = p.content.clone();
                self.stats.files += 1;
                self.stats.bytes += node.size;
                self.stats.unchanged_files += 1;
                self.progress.bytes(node.size);
                return Ok(Some(node));
            }
        }
        let read = (|| -> Result<std::io::Result<(Vec<Extent>, u64)>> {
            let mut f = match open_noatime(path) {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            let md = match f.metadata() {
                Ok(m) => m,
                Err(e) => return Ok(Err(e)),
            };
            let regions = match data_regions(&f, &md) {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            let mut content = Vec::new();
            let mut pos = 0u64;
            let mut shrank = false;
            for (off, len) in regions {
                if off > pos {
                    content.push(Extent::Hole(off - pos));
                }
                if let Err(e) = f.seek(SeekFrom::Start(off)) {
                    return Ok(Err(e));
                }
                let n = match self.chunk_stream((&mut f).take(len), &mut content)? {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                pos = off + n;
                if n < len {
                    shrank = true; // the file shrank while we read it
                    break;
                }
            }
            if !shrank && md.len() > pos {
                content.push(Extent::Hole(md.len() - pos));
                pos = md.len();
            }
            Ok(Ok((content, pos)))
        })()?;
        match read {
            Ok((content, size)) => {
                node.size = size;
                node.content = content;
                self.stats.files += 1;
                self.stats.bytes += node.size;
                Ok(Some(node))
            }
            Err(e) => {
                self.warn(format!("{}: {e} (file skipped)", path.display()));
                Ok(None)
            }
        }
    }

    /// Back up one directory entry that exists at `path`.
    fn entry(
        &mut self,
        path: &Path,
        name: &[u8],
        parent: Option<&Node>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        check_interrupt()?;
        if self.excludes.matches(path) {
            return Ok(None);
        }
        let md = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.warn(format!("{}: {e} (skipped)", path.display()));
                return Ok(None);
            }
        };
        self.entry_with(path, name, md, parent, root_dev)
    }

    /// As [`entry`](Self::entry) with the `lstat` result already in hand.
    fn entry_with(
        &mut self,
        path: &Path,
        name: &[u8],
        md: std::fs::Metadata,
        parent: Option<&Node>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        let node = self.node(path, name, &md);
        if node.kind == NodeKind::Symlink && node.target.is_none() {
            return Ok(None); // unreadable link: warned above, skipped
        }
        match node.kind {
            NodeKind::File => self.file(path, node, parent),
            NodeKind::Dir => {
                if self.one_fs && md.dev() != root_dev {
                    return self.dir_node(node, Tree::default()).map(Some);
                }
                let parent_tree = self.parent_subtree(parent);
                self.dir(path, node, parent_tree.as_ref(), root_dev)
            }
            _ => Ok(Some(node)),
        }
    }

    fn dir_node(&mut self, mut node: Node, tree: Tree) -> Result<Node> {
        self.stats.dirs += 1;
        node.subtree = Some(self.add_tree(tree)?);
        Ok(node)
    }

    fn dir(
        &mut self,
        path: &Path,
        node: Node,
        parent: Option<&Tree>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        match self.dir_tree(path, parent, root_dev)? {
            Some(tree) => self.dir_node(node, tree).map(Some),
            None => Ok(None),
        }
    }

    fn dir_tree(
        &mut self,
        path: &Path,
        parent: Option<&Tree>,
        root_dev: u64,
    ) -> Result<Option<Tree>> {
        let rd = match std::fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) => {
                self.warn(format!("{}: {e} (directory skipped)", path.display()));
                return Ok(None);
            }
        };
        let mut names: Vec<Vec<u8>> = Vec::new();
        for ent in rd {
            match ent {
                Ok(ent) => names.push(ent.file_name().as_bytes().to_vec()),
                Err(e) => self.warn(format!("{}: {e} (entry skipped)", path.display())),
            }
        }
        names.sort();
        // Look ahead: lstat the next entries and ask the kernel to start
        // reading the files we will have to read (new or changed ones), so
        // disk latency overlaps our work. Unchanged files are never touched.
        let mut ahead: std::collections::VecDeque<(Vec<u8>, std::io::Result<std::fs::Metadata>)> =
            std::collections::VecDeque::new();
        let mut names = names.into_iter();
        let mut tree = Tree::default();
        loop {
            while ahead.len() < PREFETCH_FILES {
                let Some(name) = names.next() else { break };
                let child = path.join(std::ffi::OsStr::from_bytes(&name));
                let md = std::fs::symlink_metadata(&child);
                if let Ok(m) = &md {
                    let pnode = parent.and_then(|t| t.get(&name));
                    let same = pnode.is_some_and(|p| {
                        unchanged(
                            p,
                            m.len(),
                            ts(m.mtime(), m.mtime_nsec()),
                            ts(m.ctime(), m.ctime_nsec()),
                            m.ino(),
                        )
                    });
                    if m.is_file() && !same && !self.excludes.matches(&child) {
                        prefetch(&child);
                    }
                }
                ahead.push_back((name, md));
            }
            let Some((name, md)) = ahead.pop_front() else {
                break;
            };
            check_interrupt()?;
            let child = path.join(std::ffi::OsStr::from_bytes(&name));
            if self.excludes.matches(&child) {
                continue;
            }
            let md = match md {
                Ok(m) => m,
                Err(e) => {
                    self.warn(format!("{}: {e} (skipped)", child.display()));
                    continue;
                }
            };
            let pnode = parent.and_then(|t| t.get(&name));
            if let Some(n) = self.entry_with(&child, &name, md, pnode, root_dev)? {
                tree.nodes.push(n);
            }
        }
        Ok(Some(tree))
    }

    /// Build the root tree reproducing the absolute `paths`.
    fn root(&mut self, trie: &Trie, prefix: &Path, parent: Option<&Tree>) -> Result<Tree> {
        let mut tree = Tree::default();
        for (name, sub) in &trie.children {
            let path = prefix.join(std::ffi::OsStr::from_bytes(name));
            let pnode = parent.and_then(|t| t.get(name));
            // A backup path itself is recorded as it is (a symlink stays a
            // symlink); a directory above it is followed if it is a symlink
            // (e.g. /lib -> usr/lib), because it must be a directory here.
            let md = if sub.target {
                std::fs::symlink_metadata(&path)
            } else {
                std::fs::metadata(&path)
            };
            let md = match md {
                Ok(m) => m,
                Err(e) => {
                    self.warn(format!("{}: {e} (skipped)", path.display()));
                    continue;
                }
            };
            let node = if sub.target {
                let n = self.entry(&path, name, pnode, md.dev())?;
                self.targets_saved += usize::from(n.is_some());
                n
            } else {
                let node = self.node(&path, name, &md);
                let ptree = self.parent_subtree(pnode);
                let subtree = self.root(sub, &path, ptree.as_ref())?;
                Some(self.dir_node(node, subtree)?)
            };
            if let Some(n) = node {
                tree.nodes.push(n);
            }
        }
        Ok(tree)
    }
}

/// Open for reading without updating the access time where permitted
/// (`O_NOATIME` needs ownership or privilege; fall back silently), and ask
/// the kernel to read the whole file ahead asynchronously, so disk reads
/// overlap chunking, hashing and compression.
fn open_noatime(path: &Path) -> std::io::Result<std::fs::File> {
    use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOATIME)
        .open(path)
    {
        Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => std::fs::File::open(path),
        other => other,
    }?;
    let fd = f.as_raw_fd();
    let _ = posix_fadvise(fd, 0, 0, PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL);
    let _ = posix_fadvise(fd, 0, 0, PosixFadviseAdvice::POSIX_FADV_WILLNEED);
    Ok(f)
}

/// Would a file with this metadata reuse `p`'s content without reading?
fn unchanged(p: &Node, size: u64, mtime: Timestamp, ctime: Timestamp, inode: u64) -> bool {
    p.kind == NodeKind::File
        && p.size == size
        && p.mtime == mtime
        && p.ctime == ctime
        && p.inode == inode
}

/// How many entries ahead of the current one are examined and prefetched.
const PREFETCH_FILES: usize = 32;

/// Ask the kernel to start reading a file we will read soon (best effort;
/// files we may not read or that vanished are simply skipped).
fn prefetch(path: &Path) {
    use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
    use std::os::fd::AsRawFd;
    if let Ok(f) = std::fs::File::open(path) {
        let _ = posix_fadvise(f.as_raw_fd(), 0, 0, PosixFadviseAdvice::POSIX_FADV_WILLNEED);
    }
}

#[derive(Default)]
struct Trie {
    target: bool,
    children: BTreeMap<Vec<u8>, Trie>,
}

fn build_trie(paths: &[PathBuf]) -> Trie {
    let mut root = Trie::default();
    for p in paths {
        let mut t = &mut root;
        for c in p.components() {
            if let std::path::Component::Normal(n) = c {
                t = t.children.entry(n.as_bytes().to_vec()).or_default();
            }
        }
        t.target = true;
    }
    root
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

/// Back up files and directories into a new snapshot.
pub fn backup(
    repo: &Repository,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    if opts.paths.is_empty() {
        return Err(Error::invalid(
            "nothing to back up: give at least one path (or --stdin)",
        ));
    }
    let mut paths = Vec::new();
    for p in &opts.paths {
        let mut abs = std::path::absolute(p)
            .map_err(|e| Error::io(format!("resolving {}", p.display()), e))?;
        if abs
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            // Resolve `..` against the real directories (the last component
            // itself is kept, so a symlink given as a path is not followed).
            let name = abs.file_name().map(|n| n.to_owned());
            let parent = abs
                .parent()
                .map(std::fs::canonicalize)
                .transpose()
                .map_err(|e| Error::io(format!("resolving {}", p.display()), e))?;
            abs = match (parent, name) {
                (Some(dir), Some(name)) => dir.join(name),
                _ => std::fs::canonicalize(&abs)
                    .map_err(|e| Error::io(format!("resolving {}", p.display()), e))?,
            };
        }
        paths.push(abs);
    }
    // As restic: a missing path is a warning (the snapshot is partial);
    // only when none of them exists is there nothing to back up.
    if paths.iter().all(|p| std::fs::symlink_metadata(p).is_err()) {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "nothing to back up: {} {} not exist; no snapshot was written",
                names.join(", "),
                if names.len() == 1 { "does" } else { "do" }
            ),
        ));
    }
    paths.sort();
    paths.dedup();
    let path_strings: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut snapshot = base_snapshot(opts, path_strings.clone(), "files");
    let lock = repo.lock(LockMode::Shared)?;
    let parent = match opts.parent {
        Some(id) => Some((id, repo.load_snapshot(&id)?)),
        None => repo.snapshots()?.into_iter().rev().find(|(_, s)| {
            s.source == "files" && s.host == snapshot.host && s.paths == path_strings
        }),
    };
    snapshot.parent = parent.as_ref().map(|(id, _)| *id);
    // The parent only saves reading: if its tree cannot be read (damaged
    // or unindexed), back up everything as if there were no parent.
    let parent_root = parent
        .as_ref()
        .and_then(|(_, s)| repo.read_tree(&s.tree).ok());
    let writer = BlobWriter::new(repo, &lock)?;
    let failed = Mutex::new(None);
    let excludes = PathFilter::new(&opts.excludes)?;
    let trie = build_trie(&paths);
    let walked = run_walker(
        repo,
        &writer,
        &failed,
        WalkSettings {
            excludes,
            one_fs: opts.one_file_system,
            with_atime: opts.with_atime,
        },
        progress,
        |w| {
            let root = if trie.target {
                // Backing up "/" itself: the root tree is its listing.
                let md = std::fs::symlink_metadata("/").map_err(|e| Error::io("stat /", e))?;
                let t = w.dir_tree(Path::new("/"), parent_root.as_ref(), md.dev())?;
                w.targets_saved += usize::from(t.is_some());
                t.unwrap_or_default()
            } else {
                w.root(&trie, Path::new("/"), parent_root.as_ref())?
            };
            if w.targets_saved == 0 {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "nothing could be backed up ({}); no snapshot was written",
                        w.warnings.join("; ")
                    ),
                ));
            }
            w.add_tree(root)
        },
    );
    finish(repo, &lock, writer, failed, walked, snapshot)
}
