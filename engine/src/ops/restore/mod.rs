//! Restoring a snapshot (or part of it) into a directory.
//!
//! One streaming walk (`walk`): trees are read depth-first, entries chosen
//! by the include / exclude patterns as they are met, directories created
//! when something in them is selected, special files made at once, and
//! regular files queued and written in parallel batches (each chunk
//! verified by AEAD tag and keyed hash before any byte is written); hard
//! links are re-linked after their batch, and directory metadata applied
//! after everything inside, so their times survive. Memory follows the
//! tree's depth and one batch, not the number of files: a damaged tree
//! stops the restore where the walk meets it.
//!
//! Invariants: nothing is written outside the target (tree names are
//! validated on decode); holes are skipped with `seek`, so sparse files
//! come back sparse; ownership is restored only when running as root.

use crate::error::{Error, ErrorKind, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Node, NodeKind, Timestamp};
use crate::id::BlobId;
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::WalkGuard;
use crate::repo::index_cache::Location;
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use crate::source::filter::PathFilter;
#[cfg(feature = "mongodb")]
pub mod mongodb;
mod report;
mod walk;

pub use report::{restore_snapshot, RestoreReport};
#[cfg(feature = "mongodb")]
pub use report::{restore_to_mongodb, MongoRestoreReport};

use rayon::prelude::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What to restore where.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Destination directory (created if missing).
    pub target: PathBuf,
    /// Only paths matching these (or below a match); raw bytes, since
    /// names need not be UTF-8 (see [`RestorePatterns`]).
    pub includes: Vec<Vec<u8>>,
    /// Never paths matching these (or below a match).
    pub excludes: Vec<Vec<u8>>,
}

/// Include or exclude patterns given as bytes: UTF-8 patterns are globs
/// ([`PathFilter`]); a pattern that is not UTF-8 (a name with such bytes)
/// is matched literally, with the same anchoring: from the root if it
/// starts with `/`, else as the last components of the path.
#[derive(Clone, Debug)]
pub struct RestorePatterns {
    globs: PathFilter,
    literal: Vec<Vec<u8>>,
}

impl RestorePatterns {
    /// Compile; an invalid glob is an `InvalidInput` error.
    pub fn new(patterns: &[Vec<u8>]) -> Result<Self> {
        let mut globs = Vec::new();
        let mut literal = Vec::new();
        for p in patterns {
            match std::str::from_utf8(p) {
                Ok(s) => globs.push(s.to_owned()),
                Err(_) => {
                    let mut p = p.as_slice();
                    while let Some(rest) = p.strip_suffix(b"/") {
                        p = rest;
                    }
                    literal.push(p.to_vec());
                }
            }
        }
        Ok(RestorePatterns {
            globs: PathFilter::new(&globs)?,
            literal,
        })
    }

    /// No patterns at all.
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty() && self.literal.is_empty()
    }

    /// Does a pattern match `path` itself?
    pub fn matches(&self, path: &Path) -> bool {
        let p = path.as_os_str().as_bytes();
        self.globs.matches(path)
            || self.literal.iter().any(|l| {
                if l.starts_with(b"/") {
                    p == l.as_slice()
                } else {
                    p.strip_suffix(l.as_slice())
                        .is_some_and(|head| head.ends_with(b"/"))
                }
            })
    }
}

/// Totals of a restore.
#[derive(Clone, Debug, Default)]
pub struct RestoreSummary {
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Other entries (links, FIFOs, devices).
    pub others: u64,
    /// Content bytes (logical).
    pub bytes: u64,
    /// Non-fatal problems (e.g. devices when not root).
    pub warnings: Vec<String>,
}

fn io(what: &Path, e: std::io::Error) -> Error {
    Error::io(format!("restoring {}", what.display()), e)
}

