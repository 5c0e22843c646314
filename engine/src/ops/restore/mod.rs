//! Restoring a snapshot (or part of it) into a directory.
//!
//! Plan, then act: the trees are walked once to choose entries (include /
//! exclude patterns) and the directories they need; then directories are
//! created, special files made, regular files written in parallel (each
//! chunk verified by AEAD tag and keyed hash before any byte is written),
//! hard links re-linked, and finally metadata applied — directories last,
//! deepest first, so their times survive.
//!
//! Invariants: nothing is written outside the target (tree names are
//! validated on decode); holes are skipped with `seek`, so sparse files
//! come back sparse; ownership is restored only when running as root.

use crate::error::{Error, ErrorKind, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use crate::id::BlobId;
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::WalkGuard;
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use crate::source::filter::PathFilter;
#[cfg(feature = "mongodb")]
pub mod mongodb;
mod report;

pub use report::{restore_snapshot, RestoreReport};
#[cfg(feature = "mongodb")]
pub use report::{restore_to_mongodb, MongoRestoreReport};

use rayon::prelude::*;
use std::collections::HashMap;
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

struct Plan {
    dirs: Vec<(PathBuf, Node)>,
    files: Vec<(PathBuf, Node)>,
    others: Vec<(PathBuf, Node)>,
}

struct Planner<'a> {
    repo: &'a Repository,
    includes: RestorePatterns,
    excludes: RestorePatterns,
    guard: WalkGuard,
    plan: Plan,
}

impl Planner<'_> {
    /// Returns whether anything under `tree` was selected.
    fn tree(
        &mut self,
        tree: &Tree,
        snap_path: &Path,
        rel: &Path,
        parent_included: bool,
    ) -> Result<bool> {
        let mut any = false;
        for n in &tree.nodes {
            check_interrupt()?;
            self.guard.node(n)?;
            let name = OsStr::from_bytes(&n.name);
            let sp = snap_path.join(name);
            let rp = rel.join(name);
            if self.excludes.matches(&sp) {
                continue;
            }
            let included =
                parent_included || self.includes.is_empty() || self.includes.matches(&sp);
            match n.kind {
                NodeKind::Dir => {
                    let below = match n.subtree {
                        Some(id) => {
                            self.guard.enter(&id)?;
                            let t = self.repo.read_tree(&id)?;
                            let below = self.tree(&t, &sp, &rp, included)?;
                            self.guard.leave();
                            below
                        }
                        None => false,
                    };
                    if included || below {
                        self.plan.dirs.push((rp, n.clone()));
                        any = true;
                    }
                }
                NodeKind::File if included => {
                    self.plan.files.push((rp, n.clone()));
                    any = true;
                }
                _ if included => {
                    self.plan.others.push((rp, n.clone()));
                    any = true;
                }
                _ => {}
            }
        }
        Ok(any)
    }
}

fn io(what: &Path, e: std::io::Error) -> Error {
    Error::io(format!("restoring {}", what.display()), e)
}

