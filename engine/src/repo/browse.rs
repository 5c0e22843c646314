//! Navigating a snapshot's trees: find the node at a path, list entries,
//! and stream a file's content (used by `ls` and `dump`).
//!
//! Snapshot paths are absolute, `/`-separated byte strings: the root tree
//! is `/`, so a backup of `/srv/data` has `/srv/data/...` inside it.
//!
//! Every walk over a snapshot's trees (here and in restore) is bounded by a
//! [`WalkGuard`]: a hostile repository cannot make one loop forever, blow
//! the stack or grow memory without limit (`format-spec/v1/threat-model.md`).

use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::mongodb::{Manifest, MANIFEST_NAME};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::id::{BlobId, TreeId};
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use std::io::{Read, Write};

/// The components of a snapshot path (empty = root).
pub fn split_path(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect()
}

/// What a path names: the root tree, or a node.
pub enum Found {
    /// The snapshot root.
    Root(Tree),
    /// An entry (with its parent path).
    Node(Box<Node>),
}

/// Resolve `path` inside `snap`.
pub fn find(repo: &Repository, snap: &Snapshot, path: &[u8]) -> Result<Found> {
    let mut tree = repo.read_tree(&snap.tree)?;
    let comps = split_path(path);
    let Some((last, dirs)) = comps.split_last() else {
        return Ok(Found::Root(tree));
    };
    for c in dirs {
        let node = tree.get(c).ok_or_else(|| not_found(path))?;
        let id = node
            .subtree
            .filter(|_| node.kind == NodeKind::Dir)
            .ok_or_else(|| not_found(path))?;
        tree = repo.read_tree(&id)?;
    }
    tree.get(last)
        .cloned()
        .map(|n| Found::Node(Box::new(n)))
        .ok_or_else(|| not_found(path))
}

fn not_found(path: &[u8]) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("'{}' is not in the snapshot", String::from_utf8_lossy(path)),
    )
}

/// Directory nesting no walk goes beyond. No path Linux can open is deeper
/// (`PATH_MAX` is 4096 bytes, so at most 2048 components), so no snapshot
/// a backup wrote is; the limit keeps recursion within the stack.
pub const MAX_DEPTH: usize = 2048;

/// Bounds one walk over a snapshot's trees. Identical subtrees are legal
/// and are stored once (two empty directories share one tree), so a tree
/// may be reached by many paths; what is bounded is the walk:
///
/// * at most `stats.files` regular-file nodes and `stats.dirs` directory
///   nodes, as the snapshot records them (a backup counts every one, each
///   time it appears; repairs only remove entries), so a graph that
///   reuses subtrees to expand beyond what was backed up is refused
///   before it exhausts memory or time;
/// * a tree that appears inside itself (a cycle) is refused;
/// * nesting deeper than [`MAX_DEPTH`] is refused.
pub struct WalkGuard {
    files_left: u64,
    dirs_left: u64,
    path: Vec<TreeId>,
}

impl WalkGuard {
    /// A guard for walks over `snap`.
    pub fn new(snap: &Snapshot) -> Self {
        WalkGuard {
            files_left: snap.stats.files,
            dirs_left: snap.stats.dirs,
            path: Vec::new(),
        }
    }

    /// Count one node met during the walk.
    pub fn node(&mut self, n: &Node) -> Result<()> {
        let (left, what) = match n.kind {
            NodeKind::File => (&mut self.files_left, "regular files"),
            NodeKind::Dir => (&mut self.dirs_left, "directories"),
            _ => return Ok(()),
        };
        if *left == 0 {
            return Err(Error::corrupt(format!(
                "the snapshot's trees hold more {what} than the snapshot records \
                 (a forged or damaged directory graph)"
            ))
            .with_remedy(Remedy::Check));
        }
        *left -= 1;
        Ok(())
    }

