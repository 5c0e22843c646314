//! `copy`: snapshots from one repository into another, which may have
//! other keys, another backend or other parity settings.
//!
//! Invariants:
//! * The destination's own protocol is kept: its blobs go through its
//!   [`BlobWriter`] (packs, then index, then the snapshot), under its own
//!   shared lock; parity is added by its own settings afterwards. The
//!   source is read under a shared lock, so no prune sweeps what we read
//!   (read-only sources, such as exports, need none).
//! * Every blob read from the source is verified (AEAD tag and keyed
//!   hash) on the way; every blob this run wrote is read back from the
//!   destination and verified again before the run reports success.
//! * A snapshot already in the destination (same time, host, user, paths
//!   and source) is skipped, so an interrupted copy resumes where it
//!   stopped: finished snapshots are not copied twice, and blobs already
//!   indexed in the destination are not sent again.
//! * When both repositories identify blobs alike (`init
//!   --copy-chunker-params-from`), blob IDs carry over and only missing
//!   blobs are read; otherwise every chunk gets the destination's ID and
//!   every tree is re-encoded with the new IDs (bottom-up).

use crate::error::{ErrorKind, Result};
use crate::format::pack::BlobType;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, Tree};
use crate::id::{BlobId, ChunkId, SnapshotId, TreeId};
use crate::progress::{check_interrupt, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The result of copying into one destination. Serialized as one entry
/// of the `--json` document of `cairn copy`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CopyReport {
    /// The destination.
    pub destination: String,
    /// Source snapshot → new snapshot in the destination.
    pub copied: Vec<CopiedSnapshot>,
    /// Source snapshots the destination already had.
    pub skipped: Vec<SnapshotId>,
    /// Blobs written to the destination (and verified after).
    pub blobs_written: u64,
    /// Blobs the destination already held.
    pub blobs_deduplicated: u64,
    /// Plaintext bytes written.
    pub bytes_written: u64,
    /// Wall-clock seconds.
    pub duration_secs: f64,
    /// Problems after a commit that did not undo it (parity).
    pub warnings: Vec<String>,
}

/// One copied snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct CopiedSnapshot {
    /// Its ID in the source.
    pub source: SnapshotId,
    /// Its ID in the destination.
    pub destination: SnapshotId,
}

/// Does `a` record the same backup as `b` (a copy of it)?
fn same_backup(a: &Snapshot, b: &Snapshot) -> bool {
    a.time == b.time
        && a.host == b.host
        && a.user == b.user
        && a.paths == b.paths
        && a.source == b.source
}

/// Copy the snapshots `ids` of `src` into `dst`.
pub fn copy(
    src: &Repository,
    dst: &Repository,
    ids: &[SnapshotId],
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let start = Instant::now();
    // Read-only sources (an export, read-only media) get no lock: nothing
    // can prune them either.
    let _src_lock = src.audit_lock()?;
    let existing = dst.snapshots()?;
    let mut report = CopyReport {
        destination: dst.location(),
        ..Default::default()
    };
    let mut todo = Vec::new();
    for id in ids {
        let snap = src.load_snapshot(id)?;
        if existing.iter().any(|(_, s)| same_backup(s, &snap)) {
            report.skipped.push(*id);
        } else {
            todo.push((*id, snap));
        }
    }
    // The repository on the slower storage sets the number of threads.
    let busier = if dst.backend().io_parallelism() > src.backend().io_parallelism() {
        dst
    } else {
        src
    };
    for (id, snap) in todo {
        check_interrupt()?;
        let lock = dst.lock(LockMode::Shared)?;
        let writer = BlobWriter::new(dst, &lock)?;
        let c = Copier {
            src,
            dst,
            writer: &writer,
            same_ids: src.same_blob_ids(dst),
            chunk_ids: Mutex::new(HashMap::new()),
            written: Mutex::new(Vec::new()),
            dedup: Default::default(),
            bytes: Default::default(),
            progress,
        };
        let tree = match crate::ops::io_bound(busier, || c.tree(&snap.tree)) {
            Ok(t) => t,
            Err(e) => {
                let _ = writer.abandon();
                return Err(e.context(format!("copying snapshot {}", id.short())));
            }
        };
        let written = std::mem::take(&mut *c.written.lock().unwrap_or_else(|p| p.into_inner()));
        let dedup = c.dedup.load(std::sync::atomic::Ordering::Relaxed);
        let bytes = c.bytes.load(std::sync::atomic::Ordering::Relaxed);
        let mut copy = snap.clone();
        copy.tree = tree;
        copy.parent = None;
        // Packs and index first, then read back what this run wrote (the
        // destination verifies each blob's tag and content hash), and
        // only then the snapshot: a copy that does not verify is never
        // committed, so the next run copies it again.
        let verified = writer.store_all().and_then(|()| {
            crate::ops::io_bound(dst, || {
                written
                    .par_iter()
                    .try_for_each(|(id, t)| dst.read_blob(id, *t).map(drop))
            })
        });
        if let Err(e) = verified {
            let _ = writer.abandon();
            return Err(e.context(format!("verifying the copy of snapshot {}", id.short())));
        }
        lock.ensure_fresh()?;
        let new_id = writer.commit(&copy)?;
        // Maintenance after the commit, as after a backup: a failure
        // leaves the new packs unprotected until the next `parity protect`.
        if dst.config().parity.is_some() {
            if let Err(e) = crate::ops::parity::protect(dst, &lock, &crate::progress::NoProgress) {
                report.warnings.push(format!(
                    "snapshot {} was copied, but its new packs are not protected by parity yet ({e}); the destination's next parity protection covers them",
                    new_id.short()
                ));
            }
        }
        report.blobs_written += written.len() as u64;
        report.blobs_deduplicated += dedup;
        report.bytes_written += bytes;
        report.copied.push(CopiedSnapshot {
            source: id,
            destination: new_id,
        });
    }
    report.duration_secs = start.elapsed().as_secs_f64();
    Ok(report)
}

