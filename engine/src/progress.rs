//! How the engine reports progress without printing: the CLI implements
//! [`Progress`] and draws bars; tests use [`NoProgress`].
//!
//! Also home of the process-wide interrupt flag: the CLI's signal handler
//! calls [`request_interrupt`], long loops call [`check_interrupt`].

use crate::error::{Error, ErrorKind, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Callbacks from long operations. All methods have empty defaults.
pub trait Progress: Send + Sync {
    /// Starting on a file (backup or restore).
    fn file(&self, _path: &Path) {}
    /// `n` more content bytes processed.
    fn bytes(&self, _n: u64) {}
    /// A non-fatal problem (the operation continues; the result is partial).
    fn warn(&self, _message: &str) {}
    /// A backup finished an entry; `kind` is its type's stable name
    /// (`file`, `dir`, `symlink`, … as in `ls --json`), `size` a regular
    /// file's bytes (0 otherwise).
    fn done(&self, _path: &Path, _kind: &str, _size: u64, _change: Change) {}
    /// The scan that runs beside a backup counted `files` files of
    /// `bytes` bytes so far (`finished`: that is all of them).
    fn scanned(&self, _files: u64, _bytes: u64, _finished: bool) {}
    /// Does this progress show totals? Only then does a backup scan the
    /// tree beside itself: the scan is a second walk of every directory,
    /// which an unattended run (cron, `--quiet`) would pay for nothing.
    fn wants_totals(&self) -> bool {
        false
    }
}

/// How a backed-up entry compares with the parent snapshot's entry of the
/// same path (restic's new / modified / unmodified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The parent snapshot has no entry at this path (or there is no parent).
    New,
    /// The entry differs from the parent's (content or metadata).
    Changed,
    /// The entry equals the parent's.
    Unmodified,
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ask running operations to stop at the next safe point.
pub fn request_interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// `Err(Interrupted)` once an interrupt was requested. The message fits
/// every operation; callers add what the interruption means for theirs
/// (e.g. a backup: no snapshot was written).
pub fn check_interrupt() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        Err(Error::new(
            ErrorKind::Interrupted,
            "interrupted by a signal; stopped at a safe point, the repository is consistent",
        ))
    } else {
        Ok(())
    }
}
