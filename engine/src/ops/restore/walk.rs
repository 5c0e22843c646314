//! The streaming restore walk: trees are read depth-first and entries
//! restored as they are met, so memory follows the depth of the tree and
//! one batch of files, never the number of files in the snapshot.
//!
//! Invariants:
//! * A directory is created only when an entry below it needs it or when
//!   the walk leaves it selected, and its ancestors are created first, each
//!   checked, so a symlink left in the target is replaced, never followed.
//! * A directory's metadata is applied only after everything inside it
//!   (files written, their metadata applied, hard links made), so its
//!   times and mode survive: directories finish in post-order and are
//!   finalised when the batch holding their last entries is flushed.
//! * A hard link's first member is queued before the link, and the link
//!   is made after the batch's writes, so it always finds its target; a
//!   directory whose mode denies its owner access keeps its metadata for
//!   the very end, so a later link can still reach into it.
//! * Memory: the depth-first stack, one batch (files and links, at most
//!   [`BATCH_FILES`]), the first path of each multiply-linked inode, and
//!   the rare owner-closed directories.

use super::{apply, apply_metadata, io, make_special, remove_if_not, write_file, Meta};
use super::{RestorePatterns, RestoreSummary};
use crate::error::Result;
use crate::format::tree::{Node, NodeKind, Tree};
use crate::progress::{check_interrupt, Progress};
use crate::repo::browse::WalkGuard;
use crate::repo::Repository;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A batch is written when it holds this many files...
const BATCH_FILES: usize = 1024;
/// ...or this many content bytes...
const BATCH_BYTES: u64 = 256 << 20;
/// ...or this many finished directories wait for their metadata.
const BATCH_DIRS: usize = 4096;

/// One restore in progress.
pub(super) struct Walk<'a> {
    pub repo: &'a Repository,
    pub target: &'a Path,
    pub includes: RestorePatterns,
    pub excludes: RestorePatterns,
    pub guard: WalkGuard,
    pub as_root: bool,
    pub progress: &'a dyn Progress,
    pub warnings: Mutex<Vec<String>>,
    pub summary: RestoreSummary,
    /// First restored path of each multiply-linked inode `(dev, inode)`.
    first_of: HashMap<(u64, u64), PathBuf>,
    /// The directories from the top of the walk down to the current one:
    /// path in the target, and whether it has been created.
    stack: Vec<(PathBuf, bool)>,
    writes: Vec<(PathBuf, Node)>,
    write_bytes: u64,
    /// `(first member, link path, size)`.
    links: Vec<(PathBuf, PathBuf, u64)>,
    /// Directories whose entries are all queued, deepest first.
    finished: Vec<(PathBuf, Node)>,
    /// Directories whose mode denies their owner access: finalised only
    /// at the very end, since a later hard link may need to reach into
    /// them (as it did when all directory metadata came last).
    closed: Vec<(PathBuf, Node)>,
}