/// Write one file: create it at its final size (holes stay holes), then
/// fetch, verify and write its chunks in parallel at their offsets. The
/// file is handed back open, for its metadata.
fn write_file(
    repo: &Repository,
    path: &Path,
    node: &Node,
    progress: &dyn Progress,
) -> Result<std::fs::File> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let mut jobs = Vec::with_capacity(node.content.len());
    let mut offset = 0u64;
    for e in &node.content {
        match e {
            Extent::Chunk(id) => {
                let loc = repo.locate(&BlobId(id.0), BlobType::Chunk)?;
                jobs.push((offset, loc));
                offset = offset
                    .checked_add(u64::from(loc.entry.plain_len))
                    .ok_or_else(|| Error::corrupt("file content length overflows"))?;
            }
            Extent::Hole(n) => {
                offset = offset
                    .checked_add(*n)
                    .ok_or_else(|| Error::corrupt("file content length overflows"))?;
            }
        }
    }
    if offset != node.size {
        return Err(Error::corrupt(format!(
            "{}: content adds up to {offset} bytes but the tree records {}",
            path.display(),
            node.size
        )));
    }
    // Only now, with the extents proven to add up to the recorded size,
    // is anything created.
    // Into an empty target a file is new: created exclusively, without a
    // look at the path first. Whatever is there otherwise (never followed)
    // is replaced unless it is a regular file, which is truncated.
    let open = |fresh: bool| {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).custom_flags(nix::libc::O_NOFOLLOW);
        match fresh {
            true => o.create_new(true),
            false => o.create(true).truncate(true),
        };
        o.open(path)
    };
    let f = match open(true) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            remove_if_not(path, |ft| ft.is_file())?;
            open(false)
        }
        r => r,
    }
    .map_err(|e| io(path, e))?;
    f.set_len(node.size).map_err(|e| io(path, e))?;
    for e in &node.content {
        if let Extent::Hole(n) = e {
            progress.bytes(*n);
        }
    }
    // Chunks are fetched and verified in parallel a window at a time,
    // while this thread writes the window before in file order: the kernel
    // serialises writes to one file on its inode lock anyway, and two
    // threads writing one file spun on that lock (7% of a restore's CPU in
    // `perf`) instead of fetching the next chunks.
    let mut windows = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, (_, loc)) in jobs.iter().enumerate() {
        bytes += u64::from(loc.entry.plain_len);
        if bytes >= WINDOW_BYTES {
            windows.push(&jobs[start..=i]);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < jobs.len() {
        windows.push(&jobs[start..]);
    }
    let fetch = |window: &[(u64, Location)]| -> Result<Vec<(u64, Vec<u8>)>> {
        window
            .par_iter()
            .map(|(offset, loc)| {
                check_interrupt()?;
                // A prune may have moved the blob since it was located.
                let data = match repo.read_located(loc) {
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        repo.read_blob(&loc.entry.id, BlobType::Chunk)?
                    }
                    other => other?,
                };
                Ok((*offset, data))
            })
            .collect()
    };
    let write = |ready: Vec<(u64, Vec<u8>)>| -> Result<()> {
        for (offset, data) in ready {
            f.write_all_at(&data, offset).map_err(|e| io(path, e))?;
            progress.bytes(data.len() as u64);
        }
        Ok(())
    };
    let mut windows = windows.into_iter();
    let Some(first) = windows.next() else {
        return Ok(f);
    };
    let mut ready = fetch(first)?;
    for window in windows {
        let current = std::mem::take(&mut ready);
        let (written, next) = rayon::join(|| write(current), || fetch(window));
        written?;
        ready = next?;
    }
    write(ready)?;
    Ok(f)
}

/// How many bytes of a file are fetched in parallel while the previous
/// window is written (two windows per file being written are in memory).
const WINDOW_BYTES: u64 = 2 << 20;

/// Remove whatever is at `path` unless `keep` accepts its type; a symlink
/// left in the target is never followed. Directories are left alone.
fn remove_if_not(path: &Path, keep: impl Fn(&std::fs::FileType) -> bool) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if keep(&md.file_type()) => Ok(()),
        Ok(md) if md.is_dir() => Err(Error::invalid(format!(
            "{} exists and is a directory; restore into an empty target",
            path.display()
        ))),
        Ok(_) => std::fs::remove_file(path).map_err(|e| io(path, e)),
        Err(_) => Ok(()),
    }
}

fn timespec(t: Timestamp) -> nix::sys::time::TimeSpec {
    nix::sys::time::TimeSpec::new(t.secs, i64::from(t.nanos))
}

/// Apply ownership (as root), xattrs, mode and times, in that order
/// (`format-spec/v1/trees-and-snapshots.md`, "Restoring metadata"): a
/// change of owner clears setuid/setgid and, on Linux, drops
/// `security.capability`, so both come after it. `path` is never followed.
fn apply_metadata(path: &Path, node: &Node, as_root: bool, warnings: &Mutex<Vec<String>>) {
    let found = apply(Meta::Path(path), node, as_root);
    if !found.is_empty() {
        let mut w = warnings.lock().unwrap_or_else(|p| p.into_inner());
        w.extend(found);
    }
}

/// What [`apply`] changes: an entry by its path (never followed), or a
/// file just written, through its descriptor. The latter resolves no path
/// again, so a link swapped in meanwhile cannot redirect it, and lets the
/// files of a batch be finished in parallel rather than one by one after
/// their writes (restoring the benchmark corpus: one path walk per file
/// instead of five, 2.82 -> 2.47 s median).
#[derive(Clone, Copy)]
pub(super) enum Meta<'a> {
    Path(&'a Path),
    File(&'a Path, &'a std::fs::File),
}

