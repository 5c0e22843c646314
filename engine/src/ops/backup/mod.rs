//! `backup`: a source's data into a new snapshot.
//!
//! One function drives every kind of backup ([`backup_source`]): take a
//! shared lock, pick the parent snapshot (for sources that skip unchanged
//! data), let the source feed the pipeline, then commit — packs, then the
//! index, then the snapshot (`repo::commit`). Maintenance after the commit
//! (parity protection of the new packs) is a separate, reported step: the
//! snapshot is safe before it starts, and its failure never undoes it.
//!
//! Unreadable entries become warnings (the snapshot is then *partial* and
//! tagged so); repository errors abort, index what was stored, and write no
//! snapshot.

mod pipeline;

use crate::error::{Error, ErrorKind, Result};
use crate::format::snapshot::{Snapshot, SnapshotStats};
use crate::format::tree::{Timestamp, Tree};
use crate::id::{SnapshotId, TreeId};
use crate::progress::{check_interrupt, Change, NoProgress, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use crate::source::files::{FileSelection, FilesSource};
use crate::source::stdin::StdinSource;
use crate::source::{BuildContext, Sink, Source};
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What to back up and how to label it.
#[derive(Clone, Debug, Default)]
pub struct BackupOptions {
    /// Paths to back up (made absolute; symlinks in them are not resolved).
    pub paths: Vec<PathBuf>,
    /// Tags for the snapshot.
    pub tags: Vec<String>,
    /// Host name to record (default: this machine's).
    pub host: Option<String>,
    /// Snapshot time (default: now).
    pub time: Option<Timestamp>,
    /// Which files to read and how to tell unchanged ones (file backups).
    pub files: FileSelection,
    /// Parent snapshot for change detection (default: the latest snapshot
    /// with the same source, host and paths).
    pub parent: Option<SnapshotId>,
    /// Use no parent: read every file again (restic's `--force`).
    pub force: bool,
    /// Read and chunk everything, count what would be added, store
    /// nothing: no lock, no pack, no index, no snapshot.
    pub dry_run: bool,
}

/// The result of a backup. Serialized as the `--json` document of
/// `cairn backup`.
#[derive(Clone, Debug, Serialize)]
pub struct BackupSummary {
    /// The new snapshot (`None` after a dry run).
    pub snapshot_id: Option<SnapshotId>,
    /// Its parent, if one was used for change detection.
    pub parent: Option<SnapshotId>,
    /// Nothing was stored: the totals say what a backup would add.
    pub dry_run: bool,
    /// The snapshot's totals (shown flat in the report).
    #[serde(flatten)]
    pub stats: SnapshotStats,
    /// Files and directories by how they compare with the parent.
    #[serde(flatten)]
    pub changes: ChangeCounts,
    /// Wall-clock time of the backup, seconds.
    pub duration_secs: f64,
    /// Some entries could not be read (the snapshot is tagged `partial`).
    pub partial: bool,
    /// Problems that made the backup partial.
    pub warnings: Vec<String>,
    /// The maintenance step after the commit.
    #[serde(skip)]
    pub parity: ParityStep,
}

/// Entries of a file backup by [`Change`] (restic's summary counters;
/// other sources report none). "Files" are all entries that are not
/// directories (symlinks and special files too, as in restic); the
/// backup paths' ancestors are not counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    /// Files the parent snapshot did not have.
    pub files_new: u64,
    /// Files that differ from the parent's (content or metadata).
    pub files_changed: u64,
    /// Files equal to the parent's.
    pub files_unmodified: u64,
    /// Directories the parent snapshot did not have.
    pub dirs_new: u64,
    /// Directories that differ (an entry below them changed).
    pub dirs_changed: u64,
    /// Directories equal to the parent's.
    pub dirs_unmodified: u64,
}

impl ChangeCounts {
    /// Count one entry.
    pub fn add(&mut self, is_dir: bool, change: Change) {
        let slot = match (is_dir, change) {
            (false, Change::New) => &mut self.files_new,
            (false, Change::Changed) => &mut self.files_changed,
            (false, Change::Unmodified) => &mut self.files_unmodified,
            (true, Change::New) => &mut self.dirs_new,
            (true, Change::Changed) => &mut self.dirs_changed,
            (true, Change::Unmodified) => &mut self.dirs_unmodified,
        };
        *slot += 1;
    }
}

/// The outcome of protecting a backup's new packs with parity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParityStep {
    /// The repository has no parity configured.
    NotConfigured,
    /// New packs were protected (how many parity groups were written).
    Protected(u64),
    /// Interrupted after the snapshot was stored.
    Interrupted,
    /// Failed after the snapshot was stored; the packs stay unprotected
    /// until the next `parity protect` (or backup).
    Failed(String),
}

/// The tag a snapshot gets when some entries could not be read.
pub const PARTIAL_TAG: &str = "partial";

/// Back up files and directories into a new snapshot.
pub fn backup(
    repo: &Repository,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    let mut source = FilesSource::new(&opts.paths, &opts.files)?;
    if !progress.wants_totals() {
        return backup_source(repo, &mut source, opts, progress);
    }
    // The scan beside the backup gives progress its totals; it stops when
    // the backup ends, finished or not.
    let scanning = source.clone();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| crate::source::files::scan(&scanning, progress, &stop));
        let out = backup_source(repo, &mut source, opts, progress);
        stop.store(true, Ordering::Relaxed);
        out
    })
}

/// Back up one stream (standard input) as a file named `name`.
pub fn backup_stdin(
    repo: &Repository,
    name: &str,
    reader: impl Read + Send + 'static,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    let mut source = StdinSource::new(name, reader)?;
    backup_source(repo, &mut source, opts, progress)
}