impl<'a> Walk<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        repo: &'a Repository,
        target: &'a Path,
        includes: RestorePatterns,
        excludes: RestorePatterns,
        guard: WalkGuard,
        as_root: bool,
        progress: &'a dyn Progress,
    ) -> Self {
        Walk {
            repo,
            target,
            includes,
            excludes,
            guard,
            as_root,
            progress,
            warnings: Mutex::new(Vec::new()),
            summary: RestoreSummary::default(),
            first_of: HashMap::new(),
            stack: Vec::new(),
            writes: Vec::new(),
            write_bytes: 0,
            links: Vec::new(),
            finished: Vec::new(),
            closed: Vec::new(),
        }
    }

    /// Restore the entries of `tree` (at `snap_path` in the snapshot,
    /// `rel` below the target).
    pub fn tree(
        &mut self,
        tree: &Tree,
        snap_path: &Path,
        rel: &Path,
        parent_included: bool,
    ) -> Result<()> {
        for n in &tree.nodes {
            check_interrupt()?;
            self.guard.node(n)?;
            let name = OsStr::from_bytes(&n.name);
            let sp = snap_path.join(name);
            if self.excludes.matches(&sp) {
                continue;
            }
            let included =
                parent_included || self.includes.is_empty() || self.includes.matches(&sp);
            let rp = rel.join(name);
            match n.kind {
                NodeKind::Dir => self.dir(n, &sp, rp, included)?,
                NodeKind::File if included => {
                    self.make_parents()?;
                    self.file(rp, n)?;
                }
                _ if included => {
                    self.make_parents()?;
                    self.special(&rp, n);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn dir(&mut self, n: &Node, sp: &Path, rp: PathBuf, included: bool) -> Result<()> {
        // Created when something inside needs it, or on the way out if it
        // is selected itself (so an empty directory is restored too, and a
        // forged graph too deep for any path is refused by the guard
        // before a single directory of it is made).
        self.stack.push((rp.clone(), false));
        if let Some(id) = n.subtree {
            self.guard.enter(&id)?;
            let t = self.repo.read_tree(&id)?;
            self.tree(&t, sp, &rp, included)?;
            self.guard.leave();
        }
        if included {
            self.make_parents()?;
        }
        if let Some((rp, true)) = self.stack.pop() {
            self.summary.dirs += 1;
            self.finished.push((rp, n.clone()));
            if self.finished.len() >= BATCH_DIRS {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Create every directory on the stack not created yet, outermost
    /// first (each component checked: see the module invariants).
    fn make_parents(&mut self) -> Result<()> {
        for (rel, created) in self.stack.iter_mut().filter(|(_, c)| !*c) {
            let p = self.target.join(&*rel);
            remove_if_not(&p, |ft| ft.is_dir())?;
            if !p.is_dir() {
                std::fs::create_dir(&p).map_err(|e| io(&p, e))?;
            }
            *created = true;
        }
        Ok(())
    }

    fn file(&mut self, rel: PathBuf, n: &Node) -> Result<()> {
        let p = self.target.join(&rel);
        if n.nlink > 1 {
            if let Some(first) = self.first_of.get(&(n.dev, n.inode)) {
                self.links.push((first.clone(), p, n.size));
                return self.flush_if_full();
            }
            self.first_of.insert((n.dev, n.inode), p.clone());
        }
        self.write_bytes += n.size;
        self.writes.push((p, n.clone()));
        self.flush_if_full()
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.writes.len() + self.links.len() >= BATCH_FILES || self.write_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn special(&mut self, rel: &Path, n: &Node) {
        let p = self.target.join(rel);
        match make_special(&p, n) {
            Ok(true) => {
                apply_metadata(&p, n, self.as_root, &self.warnings);
                self.summary.others += 1;
            }
            Ok(false) => {}
            Err(e) => self
                .warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("{}: {e}", p.display())),
        }
    }

    /// Write the queued files and their metadata in parallel, then the
    /// hard links and the metadata of the directories finished so far.
    fn flush(&mut self) -> Result<()> {
        let (repo, progress) = (self.repo, self.progress);
        let as_root = self.as_root;
        let writes = std::mem::take(&mut self.writes);
        self.write_bytes = 0;
        let found = writes
            .par_iter()
            .map(|(p, node)| -> Result<Vec<String>> {
                progress.file(p);
                let f = write_file(repo, p, node, progress)?;
                Ok(apply(Meta::File(p, &f), node, as_root))
            })
            .collect::<Result<Vec<_>>>()?;
        let w = self.warnings.get_mut().unwrap_or_else(|p| p.into_inner());
        w.extend(found.into_iter().flatten());
        for (_, node) in &writes {
            self.summary.files += 1;
            self.summary.bytes += node.size;
        }
        for (first, p, size) in std::mem::take(&mut self.links) {
            let _ = std::fs::remove_file(&p);
            std::fs::hard_link(&first, &p).map_err(|e| io(&p, e))?;
            self.summary.files += 1;
            self.summary.bytes += size;
        }
        for (rel, node) in std::mem::take(&mut self.finished) {
            if node.mode & 0o700 != 0o700 {
                self.closed.push((rel, node));
                continue;
            }
            apply_metadata(&self.target.join(rel), &node, self.as_root, &self.warnings);
        }
        Ok(())
    }

    /// Flush, then finalise the directories kept for the end.
    pub fn finish(&mut self) -> Result<()> {
        self.flush()?;
        for (rel, node) in std::mem::take(&mut self.closed) {
            apply_metadata(&self.target.join(rel), &node, self.as_root, &self.warnings);
        }
        Ok(())
    }
}
