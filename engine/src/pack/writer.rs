//! Assembles sealed blobs into a pack in memory, then hands back the bytes
//! and their entries; the caller stores the pack and only *then* indexes it.

use super::format::{encode_entries, BlobEntry};
use super::{FOOTER_LEN, HEADER_LEN, PACK_ALIGN, PACK_MAGIC, PACK_VERSION};
use crate::compression::TAG_STORED;
use crate::crypto::aead::FULL_OVERHEAD;
use crate::crypto::{ObjectType, Sealer};
use crate::error::Result;
use crate::id::PackId;

/// A pack being filled.
pub struct PackBuilder {
    buf: Vec<u8>,
    entries: Vec<BlobEntry>,
}

/// A complete pack, ready to store under `id`.
pub struct FinishedPack {
    /// BLAKE3 of `bytes`.
    pub id: PackId,
    /// The whole file.
    pub bytes: Vec<u8>,
    /// The blobs it holds.
    pub entries: Vec<BlobEntry>,
}

impl Default for PackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PackBuilder {
    /// An empty pack (header only).
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(&PACK_MAGIC);
        buf.extend_from_slice(&[PACK_VERSION, 0, 0, 0]);
        PackBuilder {
            buf,
            entries: Vec::new(),
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// No blobs yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Append one compact envelope.
    pub fn add(&mut self, mut entry: BlobEntry, sealed: &[u8]) {
        entry.offset = self.buf.len() as u64;
        entry.sealed_len = sealed.len() as u32;
        self.buf.extend_from_slice(sealed);
        self.entries.push(entry);
    }

    /// Seal the trailer (padded so the pack is a multiple of
    /// [`PACK_ALIGN`]) and the footer.
    ///
    /// Trailer payload: `tag=0 | version=1 | entries | zero padding`, stored
    /// uncompressed so the padding can be computed exactly.
    pub fn finish(self, sealer: &Sealer) -> Result<FinishedPack> {
        self.finish_with(
            |plain| sealer.seal(ObjectType::PackTrailer, &[0; 32], plain),
            |len| sealer.seal_compact(ObjectType::PackFooter, &[0; 32], len),
        )
    }

    /// As [`finish`](Self::finish) with caller-supplied sealing steps
    /// (test vectors use fixed nonces).
    pub fn finish_with(
        mut self,
        seal_trailer: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
        seal_footer: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    ) -> Result<FinishedPack> {
        let mut plain = vec![TAG_STORED, PACK_VERSION];
        encode_entries(&mut plain, &self.entries);
        let total = self.buf.len() + FULL_OVERHEAD + plain.len() + FOOTER_LEN;
        let pad = (PACK_ALIGN - total % PACK_ALIGN) % PACK_ALIGN;
        plain.resize(plain.len() + pad, 0);
        let trailer = seal_trailer(&plain)?;
        self.buf.extend_from_slice(&trailer);
        let footer = seal_footer(&(trailer.len() as u32).to_le_bytes())?;
        self.buf.extend_from_slice(&footer);
        self.buf.extend_from_slice(&PACK_MAGIC);
        debug_assert!(self.buf.len() >= HEADER_LEN);
        let id = PackId(*blake3::hash(&self.buf).as_bytes());
        Ok(FinishedPack {
            id,
            bytes: self.buf,
            entries: self.entries,
        })
    }
}