/// Apply `node`'s metadata to `target` as [`apply_metadata`] says; returns
/// the warnings, for the caller to report in walk order.
pub(super) fn apply(target: Meta<'_>, node: &Node, as_root: bool) -> Vec<String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    use xattr::FileExt;
    let path = match target {
        Meta::Path(p) | Meta::File(p, _) => p,
    };
    let mut warnings = Vec::new();
    let mut warn = |m: String| warnings.push(m);
    if as_root {
        let (uid, gid) = (Some(node.uid), Some(node.gid));
        let r = match target {
            Meta::Path(p) => std::os::unix::fs::lchown(p, uid, gid),
            Meta::File(_, f) => std::os::unix::fs::fchown(f, uid, gid),
        };
        if let Err(e) = r {
            warn(format!("{}: chown: {e}", path.display()));
        }
    }
    for (k, v) in &node.xattrs {
        let name = OsStr::from_bytes(k);
        let r = match target {
            Meta::Path(p) => xattr::set(p, name, v),
            Meta::File(_, f) => f.set_xattr(name, v),
        };
        if let Err(e) = r {
            warn(format!(
                "{}: setting xattr {}: {e}",
                path.display(),
                String::from_utf8_lossy(k)
            ));
        }
    }
    if node.kind != NodeKind::Symlink {
        let mode = std::fs::Permissions::from_mode(node.mode);
        let r = match target {
            Meta::Path(p) => std::fs::set_permissions(p, mode),
            Meta::File(_, f) => f.set_permissions(mode),
        };
        if let Err(e) = r {
            warn(format!("{}: chmod: {e}", path.display()));
        }
    }
    let (atime, mtime) = (timespec(node.atime), timespec(node.mtime));
    let r = match target {
        Meta::Path(p) => nix::sys::stat::utimensat(
            None,
            p,
            &atime,
            &mtime,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        ),
        Meta::File(_, f) => nix::sys::stat::futimens(f.as_raw_fd(), &atime, &mtime),
    };
    if let Err(e) = r {
        warn(format!("{}: setting times: {e}", path.display()));
    }
    warnings
}

fn make_special(path: &Path, node: &Node) -> std::result::Result<bool, String> {
    use nix::sys::stat::{mknod, Mode, SFlag};
    let _ = std::fs::remove_file(path);
    let mode = Mode::from_bits_truncate(node.mode);
    match node.kind {
        NodeKind::Symlink => {
            let target = node.target.as_deref().unwrap_or_default();
            std::os::unix::fs::symlink(OsStr::from_bytes(target), path)
                .map_err(|e| e.to_string())?;
        }
        NodeKind::Fifo => nix::unistd::mkfifo(path, mode).map_err(|e| e.to_string())?,
        NodeKind::CharDevice => {
            mknod(path, SFlag::S_IFCHR, mode, node.rdev).map_err(|e| e.to_string())?
        }
        NodeKind::BlockDevice => {
            mknod(path, SFlag::S_IFBLK, mode, node.rdev).map_err(|e| e.to_string())?
        }
        _ => return Ok(false), // sockets are recorded but not recreated
    }
    Ok(true)
}

/// Restore `snap` into `opts.target`.
pub fn restore(
    repo: &Repository,
    snap: &Snapshot,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreSummary> {
    let target = &opts.target;
    std::fs::create_dir_all(target).map_err(|e| io(target, e))?;
    let mut walk = walk::Walk::new(
        repo,
        target,
        RestorePatterns::new(&opts.includes)?,
        RestorePatterns::new(&opts.excludes)?,
        WalkGuard::new(snap),
        nix::unistd::geteuid().is_root(),
        progress,
    );
    walk.guard.enter(&snap.tree)?;
    let root = repo.read_tree(&snap.tree)?;
    // One pool for the whole walk (remote storage wants more threads than
    // cores), not one per batch.
    crate::ops::io_bound(repo, || -> Result<()> {
        walk.tree(&root, Path::new("/"), Path::new(""), false)?;
        walk.finish()
    })?;
    // One filesystem sync at the end instead of an fsync per file.
    if let Ok(d) = std::fs::File::open(target) {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::syncfs(d.as_raw_fd());
    }
    let mut summary = walk.summary;
    summary.warnings = walk
        .warnings
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if summary.files == 0 && summary.dirs == 0 && summary.others == 0 && !opts.includes.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            "no entry matches the --include patterns in the snapshot",
        ));
    }
    Ok(summary)
}
