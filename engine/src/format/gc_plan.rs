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

use crate::compression;
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{as_i64, text_array, text_list, Fields, Value};
use crate::id::{hex_encode, PackId};
use std::collections::BTreeSet;

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

    /// The sealed file bytes: compressed plaintext in a full envelope.
    pub fn seal(&self, sealer: &Sealer) -> Result<Vec<u8>> {
        super::object::seal(sealer, ObjectType::GcPlan, &self.encode(), 3)
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
