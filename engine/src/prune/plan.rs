//! GC plans, `state/gc-<32 hex>`: the packs a prune has condemned, and the
//! locks whose holders must be gone before anyone may delete them.
//!
//! A full envelope (type 9, zero bind) of a compressed canonical CBOR map
//!
//! ```text
//! {"v": 1, "created": secs, "host": text,
//!  "packs": [pack_id, ...],          32-byte strings, sorted, unique
//!  "armed": bool,
//!  "waiting": [lock_name, ...]}      sorted; meaningful only when armed
//! ```
//!
//! Invariants (normative in `format-spec/v1/gc.md`): a plan is stored
//! before its lock list is taken, and armed only with a list taken after
//! it was stored; writers treat every pack of every plan as absent; a
//! plan is removed only after its packs are gone; a plan that cannot be
//! read stops writers, so nothing is ever deduplicated against a pack
//! that someone may be deleting.

use crate::backend::{Backend, Kind};
use crate::cbor::{as_i64, text_array, text_list, Fields, Value};
use crate::compression;
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{hex_encode, PackId};
use std::collections::{BTreeSet, HashSet};

/// Prefix of plan names in `state/`.
pub const PREFIX: &str = "gc-";
/// Largest plan plaintext a reader accepts.
pub const MAX_PLAIN: usize = 64 << 20;
/// Largest plan file a reader accepts.
pub const MAX_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_PLAIN as u64);

/// A decoded plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// File name in `state/` (not stored inside the file).
    pub name: String,
    /// When it was made, Unix seconds.
    pub created: i64,
    /// The host that made it.
    pub host: String,
    /// Condemned packs.
    pub packs: BTreeSet<PackId>,
    /// `Some(locks)` once armed: the lock files present after the plan was
    /// stored, whose holders must all be gone before the sweep.
    pub waiting: Option<Vec<String>>,
}

impl Plan {
    /// A new, unarmed plan under a fresh random name.
    pub fn new(packs: BTreeSet<PackId>, created: i64, host: String) -> Result<Self> {
        let mut rnd = [0u8; 16];
        crate::crypto::random_bytes(&mut rnd)?;
        Ok(Plan {
            name: format!("{PREFIX}{}", hex_encode(&rnd)),
            created,
            host,
            packs,
            waiting: None,
        })
    }

    /// The CBOR plaintext.
    pub fn encode(&self) -> Vec<u8> {
        let mut waiting = self.waiting.clone().unwrap_or_default();
        waiting.sort();
        Value::map(vec![
            ("v", Value::Uint(1)),
            ("created", Value::int(self.created)),
            ("host", Value::Text(self.host.clone())),
            (
                "packs",
                Value::Array(
                    self.packs
                        .iter()
                        .map(|p| Value::Bytes(p.0.to_vec()))
                        .collect(),
                ),
            ),
            ("armed", Value::Bool(self.waiting.is_some())),
            ("waiting", text_array(&waiting)),
        ])
        .encode()
    }

    /// Decode a plaintext; never panics.
    pub fn decode(name: &str, plain: &[u8]) -> Result<Self> {
        let v = Value::decode(plain)?;
        let f = Fields::of(&v, "gc plan")?;
        if f.u64("v")? != 1 {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                "gc plan version not supported; upgrade cairn",
            ));
        }
        let created = as_i64(f.req("created")?)
            .ok_or_else(|| Error::corrupt("gc plan: 'created' is not an integer"))?;
        let mut packs = BTreeSet::new();
        for p in f.array("packs")? {
            let Value::Bytes(b) = p else {
                return Err(Error::corrupt("gc plan: a pack ID is not a byte string"));
            };
            packs.insert(PackId::from_slice(b)?);
        }
        let waiting = text_list(f.array("waiting")?, "gc plan")?;
        Ok(Plan {
            name: name.to_owned(),
            created,
            host: f.text("host")?.to_owned(),
            packs,
            waiting: f.opt_bool("armed")?.then_some(waiting),
        })
    }

    /// Compress, seal and store (atomically replacing an older version).
    pub fn store(&self, backend: &dyn Backend, sealer: &Sealer) -> Result<()> {
        let payload = compression::compress(&self.encode(), 3);
        let bytes = sealer.seal(ObjectType::GcPlan, &[0; 32], &payload)?;
        backend.write(Kind::State, &self.name, &bytes)
    }

    /// Open a stored plan. Only a failed envelope is `Corrupt`: content
    /// that authenticates but does not decode was written by someone with
    /// the key (a newer writer) and is reported as unsupported.
    pub fn open(sealer: &Sealer, name: &str, bytes: &[u8]) -> Result<Self> {
        let payload = sealer.open(ObjectType::GcPlan, &[0; 32], bytes)?;
        compression::decompress(&payload, MAX_PLAIN)
            .and_then(|plain| Self::decode(name, &plain))
            .map_err(|e| match e.kind() {
                ErrorKind::Corrupt => Error::new(
                    ErrorKind::UnsupportedVersion,
                    format!("{e} (the plan is authentic: written by a newer cairn?)"),
                ),
                _ => e,
            })
    }
}

