//! Where repository files live. The engine talks to storage only through
//! the [`Backend`] trait, whose contract every implementation must keep and
//! the shared [`conformance`] suite checks.
//!
//! # Contract
//!
//! Files are addressed by a [`Kind`] and a name. Implementations guarantee:
//!
//! * **Atomic writes.** After [`Backend::write`] returns `Ok`, readers see
//!   either the whole new file or (if it existed) the whole old one, never a
//!   prefix; a crash during `write` leaves no visible partial file.
//! * **Durable writes.** `Ok` from `write` means the bytes and the directory
//!   entry survive a power loss (local: fsync file, rename, fsync directory).
//! * **Idempotent writes and removes.** Writing identical bytes twice is
//!   harmless; removing a missing file is `Ok`.
//! * **Exact reads.** `read_range` returns exactly `len` bytes or an error;
//!   a short read is never returned as success.
//! * **Bounded reads.** [`Backend::read_max`] never returns, nor holds in
//!   memory, more than its limit: a larger file is
//!   [`crate::ErrorKind::Corrupt`].
//! * **Missing files** are reported with [`crate::ErrorKind::NotFound`].
//! * **Only names Cairn writes.** [`Kind::is_valid_name`] says which names
//!   each kind has. `write`, `commit` and `remove` refuse any other name
//!   ([`crate::ErrorKind::InvalidInput`]), so nothing Cairn did not write
//!   is ever deleted or overwritten.
//! * **Listing** returns every complete file of a kind whose name is valid
//!   for it (no temporaries, no foreign names, so a junk file in `locks/`
//!   is never taken for a lock). [`Backend::foreign`] lists the rest, for
//!   audits. Listing a [required](Kind::required) kind whose directory is
//!   missing is an error ([`crate::ErrorKind::NotFound`]), never an empty
//!   list: a repository without `snapshots/` is damaged, not empty.
//! * **Listings see writes at once, removals within a lag.** A listing that
//!   begins after a write was acknowledged includes the file; one that
//!   begins at least [`Backend::listing_lag`] after a removal was
//!   acknowledged omits it (zero for file systems; a replicated object
//!   store may answer from a replica that has not yet had the removal).
//! * **No indirection.** The storage is hostile
//!   (`format-spec/v1/threat-model.md`): where it has symbolic links or
//!   special files, a backend never follows or opens them inside the
//!   repository; it refuses with [`crate::ErrorKind::Corrupt`] and names
//!   the path (the repository location itself may be a link: the user chose
//!   it).
//! * **Privacy.** Files and directories are created readable by the owner
//!   only where the storage has such a notion.

pub mod conformance;
mod export;
mod local;
mod memory;
#[cfg(feature = "s3")]
mod s3;

pub use export::{ExportBackend, Volume, VolumeAsker};
pub use local::LocalBackend;
pub use memory::MemoryBackend;
#[cfg(feature = "s3")]
pub use s3::{S3Backend, S3Config, S3Credentials, DEFAULT_LISTING_LAG};

use crate::error::Result;

/// The kinds of repository files, each with its own namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Top-level files: `config` and the `CAIRN` marker.
    Root,
    /// Key files (`keys/`).
    Key,
    /// Pack files (`data/XX/`).
    Data,
    /// Index files (`index/`).
    Index,
    /// Snapshot files (`snapshots/`).
    Snapshot,
    /// Lock files (`locks/`).
    Lock,
    /// The copy of the format specification (`spec/`).
    Spec,
    /// Reed-Solomon parity shards over groups of packs (`parity/`).
    Parity,
    /// Maintenance state, e.g. when each pack was last scrubbed (`state/`).
    State,
}

impl Kind {
    /// Every kind, in layout order.
    pub const ALL: [Kind; 9] = [
        Kind::Root,
        Kind::Key,
        Kind::Data,
        Kind::Index,
        Kind::Snapshot,
        Kind::Lock,
        Kind::Spec,
        Kind::Parity,
        Kind::State,
    ];

