//! `diff`: what changed between two snapshots, in restic's terms: `+`
//! added, `-` removed, `M` content modified, `U` metadata only, `T` type
//! changed. Changes stream to a visitor in tree order (a diff of two large
//! snapshots is never collected); totals come back as a [`DiffReport`].
//!
//! Invariants: a subtree whose ID is the same on both sides is equal in
//! every byte below it (IDs are keyed hashes of content), so it is
//! skipped without being read; `trees_loaded` in the report counts every
//! tree read, which is how tests prove the skip. Each side's walk is
//! bounded by its own [`WalkGuard`], like every other reader.

use crate::error::{Error, ErrorKind, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Node, NodeKind};
use crate::id::{BlobId, ChunkId, SnapshotId, TreeId};
use crate::repo::browse::{self, Found, WalkGuard};
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use std::collections::HashSet;

mod report;
pub use report::{Change, DiffReport, Modifier, Totals};

/// Compare `path` (a directory or any entry; `/` for everything) of
/// snapshot `a` with the same path of `b`, calling `visit` for each change.
pub fn diff(
    repo: &Repository,
    a: (&SnapshotId, &Snapshot),
    b: (&SnapshotId, &Snapshot),
    path: &[u8],
    visit: &mut dyn FnMut(&Change<'_>) -> Result<()>,
) -> Result<DiffReport> {
    let mut d = Differ {
        repo,
        visit,
        guards: [WalkGuard::new(a.1), WalkGuard::new(b.1)],
        chunks: [HashSet::new(), HashSet::new()],
        trees: [HashSet::new(), HashSet::new()],
        report: DiffReport {
            message_type: "statistics",
            source_snapshot: *a.0,
            target_snapshot: *b.0,
            changed_files: 0,
            metadata_changed: 0,
            type_changed: 0,
            added: Totals::default(),
            removed: Totals::default(),
            trees_loaded: 0,
            trees_skipped: 0,
        },
    };
    let full = normalized(path);
    match (lookup(repo, a.1, path)?, lookup(repo, b.1, path)?) {
        (None, None) => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "'{}' is in neither snapshot",
                    String::from_utf8_lossy(&full)
                ),
            ))
        }
        (Some(Found::Root(_)), Some(Found::Root(_))) => d.dirs(&full, &a.1.tree, &b.1.tree)?,
        (Some(Found::Node(x)), Some(Found::Node(y))) => d.pair(&full, &x, &y)?,
        (Some(Found::Node(x)), None) => d.one_sided(&full, &x, OLD)?,
        (None, Some(Found::Node(y))) => d.one_sided(&full, &y, NEW)?,
        _ => return Err(Error::corrupt("a snapshot root is not a directory")),
    }
    d.blob_totals()?;
    Ok(d.report)
}

/// `path` as an absolute, `/`-separated path without empty components.
fn normalized(path: &[u8]) -> Vec<u8> {
    let comps = browse::split_path(path);
    if comps.is_empty() {
        return b"/".to_vec();
    }
    comps
        .iter()
        .flat_map(|c| [b"/".as_slice(), c])
        .flatten()
        .copied()
        .collect()
}

