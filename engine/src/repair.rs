//! `cairn repair index`: rebuild the index from the pack trailers alone.
//!
//! Under an exclusive lock: read every pack's trailer, write one new index
//! file naming every readable pack (and listing the index files it
//! replaces in `supersedes`), and only after it is durable remove the index
//! files it replaces. Packs whose trailer cannot be read are reported and
//! left in place for `scrub`/copy-based recovery. Never deletes a pack.

use crate::backend::Kind;
use crate::error::Result;
use crate::id::{IndexId, PackId};
use crate::index::{IndexFile, PackEntries};
use crate::pack::read_trailer;
use crate::progress::{check_interrupt, Progress};
use crate::repo::Repository;

/// What `repair index` did.
#[derive(Clone, Debug, Default)]
pub struct RepairIndexReport {
    /// Packs now indexed.
    pub packs: u64,
    /// Blobs now indexed.
    pub blobs: u64,
    /// Packs whose trailer could not be read, with the reason.
    pub unreadable: Vec<(PackId, String)>,
    /// The new index file.
    pub index: Option<IndexId>,
    /// Index files removed (replaced by the new one).
    pub removed: u64,
}

/// Rebuild the index from pack trailers.
pub fn repair_index(repo: &Repository, progress: &dyn Progress) -> Result<RepairIndexReport> {
    let _lock = repo.lock(true)?;
    let backend = repo.backend();
    let old: Vec<IndexId> = backend
        .list(Kind::Index)?
        .into_iter()
        .filter_map(|(n, _)| IndexId::from_hex(&n).ok())
        .collect();
    let mut packs: Vec<PackId> = backend
        .list(Kind::Data)?
        .into_iter()
        .filter_map(|(n, _)| PackId::from_hex(&n).ok())
        .collect();
    packs.sort();
    let mut report = RepairIndexReport::default();
    let mut file = IndexFile {
        supersedes: old.clone(),
        packs: Vec::new(),
    };
    for id in packs {
        check_interrupt()?;
        progress.file(std::path::Path::new(&id.to_hex()));
        match read_trailer(&**backend, repo.sealer(), &id) {
            Ok(blobs) => {
                report.packs += 1;
                report.blobs += blobs.len() as u64;
                file.packs.push(PackEntries { pack: id, blobs });
            }
            Err(e) => report.unreadable.push((id, e.message().to_owned())),
        }
    }
    let bytes = file.seal(repo.sealer(), repo.config().zstd_level)?;
    let new_id = IndexId(*blake3::hash(&bytes).as_bytes());
    backend.write(Kind::Index, &new_id.to_hex(), &bytes)?;
    report.index = Some(new_id);
    for id in old.iter().filter(|id| **id != new_id) {
        backend.remove(Kind::Index, &id.to_hex())?;
        report.removed += 1;
    }
    Ok(report)
}
