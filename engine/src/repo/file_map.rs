//! Random access into one file of a snapshot: offset → extent → chunk,
//! for readers that jump around (a FUSE mount serves `pread`s, not
//! streams).
//!
//! Invariants:
//! * a [`FileMap`] exists only for a regular file whose extents add up to
//!   the size its tree records (checked once, from the index, before any
//!   byte is served), so a forged hole cannot make a read return more or
//!   other bytes than the tree says;
//! * every chunk is read through [`Repository::read_blob`] (decrypted and
//!   verified against its ID) and must be exactly as long as the index
//!   said when the map was built, else the read fails as corrupt;
//! * [`BlobCache`] holds at most its count and byte budget of chunks;
//!   memory stays bounded however large or many the files read are.

use crate::error::{Error, Result};
use crate::format::tree::{Extent, Node, NodeKind};
use crate::id::BlobId;
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use std::collections::HashMap;
use std::sync::Arc;

/// Where each extent of a file starts.
#[derive(Clone, Debug)]
pub struct FileMap {
    /// `(start offset, length, extent)`, in file order, no gaps.
    pieces: Vec<(u64, u64, Extent)>,
    size: u64,
}

impl FileMap {
    /// The map of `node`'s content; fails unless `node` is a regular file
    /// whose extents add up to its recorded size.
    pub fn new(repo: &Repository, node: &Node) -> Result<Self> {
        if node.kind != NodeKind::File {
            return Err(Error::invalid(format!(
                "'{}' is not a regular file",
                String::from_utf8_lossy(&node.name)
            )));
        }
        let mut pieces = Vec::with_capacity(node.content.len());
        let mut at = 0u64;
        for e in &node.content {
            let len = match e {
                Extent::Chunk(id) => {
                    u64::from(repo.locate(&BlobId(id.0), BlobType::Chunk)?.entry.plain_len)
                }
                Extent::Hole(n) => *n,
            };
            pieces.push((at, len, *e));
            at = at
                .checked_add(len)
                .ok_or_else(|| Error::corrupt("file content length overflows"))?;
        }
        if at != node.size {
            return Err(Error::corrupt(format!(
                "'{}': content adds up to {at} bytes but the tree records {} (a forged or damaged tree)",
                String::from_utf8_lossy(&node.name),
                node.size
            )));
        }
        Ok(FileMap {
            pieces,
            size: node.size,
        })
    }

    /// The file's length.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Up to `len` bytes from `offset` (fewer only at the end of the
    /// file; none at or past it). Holes read as zeros.
    pub fn read_at(
        &self,
        repo: &Repository,
        cache: &mut BlobCache,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let end = offset.saturating_add(len as u64).min(self.size);
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        // The first piece that ends after `offset`.
        let first = self.pieces.partition_point(|(s, l, _)| s + l <= offset);
        let mut pos = offset;
        for (start, plen, e) in self.pieces.iter().skip(first) {
            if pos >= end {
                break;
            }
            let from = pos - start;
            let to = (end - start).min(*plen);
            match e {
                Extent::Hole(_) => out.resize(out.len() + (to - from) as usize, 0),
                Extent::Chunk(id) => {
                    let data = cache.get(repo, &BlobId(id.0))?;
                    if data.len() as u64 != *plen {
                        return Err(Error::corrupt(format!(
                            "chunk {} is {} bytes but the index says {plen}",
                            id.short(),
                            data.len()
                        )));
                    }
                    let slice = data
                        .get(from as usize..to as usize)
                        .ok_or_else(|| Error::corrupt("chunk shorter than its extent"))?;
                    out.extend_from_slice(slice);
                }
            }
            pos = start + to;
        }
        Ok(out)
    }
}

/// A small least-recently-used cache of verified chunks.
pub struct BlobCache {
    map: HashMap<BlobId, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    tick: u64,
    max_blobs: usize,
    max_bytes: usize,
}

impl BlobCache {
    /// A cache of at most `max_blobs` chunks and `max_bytes` bytes (one
    /// chunk larger than the budget is served but not kept).
    pub fn new(max_blobs: usize, max_bytes: usize) -> Self {
        BlobCache {
            map: HashMap::new(),
            bytes: 0,
            tick: 0,
            max_blobs: max_blobs.max(1),
            max_bytes,
        }
    }

    /// The chunk `id`, from the cache or read (and verified) now.
    pub fn get(&mut self, repo: &Repository, id: &BlobId) -> Result<Arc<Vec<u8>>> {
        self.tick += 1;
        if let Some((data, used)) = self.map.get_mut(id) {
            *used = self.tick;
            return Ok(Arc::clone(data));
        }
        let data = Arc::new(repo.read_blob(id, BlobType::Chunk)?);
        if data.len() <= self.max_bytes {
            while self.map.len() >= self.max_blobs || self.bytes + data.len() > self.max_bytes {
                self.evict_oldest();
            }
            self.bytes += data.len();
            self.map.insert(*id, (Arc::clone(&data), self.tick));
        }
        Ok(data)
    }

    /// Chunks held now, and their bytes.
    pub fn usage(&self) -> (usize, usize) {
        (self.map.len(), self.bytes)
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .map
            .iter()
            .min_by_key(|(_, (_, t))| *t)
            .map(|(k, _)| *k);
        match oldest.and_then(|k| self.map.remove(&k)) {
            Some((data, _)) => self.bytes -= data.len(),
            None => self.bytes = 0,
        }
    }
}
