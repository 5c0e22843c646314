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
pub mod browse;
pub mod cbor;
pub mod chunking;
pub mod compression;
pub mod crypto;
#[doc(hidden)]
pub mod decoders;
pub mod drill;
pub mod error;
pub mod filter;
pub mod id;
pub mod index;
pub mod pack;
pub mod snapshot;
pub mod tree;

mod archive;
pub mod check;
#[cfg(test)]
mod decode_fuzz;
pub mod mongo;
pub mod parity;
mod progress;
pub mod prune;
pub mod repair;
mod repo;
mod restore;
pub mod retention;
pub mod scrub;
pub mod scrub_state;
mod source;
pub mod verify;

pub use archive::{backup, backup_stdin, BackupOptions, BackupSummary, StreamSink};
pub use chunking::ChunkerParams;
pub use crypto::KdfParams;
pub use error::{Error, ErrorKind, Result};
pub use id::{ChunkId, IndexId, KeyId, PackId, SnapshotId, TreeId};
pub use progress::{check_interrupt, request_interrupt, NoProgress, Progress};
pub use repo::lock::{list_locks, remove_locks, LockGuard, LockInfo, LockMode};
pub use repo::SnapshotFilter;
pub use repo::{default_cache_root, InitOptions, Repository};
pub use restore::{restore, RestoreOptions, RestorePatterns, RestoreSummary};
pub use snapshot::{Snapshot, SnapshotStats};
pub use tree::{Node, NodeKind, Timestamp, Tree};