    /// Enter the directory tree `id` (leave it with [`Self::leave`]).
    pub fn enter(&mut self, id: &TreeId) -> Result<()> {
        if self.path.contains(id) {
            return Err(Error::corrupt(format!(
                "tree {} contains itself (a forged directory graph)",
                id.short()
            ))
            .with_remedy(Remedy::Check));
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(Error::corrupt(format!(
                "directories nested deeper than {MAX_DEPTH} levels (a forged directory graph)"
            )));
        }
        self.path.push(*id);
        Ok(())
    }

    /// Leave the tree entered last.
    pub fn leave(&mut self) {
        self.path.pop();
    }
}

/// Visit every entry under `path` (depth first, name order), calling
/// `visit(full_path, node)`; `recursive = false` lists one level.
pub fn walk(
    repo: &Repository,
    snap: &Snapshot,
    path: &[u8],
    recursive: bool,
    visit: &mut dyn FnMut(&[u8], &Node) -> Result<()>,
) -> Result<()> {
    let mut base: Vec<u8> = b"/".to_vec();
    for c in split_path(path) {
        if base.len() > 1 {
            base.push(b'/');
        }
        base.extend_from_slice(c);
    }
    let mut guard = WalkGuard::new(snap);
    guard.enter(&snap.tree)?;
    let tree = match find(repo, snap, path)? {
        Found::Root(t) => t,
        Found::Node(n) => {
            guard.node(&n)?;
            visit(&base, &n)?;
            match (n.kind, n.subtree) {
                (NodeKind::Dir, Some(id)) => {
                    guard.enter(&id)?;
                    repo.read_tree(&id)?
                }
                _ => return Ok(()),
            }
        }
    };
    walk_tree(repo, &tree, &base, recursive, &mut guard, visit)
}

fn walk_tree(
    repo: &Repository,
    tree: &Tree,
    base: &[u8],
    recursive: bool,
    guard: &mut WalkGuard,
    visit: &mut dyn FnMut(&[u8], &Node) -> Result<()>,
) -> Result<()> {
    for n in &tree.nodes {
        crate::progress::check_interrupt()?;
        guard.node(n)?;
        let mut p = base.to_vec();
        if p.len() > 1 {
            p.push(b'/');
        }
        p.extend_from_slice(&n.name);
        visit(&p, n)?;
        if recursive {
            if let (NodeKind::Dir, Some(id)) = (n.kind, n.subtree) {
                guard.enter(&id)?;
                walk_tree(repo, &repo.read_tree(&id)?, &p, true, guard, visit)?;
                guard.leave();
            }
        }
    }
    Ok(())
}

/// The length a file's extents add up to: holes, plus each chunk's length
/// from the index. Every chunk must be indexed as a chunk.
pub fn content_len(repo: &Repository, node: &Node) -> Result<u64> {
    let mut total = 0u64;
    for e in &node.content {
        let n = match e {
            Extent::Chunk(id) => {
                u64::from(repo.locate(&BlobId(id.0), BlobType::Chunk)?.entry.plain_len)
            }
            Extent::Hole(n) => *n,
        };
        total = total
            .checked_add(n)
            .ok_or_else(|| Error::corrupt("file content length overflows"))?;
    }
    Ok(total)
}

/// Require a file's extents to add up to its recorded size (the tree
/// format demands it), before a byte of it is used: a forged hole cannot
/// make a reader write zeros beyond what the tree records.
pub fn check_content_len(repo: &Repository, node: &Node) -> Result<()> {
    let total = content_len(repo, node)?;
    if total != node.size {
        return Err(Error::corrupt(format!(
            "'{}': content adds up to {total} bytes but the tree records {} (a forged or damaged tree)",
            String::from_utf8_lossy(&node.name),
            node.size
        )));
    }
    Ok(())
}