/// Every plan in the repository, by name. Fails if any plan cannot be
/// read: a writer that does not know every condemned pack must not go on.
pub fn load_all(backend: &dyn Backend, sealer: &Sealer) -> Result<Vec<Plan>> {
    let (plans, bad) = load_all_lenient(backend, sealer)?;
    match bad.into_iter().next() {
        None => Ok(plans),
        Some((name, e)) => Err(Error::new(
            e.kind(),
            format!("garbage-collection plan state/{name} cannot be read ({e}); run `cairn prune`, which removes unreadable plans, then retry"),
        )),
    }
}

/// Plan files that could not be read: (name, why).
pub type Unreadable = Vec<(String, Error)>;

/// Readable plans, and the names of unreadable ones with why.
pub fn load_all_lenient(backend: &dyn Backend, sealer: &Sealer) -> Result<(Vec<Plan>, Unreadable)> {
    let mut names: Vec<String> = backend
        .list(Kind::State)?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with(PREFIX))
        .collect();
    names.sort();
    let (mut plans, mut bad) = (Vec::new(), Vec::new());
    for name in names {
        match backend
            .read_max(Kind::State, &name, MAX_FILE)
            .and_then(|b| Plan::open(sealer, &name, &b))
        {
            Ok(p) => plans.push(p),
            Err(e) if e.kind() == ErrorKind::NotFound => {} // swept meanwhile
            Err(e) => bad.push((name, e)),
        }
    }
    Ok((plans, bad))
}

/// The union of the condemned packs of `plans`.
pub fn condemned(plans: &[Plan]) -> HashSet<PackId> {
    plans.iter().flat_map(|p| p.packs.iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;

    #[test]
    fn round_trip_and_truncation() {
        let mut p = Plan::new(
            [PackId([3; 32]), PackId([1; 32])].into_iter().collect(),
            1_700_000_000,
            "h".into(),
        )
        .unwrap();
        let b = MemoryBackend::new();
        let s = Sealer::new(&[7; 32]);
        p.store(&b, &s).unwrap();
        assert_eq!(load_all(&b, &s).unwrap(), vec![p.clone()]);
        p.waiting = Some(vec!["bb".into(), "aa".into()]);
        p.store(&b, &s).unwrap();
        let back = load_all(&b, &s).unwrap().remove(0);
        assert_eq!(back.waiting, Some(vec!["aa".into(), "bb".into()]));
        let plain = p.encode();
        for cut in 0..plain.len() {
            assert!(Plan::decode("x", &plain[..cut]).is_err());
        }
        // An unreadable plan stops writers.
        b.write(Kind::State, "gc-00112233445566778899aabbccddee00", b"junk")
            .unwrap();
        assert!(load_all(&b, &s).is_err());
        let bad = load_all_lenient(&b, &s).unwrap().1;
        assert_eq!(bad.len(), 1);
        assert_eq!(
            bad[0].1.kind(),
            ErrorKind::Corrupt,
            "forged: may be removed"
        );
        // Authentic but undecodable (a newer writer's): never "corrupt".
        let newer = s
            .seal(
                ObjectType::GcPlan,
                &[0; 32],
                &compression::compress(b"\xa1av\x02", 0),
            )
            .unwrap();
        b.write(Kind::State, "gc-00112233445566778899aabbccddee00", &newer)
            .unwrap();
        let bad = load_all_lenient(&b, &s).unwrap().1;
        assert_eq!(bad[0].1.kind(), ErrorKind::UnsupportedVersion);
    }
}
