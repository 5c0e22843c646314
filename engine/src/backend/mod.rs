//! Where repository files live. The engine talks to storage only through
//! the [`Backend`] trait, whose contract every implementation must keep and
//! the shared [`conformance`] suite checks.
//!
//! # Contract
//!
//! Files are addressed by a [`Kind`] and a name (lowercase hex for content-
//! addressed files). Implementations guarantee:
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
//! * **Missing files** are reported with [`crate::ErrorKind::NotFound`].
//! * **Listing** returns every complete file of a kind (no temporaries).
//! * **Privacy.** Files and directories are created readable by the owner
//!   only where the storage has such a notion.

pub mod conformance;
mod local;
mod memory;

pub use local::LocalBackend;
pub use memory::MemoryBackend;

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
    /// Create the empty layout. Idempotent.
    fn create(&self) -> Result<()>;
    /// Atomically and durably store `data` under `kind`/`name`.
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()>;
    /// The whole file.
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>>;
    /// Exactly `len` bytes from `offset`, or an error.
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// The file's size in bytes.
    fn size(&self, kind: Kind, name: &str) -> Result<u64>;
    /// Names and sizes of every file of `kind`, in no particular order.
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>>;
    /// Remove a file; `Ok` if it does not exist.
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
    fn create(&self) -> Result<()> {
        (**self).create()
    }
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        (**self).write(kind, name, data)
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        (**self).read(kind, name)
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
    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        (**self).remove(kind, name)
    }
    fn remove_stale_temporaries(&self, kind: Kind, older_than: std::time::Duration) -> Result<u64> {
        (**self).remove_stale_temporaries(kind, older_than)
    }
}