/// Write a file's content (holes as zeros) to `out`; every chunk is
/// verified before a byte of it is written, the extents must add up to the
/// recorded size before anything is written, and exactly that many bytes
/// are written. Interrupts are honoured inside long holes too.
pub fn dump(repo: &Repository, node: &Node, out: &mut dyn Write) -> Result<u64> {
    if node.kind != NodeKind::File {
        return Err(Error::invalid(format!(
            "'{}' is not a regular file; `cairn dump` writes one file",
            String::from_utf8_lossy(&node.name)
        )));
    }
    check_content_len(repo, node)?;
    let mut total = 0u64;
    let zeros = vec![0u8; 1 << 16];
    for e in &node.content {
        crate::progress::check_interrupt()?;
        match e {
            Extent::Chunk(id) => {
                let data = repo.read_blob(&BlobId(id.0), BlobType::Chunk)?;
                out.write_all(&data)
                    .map_err(|e| Error::io("writing output", e))?;
                total += data.len() as u64;
            }
            Extent::Hole(n) => {
                let mut left = *n;
                while left > 0 {
                    crate::progress::check_interrupt()?;
                    let k = left.min(zeros.len() as u64) as usize;
                    out.write_all(zeros.get(..k).unwrap_or_default())
                        .map_err(|e| Error::io("writing output", e))?;
                    left -= k as u64;
                }
                total += n;
            }
        }
    }
    out.flush().map_err(|e| Error::io("writing output", e))?;
    if total != node.size {
        return Err(Error::corrupt(format!(
            "'{}': wrote {total} bytes but the tree records {}",
            String::from_utf8_lossy(&node.name),
            node.size
        )));
    }
    Ok(total)
}

/// Reads a file node's content as a stream, verifying every chunk.
pub struct ContentReader<'r> {
    repo: &'r Repository,
    extents: std::vec::IntoIter<Extent>,
    buf: Vec<u8>,
    pos: usize,
    hole_left: u64,
}

/// Zeros served for holes, a slice at a time (holes can be terabytes).
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl<'r> ContentReader<'r> {
    /// A reader over `node`'s content.
    pub fn new(repo: &'r Repository, node: &Node) -> Self {
        ContentReader {
            repo,
            extents: node.content.clone().into_iter(),
            buf: Vec::new(),
            pos: 0,
            hole_left: 0,
        }
    }
}

impl Read for ContentReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            if self.hole_left > 0 {
                // Holes can be huge: stay responsive to interrupts.
                crate::progress::check_interrupt().map_err(std::io::Error::other)?;
                let n = out
                    .len()
                    .min(ZEROS.len())
                    .min(usize::try_from(self.hole_left).unwrap_or(usize::MAX));
                out[..n].copy_from_slice(&ZEROS[..n]);
                self.hole_left -= n as u64;
                return Ok(n);
            }
            match self.extents.next() {
                None => return Ok(0),
                Some(Extent::Chunk(id)) => {
                    self.buf = self
                        .repo
                        .read_blob(&BlobId(id.0), crate::repo::pack::BlobType::Chunk)
                        .map_err(std::io::Error::other)?;
                }
                Some(Extent::Hole(n)) => {
                    self.buf.clear();
                    self.hole_left = n;
                }
            }
            self.pos = 0;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Read a small file of the snapshot fully.
pub fn read_file(repo: &Repository, snap: &Snapshot, path: &str) -> Result<Vec<u8>> {
    match find(repo, snap, path.as_bytes())? {
        Found::Node(n) => {
            let mut out = Vec::new();
            ContentReader::new(repo, &n)
                .read_to_end(&mut out)
                .map_err(|e| Error::from_io(path, e))?;
            Ok(out)
        }
        Found::Root(_) => Err(Error::invalid(format!("{path} is not a file"))),
    }
}

/// The manifest of a MongoDB snapshot.
pub fn load_manifest(repo: &Repository, snap: &Snapshot) -> Result<Manifest> {
    if snap.source != "mongodb" {
        return Err(Error::invalid(
            "this snapshot is not a MongoDB dump (its source is not mongodb)",
        ));
    }
    Manifest::from_json(&read_file(repo, snap, MANIFEST_NAME)?)
}
