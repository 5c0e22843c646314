//! Cryptography: password KDF, the sealed-object envelope, and the key
//! hierarchy. Algorithms are named by standard in `format-spec/v1/crypto.md`.

pub mod aead;
pub mod kdf;
pub mod keys;

pub use aead::{ObjectType, Sealer};
pub use kdf::KdfParams;
pub use keys::{MasterKey, SubKeys};

/// Fill `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> crate::Result<()> {
    getrandom::getrandom(buf).map_err(|e| {
        crate::Error::new(
            crate::ErrorKind::Io,
            format!("the operating system's random number generator failed: {e}"),
        )
    })
}
