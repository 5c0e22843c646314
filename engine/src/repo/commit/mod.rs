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
use crate::format::index::IndexFile;
use crate::format::index::PackEntries;
use crate::format::snapshot::Snapshot;
use crate::id::PackId;
use crate::id::{BlobId, IndexId, SnapshotId};
use crate::repo::index_cache::Location;
use crate::repo::lock::LockGuard;
use crate::repo::pack::{BlobEntry, BlobType, PackBuilder};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Write an index file once this many stored packs await indexing...
const INDEX_EVERY_PACKS: usize = 64;
/// ...or this many blobs. Every pending entry is held in memory (the
/// pending index, the session's claims) and an index file enters the
/// local cache in one atomic batch, so with one index file per backup,
/// memory followed the number of new blobs: 2 million small files peaked
/// at 710 MiB. At this count an index file is about 800 KB and its batch
/// about 2.5 MB; a backup of the benchmark corpus (about 50,000 new blobs)
/// writes four.
const INDEX_EVERY_BLOBS: usize = 1 << 14;
/// A pack also ends at this many blobs, whatever its size (a 16 MiB pack
/// of small files would hold some 100,000), which bounds the entry list
/// an open pack holds and the blobs one index batch must wait for.
const PACK_MAX_BLOBS: usize = 1 << 16;

