//! The key hierarchy (key files are `format::keyfile`).
//!
//! A repository has one random 32-byte master key. Each key file wraps it
//! under a key-encryption key derived from one password with Argon2id, so
//! several passwords can open one repository. Working keys are derived from
//! the master key with BLAKE3 `derive_key` under fixed context strings, one
//! per purpose; no working key is ever used for two purposes.
//!
//! Key file bytes: `"CRNK" | version=1 | CBOR map` (see
//! `format-spec/v1/crypto.md`). Invariant: the master key only leaves this
//! module inside a [`SubKeys`] or sealed under a password.

use crate::error::Result;

/// BLAKE3 `derive_key` context for the AEAD key.
pub const CONTEXT_SEAL: &str = "cairn 2026-11-30 v1 seal";
/// BLAKE3 `derive_key` context for the blob-ID key.
pub const CONTEXT_BLOB_ID: &str = "cairn 2026-11-30 v1 blob id";
/// BLAKE3 `derive_key` context for the chunker's gear-table key.
pub const CONTEXT_GEAR: &str = "cairn 2026-11-30 v1 chunker gear";

/// The repository master key.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Result<Self> {
        let mut k = [0u8; 32];
        crate::crypto::random_bytes(&mut k)?;
        Ok(MasterKey(k))
    }

    /// From known bytes (test vectors).
    pub fn from_bytes(k: [u8; 32]) -> Self {
        MasterKey(k)
    }

    /// The raw key, for wrapping it in a key file (`format::keyfile`).
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The working keys derived from this master key.
    pub fn subkeys(&self) -> SubKeys {
        SubKeys {
            seal: blake3::derive_key(CONTEXT_SEAL, &self.0),
            blob_id: blake3::derive_key(CONTEXT_BLOB_ID, &self.0),
            gear: blake3::derive_key(CONTEXT_GEAR, &self.0),
        }
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Working keys derived from the master key.
#[derive(Clone)]
pub struct SubKeys {
    /// XChaCha20-Poly1305 key for every envelope in the repository.
    pub seal: [u8; 32],
    /// BLAKE3 key for chunk and tree IDs.
    pub blob_id: [u8; 32],
    /// Key from which the chunker's gear table is expanded.
    pub gear: [u8; 32],
}

impl SubKeys {
    /// Keyed BLAKE3 of a blob's plaintext.
    pub fn blob_id(&self, plain: &[u8]) -> [u8; 32] {
        *blake3::keyed_hash(&self.blob_id, plain).as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_differ() {
        let s = MasterKey::from_bytes([1; 32]).subkeys();
        assert_ne!(s.seal, s.blob_id);
        assert_ne!(s.blob_id, s.gear);
    }
}