    /// The directory of this kind, relative to the repository root.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Root => "",
            Kind::Key => "keys",
            Kind::Data => "data",
            Kind::Index => "index",
            Kind::Snapshot => "snapshots",
            Kind::Lock => "locks",
            Kind::Spec => "spec",
            Kind::Parity => "parity",
            Kind::State => "state",
        }
    }

    /// The path of `name` relative to the repository root.
    pub fn path_of(self, name: &str) -> String {
        match self {
            Kind::Root => name.to_owned(),
            Kind::Data => format!("data/{}/{}", name.get(..2).unwrap_or("00"), name),
            other => format!("{}/{}", other.dir(), name),
        }
    }

    /// Kinds whose directory every repository has from `init` on and
    /// which never becomes absent by normal use: if one is missing, the
    /// repository is damaged (`format-spec/v1/overview.md`). The others
    /// (`locks/`, `spec/`, `parity/`, `state/`) may be absent, meaning
    /// empty (older repositories, copies that drop empty directories).
    pub fn required(self) -> bool {
        matches!(self, Kind::Key | Kind::Data | Kind::Index | Kind::Snapshot)
    }

    /// Is `name` one that Cairn writes for this kind? Every writer's names
    /// are listed in `format-spec/v1/overview.md`:
    ///
    /// * keys, packs, index files, snapshots, locks: 64 lowercase hex
    ///   digits (the BLAKE3 of the content, or 32 random bytes for locks);
    /// * root: `config` and `CAIRN`;
    /// * `spec/`: `[A-Za-z0-9][A-Za-z0-9._-]*` ending in `.md`, `.json`,
    ///   `.py` or `.txt` (at most 64 bytes);
    /// * `parity/`: `<64 hex>.<j>`, `j` a decimal number 0–254 without
    ///   leading zeros;
    /// * `state/`: `scrub`, and `gc-` followed by 32 lowercase hex digits.
    pub fn is_valid_name(self, name: &str) -> bool {
        match self {
            Kind::Root => name == "config" || name == "CAIRN",
            Kind::Key | Kind::Data | Kind::Index | Kind::Snapshot | Kind::Lock => is_hex(name, 64),
            Kind::Spec => {
                name.len() <= 64
                    && [".md", ".json", ".py", ".txt"]
                        .iter()
                        .any(|x| name.ends_with(x))
                    && name
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphanumeric())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            }
            Kind::Parity => match name.split_once('.') {
                Some((group, j)) => {
                    is_hex(group, 64)
                        && !j.is_empty()
                        && j.len() <= 3
                        && j.bytes().all(|b| b.is_ascii_digit())
                        && (j == "0" || !j.starts_with('0'))
                        && j.parse::<u16>().is_ok_and(|j| j <= 254)
                }
                None => false,
            },
            Kind::State => {
                name == "scrub" || name.strip_prefix("gc-").is_some_and(|h| is_hex(h, 32))
            }
        }
    }

    /// Fail with [`crate::ErrorKind::InvalidInput`] unless `name` is valid
    /// for this kind (see [`Self::is_valid_name`]).
    pub fn check_name(self, name: &str) -> Result<()> {
        if self.is_valid_name(name) {
            Ok(())
        } else {
            Err(crate::Error::invalid(format!(
                "refusing to touch '{}': not a name Cairn writes in this directory",
                self.path_of(name).escape_debug()
            )))
        }
    }
}

/// `s` is exactly `len` lowercase hex digits.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What an operation is about to read, for [`Backend::make_available`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Everything one snapshot references.
    Snapshot(crate::id::SnapshotId),
    /// Every pack (a scrub).
    Everything,
}

/// A file being written piece by piece whose name is known only at the
/// end (packs are named by the hash of their bytes). Nothing is visible
/// under any name until [`commit`](PendingWrite::commit) returns `Ok`, and
/// then the file is durable. Dropping it uncommitted discards it.
pub trait PendingWrite: Send {
    /// Append bytes.
    fn write_all(&mut self, data: &[u8]) -> Result<()>;
    /// Make the file durable and visible as `name` (atomic, like
    /// [`Backend::write`]).
    fn commit(self: Box<Self>, name: &str) -> Result<()>;
}

/// The fallback [`PendingWrite`]: buffer in memory, then [`Backend::write`].
pub struct BufferedWrite<'a> {
    backend: &'a dyn Backend,
    kind: Kind,
    buf: Vec<u8>,
}

