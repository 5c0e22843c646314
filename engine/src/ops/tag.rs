//! `tag`: change snapshot tags. A snapshot is immutable and named by its
//! hash, so it is rewritten under a new ID; the old file is removed only
//! after the new one is stored, under a prune-mode lock (as forget).

use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::ops::retention::PROTECTED_TAG;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use serde::Serialize;

/// The change to make to each snapshot's tags, applied in this order:
/// set, add, remove, protect, unprotect.
#[derive(Clone, Debug, Default)]
pub struct TagChange {
    /// Replace all tags with these (when non-empty).
    pub set: Vec<String>,
    /// Add these.
    pub add: Vec<String>,
    /// Remove these.
    pub remove: Vec<String>,
    /// Add the `protected` tag (forget and prune never remove it).
    pub protect: bool,
    /// Remove the `protected` tag.
    pub unprotect: bool,
}

impl TagChange {
    fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.add.is_empty()
            && self.remove.is_empty()
            && !self.protect
            && !self.unprotect
    }

    fn apply(&self, tags: &mut Vec<String>) {
        if !self.set.is_empty() {
            *tags = self.set.clone();
        }
        tags.extend(self.add.iter().cloned());
        tags.retain(|t| !self.remove.contains(t));
        if self.protect {
            tags.push(PROTECTED_TAG.into());
        }
        if self.unprotect {
            tags.retain(|t| t != PROTECTED_TAG);
        }
        tags.sort();
        tags.dedup();
    }
}

/// One rewritten snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    /// Its ID before.
    pub old: SnapshotId,
    /// Its ID now (equal to `old` when the tags did not change).
    pub new: SnapshotId,
    /// Its tags now.
    pub tags: Vec<String>,
}

/// The result of `tag`. Serialized as its `--json` document.
#[derive(Clone, Debug, Serialize)]
pub struct TagReport {
    /// Every snapshot given, in order.
    pub changed: Vec<Changed>,
}

/// Apply `change` to each snapshot of `specs` (IDs, prefixes or `latest`).
pub fn tag(repo: &Repository, specs: &[String], change: &TagChange) -> Result<TagReport> {
    if change.is_empty() {
        return Err(Error::invalid(
            "nothing to change: give --add, --remove, --set, --protect or --unprotect",
        ));
    }
    let lock = repo.lock(LockMode::Prune)?;
    // Resolve every snapshot first: a bad one changes nothing.
    let found = specs
        .iter()
        .map(|spec| repo.find_snapshot(spec))
        .collect::<Result<Vec<_>>>()?;
    let mut changed = Vec::new();
    for (old, mut s) in found {
        change.apply(&mut s.tags);
        let new = repo.rewrite_snapshot(&lock, &old, &s)?;
        changed.push(Changed {
            old,
            new,
            tags: s.tags,
        });
    }
    Ok(TagReport { changed })
}