/// Concurrent writer of new blobs for one session.
pub struct BlobWriter<'r> {
    repo: &'r Repository,
    /// `None` only for a dry run, which never writes.
    lock: Option<&'r LockGuard>,
    /// Open packs not in use: a worker takes one (or starts one), adds
    /// its blob without holding any lock, and puts it back unless it is
    /// full. Workers writing one shared pack waited on each other's
    /// writes (perf, issue 15); there are at most as many open packs of
    /// a type as workers storing at once.
    data: Mutex<Vec<PackBuilder<'r>>>,
    trees: Mutex<Vec<PackBuilder<'r>>>,
    pending: Mutex<Vec<PackEntries>>,
    index_lock: Mutex<()>,
    /// Blobs claimed by this session, with the type they are stored as.
    session: Mutex<HashMap<BlobId, BlobType>>,
    condemned: HashSet<PackId>,
    /// A pack failed to be stored after blobs were claimed into it: those
    /// blobs exist nowhere, so no snapshot may be committed.
    lost_pack: std::sync::atomic::AtomicBool,
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
        Self::with_lock(repo, Some(lock))
    }

    fn with_lock(repo: &'r Repository, lock: Option<&'r LockGuard>) -> Result<Self> {
        let plans = crate::repo::gc::load_all(&**repo.backend(), repo.sealer())?;
        let condemned = crate::repo::gc::condemned(&plans);
        repo.resync_index()?;
        Ok(BlobWriter {
            repo,
            lock,
            data: Mutex::new(Vec::new()),
            trees: Mutex::new(Vec::new()),
            pending: Mutex::new(Vec::new()),
            index_lock: Mutex::new(()),
            session: Mutex::new(HashMap::new()),
            condemned,
            lost_pack: std::sync::atomic::AtomicBool::new(false),
            new_bytes: AtomicU64::new(0),
            stored_bytes: AtomicU64::new(0),
        })
    }

    /// A writer that deduplicates, compresses and seals like a real one
    /// and counts what it would add, but stores nothing (a dry run). It
    /// needs no lock: it writes no file, so it cannot make a deleted pack
    /// reachable; its counts are an estimate if a prune runs meanwhile.
    pub fn dry_run(repo: &'r Repository) -> Result<Self> {
        Self::with_lock(repo, None)
    }

    /// The lock to prove fresh before a write; a dry run has none and
    /// must never get this far.
    fn held(&self) -> Result<&'r LockGuard> {
        self.lock
            .ok_or_else(|| crate::Error::internal("a dry run tried to store a file"))
    }

    /// Reserve `id` for storing as `blob_type`. `true` means the caller
    /// must [`store`] it; `false` means it is already stored or being
    /// stored with that type.
    ///
    /// Readers check the type of every blob they read (file content must
    /// be chunks, directories trees), so a blob is never shared across
    /// types: should the bytes to store equal a stored blob of the other
    /// type (same plaintext, same ID), the backup stops with an error
    /// rather than write a snapshot that could not be read back.
    ///
    /// [`store`]: Self::store
    pub fn claim(&self, id: &BlobId, blob_type: BlobType) -> Result<bool> {
        if let Some(t) = lock(&self.session).get(id) {
            return same_type(id, *t, blob_type).map(|()| false);
        }
        if let Some(t) = self.indexed(id)? {
            return same_type(id, t, blob_type).map(|()| false);
        }
        let mut session = lock(&self.session);
        match session.get(id) {
            Some(t) => same_type(id, *t, blob_type).map(|()| false),
            None => {
                session.insert(*id, blob_type);
                Ok(true)
            }
        }
    }

    /// The type `id` is indexed with, in a pack no GC plan condemns.
    fn indexed(&self, id: &BlobId) -> Result<Option<BlobType>> {
        Ok(self.usable(self.repo.index()?.get(id)?))
    }

    /// The type of an indexed blob, unless a GC plan condemns its pack.
    fn usable(&self, loc: Option<Location>) -> Option<BlobType> {
        loc.filter(|l| !self.condemned.contains(&l.pack))
            .map(|l| l.entry.blob_type)
    }

    /// Is `id` stored as `blob_type`, in the index or by this session?
    pub fn is_stored(&self, id: &BlobId, blob_type: BlobType) -> Result<bool> {
        let t = match lock(&self.session).get(id) {
            Some(t) => Some(*t),
            None => self.indexed(id)?,
        };
        Ok(t == Some(blob_type))
    }

    /// [`is_stored`](Self::is_stored) of each of `ids`, with the index
    /// lookups batched.
    pub fn are_stored(&self, ids: &[BlobId], blob_type: BlobType) -> Result<Vec<bool>> {
        let mut out = vec![false; ids.len()];
        let mut ask = Vec::new();
        {
            let session = lock(&self.session);
            for (i, id) in ids.iter().enumerate() {
                match session.get(id) {
                    Some(t) => out[i] = *t == blob_type,
                    None => ask.push(i),
                }
            }
        }
        let wanted: Vec<BlobId> = ask.iter().map(|&i| ids[i]).collect();
        let found = self.repo.index()?.get_many(&wanted)?;
        for (&i, loc) in ask.iter().zip(found) {
            out[i] = self.usable(loc) == Some(blob_type);
        }
        Ok(out)
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
        if self.lock.is_none() {
            // A dry run: count, keep nothing.
            self.new_bytes
                .fetch_add(plain.len() as u64, Ordering::Relaxed);
            self.stored_bytes
                .fetch_add(sealed.len() as u64, Ordering::Relaxed);
            return Ok(());
        }
        if blob_type == BlobType::Tree {
            // The next backup reads this tree as its parent's: keep it.
            self.repo.index()?.cache_tree(&id, sealed);
        }
        self.new_bytes
            .fetch_add(plain.len() as u64, Ordering::Relaxed);
        let plain_len = u32::try_from(plain.len())
            .map_err(|_| crate::Error::internal("blob larger than 4 GiB"))?;
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
        self.held()?;
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
        let open = lock(slot).pop();
        let mut pb = match open {
            Some(pb) => pb,
            None => PackBuilder::new(self.repo.backend.as_dyn())?,
        };
        if let Err(e) = pb.add(entry, sealed) {
            // A failed write leaves the pack in an unknown state: drop it
            // (its temporary file goes with it); never finish it.
            self.lost_pack.store(true, Ordering::Relaxed);
            return Err(e);
        }
        if pb.len() >= u64::from(self.repo.config.pack_size) || pb.blob_count() >= PACK_MAX_BLOBS {
            self.write_pack(pb)
        } else {
            lock(slot).push(pb);
            Ok(())
        }
    }

    fn write_pack(&self, pb: PackBuilder<'r>) -> Result<()> {
        if pb.is_empty() {
            return Ok(()); // dropping it discards the temporary file
        }
        let fp = pb.finish(&self.repo.sealer).inspect_err(|_| {
            // Its blobs (some still in its write buffer) are gone.
            self.lost_pack.store(true, Ordering::Relaxed);
        })?;
        let (packs, blobs) = {
            let mut p = lock(&self.pending);
            p.push(PackEntries {
                pack: fp.id,
                blobs: fp.entries,
            });
            (p.len(), p.iter().map(|e| e.blobs.len()).sum::<usize>())
        };
        if packs >= INDEX_EVERY_PACKS || blobs >= INDEX_EVERY_BLOBS {
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
        let stored = file
            .seal(&self.repo.sealer, self.repo.config.zstd_level)
            .and_then(|bytes| {
                let id = IndexId(*blake3::hash(&bytes).as_bytes());
                self.held()?.ensure_fresh()?;
                self.repo.backend.write(Kind::Index, &id.to_hex(), &bytes)?;
                Ok(id)
            });
        match stored {
            Ok(id) => {
                self.repo.index()?.insert_index(&id, &file)?;
                // The cache now finds these blobs (`indexed`): the session
                // need not remember them, so its memory follows what is
                // not yet indexed, not the size of the backup.
                let mut session = lock(&self.session);
                for e in file.packs.iter().flat_map(|p| &p.blobs) {
                    session.remove(&e.id);
                }
                Ok(())
            }
            Err(e) => {
                // Keep the entries: a later flush (`abandon`) indexes these
                // packs after all. On a store where a write reported as
                // failed may still appear, an index naming them must not
                // be the only record of packs a prune would take for
                // unindexed (format-spec/v1/gc.md, "Stores without rename").
                let mut pending = lock(&self.pending);
                let later = std::mem::take(&mut *pending);
                *pending = file.packs;
                pending.extend(later);
                Err(e)
            }
        }
    }

    fn flush(&self) -> Result<()> {
        for slot in [&self.data, &self.trees] {
            // One at a time: after a failure the rest stay open for a
            // second try (`store_all`).
            loop {
                let open = lock(slot).pop();
                let Some(pb) = open else { break };
                self.write_pack(pb)?;
            }
        }
        self.write_index()
    }

    /// Store and index everything written so far (packs, then the
    /// index), e.g. to verify it before [`commit`](Self::commit) writes
    /// the snapshot. A failed index upload is tried once more: its entries
    /// were kept (see `write_index`), and a pack no index names would be
    /// taken for garbage by the next prune. A pack that failed is not:
    /// its blobs are gone, and so is any chance of a snapshot.
    pub fn store_all(&self) -> Result<()> {
        let lost = || self.lost_pack.load(Ordering::Relaxed);
        match self.flush() {
            Ok(()) if !lost() => Ok(()),
            Ok(()) => Err(crate::Error::internal(
                "a pack of this backup could not be stored; no snapshot was written",
            )),
            Err(e) if e.kind() == crate::ErrorKind::Interrupted || lost() => Err(e),
            Err(_) => self.flush(),
        }
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
        self.store_all()?;
        let bytes = snapshot.seal(&self.repo.sealer)?;
        let id = SnapshotId(*blake3::hash(&bytes).as_bytes());
        self.held()?.ensure_fresh()?;
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

/// `Ok` if a blob stored as `stored` may serve as `wanted`.
fn same_type(id: &BlobId, stored: BlobType, wanted: BlobType) -> Result<()> {
    if stored == wanted {
        return Ok(());
    }
    Err(crate::Error::new(
        crate::ErrorKind::Io,
        format!(
            "blob {}: the {wanted:?} to store is byte-identical to a stored {stored:?}; \
             sharing it would leave a snapshot that cannot be read back, so nothing was \
             committed (this takes a backed-up file holding Cairn's own tree encoding)",
            id.to_hex()
        ),
    ))
}

#[cfg(test)]
mod tests;
