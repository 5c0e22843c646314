//! Pack files: immutable containers of sealed blobs.
//!
//! ```text
//! "CRNP" | version=1 | 0 0 0            8-byte header
//! blob_0 | blob_1 | ... | blob_n-1      compact envelopes, back to back
//! trailer                               full envelope (type PackTrailer)
//! footer                                compact envelope (type PackFooter)
//!                                       of trailer_len: u32 LE, then "CRNP"
//! ```
//!
//! A pack is named by the BLAKE3 hash of all its bytes, so `b3sum` verifies
//! it anywhere. Blob boundaries and the trailer's length are sealed; the
//! trailer is zero-padded so that the pack is a multiple of [`PACK_ALIGN`]
//! bytes. Storage sees only the total size, rounded up to 4 KiB.
//! Invariant: a pack is written once, whole, and never modified.

//!
//! This module also holds the binary blob entries shared by pack trailers
//! and index files.
//!
//! Entry (49 bytes, little-endian):
//! `type: u8 | id: [32] | offset: u64 | sealed_len: u32 | plain_len: u32`.
//!
//! Invariant: the decoder never panics and rejects unknown types, counts
//! that exceed the input, and entries whose range overflows.

use crate::compression;
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::id::BlobId;

/// Magic at both ends of a pack.
pub const PACK_MAGIC: [u8; 4] = *b"CRNP";
/// Pack format version.
pub const PACK_VERSION: u8 = 1;
/// Header length.
pub const HEADER_LEN: usize = 8;
/// Footer length: a compact envelope of 4 bytes, then the magic.
pub const FOOTER_LEN: usize = crate::crypto::aead::COMPACT_OVERHEAD + 4 + 4;
/// Packs are padded to a multiple of this many bytes (see threat model).
pub const PACK_ALIGN: usize = 4096;

/// Bytes per encoded entry.
pub const ENTRY_LEN: usize = 1 + 32 + 8 + 4 + 4;

/// What a blob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlobType {
    /// File content.
    Chunk,
    /// A directory listing.
    Tree,
}

impl BlobType {
    /// The envelope object type bound into the blob's AEAD.
    pub fn object_type(self) -> ObjectType {
        match self {
            BlobType::Chunk => ObjectType::Chunk,
            BlobType::Tree => ObjectType::Tree,
        }
    }

    /// Decode the entry type byte.
    pub fn from_u8(b: u8) -> Result<Self> {
        match b {
            16 => Ok(BlobType::Chunk),
            17 => Ok(BlobType::Tree),
            other => Err(Error::corrupt(format!("unknown blob type {other}"))),
        }
    }
}

/// Where one blob sits in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobEntry {
    /// Chunk or tree.
    pub blob_type: BlobType,
    /// Keyed BLAKE3 of the plaintext.
    pub id: BlobId,
    /// Offset of the compact envelope from the start of the pack.
    pub offset: u64,
    /// Length of the compact envelope.
    pub sealed_len: u32,
    /// Length of the plaintext after decompression.
    pub plain_len: u32,
}

/// Append `u32 LE count` and the entries.
pub fn encode_entries(out: &mut Vec<u8>, entries: &[BlobEntry]) {
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.push(e.blob_type.object_type() as u8);
        out.extend_from_slice(&e.id.0);
        out.extend_from_slice(&e.offset.to_le_bytes());
        out.extend_from_slice(&e.sealed_len.to_le_bytes());
        out.extend_from_slice(&e.plain_len.to_le_bytes());
    }
}

/// A panic-free cursor over untrusted bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Read `buf`, naming it `what` in errors.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, rest) = self
            .buf
            .split_at_checked(n)
            .ok_or_else(|| Error::corrupt(format!("{} is truncated", self.what)))?;
        self.buf = rest;
        Ok(head)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let what = self.what;
        self.take(N)?
            .try_into()
            .map_err(|_| Error::corrupt(format!("{what} is truncated")))
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// A count of items of `item_len` bytes, checked against what is left.
    pub fn count(&mut self, item_len: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_len) > self.buf.len() {
            return Err(Error::corrupt(format!(
                "{} declares more entries than it holds",
                self.what
            )));
        }
        Ok(n)
    }
}

/// Decode `u32 LE count` and that many entries.
pub fn decode_entries(r: &mut Reader<'_>) -> Result<Vec<BlobEntry>> {
    let n = r.count(ENTRY_LEN)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let blob_type = BlobType::from_u8(r.u8()?)?;
        let id = BlobId(r.array()?);
        let offset = r.u64()?;
        let sealed_len = r.u32()?;
        let plain_len = r.u32()?;
        if offset.checked_add(u64::from(sealed_len)).is_none() {
            return Err(Error::corrupt("blob entry range overflows"));
        }
        out.push(BlobEntry {
            blob_type,
            id,
            offset,
            sealed_len,
            plain_len,
        });
    }
    Ok(out)
}

/// Decode a pack trailer's sealed bytes into entries.
pub fn decode_trailer(sealer: &Sealer, sealed: &[u8]) -> Result<Vec<BlobEntry>> {
    let payload = sealer.open(ObjectType::PackTrailer, &[0; 32], sealed)?;
    let plain = match payload.split_first() {
        Some((&compression::TAG_STORED, rest)) => rest,
        _ => {
            return Err(Error::corrupt(
                "pack trailer payload is not stored uncompressed",
            ))
        }
    };
    decode_trailer_payload(plain)
}

/// Decode a trailer's plaintext (after the compression tag); never panics.
pub fn decode_trailer_payload(plain: &[u8]) -> Result<Vec<BlobEntry>> {
    let mut r = Reader::new(plain, "pack trailer");
    let version = r.u8()?;
    if version != PACK_VERSION {
        return Err(Error::new(
            ErrorKind::UnsupportedVersion,
            format!("pack trailer version {version} is not supported; upgrade cairn"),
        ));
    }
    let entries = decode_entries(&mut r)?;
    if r.rest().iter().any(|b| *b != 0) {
        return Err(Error::corrupt("pack trailer padding is not zero"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let e = BlobEntry {
            blob_type: BlobType::Tree,
            id: BlobId([4; 32]),
            offset: 8,
            sealed_len: 100,
            plain_len: 60,
        };
        let mut buf = Vec::new();
        encode_entries(&mut buf, &[e, e]);
        assert_eq!(buf.len(), 4 + 2 * ENTRY_LEN);
        let back = decode_entries(&mut Reader::new(&buf, "t")).unwrap();
        assert_eq!(back, vec![e, e]);
        for cut in 0..buf.len() {
            assert!(decode_entries(&mut Reader::new(&buf[..cut], "t")).is_err());
        }
        let mut huge = buf.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_entries(&mut Reader::new(&huge, "t")).is_err());
    }
}
