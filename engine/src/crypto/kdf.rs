//! Argon2id (RFC 9106) password hashing into a key-encryption key.
//!
//! Invariant: parameters read from a (possibly hostile) key file are bounded
//! before use, so a forged key file cannot make `open` allocate unbounded
//! memory or spin forever.

use crate::error::{Error, Result};
use rayon::prelude::*;

/// Argon2id cost parameters, stored in every key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB (`m` in RFC 9106).
    pub memory_kib: u32,
    /// Passes (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: RFC 9106's second recommended option with
    /// one lane, about 0.2 s on a current core.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

/// Upper bounds a reader enforces on stored parameters.
pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// Upper bound on passes.
pub const MAX_ITERATIONS: u32 = 64;
/// Upper bound on lanes.
pub const MAX_PARALLELISM: u32 = 64;

impl KdfParams {
    /// Reject parameters outside the bounds of `format-spec/v1/crypto.md`.
    pub fn validate(&self) -> Result<()> {
        let ok = self.parallelism >= 1
            && self.parallelism <= MAX_PARALLELISM
            && self.iterations >= 1
            && self.iterations <= MAX_ITERATIONS
            && self.memory_kib >= 8 * self.parallelism
            && self.memory_kib <= MAX_MEMORY_KIB;
        if ok {
            Ok(())
        } else {
            Err(Error::corrupt(format!(
                "key file has out-of-range Argon2id parameters (m={} KiB, t={}, p={})",
                self.memory_kib, self.iterations, self.parallelism
            )))
        }
    }

    /// Derive a 32-byte key-encryption key from `password` and `salt`.
    pub fn derive(&self, password: &[u8], salt: &[u8]) -> Result<[u8; 32]> {
        self.validate()?;
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| Error::corrupt(format!("invalid Argon2id parameters: {e}")))?;
        let block_count = params.block_count();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        // The memory (64 MiB by default) is first written here, by every
        // thread of the pool at once: written by the one thread that
        // hashes, its page faults took a third of the derivation, 45 of
        // 130 ms in `perf` (issue 15). The hash itself is sequential.
        let blocks: Vec<argon2::Block> = (0..block_count)
            .into_par_iter()
            .map(|_| argon2::Block::default())
            .collect();
        let mut out = [0u8; 32];
        argon
            .hash_password_into_with_memory(password, salt, &mut out, blocks)
            .map_err(|e| Error::corrupt(format!("Argon2id failed: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_hostile_parameters() {
        let p = KdfParams {
            memory_kib: u32::MAX,
            iterations: 1,
            parallelism: 1,
        };
        assert!(p.derive(b"pw", b"saltsaltsaltsalt").is_err());
        let p = KdfParams {
            memory_kib: 64,
            iterations: 0,
            parallelism: 1,
        };
        assert!(p.validate().is_err());
    }

    #[test]
    fn deterministic() {
        let p = KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let a = p.derive(b"pw", b"0123456789abcdef").unwrap();
        let b = p.derive(b"pw", b"0123456789abcdef").unwrap();
        let c = p.derive(b"pX", b"0123456789abcdef").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
