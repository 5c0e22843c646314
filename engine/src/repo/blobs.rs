//! Reading blobs: locating them in the index cache (falling back to pack
//! trailers when an index file is unreadable), re-syncing once when a
//! prune moved something, and verifying every byte read.
//!
//! Invariants: every blob is read as the type its reference demands (a
//! chunk for file content, a tree for a directory); nothing is returned
//! that failed its AEAD tag or its keyed hash.

use super::Repository;
use crate::backend::Kind;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::tree::Tree;
use crate::id::{BlobId, TreeId};
use crate::repo::index_cache::Location;
use crate::repo::pack::{open_blob, BlobType};

impl Repository {
    /// Where a blob of type `want` is stored. A miss re-syncs the index
    /// once (see [`Self::read_blob`]) before it is reported. A blob indexed
    /// with another type is corruption: file content is made of chunks and
    /// directories of trees, never the other way round.
    pub fn locate(&self, id: &BlobId, want: BlobType) -> Result<Location> {
        self.retry_after_resync(|| self.locate_cached(id, want))
    }

    fn locate_cached(&self, id: &BlobId, want: BlobType) -> Result<Location> {
        let loc = match self.index()?.locate(&*self.backend, &self.sealer, id)? {
            Some((loc, from_trailer)) => {
                if from_trailer {
                    self.warn("some blobs are in no readable index file and were found by reading pack trailers instead (slower) — run `cairn check`, then `cairn repair index`".into());
                }
                loc
            }
            None => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "blob {} is not in the index; the repository is missing data",
                        id.to_hex()
                    ),
                )
                .with_remedy(Remedy::Check))
            }
        };
        if loc.entry.blob_type != want {
            return Err(Error::corrupt(format!(
                "blob {} is stored as a {}, but is referenced as a {} (a forged or damaged tree)",
                id.to_hex(),
                type_name(loc.entry.blob_type),
                type_name(want)
            ))
            .with_remedy(Remedy::Check));
        }
        Ok(loc)
    }

    /// Run `f`; if it finds something missing, re-sync the index (unless
    /// another thread did meanwhile) and run it once more.
    fn retry_after_resync<T>(&self, f: impl Fn() -> Result<T>) -> Result<T> {
        let seen = *self.resyncs.lock().unwrap_or_else(|p| p.into_inner());
        match f() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                {
                    let mut gen = self.resyncs.lock().unwrap_or_else(|p| p.into_inner());
                    if *gen == seen {
                        self.resync_index()?;
                        *gen += 1;
                    }
                }
                f()
            }
            other => other,
        }
    }

    /// Read and fully verify one blob.
    ///
    /// Readers take no lock, so a prune may move a blob (repack) and delete
    /// its old pack meanwhile. When the blob or its pack is not found, the
    /// index is re-synced once (one thread at a time; threads that waited
    /// reuse that re-sync) and the read is retried at the new location.
    pub fn read_blob(&self, id: &BlobId, want: BlobType) -> Result<Vec<u8>> {
        self.retry_after_resync(|| {
            self.locate_cached(id, want)
                .and_then(|l| self.read_located(&l))
        })
    }

    /// Read and fully verify the blob at a known location (found by
    /// [`Self::locate`], which checked its type).
    pub fn read_located(&self, loc: &Location) -> Result<Vec<u8>> {
        let sealed = self.read_sealed(loc)?;
        self.open_located(loc, &sealed)
    }

    /// The sealed bytes of the blob at `loc`, unverified.
    fn read_sealed(&self, loc: &Location) -> Result<Vec<u8>> {
        let pack = loc.pack.to_hex();
        self.backend
            .read_range(
                Kind::Data,
                &pack,
                loc.entry.offset,
                u64::from(loc.entry.sealed_len),
            )
            .map_err(|e| e.context(format!("pack {pack}")))
    }

    /// Verify and open sealed bytes read for `loc`.
    fn open_located(&self, loc: &Location, sealed: &[u8]) -> Result<Vec<u8>> {
        let id = &loc.entry.id;
        let pack = loc.pack.to_hex();
        open_blob(&self.keys, &self.sealer, &loc.entry, sealed).map_err(|e| {
            e.context(format!(
                "pack {pack}, blob {} (the pack is damaged; restore it from another copy)",
                id.to_hex()
            ))
        })
    }

    /// Read and decode a tree. Unless [`Self::bypass_tree_cache`] was
    /// called, tree bytes come from the local cache when it has them (see
    /// `index_cache`): the tree must still be indexed, and the cached
    /// bytes are verified like bytes from a pack.
    pub fn read_tree(&self, id: &TreeId) -> Result<Tree> {
        let bid = BlobId(id.0);
        let bytes = if self.tree_cache.load(std::sync::atomic::Ordering::Relaxed) {
            self.retry_after_resync(|| {
                let loc = self.locate_cached(&bid, BlobType::Tree)?;
                let index = self.index()?;
                if let Some(sealed) = index.cached_tree(&bid) {
                    if let Ok(plain) = open_blob(&self.keys, &self.sealer, &loc.entry, &sealed) {
                        return Ok(plain);
                    }
                    index.forget_tree(&bid);
                }
                let sealed = self.read_sealed(&loc)?;
                let plain = self.open_located(&loc, &sealed)?;
                index.cache_tree(&bid, &sealed);
                Ok(plain)
            })?
        } else {
            self.read_blob(&bid, BlobType::Tree)?
        };
        Tree::decode(&bytes).map_err(|e| e.context(format!("tree {id}")))
    }

    /// Read trees from the storage only, never from the local cache:
    /// audits (check, verify, drill, repair) must see what the repository
    /// holds.
    pub fn bypass_tree_cache(&self) {
        self.tree_cache
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

fn type_name(t: BlobType) -> &'static str {
    match t {
        BlobType::Chunk => "chunk (file content)",
        BlobType::Tree => "tree (directory)",
    }
}