/// The state of copying one snapshot.
struct Copier<'a, 'r> {
    src: &'a Repository,
    dst: &'r Repository,
    writer: &'a BlobWriter<'r>,
    same_ids: bool,
    /// Source chunk ID → destination chunk ID (when IDs differ).
    chunk_ids: Mutex<HashMap<ChunkId, ChunkId>>,
    /// Blobs written by this run, to verify after the commit.
    written: Mutex<Vec<(BlobId, BlobType)>>,
    dedup: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
    progress: &'a dyn Progress,
}

impl Copier<'_, '_> {
    /// Copy the tree `id` and everything below it; returns its ID in the
    /// destination. Every tree is read and every chunk checked: a tree the
    /// destination already has proves nothing about its children there.
    fn tree(&self, id: &TreeId) -> Result<TreeId> {
        check_interrupt()?;
        let mut tree: Tree = self.src.read_tree(id)?;
        tree.nodes
            .par_iter_mut()
            .try_for_each(|node| -> Result<()> {
                if let Some(sub) = &node.subtree {
                    node.subtree = Some(self.tree(sub)?);
                }
                let chunks: Vec<ChunkId> = node
                    .content
                    .iter()
                    .filter_map(|e| match e {
                        Extent::Chunk(c) => Some(*c),
                        Extent::Hole(_) => None,
                    })
                    .collect();
                let mapped: Vec<ChunkId> = chunks
                    .par_iter()
                    .map(|c| self.chunk(c))
                    .collect::<Result<_>>()?;
                let mut next = mapped.into_iter();
                for e in &mut node.content {
                    if let Extent::Chunk(c) = e {
                        *c = next.next().unwrap_or(*c);
                    }
                }
                Ok(())
            })?;
        let bytes = tree.encode();
        let new = BlobId(self.dst.keys().blob_id(&bytes));
        self.put(new, BlobType::Tree, Some(bytes))?;
        Ok(TreeId(new.0))
    }

    /// Copy one chunk; returns its ID in the destination.
    fn chunk(&self, id: &ChunkId) -> Result<ChunkId> {
        let src_blob = BlobId(id.0);
        if self.same_ids {
            self.put(src_blob, BlobType::Chunk, None)?;
            return Ok(*id);
        }
        if let Some(mapped) = self.lock_map().get(id) {
            return Ok(*mapped);
        }
        let plain = self.src.read_blob(&src_blob, BlobType::Chunk)?;
        let new = BlobId(self.dst.keys().blob_id(&plain));
        self.put(new, BlobType::Chunk, Some(plain))?;
        self.lock_map().insert(*id, ChunkId(new.0));
        Ok(ChunkId(new.0))
    }

    fn lock_map(&self) -> std::sync::MutexGuard<'_, HashMap<ChunkId, ChunkId>> {
        self.chunk_ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Store `id` in the destination unless it is there; `plain` is its
    /// plaintext if already read (otherwise it is read from the source,
    /// whose ID is the same).
    fn put(&self, id: BlobId, t: BlobType, plain: Option<Vec<u8>>) -> Result<()> {
        if !self.writer.claim(&id, t)? {
            self.dedup
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(());
        }
        let plain = match plain {
            Some(p) => p,
            None => self.src.read_blob(&id, t)?,
        };
        self.progress.bytes(plain.len() as u64);
        self.bytes
            .fetch_add(plain.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let mut scratch = Vec::new();
        self.writer.store(t, id, &plain, &mut scratch)?;
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, t));
        Ok(())
    }
}

/// Is `e` worth going on with the next destination (anything but an
/// interrupt)?
pub fn is_per_target(e: &crate::Error) -> bool {
    e.kind() != ErrorKind::Interrupted
}
