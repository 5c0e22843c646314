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
