//! Index files: sealed lists of packs and the blobs inside them.
//!
//! Plaintext (before compression and sealing as type Index):
//!
//! ```text
//! version=1: u8
//! supersedes: u32 LE count, then 32-byte index IDs
//! packs:      u32 LE count, then per pack: pack_id[32] | entries
//! ```
//!
//! where `entries` is the shared blob-entry list of [`crate::format::pack`].
//! An index file is named by the BLAKE3 of its bytes and never modified.
//! Invariant: an index file only names packs that were completely stored
//! before it was written.

use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::pack::Reader;
use crate::format::pack::{decode_entries, encode_entries, BlobEntry};
use crate::id::{IndexId, PackId};

/// Index file plaintext version.
pub const INDEX_VERSION: u8 = 1;

/// Largest index plaintext a reader accepts (1 GiB).
pub const MAX_INDEX_PLAIN: usize = 1 << 30;
/// Largest index file a reader accepts (checked before it is read).
pub const MAX_INDEX_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_INDEX_PLAIN as u64);

/// One pack and its blobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackEntries {
    /// The pack.
    pub pack: PackId,
    /// Its blobs.
    pub blobs: Vec<BlobEntry>,
}

/// A decoded index file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexFile {
    /// Index files this one replaces (used by compaction; empty in backups).
    pub supersedes: Vec<IndexId>,
    /// Packs described.
    pub packs: Vec<PackEntries>,
}

impl IndexFile {
    /// The plaintext encoding.
    pub fn encode_plain(&self) -> Vec<u8> {
        let mut out = vec![INDEX_VERSION];
        out.extend_from_slice(&(self.supersedes.len() as u32).to_le_bytes());
        for s in &self.supersedes {
            out.extend_from_slice(&s.0);
        }
        out.extend_from_slice(&(self.packs.len() as u32).to_le_bytes());
        for p in &self.packs {
            out.extend_from_slice(&p.pack.0);
            encode_entries(&mut out, &p.blobs);
        }
        out
    }

    /// Compress and seal; returns the file bytes.
    pub fn seal(&self, sealer: &Sealer, level: i32) -> Result<Vec<u8>> {
        super::object::seal(sealer, ObjectType::Index, &self.encode_plain(), level)
    }

    /// Decode a plaintext; never panics.
    pub fn decode_plain(plain: &[u8]) -> Result<Self> {
        let mut r = Reader::new(plain, "index file");
        let version = r.u8()?;
        if version != INDEX_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("index file version {version} is not supported; upgrade cairn"),
            ));
        }
        let n = r.count(32)?;
        let mut supersedes = Vec::with_capacity(n);
        for _ in 0..n {
            supersedes.push(IndexId(r.array()?));
        }
        let n = r.count(36)?;
        let mut packs = Vec::with_capacity(n);
        for _ in 0..n {
            let pack = PackId(r.array()?);
            let blobs = decode_entries(&mut r)?;
            packs.push(PackEntries { pack, blobs });
        }
        if !r.rest().is_empty() {
            return Err(Error::corrupt("index file has trailing bytes"));
        }
        Ok(IndexFile { supersedes, packs })
    }

    /// Verify the name, open, decompress and decode an index file.
    pub fn open(sealer: &Sealer, id: &IndexId, bytes: &[u8]) -> Result<Self> {
        let ctx = |e: Error| e.context(format!("index file {id}"));
        let plain = super::object::open_named(
            sealer,
            ObjectType::Index,
            &id.0,
            bytes,
            MAX_INDEX_PLAIN as u64,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::Corrupt => e.with_remedy(Remedy::RepairIndex),
            _ => e,
        })
        .map_err(ctx)?;
        Self::decode_plain(&plain).map_err(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::pack::BlobType;
    use crate::id::BlobId;

    #[test]
    fn round_trip() {
        let f = IndexFile {
            supersedes: vec![IndexId([1; 32])],
            packs: vec![PackEntries {
                pack: PackId([2; 32]),
                blobs: vec![BlobEntry {
                    blob_type: BlobType::Chunk,
                    id: BlobId([3; 32]),
                    offset: 8,
                    sealed_len: 50,
                    plain_len: 9,
                }],
            }],
        };
        let sealer = Sealer::new(&[5; 32]);
        let bytes = f.seal(&sealer, 3).unwrap();
        let id = IndexId(*blake3::hash(&bytes).as_bytes());
        assert_eq!(IndexFile::open(&sealer, &id, &bytes).unwrap(), f);
        let plain = f.encode_plain();
        for cut in 0..plain.len() {
            assert!(IndexFile::decode_plain(&plain[..cut]).is_err());
        }
        assert!(IndexFile::open(&sealer, &IndexId([0; 32]), &bytes).is_err());
    }
}
