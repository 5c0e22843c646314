//! # cairn-engine
//!
//! A content-addressed, deduplicating, encrypted archive engine built to
//! keep backups restorable for decades.
//!
//! Data flows from a [`source`] (files, stdin, MongoDB) through keyed
//! FastCDC chunks, keyed BLAKE3 IDs, zstd and XChaCha20-Poly1305 envelopes
//! into immutable packs, index files, trees and a snapshot, in storage
//! behind [`backend::Backend`]. The byte formats are normative in
//! `format-spec/`; the codecs that implement them are internal.
//!
//! The public API is small: [`Repository`] (open, init, find snapshots),
//! [`ops`] (one function per user operation, options in, a typed report
//! out that serializes as the CLI's `--json`), [`backend`] (storage, with
//! a written contract and a conformance suite) and [`source`] (the traits
//! a new kind of backup source implements). Layers, lowest first:
//! primitives (`crypto`, `chunking`, `compression`), `format`, `backend`,
//! `repo`, `source`, `ops`; each uses only the ones below it (checked by the
//! test `engine/tests/layers.rs`).
//!
//! ```no_run
//! use cairn_engine::{backend::LocalBackend, Repository, InitOptions, BackupOptions, NoProgress};
//! use std::sync::Arc;
//! let backend = Arc::new(LocalBackend::new("/tmp/repo"));
//! let repo = Repository::init(backend, b"password", &InitOptions::default(),
//!                             cairn_engine::default_cache_root())?;
//! let opts = BackupOptions { paths: vec!["/etc".into()], ..Default::default() };
//! let summary = cairn_engine::backup(&repo, &opts, &NoProgress)?;
//! println!("snapshot {:?}", summary.snapshot_id);
//! # Ok::<(), cairn_engine::Error>(())
//! ```

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

pub mod backend;
mod chunking;
mod compression;
mod crypto;
mod error;
mod format;
mod id;
pub mod ops;
mod progress;
mod repo;
pub mod source;

pub use chunking::{ChunkClass, ChunkerParams, FineParams};
pub use crypto::KdfParams;
pub use error::{Error, ErrorKind, Remedy, Result};
pub use format::paper::PaperKey;
pub use format::snapshot::{Snapshot, SnapshotStats};
pub use format::tree::{Extent, Node, NodeKind, Timestamp, Tree};
pub use format::{format_versions, FormatVersion, FormatVersions};
pub use id::{hex_encode, BlobId, ChunkId, IndexId, KeyId, PackId, SnapshotId, TreeId};
pub use ops::backup::{backup, backup_stdin, BackupOptions, BackupSummary, ChangeCounts};
pub use ops::restore::{restore, RestoreOptions, RestorePatterns, RestoreSummary};
pub use progress::{check_interrupt, request_interrupt, Change, NoProgress, Progress};
pub use repo::lock::{hostname as this_host, LockGuard, LockInfo, LockMode};
pub use repo::{default_cache_root, InitOptions, Repository, SharedKeys, SnapshotFilter};
pub use source::files::FileSelection;

/// Codecs and primitives for test vectors, repository forging in tests,
/// benchmarks and fuzz targets. Not a stable API: use [`ops`] and
/// [`Repository`].
#[doc(hidden)]
pub mod codec {
    pub use crate::format::{
        cbor, config, decoders, export, gc_plan, index, keyfile, lock, mongodb, pack, paper,
        parity, scrub_record, snapshot, tree, ustar,
    };
    pub use crate::ops::parity::write_group;
    pub use crate::repo::pack::PackBuilder;

    /// The keyed FastCDC chunker.
    pub mod chunking {
        pub use crate::chunking::*;
    }
    /// The compression tag and zstd.
    pub mod compression {
        pub use crate::compression::*;
    }
    /// The KDF, the envelope and the key hierarchy.
    pub mod crypto {
        pub use crate::crypto::*;
    }
}
