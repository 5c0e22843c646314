//! The reports of `restore`, to a directory or to a MongoDB server, with
//! the snapshot restored and the time it took: what `cairn restore` shows
//! and serializes as its `--json` document.

use super::{restore, RestoreOptions, RestoreSummary};
use crate::error::Result;
use crate::format::snapshot::Snapshot;
use crate::id::SnapshotId;
use crate::progress::Progress;
use crate::repo::Repository;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The result of restoring a snapshot into a directory.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    /// The snapshot restored.
    pub snapshot_id: SnapshotId,
    /// The directory restored into (shown lossily if not UTF-8: a report
    /// must never fail to serialize).
    #[serde(serialize_with = "lossy_path")]
    pub target: PathBuf,
    /// Regular files written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Other entries (links, FIFOs, devices).
    pub others: u64,
    /// Content bytes (logical).
    pub bytes: u64,
    /// Wall-clock time, seconds.
    pub duration_secs: f64,
    /// Non-fatal problems (e.g. devices when not root).
    pub warnings: Vec<String>,
}

fn lossy_path<S: serde::Serializer>(
    p: &std::path::Path,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// Restore snapshot `id` (record `snap`) as `opts` says, and report.
pub fn restore_snapshot(
    repo: &Repository,
    id: &SnapshotId,
    snap: &Snapshot,
    opts: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreReport> {
    let start = Instant::now();
    let RestoreSummary {
        files,
        dirs,
        others,
        bytes,
        warnings,
    } = restore(repo, snap, opts, progress)?;
    Ok(RestoreReport {
        snapshot_id: *id,
        target: opts.target.clone(),
        files,
        dirs,
        others,
        bytes,
        duration_secs: start.elapsed().as_secs_f64(),
        warnings,
    })
}

/// The result of restoring a MongoDB snapshot into a server.
#[cfg(feature = "mongodb")]
#[derive(Clone, Debug, Serialize)]
pub struct MongoRestoreReport {
    /// The snapshot restored.
    pub snapshot_id: SnapshotId,
    /// One entry per collection, in dump order.
    pub collections: Vec<super::mongodb::CollectionOutcome>,
    /// Collections that failed.
    pub failed: usize,
    /// Wall-clock time, seconds.
    pub duration_secs: f64,
}

/// Restore MongoDB snapshot `id` into a server, and report. Collections
/// that fail are reported, not fatal: the others are restored.
#[cfg(feature = "mongodb")]
pub fn restore_to_mongodb(
    repo: &Repository,
    id: &SnapshotId,
    snap: &Snapshot,
    opts: &super::mongodb::MongoRestoreOptions,
    progress: &dyn Progress,
) -> Result<MongoRestoreReport> {
    let start = Instant::now();
    let collections = super::mongodb::restore_mongodb(repo, snap, opts, progress)?;
    Ok(MongoRestoreReport {
        snapshot_id: *id,
        failed: collections.iter().filter(|o| o.error.is_some()).count(),
        collections,
        duration_secs: start.elapsed().as_secs_f64(),
    })
}
