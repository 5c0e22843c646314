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

pub mod format;
mod reader;
mod writer;

pub use format::{decode_entries, encode_entries, BlobEntry, BlobType, ENTRY_LEN};
pub use reader::{decode_trailer, decode_trailer_payload, open_blob, read_trailer};
pub use writer::{FinishedPack, PackBuilder};

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