impl PendingWrite for BufferedWrite<'_> {
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(data);
        Ok(())
    }
    fn commit(self: Box<Self>, name: &str) -> Result<()> {
        self.backend.write(self.kind, name, &self.buf)
    }
}

/// Storage for repository files; see the module docs for the contract.
pub trait Backend: Send + Sync {
    /// Start a streamed write of a file of `kind` (see [`PendingWrite`]).
    /// Backends that can stream (local files) override this; the default
    /// buffers in memory.
    fn begin_write(&self, kind: Kind) -> Result<Box<dyn PendingWrite + '_>> {
        Ok(Box::new(BufferedWrite {
            backend: self.as_dyn(),
            kind,
            buf: Vec::new(),
        }))
    }
    /// `self` as a trait object (implement as `self`).
    fn as_dyn(&self) -> &dyn Backend;
    /// Human-readable location (never contains credentials).
    fn location(&self) -> String;
    /// How many requests this storage serves well at once. Operations
    /// bound by its latency (restore, copy) run that many reader threads
    /// when it exceeds the CPU count. Local storage keeps the default
    /// (0: no hint, one thread per core).
    fn io_parallelism(&self) -> usize {
        0
    }
    /// Does the storage have directories, so that a missing required
    /// directory can be told from an empty one? Object stores do not
    /// (a prefix with no keys is simply empty): callers that would take
    /// "nothing listed" as "nothing there" must be more careful on them.
    fn has_directories(&self) -> bool {
        true
    }
    /// How long after a removal was acknowledged a listing may still show
    /// the removed file (uploads are listed at once). Zero for storage
    /// that lists consistently; a replicated object store that answers a
    /// listing from a replica that has not yet received the removal sets
    /// it (`format-spec/v1/gc.md`, "A store whose listings lag"), and
    /// prune waits that long between removing index files and removing
    /// its plan.
    fn listing_lag(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    /// Make sure what `need` reads is at hand. An export asks for the
    /// volumes it lacks (or fails naming them,
    /// [`crate::ErrorKind::VolumesMissing`]); other storage has everything
    /// and keeps the default.
    fn make_available(&self, _need: &Need) -> Result<()> {
        Ok(())
    }
    /// Create the empty layout. Idempotent.
    fn create(&self) -> Result<()>;
    /// Atomically and durably store `data` under `kind`/`name`.
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()>;
    /// The whole file.
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>>;
    /// The whole file if it is at most `max` bytes; a larger file is
    /// [`crate::ErrorKind::Corrupt`] and is never read into memory.
    /// Backends that can bound the read itself override this; the default
    /// checks [`Self::size`] first.
    fn read_max(&self, kind: Kind, name: &str, max: u64) -> Result<Vec<u8>> {
        let size = self.size(kind, name)?;
        if size > max {
            return Err(too_large(kind, name, size, max));
        }
        let data = self.read(kind, name)?;
        if data.len() as u64 > max {
            return Err(too_large(kind, name, data.len() as u64, max));
        }
        Ok(data)
    }
    /// Exactly `len` bytes from `offset`, or an error.
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// The file's size in bytes.
    fn size(&self, kind: Kind, name: &str) -> Result<u64>;
    /// Names and sizes of every file of `kind` whose name is valid for it,
    /// in no particular order. Fails if a [required](Kind::required) kind's
    /// directory is missing.
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>>;
    /// Entries in the directories of `kind` that Cairn did not write
    /// (invalid names, directories or links where files belong), for
    /// audits, each as `<repository-relative path> (<what it is>)`, e.g.
    /// `locks/hosts (a regular file)`. Backends
    /// that cannot hold such entries keep the default (none).
    fn foreign(&self, _kind: Kind) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Remove a file; `Ok` if it does not exist. Refuses names that are
    /// not valid for `kind`.
    fn remove(&self, kind: Kind, name: &str) -> Result<()>;
    /// Remove temporaries of unfinished writes of `kind` (left by killed
    /// processes) not modified for `older_than`; returns the bytes freed.
    /// Backends without visible temporaries keep the default (nothing).
    fn remove_stale_temporaries(
        &self,
        _kind: Kind,
        _older_than: std::time::Duration,
    ) -> Result<u64> {
        Ok(0)
    }
}

