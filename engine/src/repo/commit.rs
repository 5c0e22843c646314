//! The only path by which new data enters a repository.
//!
//! [`BlobWriter`] deduplicates, compresses, seals and packs blobs from any
//! number of threads. Its ordering is code, not convention:
//!
//! 1. a pack is stored (atomically, durably) before any index file names it;
//! 2. an index file is stored before its entries enter the local cache;
//! 3. [`BlobWriter::commit`] flushes every open pack and writes the index of
//!    every stored pack *before* it writes the snapshot — and it is the only
//!    function that writes a snapshot.
//!
//! On failure or interruption, [`BlobWriter::abandon`] indexes the packs
//! already stored, so the next backup reuses them; no snapshot is written.
//!
//! GC protocol (`format-spec/v1/gc.md`): a writer exists only under a held
//! lock (its constructor takes the guard); it then reads every GC plan and
//! re-syncs the index, and never counts a blob as stored when its indexed
//! pack is condemned by a plan. It stores index files and the snapshot only
//! while that lock is provably fresh, so a writer that others may already
//! count as gone never makes a deleted pack reachable.

use super::Repository;
use crate::backend::Kind;
use crate::compression;
use crate::crypto::aead::NONCE_LEN;
use crate::error::Result;
use crate::id::PackId;
use crate::id::{BlobId, IndexId, SnapshotId};
use crate::index::IndexFile;
use crate::index::PackEntries;
use crate::pack::{BlobEntry, BlobType, PackBuilder};
use crate::repo::lock::LockGuard;
use crate::snapshot::Snapshot;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Write an index file once this many stored packs await indexing.
const INDEX_EVERY_PACKS: usize = 64;

