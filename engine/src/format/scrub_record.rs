//! The scrub record, `state/scrub`: when each pack was last verified, so
//! repeated partial scrubs cover the least recently checked packs first
//! and `--stale 90d` can select what has not been verified for 90 days.
//!
//! A full envelope (type 8, zero bind) of a compressed canonical CBOR map
//! `{"v": 1, "packs": [[pack_id, unix_secs], ...]}` sorted by pack ID. It
//! is advisory: a missing or unreadable record means "never verified", and
//! writers merge with the stored record (keeping the later time per pack)
//! so concurrent scrubs lose nothing important.

use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{as_i64, Fields, Value};
use crate::id::PackId;
use std::collections::BTreeMap;

/// File name inside `state/`.
pub const NAME: &str = "scrub";
/// Largest record plaintext a reader accepts.
pub const MAX_PLAIN: u64 = 256 << 20;
/// Largest record file a reader accepts.
pub const MAX_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_PLAIN);

/// Last verification time (Unix seconds) per pack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScrubState {
    /// Pack → time of the last successful verification.
    pub verified: BTreeMap<PackId, i64>,
}

impl ScrubState {
    /// The canonical CBOR plaintext (before the compression tag).
    pub fn encode(&self) -> Vec<u8> {
        Value::map(vec![
            ("v", Value::Uint(1)),
            (
                "packs",
                Value::Array(
                    self.verified
                        .iter()
                        .map(|(id, t)| {
                            Value::Array(vec![Value::Bytes(id.0.to_vec()), Value::int(*t)])
                        })
                        .collect(),
                ),
            ),
        ])
        .encode()
    }

    /// Decode; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let v = Value::decode(bytes)?;
        let f = Fields::of(&v, "scrub state")?;
        if f.u64("v")? != 1 {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                "scrub state version not supported",
            ));
        }
        let mut verified = BTreeMap::new();
        for item in f.array("packs")? {
            match item {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::Bytes(id), t] => {
                        let t = as_i64(t).ok_or_else(|| Error::corrupt("scrub state: bad time"))?;
                        verified.insert(PackId::from_slice(id)?, t);
                    }
                    _ => return Err(Error::corrupt("scrub state: bad entry")),
                },
                _ => return Err(Error::corrupt("scrub state: bad entry")),
            }
        }
        Ok(ScrubState { verified })
    }

    /// The sealed file bytes.
    pub fn seal(&self, sealer: &Sealer, level: i32) -> Result<Vec<u8>> {
        crate::format::object::seal(sealer, ObjectType::ScrubState, &self.encode(), level)
    }

    /// Open and decode a stored record; never panics.
    pub fn open(sealer: &Sealer, bytes: &[u8]) -> Result<Self> {
        let plain = crate::format::object::open(sealer, ObjectType::ScrubState, bytes, MAX_PLAIN)?;
        Self::decode(&plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let mut s = ScrubState::default();
        s.verified.insert(PackId([1; 32]), 1_700_000_000);
        s.verified.insert(PackId([2; 32]), -5);
        assert_eq!(ScrubState::decode(&s.encode()).unwrap(), s);
        let enc = s.encode();
        for cut in 0..enc.len() {
            assert!(ScrubState::decode(&enc[..cut]).is_err());
        }
    }
}