/// Write one file: create it at its final size (holes stay holes), then
/// fetch, verify and write its chunks in parallel at their offsets.
fn write_file(repo: &Repository, path: &Path, node: &Node, progress: &dyn Progress) -> Result<()> {
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
    remove_if_not(path, |ft| ft.is_file())?;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.set_len(node.size).map_err(|e| io(path, e))?;
    for e in &node.content {
        if let Extent::Hole(n) = e {
            progress.bytes(*n);
        }
    }
    jobs.par_iter().try_for_each(|(offset, loc)| -> Result<()> {
        check_interrupt()?;
        // A prune may have moved the blob since it was located.
        let data = match repo.read_located(loc) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                repo.read_blob(&loc.entry.id, BlobType::Chunk)?
            }
            other => other?,
        };
        f.write_all_at(&data, *offset).map_err(|e| io(path, e))?;
        progress.bytes(data.len() as u64);
        Ok(())
    })
}

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
/// `security.capability`, so both come after it.
fn apply_metadata(path: &Path, node: &Node, as_root: bool, warnings: &Mutex<Vec<String>>) {
    let warn = |m: String| warnings.lock().unwrap_or_else(|p| p.into_inner()).push(m);
    if as_root {
        if let Err(e) = std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid)) {
            warn(format!("{}: chown: {e}", path.display()));
        }
    }
    for (k, v) in &node.xattrs {
        if let Err(e) = xattr::set(path, OsStr::from_bytes(k), v) {
            warn(format!(
                "{}: setting xattr {}: {e}",
                path.display(),
                String::from_utf8_lossy(k)
            ));
        }
    }
    if node.kind != NodeKind::Symlink {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(node.mode)) {
            warn(format!("{}: chmod: {e}", path.display()));
        }
    }
    if let Err(e) = nix::sys::stat::utimensat(
        None,
        path,
        &timespec(node.atime),
        &timespec(node.mtime),
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    ) {
        warn(format!("{}: setting times: {e}", path.display()));
    }
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
    let mut planner = Planner {
        repo,
        includes: RestorePatterns::new(&opts.includes)?,
        excludes: RestorePatterns::new(&opts.excludes)?,
        guard: WalkGuard::new(snap),
        plan: Plan {
            dirs: Vec::new(),
            files: Vec::new(),
            others: Vec::new(),
        },
    };
    planner.guard.enter(&snap.tree)?;
    let root = repo.read_tree(&snap.tree)?;
    planner.tree(&root, Path::new("/"), Path::new(""), false)?;
    let plan = planner.plan;
    let target = &opts.target;
    std::fs::create_dir_all(target).map_err(|e| io(target, e))?;
    let as_root = nix::unistd::geteuid().is_root();
    let warnings = Mutex::new(Vec::new());
    let mut summary = RestoreSummary::default();

    let mut dirs = plan.dirs;
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    for (rel, _) in &dirs {
        // Parents come first (sorted), so each component is checked: a
        // symlink already in the target is replaced, never followed.
        let p = target.join(rel);
        remove_if_not(&p, |ft| ft.is_dir())?;
        if !p.is_dir() {
            std::fs::create_dir(&p).map_err(|e| io(&p, e))?;
        }
    }
    summary.dirs = dirs.len() as u64;

    for (rel, node) in &plan.others {
        let p = target.join(rel);
        match make_special(&p, node) {
            Ok(true) => {
                apply_metadata(&p, node, as_root, &warnings);
                summary.others += 1;
            }
            Ok(false) => {}
            Err(e) => warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("{}: {e}", p.display())),
        }
    }

    // Hard-link groups: the first member gets the content, the rest link to it.
    let mut first_of: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut links = Vec::new();
    let mut writes = Vec::new();
    for (rel, node) in plan.files {
        if node.nlink > 1 {
            if let Some(first) = first_of.get(&(node.dev, node.inode)) {
                links.push((first.clone(), rel, node));
                continue;
            }
            first_of.insert((node.dev, node.inode), rel.clone());
        }
        writes.push((rel, node));
    }
    crate::ops::io_bound(repo, || {
        writes.par_iter().try_for_each(|(rel, node)| -> Result<()> {
            let p = target.join(rel);
            progress.file(&p);
            write_file(repo, &p, node, progress)
        })
    })?;
    for (rel, node) in &writes {
        apply_metadata(&target.join(rel), node, as_root, &warnings);
        summary.files += 1;
        summary.bytes += node.size;
    }
    for (first, rel, node) in &links {
        let p = target.join(rel);
        let _ = std::fs::remove_file(&p);
        std::fs::hard_link(target.join(first), &p).map_err(|e| io(&p, e))?;
        summary.files += 1;
        summary.bytes += node.size;
    }

    dirs.reverse(); // deepest first
    for (rel, node) in &dirs {
        apply_metadata(&target.join(rel), node, as_root, &warnings);
    }
    // One filesystem sync at the end instead of an fsync per file.
    if let Ok(d) = std::fs::File::open(target) {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::syncfs(d.as_raw_fd());
    }
    summary.warnings = warnings.into_inner().unwrap_or_else(|p| p.into_inner());
    if summary.files == 0 && summary.dirs == 0 && summary.others == 0 && !opts.includes.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            "no entry matches the --include patterns in the snapshot",
        ));
    }
    Ok(summary)
}