/// Concurrent writer of new blobs for one session.
pub struct BlobWriter<'r> {
    repo: &'r Repository,
    lock: &'r LockGuard,
    data: Mutex<Option<PackBuilder<'r>>>,
    trees: Mutex<Option<PackBuilder<'r>>>,
    pending: Mutex<Vec<PackEntries>>,
    index_lock: Mutex<()>,
    session: Mutex<HashSet<BlobId>>,
    condemned: HashSet<PackId>,
    new_bytes: AtomicU64,
    stored_bytes: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<'r> BlobWriter<'r> {
    /// A writer for `repo`. Call it only while holding a lock: it reads
    /// the GC plans (failing if one is unreadable), then syncs the index.
    pub fn new(repo: &'r Repository, lock: &'r LockGuard) -> Result<Self> {
        let plans = crate::prune::plan::load_all(&**repo.backend(), repo.sealer())?;
        let condemned = crate::prune::plan::condemned(&plans);
        repo.resync_index()?;
        Ok(BlobWriter {
            repo,
            lock,
            data: Mutex::new(None),
            trees: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
            index_lock: Mutex::new(()),
            session: Mutex::new(HashSet::new()),
            condemned,
            new_bytes: AtomicU64::new(0),
            stored_bytes: AtomicU64::new(0),
        })
    }

    /// Reserve `id` for storing. `true` means the caller must [`store`]
    /// it; `false` means it is already stored or being stored.
    ///
    /// [`store`]: Self::store
    pub fn claim(&self, id: &BlobId) -> Result<bool> {
        if lock(&self.session).contains(id) {
            return Ok(false);
        }
        if self.indexed(id)? {
            return Ok(false);
        }
        Ok(lock(&self.session).insert(*id))
    }

    /// Is `id` indexed in a pack that no GC plan condemns?
    fn indexed(&self, id: &BlobId) -> Result<bool> {
        let index = self.repo.index()?;
        if self.condemned.is_empty() {
            return index.contains(id);
        }
        Ok(index
            .get(id)?
            .is_some_and(|loc| !self.condemned.contains(&loc.pack)))
    }

    /// Is `id` stored, in the index or by this session?
    pub fn is_stored(&self, id: &BlobId) -> Result<bool> {
        Ok(lock(&self.session).contains(id) || self.indexed(id)?)
    }

    /// Compress, seal and pack a claimed blob. `scratch` is the calling
    /// worker's reusable buffer (no allocation per blob in steady state).
    pub fn store(
        &self,
        blob_type: BlobType,
        id: BlobId,
        plain: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        scratch.clear();
        scratch.resize(NONCE_LEN, 0);
        compression::compress_into(scratch, plain, self.repo.config.zstd_level);
        self.repo
            .sealer
            .seal_compact_in_place(blob_type.object_type(), &id.0, scratch)?;
        let sealed: &[u8] = scratch;
        self.new_bytes
            .fetch_add(plain.len() as u64, Ordering::Relaxed);
        let plain_len = u32::try_from(plain.len())
            .map_err(|_| crate::Error::invalid("blob larger than 4 GiB"))?;
        self.store_sealed(blob_type, id, plain_len, sealed)
    }

    /// Pack an already sealed blob (a verified copy, when repacking).
    pub fn store_sealed(
        &self,
        blob_type: BlobType,
        id: BlobId,
        plain_len: u32,
        sealed: &[u8],
    ) -> Result<()> {
        self.stored_bytes
            .fetch_add(sealed.len() as u64, Ordering::Relaxed);
        let entry = BlobEntry {
            blob_type,
            id,
            offset: 0,
            sealed_len: 0,
            plain_len,
        };
        let slot = match blob_type {
            BlobType::Chunk => &self.data,
            BlobType::Tree => &self.trees,
        };
        let full = {
            let mut open = lock(slot);
            let pb = match open.as_mut() {
                Some(pb) => pb,
                None => open.insert(PackBuilder::new(self.repo.backend.as_dyn())?),
            };
            if let Err(e) = pb.add(entry, sealed) {
                // A failed write leaves the pack in an unknown state: drop
                // it (its temporary file goes with it); never finish it.
                open.take();
                return Err(e);
            }
            if pb.len() >= u64::from(self.repo.config.pack_size) {
                open.take()
            } else {
                None
            }
        };
        if let Some(pb) = full {
            self.write_pack(pb)?;
        }
        Ok(())
    }

    fn write_pack(&self, pb: PackBuilder<'r>) -> Result<()> {
        if pb.is_empty() {
            return Ok(()); // dropping it discards the temporary file
        }
        let fp = pb.finish(&self.repo.sealer)?;
        let n = {
            let mut p = lock(&self.pending);
            p.push(PackEntries {
                pack: fp.id,
                blobs: fp.entries,
            });
            p.len()
        };
        if n >= INDEX_EVERY_PACKS {
            self.write_index()?;
        }
        Ok(())
    }

    fn write_index(&self) -> Result<()> {
        let _one_at_a_time = lock(&self.index_lock);
        let packs = std::mem::take(&mut *lock(&self.pending));
        if packs.is_empty() {
            return Ok(());
        }
        let file = IndexFile {
            supersedes: Vec::new(),
            packs,
        };
        let bytes = file.seal(&self.repo.sealer, self.repo.config.zstd_level)?;
        let id = IndexId(*blake3::hash(&bytes).as_bytes());
        self.lock.ensure_fresh()?;
        self.repo.backend.write(Kind::Index, &id.to_hex(), &bytes)?;
        self.repo.index()?.insert_index(&id, &file)
    }

    fn flush(&self) -> Result<()> {
        for slot in [&self.data, &self.trees] {
            let open = lock(slot).take();
            if let Some(pb) = open {
                self.write_pack(pb)?;
            }
        }
        self.write_index()
    }

    /// (plaintext bytes newly stored, sealed bytes added).
    pub fn totals(&self) -> (u64, u64) {
        (
            self.new_bytes.load(Ordering::Relaxed),
            self.stored_bytes.load(Ordering::Relaxed),
        )
    }

    /// Flush packs, write the index, then write the snapshot.
    pub fn commit(self, snapshot: &Snapshot) -> Result<SnapshotId> {
        self.flush()?;
        let bytes = snapshot.seal(&self.repo.sealer)?;
        let id = SnapshotId(*blake3::hash(&bytes).as_bytes());
        self.lock.ensure_fresh()?;
        self.repo
            .backend
            .write(Kind::Snapshot, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    /// Index whatever packs are complete and stop; writes no snapshot.
    pub fn abandon(self) -> Result<()> {
        self.flush()
    }

    /// Store and index every open pack (repacking: no snapshot follows).
    pub fn finish(self) -> Result<()> {
        self.flush()
    }
}
