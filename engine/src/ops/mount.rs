//! `mount`: what a read-only filesystem view of the repository reads.
//! The FUSE glue lives in the CLI; this is the engine side of it: the
//! snapshot list, trees, and random-access reads of file content through a
//! bounded cache of verified chunks.
//!
//! Invariants: nothing here writes to the repository or takes a lock (a
//! mount only reads immutable objects: snapshots, trees, chunks); every
//! byte served was verified (see [`crate::repo::file_map`]); the chunk
//! cache never holds more than [`CACHE_BLOBS`] chunks or [`CACHE_BYTES`]
//! bytes.

use crate::error::Result;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Node, Tree};
use crate::id::{SnapshotId, TreeId};
use crate::repo::file_map::BlobCache;
pub use crate::repo::file_map::FileMap;
use crate::repo::Repository;
use std::sync::Mutex;

/// Most chunks the cache keeps.
pub const CACHE_BLOBS: usize = 512;
/// Most bytes of chunks the cache keeps (64 MiB).
pub const CACHE_BYTES: usize = 64 << 20;

/// A repository opened for browsing.
pub struct MountSource {
    repo: Repository,
    cache: Mutex<BlobCache>,
}

impl MountSource {
    /// Browse `repo`.
    pub fn new(repo: Repository) -> Self {
        MountSource {
            repo,
            cache: Mutex::new(BlobCache::new(CACHE_BLOBS, CACHE_BYTES)),
        }
    }

    /// Every snapshot, oldest first (ties by ID), so names given in this
    /// order are stable for one mount.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let mut all = self.repo.snapshots()?;
        all.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0 .0.cmp(&b.0 .0)));
        Ok(all)
    }

    /// A directory's entries (verified; cached locally like every tree).
    pub fn tree(&self, id: &TreeId) -> Result<Tree> {
        self.repo.read_tree(id)
    }

    /// The map of a regular file's content (checks its length first).
    pub fn open(&self, node: &Node) -> Result<FileMap> {
        FileMap::new(&self.repo, node)
    }

    /// Up to `len` bytes of a file from `offset` (fewer only at its end).
    pub fn read(&self, map: &FileMap, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.read_at(&self.repo, &mut cache, offset, len)
    }
}
