//! The parity-file header (`format-spec/v1/parity.md`): a pure codec, no
//! I/O. A header names its group (the member packs and their lengths, in
//! ID order), the shard counts and this file's shard index; the group ID
//! is the BLAKE3 of the member list, so a header is self-checking.
//!
//! Invariant: [`Group::parse`] never panics and accepts only headers that
//! [`Group::header`] could have written.

use crate::error::{Error, ErrorKind, Result};
use crate::format::pack::Reader;
use crate::id::{hex_encode, PackId};

/// Magic of a parity file.
pub const PARITY_MAGIC: [u8; 4] = *b"CRNR";
/// Parity file version.
pub const PARITY_VERSION: u8 = 1;
/// Bytes of the fixed header part (before the member list).
pub const FIXED: usize = 48;
/// Bytes per member in the header (pack ID, length).
const MEMBER: usize = 40;

/// A parity group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// BLAKE3 of the member list encoding.
    pub id: [u8; 32],
    /// Data packs and their lengths, sorted by ID.
    pub packs: Vec<(PackId, u64)>,
    /// Parity shards.
    pub m: u8,
    /// Shard length (the longest pack).
    pub shard_len: u64,
}

fn members(packs: &[(PackId, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packs.len() * MEMBER);
    for (id, len) in packs {
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    out
}

impl Group {
    /// A group over `packs` with `m` parity shards.
    pub fn new(mut packs: Vec<(PackId, u64)>, m: u8) -> Self {
        packs.sort();
        let shard_len = packs.iter().map(|p| p.1).max().unwrap_or(0);
        Group {
            id: *blake3::hash(&members(&packs)).as_bytes(),
            packs,
            m,
            shard_len,
        }
    }

    /// File name of parity shard `j`.
    pub fn file_name(&self, j: u8) -> String {
        format!("{}.{j}", hex_encode(&self.id))
    }

    /// Header of parity file `j`.
    pub fn header(&self, j: u8) -> Vec<u8> {
        let mut h = PARITY_MAGIC.to_vec();
        h.push(PARITY_VERSION);
        h.push(self.packs.len() as u8);
        h.push(self.m);
        h.push(j);
        h.extend_from_slice(&self.shard_len.to_le_bytes());
        h.extend_from_slice(&self.id);
        h.extend_from_slice(&members(&self.packs));
        h
    }

    /// Length of this group's header.
    pub fn header_len(&self) -> u64 {
        (FIXED + MEMBER * self.packs.len()) as u64
    }

    /// Length of the whole header, from its first [`FIXED`] bytes (or
    /// fewer: then the member count reads as zero and parsing fails).
    pub fn header_len_from(prefix: &[u8]) -> u64 {
        let k = prefix.get(5).copied().unwrap_or(0);
        (FIXED + MEMBER * usize::from(k)) as u64
    }

    /// Parse a header (at least [`FIXED`] + 40·k bytes); never panics.
    /// Returns the group and the shard index.
    pub fn parse(bytes: &[u8]) -> Result<(Group, u8)> {
        let mut r = Reader::new(bytes, "parity file");
        if r.take(4)? != PARITY_MAGIC {
            return Err(Error::corrupt("parity file does not start with 'CRNR'"));
        }
        let version = r.u8()?;
        if version != PARITY_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("parity file version {version} is not supported"),
            ));
        }
        let (k, m, j) = (r.u8()?, r.u8()?, r.u8()?);
        if k == 0 || m == 0 || j >= m || usize::from(k) + usize::from(m) > 255 {
            return Err(Error::corrupt("parity file has invalid shard counts"));
        }
        let shard_len = r.u64()?;
        let id: [u8; 32] = r.array()?;
        let mut packs = Vec::with_capacity(usize::from(k));
        for _ in 0..k {
            packs.push((PackId(r.array()?), r.u64()?));
        }
        let g = Group::new(packs, m);
        if g.id != id || g.shard_len != shard_len {
            return Err(Error::corrupt("parity file header is inconsistent"));
        }
        Ok((g, j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_garbage_never_panics() {
        let g = Group::new(vec![(PackId([3; 32]), 9000), (PackId([1; 32]), 4096)], 2);
        let head = g.header(1);
        assert_eq!(head.len() as u64, g.header_len());
        assert_eq!(Group::header_len_from(&head), g.header_len());
        assert_eq!(Group::parse(&head).unwrap(), (g.clone(), 1));
        for cut in 0..head.len() {
            assert!(Group::parse(&head[..cut]).is_err());
        }
        assert_eq!(g.shard_len, 9000);
        assert!(g.file_name(1).ends_with(".1"));
    }
}