/// Dump the selected MongoDB databases into a new snapshot.
#[cfg(feature = "mongodb")]
pub fn backup_mongodb(
    repo: &Repository,
    dump: &crate::source::mongodb::DumpOptions,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    let mut source = crate::source::mongodb::MongoSource::connect(dump)?;
    backup_source(repo, &mut source, opts, progress)
}

/// Back up whatever `source` yields into a new snapshot, then run the
/// maintenance step (see the module docs).
pub fn backup_source(
    repo: &Repository,
    source: &mut dyn Source,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    let start = Instant::now();
    let mut snapshot = base_snapshot(opts, source.paths(), source.kind());
    let lock = if opts.dry_run {
        None
    } else {
        Some(repo.lock(LockMode::Shared)?)
    };
    let parent = if source.wants_parent() && !opts.force {
        match opts.parent {
            Some(id) => Some((id, repo.load_snapshot(&id)?)),
            None => repo.snapshots()?.into_iter().rev().find(|(_, s)| {
                s.source == snapshot.source && s.host == snapshot.host && s.paths == snapshot.paths
            }),
        }
    } else {
        None
    };
    snapshot.parent = parent.as_ref().map(|(id, _)| *id);
    // The parent only saves reading: if its tree cannot be read (damaged
    // or unindexed), back up everything as if there were no parent.
    let parent_root: Option<Tree> = parent
        .as_ref()
        .and_then(|(_, s)| repo.read_tree(&s.tree).ok());
    let writer = match &lock {
        Some(lock) => BlobWriter::new(repo, lock)?,
        None => BlobWriter::dry_run(repo)?,
    };
    let failed = Mutex::new(None);
    let ctx = BuildContext {
        time: snapshot.time,
        parent: parent_root.as_ref(),
        parent_complete: parent.as_ref().is_some_and(|(_, s)| {
            s.user == snapshot.user && !s.tags.iter().any(|t| t == PARTIAL_TAG)
        }),
        progress,
    };
    let walked = pipeline::run(repo, &writer, &failed, progress, |p| {
        let root = source.build(p, &ctx)?;
        p.tree(root)
    });
    let failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    // An interrupt that arrived while a stream ended (a signal closes the
    // pipe too) still means "no snapshot": check once more before commit.
    let walked = walked.and_then(|w| check_interrupt().map(|()| w));
    let (tree, stats, warnings, changes) = match (walked, failed) {
        (Ok(v), None) => v,
        (Err(e), _) | (Ok(_), Some(e)) => {
            let _ = writer.abandon();
            return Err(backup_wording(e));
        }
    };
    snapshot.tree = tree;
    snapshot.stats = stats;
    (snapshot.stats.new_bytes, snapshot.stats.stored_bytes) = writer.totals();
    if !warnings.is_empty() {
        // Visible in `snapshots`, selectable with --tag (spec: reserved tags).
        snapshot.tags.push(PARTIAL_TAG.to_owned());
        snapshot.tags.sort();
        snapshot.tags.dedup();
    }
    let Some(lock) = lock.as_ref() else {
        writer.abandon()?; // a dry run: nothing to store
        return Ok(BackupSummary {
            snapshot_id: None,
            parent: snapshot.parent,
            dry_run: true,
            stats: snapshot.stats,
            changes,
            duration_secs: start.elapsed().as_secs_f64(),
            partial: !warnings.is_empty(),
            warnings,
            parity: ParityStep::NotConfigured,
        });
    };
    if let Err(e) = lock.ensure_fresh() {
        let _ = writer.abandon();
        return Err(e);
    }
    let id = writer.commit(&snapshot)?;
    // Still under the backup's lock, as `parity protect` would be.
    let parity = protect_new_packs(repo, lock);
    Ok(BackupSummary {
        snapshot_id: Some(id),
        parent: snapshot.parent,
        dry_run: false,
        stats: snapshot.stats,
        changes,
        duration_secs: start.elapsed().as_secs_f64(),
        partial: !warnings.is_empty(),
        warnings,
        parity,
    })
}

/// The maintenance step after a commit: protect the new packs with parity
/// if the repository asks for it.
fn protect_new_packs(repo: &Repository, lock: &crate::repo::lock::LockGuard) -> ParityStep {
    if repo.config().parity.is_none() {
        return ParityStep::NotConfigured;
    }
    match crate::ops::parity::protect(repo, lock, &NoProgress) {
        Ok(n) => ParityStep::Protected(n),
        Err(e) if e.kind() == ErrorKind::Interrupted => ParityStep::Interrupted,
        Err(e) => ParityStep::Failed(e.to_string()),
    }
}

/// What an interrupted backup means for the user, whatever was
/// interrupted (a read, a worker, the walk).
fn backup_wording(e: Error) -> Error {
    match e.kind() {
        ErrorKind::Interrupted => Error::new(
            ErrorKind::Interrupted,
            "interrupted; no snapshot was written, data already stored is intact and will be reused",
        ),
        _ => e,
    }
}

fn base_snapshot(opts: &BackupOptions, paths: Vec<String>, source: &str) -> Snapshot {
    let mut tags = opts.tags.clone();
    tags.sort();
    tags.dedup();
    Snapshot {
        time: opts.time.unwrap_or_else(Timestamp::now),
        tree: TreeId::default(),
        paths,
        host: opts
            .host
            .clone()
            .unwrap_or_else(crate::repo::lock::hostname),
        user: nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default(),
        tags,
        parent: None,
        source: source.into(),
        stats: SnapshotStats::default(),
        program: format!("cairn {}", env!("CARGO_PKG_VERSION")),
    }
}
