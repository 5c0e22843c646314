//! Which blobs the snapshots of a repository reference.
//!
//! Invariant: the set only grows, and a snapshot counts as added only when
//! every tree below it was read and verified. Any snapshot or tree that
//! cannot be read makes the scan fail: prune must never decide that a
//! blob is unreferenced while part of the graph is unknown.

use crate::error::{Error, Remedy, Result};
use crate::format::tree::{Extent, NodeKind};
use crate::id::{BlobId, SnapshotId, TreeId};
use crate::progress::check_interrupt;
use crate::repo::Repository;
use rayon::prelude::*;
use std::collections::HashSet;

/// Trees and chunks reachable from a set of snapshots.
#[derive(Debug, Default)]
pub struct Reachable {
    /// Snapshots already walked.
    pub snapshots: HashSet<SnapshotId>,
    /// Every referenced blob (trees and chunks).
    pub blobs: HashSet<BlobId>,
}

impl Reachable {
    /// Is `id` referenced?
    pub fn contains(&self, id: &BlobId) -> bool {
        self.blobs.contains(id)
    }

    /// Walk every snapshot in the repository not walked yet; returns how
    /// many were added. Fails if any snapshot file cannot be read.
    pub fn scan(&mut self, repo: &Repository) -> Result<usize> {
        let (snaps, bad) = repo.snapshots_and_errors()?;
        if let Some((name, e)) = bad.into_iter().next() {
            return Err(Error::new(
                e.kind(),
                format!("snapshot {name} cannot be read ({e}); prune deletes nothing while it cannot know what every snapshot references"),
            )
            .with_remedy(Remedy::RepairSnapshots));
        }
        let mut added = 0;
        for (id, snap) in snaps {
            if self.snapshots.contains(&id) {
                continue;
            }
            self.walk(repo, snap.tree)
                .map_err(|e| e.context(format!("snapshot {}", id.short())))?;
            self.snapshots.insert(id);
            added += 1;
        }
        Ok(added)
    }

    /// Add `root` and everything below it, reading one level of trees at a
    /// time in parallel.
    pub(crate) fn walk(&mut self, repo: &Repository, root: TreeId) -> Result<()> {
        let mut frontier = Vec::new();
        if self.blobs.insert(BlobId(root.0)) {
            frontier.push(root);
        }
        while !frontier.is_empty() {
            check_interrupt()?;
            let trees = frontier
                .par_iter()
                .map(|id| {
                    repo.read_tree(id).map_err(|e| {
                        e.context("prune deletes nothing while a tree cannot be read")
                            .with_remedy(Remedy::Check)
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            frontier.clear();
            for tree in trees {
                for n in &tree.nodes {
                    if let (NodeKind::Dir, Some(sub)) = (n.kind, n.subtree) {
                        if self.blobs.insert(BlobId(sub.0)) {
                            frontier.push(sub);
                        }
                    }
                    for e in &n.content {
                        if let Extent::Chunk(c) = e {
                            self.blobs.insert(BlobId(c.0));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
