//! `unlock`: remove stale locks, or every lock with `remove_all` (for
//! when the operator knows no other cairn process is running).

use crate::error::Result;
use crate::repo::lock::remove_locks;
use crate::repo::Repository;
use serde::Serialize;

/// The result of `unlock`. Serialized as its `--json` document.
#[derive(Clone, Debug, Serialize)]
pub struct UnlockReport {
    /// Lock files removed.
    pub removed: usize,
}

/// Remove stale locks (all locks with `remove_all`).
pub fn unlock(repo: &Repository, remove_all: bool) -> Result<UnlockReport> {
    let removed = remove_locks(&**repo.backend(), repo.sealer(), remove_all)?;
    Ok(UnlockReport { removed })
}