impl<B: Backend + ?Sized> Backend for std::sync::Arc<B> {
    fn begin_write(&self, kind: Kind) -> Result<Box<dyn PendingWrite + '_>> {
        (**self).begin_write(kind)
    }
    fn as_dyn(&self) -> &dyn Backend {
        (**self).as_dyn()
    }
    fn location(&self) -> String {
        (**self).location()
    }
    fn io_parallelism(&self) -> usize {
        (**self).io_parallelism()
    }
    fn has_directories(&self) -> bool {
        (**self).has_directories()
    }
    fn listing_lag(&self) -> std::time::Duration {
        (**self).listing_lag()
    }
    fn make_available(&self, need: &Need) -> Result<()> {
        (**self).make_available(need)
    }
    fn create(&self) -> Result<()> {
        (**self).create()
    }
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        (**self).write(kind, name, data)
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        (**self).read(kind, name)
    }
    fn read_max(&self, kind: Kind, name: &str, max: u64) -> Result<Vec<u8>> {
        (**self).read_max(kind, name, max)
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        (**self).read_range(kind, name, offset, len)
    }
    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        (**self).size(kind, name)
    }
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        (**self).list(kind)
    }
    fn foreign(&self, kind: Kind) -> Result<Vec<String>> {
        (**self).foreign(kind)
    }
    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        (**self).remove(kind, name)
    }
    fn remove_stale_temporaries(&self, kind: Kind, older_than: std::time::Duration) -> Result<u64> {
        (**self).remove_stale_temporaries(kind, older_than)
    }
}

/// The error for a file larger than any Cairn writes of its kind.
pub fn too_large(kind: Kind, name: &str, size: u64, max: u64) -> crate::Error {
    crate::Error::corrupt(format!(
        "{} is {size} bytes, more than the {max} bytes any such file Cairn writes can have (format-spec/v1/threat-model.md); it was not read — the repository may have been tampered with",
        kind.path_of(name)
    ))
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn valid_names_per_kind() {
        let hex = "0123456789abcdef".repeat(4);
        for k in [
            Kind::Key,
            Kind::Data,
            Kind::Index,
            Kind::Snapshot,
            Kind::Lock,
        ] {
            assert!(k.is_valid_name(&hex));
            assert!(!k.is_valid_name(&hex.to_uppercase()));
            assert!(!k.is_valid_name(&hex[1..]));
            assert!(!k.is_valid_name("hosts"));
        }
        assert!(Kind::Root.is_valid_name("config") && Kind::Root.is_valid_name("CAIRN"));
        assert!(!Kind::Root.is_valid_name("passwd"));
        assert!(Kind::Parity.is_valid_name(&format!("{hex}.0")));
        assert!(Kind::Parity.is_valid_name(&format!("{hex}.254")));
        for bad in ["255", "01", "", "x", "1000"] {
            assert!(
                !Kind::Parity.is_valid_name(&format!("{hex}.{bad}")),
                "{bad}"
            );
        }
        assert!(Kind::State.is_valid_name("scrub"));
        assert!(Kind::State.is_valid_name("gc-00112233445566778899aabbccddeeff"));
        assert!(!Kind::State.is_valid_name("gc-00"));
        for bad in ["", ".", "..", "../x", "a/b", ".tmp-00", "\0"] {
            for k in Kind::ALL {
                assert!(!k.is_valid_name(bad), "{k:?} {bad}");
            }
        }
        // Every name a writer uses is valid.
        assert!(Kind::Spec.is_valid_name(crate::repo::spec_copy::STAMP_NAME));
        for (name, _) in crate::repo::spec_copy::FILES {
            assert!(Kind::Spec.is_valid_name(name), "{name}");
        }
        assert!(Kind::State.is_valid_name(crate::format::scrub_record::NAME));
        let plan = crate::format::gc_plan::Plan::new(Default::default(), 0, String::new()).unwrap();
        assert!(Kind::State.is_valid_name(&plan.name));
        let g = crate::ops::parity::Group::new(vec![(crate::id::PackId([1; 32]), 10)], 16);
        assert!(Kind::Parity.is_valid_name(&g.file_name(15)));
        assert!(Kind::Root.is_valid_name(crate::format::config::CONFIG_NAME));
        assert!(Kind::Root.is_valid_name(crate::format::config::MARKER_NAME));
    }
}
