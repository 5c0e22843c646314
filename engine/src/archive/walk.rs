//! The filesystem walk of a file backup: the root tree reproducing the
//! absolute backup paths, directories in name order with look-ahead
//! prefetching, and files read only when their metadata changed since the
//! parent snapshot.
//!
//! Invariants: `lstat` semantics below each backup path (a symlink given
//! as a path is recorded as a link; directories above it are followed);
//! an entry that cannot be read is a warning, never an abort; a backup in
//! which no given path could be read writes no snapshot.

use super::{
    base_snapshot, finish, run_walker, BackupOptions, BackupSummary, WalkSettings, Walker,
};
use crate::error::{Error, ErrorKind, Result};
use crate::filter::PathFilter;
use crate::progress::{check_interrupt, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use crate::source::files::{data_regions, open_noatime, prefetch, ts};
use crate::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

impl Walker<'_, '_> {
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
