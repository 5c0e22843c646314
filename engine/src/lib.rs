//! # cairn-engine
//!
//! A content-addressed, deduplicating, encrypted archive engine built to
//! keep backups restorable for decades.
//!
//! Data flows: files → keyed FastCDC chunks ([`chunking`]) → keyed BLAKE3
//! IDs → zstd ([`compression`]) → XChaCha20-Poly1305 envelopes
//! ([`crypto`]) → immutable packs ([`pack`]) → index files ([`index`]) →
//! trees and a snapshot ([`tree`], [`snapshot`]). Storage is abstracted by
//! [`backend::Backend`]. The byte formats are normative in `format-spec/`.
//!
//! ```no_run
//! use cairn_engine::{backend::LocalBackend, Repository, InitOptions, BackupOptions, NoProgress};
//! use std::sync::Arc;
//! let backend = Arc::new(LocalBackend::new("/tmp/repo"));
//! let repo = Repository::init(backend, b"password", &InitOptions::default(),
//!                             cairn_engine::default_cache_root())?;
//! let opts = BackupOptions { paths: vec!["/etc".into()], ..Default::default() };
//! let summary = cairn_engine::backup(&repo, &opts, &NoProgress)?;
//! println!("snapshot {}", summary.snapshot_id);
//! # Ok::<(), cairn_engine::Error>(())
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod backend;
pub mod chunking;
pub mod compression;
pub mod crypto;
pub mod error;
pub mod format;
pub mod id;
pub mod ops;
mod progress;
pub mod repo;
pub mod source;

pub use chunking::ChunkerParams;
pub use error::{Error, ErrorKind, Result};
pub use format::snapshot::{Snapshot, SnapshotStats};
pub use format::tree::{Node, NodeKind, Timestamp, Tree};
pub use id::{ChunkId, IndexId, KeyId, PackId, SnapshotId, TreeId};
pub use ops::backup::{backup, backup_stdin, BackupOptions, BackupSummary};
pub use ops::restore::{restore, RestoreOptions, RestorePatterns, RestoreSummary};
pub use progress::{check_interrupt, request_interrupt, NoProgress, Progress};
pub use repo::lock::{list_locks, remove_locks, LockGuard, LockInfo, LockMode};
pub use repo::SnapshotFilter;
pub use repo::{default_cache_root, InitOptions, Repository};

/// Codecs and primitives for test vectors, repository forging in tests,
/// benchmarks and fuzz targets. Not a stable API: use [`ops`] and
/// [`Repository`].
#[doc(hidden)]
pub mod codec {
    pub use crate::format::{
        cbor, config, decoders, gc_plan, index, keyfile, lock, mongodb, pack, parity, scrub_record,
        snapshot, tree,
    };
    pub use crate::ops::parity::write_group;
    pub use crate::repo::pack::PackBuilder;
    pub use crate::{chunking, compression, crypto};
}
pub use crypto::KdfParams;
