//! Lock files, `locks/<name>`: a full envelope (type Lock, zero bind) of
//! a compressed canonical CBOR map
//! `{"v": 1, "host", "pid", "time", "exclusive", "prune", "instance"}`
//! (normative in `format-spec/v1/overview.md`). What the modes mean and
//! when a lock is stale is protocol, in `repo::lock`.

use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{Fields, Value};

/// Largest lock plaintext a reader accepts.
pub const MAX_LOCK_PLAIN: u64 = 1 << 16;
/// Largest lock file a reader accepts.
pub const MAX_LOCK_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_LOCK_PLAIN);

/// The content of a lock file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// Host name of the holder.
    pub host: String,
    /// Process ID of the holder.
    pub pid: u32,
    /// Last refresh, Unix seconds.
    pub time: i64,
    /// Exclusive or shared.
    pub exclusive: bool,
    /// A prune lock (only meaningful when not exclusive).
    pub prune: bool,
    /// Which process namespace `pid` belongs to (boot ID and PID-namespace
    /// ID); empty if unknown. The dead-process test needs it to match.
    pub instance: String,
}

impl LockInfo {
    /// The sealed file bytes.
    pub fn seal(&self, sealer: &Sealer) -> Result<Vec<u8>> {
        crate::format::object::seal(sealer, ObjectType::Lock, &self.encode_plain(), 0)
    }

    /// The canonical CBOR plaintext (before the compression tag).
    pub fn encode_plain(&self) -> Vec<u8> {
        Value::map(vec![
            ("v", Value::Uint(1)),
            ("host", Value::Text(self.host.clone())),
            ("pid", Value::Uint(self.pid.into())),
            ("time", Value::int(self.time)),
            ("exclusive", Value::Bool(self.exclusive)),
            ("prune", Value::Bool(self.prune)),
            ("instance", Value::Text(self.instance.clone())),
        ])
        .encode()
    }

    /// Open and decode a lock file; never panics.
    pub fn open(sealer: &Sealer, bytes: &[u8]) -> Result<Self> {
        let plain = crate::format::object::open(sealer, ObjectType::Lock, bytes, MAX_LOCK_PLAIN)?;
        Self::decode_plain(&plain)
    }

    /// Decode the CBOR plaintext; never panics.
    pub fn decode_plain(plain: &[u8]) -> Result<Self> {
        let v = Value::decode(plain)?;
        let f = Fields::of(&v, "lock")?;
        if f.u64("v")? != 1 {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                "lock version not supported",
            ));
        }
        Ok(LockInfo {
            host: f.text("host")?.to_owned(),
            pid: u32::try_from(f.u64("pid")?)
                .map_err(|_| Error::corrupt("lock pid out of range"))?,
            time: f.i64("time")?,
            exclusive: f.opt_bool("exclusive")?,
            prune: f.opt_bool("prune")?,
            instance: f.opt_text("instance")?.unwrap_or_default().to_owned(),
        })
    }
}
