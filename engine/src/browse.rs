//! Navigating a snapshot's trees: find the node at a path, list entries,
//! and stream a file's content (used by `ls` and `dump`).
//!
//! Snapshot paths are absolute, `/`-separated byte strings: the root tree
//! is `/`, so a backup of `/srv/data` has `/srv/data/...` inside it.

use crate::error::{Error, ErrorKind, Result};
use crate::id::BlobId;
use crate::repo::Repository;
use crate::snapshot::Snapshot;
use crate::tree::{Extent, Node, NodeKind, Tree};
use std::io::Write;

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
        format!(
            "'{}' is not in the snapshot (see `cairn ls`)",
            String::from_utf8_lossy(path)
        ),
    )
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
    let tree = match find(repo, snap, path)? {
        Found::Root(t) => t,
        Found::Node(n) => {
            visit(&base, &n)?;
            match (n.kind, n.subtree) {
                (NodeKind::Dir, Some(id)) => repo.read_tree(&id)?,
                _ => return Ok(()),
            }
        }
    };
    walk_tree(repo, &tree, &base, recursive, visit)
}

fn walk_tree(
    repo: &Repository,
    tree: &Tree,
    base: &[u8],
    recursive: bool,
    visit: &mut dyn FnMut(&[u8], &Node) -> Result<()>,
) -> Result<()> {
    for n in &tree.nodes {
        let mut p = base.to_vec();
        if p.len() > 1 {
            p.push(b'/');
        }
        p.extend_from_slice(&n.name);
        visit(&p, n)?;
        if recursive {
            if let (NodeKind::Dir, Some(id)) = (n.kind, n.subtree) {
                walk_tree(repo, &repo.read_tree(&id)?, &p, true, visit)?;
            }
        }
    }
    Ok(())
}

/// Write a file's content (holes as zeros) to `out`; every chunk is
/// verified before a byte of it is written.
pub fn dump(repo: &Repository, node: &Node, out: &mut dyn Write) -> Result<u64> {
    if node.kind != NodeKind::File {
        return Err(Error::invalid(format!(
            "'{}' is not a regular file; `cairn dump` writes one file",
            String::from_utf8_lossy(&node.name)
        )));
    }
    let mut total = 0u64;
    let zeros = vec![0u8; 1 << 16];
    for e in &node.content {
        crate::progress::check_interrupt()?;
        match e {
            Extent::Chunk(id) => {
                let data = repo.read_blob(&BlobId(id.0))?;
                out.write_all(&data)
                    .map_err(|e| Error::io("writing output", e))?;
                total += data.len() as u64;
            }
            Extent::Hole(n) => {
                let mut left = *n;
                while left > 0 {
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
    Ok(total)
}
