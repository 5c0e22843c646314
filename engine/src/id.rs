//! Typed 32-byte identifiers, one newtype per object kind.
//!
//! Invariant: an ID is exactly 32 bytes and prints as 64 lowercase hex
//! digits. The types keep a chunk ID from being used where a pack ID is
//! meant; how each ID is computed is specified in `format-spec/v1`.

use crate::error::{Error, Result};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// 64 lowercase hex digits.
            pub fn to_hex(&self) -> String {
                hex_encode(&self.0)
            }

            /// The first 8 hex digits, for display.
            pub fn short(&self) -> String {
                hex_encode(&self.0[..4])
            }

            /// Parse exactly 64 hex digits.
            pub fn from_hex(s: &str) -> Result<Self> {
                Ok(Self(parse_hex32(s)?))
            }

            /// Build from a byte slice that must be 32 bytes long.
            pub fn from_slice(b: &[u8]) -> Result<Self> {
                let arr: [u8; 32] = b
                    .try_into()
                    .map_err(|_| Error::corrupt(concat!(stringify!($name), " is not 32 bytes")))?;
                Ok(Self(arr))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        /// Reports show IDs as their full lowercase hex, as the CLI does.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
    };
}

typed_id!(
    /// Keyed BLAKE3 of a data chunk's plaintext.
    ChunkId
);
typed_id!(
    /// Keyed BLAKE3 of a tree's canonical CBOR encoding.
    TreeId
);
typed_id!(
    /// Unkeyed BLAKE3 of a pack file's bytes (its file name).
    PackId
);
typed_id!(
    /// Unkeyed BLAKE3 of an index file's bytes (its file name).
    IndexId
);
typed_id!(
    /// Unkeyed BLAKE3 of a snapshot file's bytes (its file name).
    SnapshotId
);
typed_id!(
    /// Unkeyed BLAKE3 of a key file's bytes (its file name).
    KeyId
);

/// A blob is either a chunk or a tree; both live in packs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct BlobId(pub [u8; 32]);

impl From<ChunkId> for BlobId {
    fn from(id: ChunkId) -> Self {
        BlobId(id.0)
    }
}
impl From<TreeId> for BlobId {
    fn from(id: TreeId) -> Self {
        BlobId(id.0)
    }
}
impl BlobId {
    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
}

/// Lowercase hex of arbitrary bytes.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decode hex of any even length.
pub fn hex_decode(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return Err(Error::invalid(format!("'{s}' is not hex")));
    }
    b.chunks_exact(2)
        .map(|pair| {
            match (
                pair.first().copied().and_then(hex_val),
                pair.get(1).copied().and_then(hex_val),
            ) {
                (Some(h), Some(l)) => Ok(h << 4 | l),
                _ => Err(Error::invalid(format!("'{s}' is not hex"))),
            }
        })
        .collect()
}

fn parse_hex32(s: &str) -> Result<[u8; 32]> {
    let v = hex_decode(s)?;
    v.try_into()
        .map_err(|_| Error::invalid(format!("'{s}' is not a 64-digit hex ID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = ChunkId([0xab; 32]);
        assert_eq!(ChunkId::from_hex(&id.to_hex()).unwrap(), id);
        assert_eq!(id.short(), "abababab");
        assert!(ChunkId::from_hex("zz").is_err());
        assert!(ChunkId::from_hex("abc").is_err());
    }
}
