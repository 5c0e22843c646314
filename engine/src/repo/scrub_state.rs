//! Loading and saving the scrub record (`state/scrub`, codec in
//! `format::scrub_record`). The record is advisory: a missing or
//! unreadable one means "never verified", and a save merges with what is
//! stored so that concurrent scrubs lose nothing important.

use crate::backend::Kind;
use crate::error::Result;
use crate::format::scrub_record::{ScrubState, MAX_FILE, NAME};
use crate::id::PackId;
use crate::repo::Repository;
use std::collections::HashSet;

/// The stored record, or an empty one if missing or unreadable.
pub fn load(repo: &Repository) -> ScrubState {
    repo.backend()
        .read_max(Kind::State, NAME, MAX_FILE)
        .and_then(|b| ScrubState::open(repo.sealer(), &b))
        .unwrap_or_default()
}

/// Merge `state` with the stored record (later time wins), forget packs
/// that no longer exist, and store atomically.
pub fn save(state: &ScrubState, repo: &Repository, existing: &HashSet<PackId>) -> Result<()> {
    let mut merged = load(repo);
    for (id, t) in &state.verified {
        let slot = merged.verified.entry(*id).or_insert(*t);
        *slot = (*slot).max(*t);
    }
    merged.verified.retain(|id, _| existing.contains(id));
    let bytes = merged.seal(repo.sealer(), repo.config().zstd_level)?;
    repo.backend().write(Kind::State, NAME, &bytes)
}
