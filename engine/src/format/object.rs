//! The steps every sealed repository object shares, written once: a
//! plaintext is compressed (`compression`: a one-byte tag, then zstd or
//! stored bytes) and sealed in a full envelope bound to its object type
//! (`crypto::aead`); reading reverses both under a size cap, so a hostile
//! file can never make a reader allocate more than the structure allows.
//!
//! Index files and snapshots are also named by the BLAKE3 of their bytes,
//! checked before anything is opened ([`open_named`]).
//!
//! Each codec in `format/` keeps its own magic or version field inside the
//! plaintext, and its own caps (`MAX_PLAIN`, `MAX_FILE`); this module only
//! names the envelope steps so they cannot drift apart between codecs.

use crate::compression;
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, Result};

/// Bind value for objects that are not content-addressed (the envelope
/// binds them to their type only).
pub const NO_BIND: [u8; 32] = [0; 32];

/// Compress `plain` at `level` and seal it as an object of type `ty`.
pub fn seal(sealer: &Sealer, ty: ObjectType, plain: &[u8], level: i32) -> Result<Vec<u8>> {
    sealer.seal(ty, &NO_BIND, &compression::compress(plain, level))
}

/// Open a sealed object of type `ty` and decompress it, refusing a
/// plaintext over `max_plain` bytes.
pub fn open(sealer: &Sealer, ty: ObjectType, bytes: &[u8], max_plain: u64) -> Result<Vec<u8>> {
    let payload = sealer.open(ty, &NO_BIND, bytes)?;
    compression::decompress(&payload, usize::try_from(max_plain).unwrap_or(usize::MAX))
}

/// As [`open`], for a file named by the BLAKE3 of its bytes (index files,
/// snapshots): a file whose content does not match its name is damaged,
/// and is refused before it is opened.
pub fn open_named(
    sealer: &Sealer,
    ty: ObjectType,
    name: &[u8; 32],
    bytes: &[u8],
    max_plain: u64,
) -> Result<Vec<u8>> {
    if blake3::hash(bytes).as_bytes() != name {
        return Err(Error::corrupt("content does not match its name (damaged)"));
    }
    open(sealer, ty, bytes, max_plain)
}
