//! Streams sealed blobs into a new pack file through the backend, hashing
//! as it goes; on [`finish`](PackBuilder::finish) the trailer and footer are
//! appended and the file is committed under the BLAKE3 of its bytes. Memory
//! per open pack is its entry list and one write buffer of [`WRITE_BUF`],
//! not its data. The caller indexes a pack only after `finish` returned
//! (the pack is then durable).

use crate::backend::{Backend, Kind, PendingWrite};
use crate::compression::TAG_STORED;
use crate::crypto::aead::FULL_OVERHEAD;
use crate::crypto::{ObjectType, Sealer};
use crate::error::Result;
use crate::format::pack::{encode_entries, BlobEntry};
use crate::format::pack::{FOOTER_LEN, HEADER_LEN, PACK_ALIGN, PACK_MAGIC, PACK_VERSION};
use crate::id::PackId;

/// Small blobs are gathered into writes of this size: one write call and
/// one BLAKE3 update per blob cost more than the blob's own sealing when
/// blobs are a few KiB (fine chunks, trees), and BLAKE3 only hashes many
/// 1 KiB chunks in parallel when it is given long inputs (perf, issue 15).
const WRITE_BUF: usize = 1 << 20;
/// Blobs from this size on are hashed and written as they are, not copied
/// into the write buffer first: a call per blob costs little next to its
/// bytes, and BLAKE3 hashes 128 KiB as fast as 1 MiB.
const DIRECT_FROM: usize = 128 << 10;

/// A pack being written.
pub struct PackBuilder<'b> {
    out: Box<dyn PendingWrite + 'b>,
    hasher: blake3::Hasher,
    /// Bytes put but not yet hashed and written.
    buf: Vec<u8>,
    len: u64,
    entries: Vec<BlobEntry>,
}

/// A stored pack.
#[derive(Debug)]
pub struct FinishedPack {
    /// BLAKE3 of its bytes (its name).
    pub id: PackId,
    /// Its length in bytes (a multiple of [`PACK_ALIGN`]).
    pub len: u64,
    /// The blobs it holds.
    pub entries: Vec<BlobEntry>,
}

impl<'b> PackBuilder<'b> {
    /// Start a pack in `backend` (writes the header).
    pub fn new(backend: &'b dyn Backend) -> Result<Self> {
        let mut pb = PackBuilder {
            out: backend.begin_write(Kind::Data)?,
            hasher: blake3::Hasher::new(),
            buf: Vec::new(),
            len: 0,
            entries: Vec::new(),
        };
        pb.put(&PACK_MAGIC)?;
        pb.put(&[PACK_VERSION, 0, 0, 0])?;
        debug_assert_eq!(pb.len, HEADER_LEN as u64);
        Ok(pb)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() >= DIRECT_FROM {
            self.flush()?;
            self.out.write_all(bytes)?;
            self.hasher.update(bytes);
        } else {
            if self.buf.len() + bytes.len() > WRITE_BUF {
                self.flush()?;
            }
            self.buf.extend_from_slice(bytes);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Hash and write what [`put`](Self::put) gathered.
    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        Ok(())
    }

    /// Bytes so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Blobs so far.
    pub fn blob_count(&self) -> usize {
        self.entries.len()
    }

    /// No blobs yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Append one compact envelope; `entry`'s offset and sealed length are
    /// filled in here.
    pub fn add(&mut self, mut entry: BlobEntry, sealed: &[u8]) -> Result<()> {
        entry.offset = self.len;
        entry.sealed_len = sealed.len() as u32;
        self.put(sealed)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Seal the trailer (zero-padded so the pack is a multiple of
    /// [`PACK_ALIGN`]) and the footer, then commit the pack.
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
        let total = self.len as usize + FULL_OVERHEAD + plain.len() + FOOTER_LEN;
        let pad = (PACK_ALIGN - total % PACK_ALIGN) % PACK_ALIGN;
        plain.resize(plain.len() + pad, 0);
        let trailer = seal_trailer(&plain)?;
        self.put(&trailer)?;
        let footer = seal_footer(&(trailer.len() as u32).to_le_bytes())?;
        self.put(&footer)?;
        self.put(&PACK_MAGIC)?;
        self.flush()?;
        let id = PackId(*self.hasher.finalize().as_bytes());
        self.out.commit(&id.to_hex())?;
        Ok(FinishedPack {
            id,
            len: self.len,
            entries: self.entries,
        })
    }
}
