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
        let id = &loc.entry.id;
        let pack = loc.pack.to_hex();
        let sealed = self
            .backend
            .read_range(
                Kind::Data,
                &pack,
                loc.entry.offset,
                u64::from(loc.entry.sealed_len),
            )
            .map_err(|e| e.context(format!("pack {pack}")))?;
        open_blob(&self.keys, &self.sealer, &loc.entry, &sealed).map_err(|e| {
            e.context(format!(
                "pack {pack}, blob {} (the pack is damaged; restore it from another copy)",
                id.to_hex()
            ))
        })
    }

    /// Read and decode a tree.
    pub fn read_tree(&self, id: &TreeId) -> Result<Tree> {
        let bytes = self.read_blob(&BlobId(id.0), BlobType::Tree)?;
        Tree::decode(&bytes).map_err(|e| e.context(format!("tree {id}")))
    }
}

fn type_name(t: BlobType) -> &'static str {
    match t {
        BlobType::Chunk => "chunk (file content)",
        BlobType::Tree => "tree (directory)",
    }
}