fn lookup(repo: &Repository, snap: &Snapshot, path: &[u8]) -> Result<Option<Found>> {
    match browse::find(repo, snap, path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == ErrorKind::NotFound && e.message().ends_with("in the snapshot") => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

const OLD: usize = 0;
const NEW: usize = 1;

struct Differ<'r, 'v> {
    repo: &'r Repository,
    visit: &'v mut dyn FnMut(&Change<'_>) -> Result<()>,
    guards: [WalkGuard; 2],
    chunks: [HashSet<ChunkId>; 2],
    trees: [HashSet<TreeId>; 2],
    report: DiffReport,
}

fn child(base: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = base.to_vec();
    if p.len() > 1 {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// Metadata a user sees change (times of access and status change, inode
/// and device numbers follow from the backup, not from the file).
fn metadata_differs(a: &Node, b: &Node) -> bool {
    a.mode != b.mode
        || a.uid != b.uid
        || a.gid != b.gid
        || a.user != b.user
        || a.group != b.group
        || a.mtime != b.mtime
        || a.xattrs != b.xattrs
        || a.rdev != b.rdev
}

impl Differ<'_, '_> {
    fn emit(&mut self, path: &[u8], modifier: Modifier, kind: NodeKind) -> Result<()> {
        (self.visit)(&Change {
            path,
            modifier,
            kind,
        })
    }

    /// Read tree `id` of `side`, entering it (the caller leaves it).
    fn tree(&mut self, side: usize, id: &TreeId) -> Result<crate::format::tree::Tree> {
        crate::progress::check_interrupt()?;
        self.guards[side].enter(id)?;
        self.report.trees_loaded += 1;
        self.trees[side].insert(*id);
        self.repo.read_tree(id)
    }

    fn leave(&mut self, side: usize) {
        self.guards[side].leave();
    }

    /// Compare two directories' listings, merging by name.
    fn dirs(&mut self, path: &[u8], old: &TreeId, new: &TreeId) -> Result<()> {
        if old == new {
            self.report.trees_skipped += 1;
            return Ok(());
        }
        let a = self.tree(OLD, old)?;
        let b = self.tree(NEW, new)?;
        let (mut i, mut j) = (a.nodes.iter().peekable(), b.nodes.iter().peekable());
        loop {
            match (i.peek(), j.peek()) {
                (None, None) => break,
                (Some(x), None) => {
                    self.one_sided(&child(path, &x.name), x, OLD)?;
                    i.next();
                }
                (None, Some(y)) => {
                    self.one_sided(&child(path, &y.name), y, NEW)?;
                    j.next();
                }
                (Some(x), Some(y)) => match x.name.cmp(&y.name) {
                    std::cmp::Ordering::Less => {
                        self.one_sided(&child(path, &x.name), x, OLD)?;
                        i.next();
                    }
                    std::cmp::Ordering::Greater => {
                        self.one_sided(&child(path, &y.name), y, NEW)?;
                        j.next();
                    }
                    std::cmp::Ordering::Equal => {
                        self.pair(&child(path, &x.name), x, y)?;
                        i.next();
                        j.next();
                    }
                },
            }
        }
        self.leave(NEW);
        self.leave(OLD);
        Ok(())
    }

    /// The same name on both sides.
    fn pair(&mut self, path: &[u8], a: &Node, b: &Node) -> Result<()> {
        self.guards[OLD].node(a)?;
        self.guards[NEW].node(b)?;
        if a.kind != b.kind {
            self.report.type_changed += 1;
            self.emit(path, Modifier::TypeChanged, b.kind)?;
            self.count(OLD, a);
            self.count(NEW, b);
            self.children(path, a, OLD)?;
            return self.children(path, b, NEW);
        }
        match a.kind {
            NodeKind::Dir => {
                if metadata_differs(a, b) {
                    self.report.metadata_changed += 1;
                    self.emit(path, Modifier::Metadata, b.kind)?;
                }
                match (a.subtree, b.subtree) {
                    (Some(x), Some(y)) => self.dirs(path, &x, &y),
                    _ => Err(Error::corrupt(format!(
                        "directory '{}' has no subtree",
                        String::from_utf8_lossy(path)
                    ))),
                }
            }
            _ if a.content != b.content || a.target != b.target || a.size != b.size => {
                self.report.changed_files += u64::from(a.kind == NodeKind::File);
                self.chunks_of(OLD, a);
                self.chunks_of(NEW, b);
                self.emit(path, Modifier::Modified, b.kind)
            }
            _ if metadata_differs(a, b) => {
                self.report.metadata_changed += 1;
                self.emit(path, Modifier::Metadata, b.kind)
            }
            _ => Ok(()),
        }
    }

    /// An entry only `side` has, and everything below it.
    fn one_sided(&mut self, path: &[u8], n: &Node, side: usize) -> Result<()> {
        self.guards[side].node(n)?;
        let m = if side == OLD {
            Modifier::Removed
        } else {
            Modifier::Added
        };
        self.emit(path, m, n.kind)?;
        self.count(side, n);
        self.children(path, n, side)
    }

    /// The entries below a directory only `side` has (nothing otherwise).
    fn children(&mut self, path: &[u8], n: &Node, side: usize) -> Result<()> {
        let (NodeKind::Dir, Some(id)) = (n.kind, n.subtree) else {
            return Ok(());
        };
        let t = self.tree(side, &id)?;
        for c in &t.nodes {
            self.one_sided(&child(path, &c.name), c, side)?;
        }
        self.leave(side);
        Ok(())
    }

    fn count(&mut self, side: usize, n: &Node) {
        let t = if side == OLD {
            &mut self.report.removed
        } else {
            &mut self.report.added
        };
        match n.kind {
            NodeKind::File => t.files += 1,
            NodeKind::Dir => t.dirs += 1,
            _ => t.others += 1,
        }
        self.chunks_of(side, n);
    }

    fn chunks_of(&mut self, side: usize, n: &Node) {
        for e in &n.content {
            if let Extent::Chunk(id) = e {
                self.chunks[side].insert(*id);
            }
        }
    }

    /// Blobs one side has and the other lacks, among the parts compared,
    /// and the plaintext bytes of those data blobs (from the index).
    fn blob_totals(&mut self) -> Result<()> {
        for (side, other) in [(NEW, OLD), (OLD, NEW)] {
            let (mut data, mut trees, mut bytes) = (0u64, 0u64, 0u64);
            for c in self.chunks[side].difference(&self.chunks[other]) {
                data += 1;
                bytes += u64::from(
                    self.repo
                        .locate(&BlobId(c.0), BlobType::Chunk)?
                        .entry
                        .plain_len,
                );
            }
            for _ in self.trees[side].difference(&self.trees[other]) {
                trees += 1;
            }
            let t = if side == NEW {
                &mut self.report.added
            } else {
                &mut self.report.removed
            };
            (t.data_blobs, t.tree_blobs, t.bytes) = (data, trees, bytes);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalized(b""), b"/");
        assert_eq!(normalized(b"/"), b"/");
        assert_eq!(normalized(b"a//b/"), b"/a/b");
        assert_eq!(child(b"/", b"x"), b"/x");
        assert_eq!(child(b"/a", b"x"), b"/a/x");
    }
}
