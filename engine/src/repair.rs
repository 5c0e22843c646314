//! `cairn repair index`: rebuild the index from the pack trailers alone.
//!
//! Under an exclusive lock: read every pack's trailer, write new index
//! files naming every pack (each lists the index files it replaces in
//! `supersedes`), and only after they are durable remove the replaced
//! files. A pack whose trailer cannot be read keeps the entries the old
//! index files had for it (readable old files only), so nothing that was
//! findable becomes unfindable. Never deletes a pack.

use crate::backend::Kind;
use crate::error::Result;
use crate::id::{IndexId, PackId};
use crate::index::{IndexFile, PackEntries};
use crate::pack::read_trailer;
use crate::progress::{check_interrupt, Progress};
use crate::repo::Repository;
use std::collections::HashMap;

/// What `repair index` did.
#[derive(Clone, Debug, Default)]
pub struct RepairIndexReport {
    /// Packs now indexed.
    pub packs: u64,
    /// Blobs now indexed.
    pub blobs: u64,
    /// Packs whose trailer could not be read, with the reason.
    pub unreadable: Vec<(PackId, String)>,
    /// Of those, packs whose entries were carried over from old index files.
    pub carried_over: u64,
    /// The new index files.
    pub written: Vec<IndexId>,
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
    // What the old (readable) index files say, for packs with bad trailers.
    let mut previous: HashMap<PackId, Vec<crate::pack::BlobEntry>> = HashMap::new();
    for id in &old {
        let read = backend
            .read(Kind::Index, &id.to_hex())
            .and_then(|b| IndexFile::open(repo.sealer(), id, &b));
        if let Ok(f) = read {
            for p in f.packs {
                previous.entry(p.pack).or_insert(p.blobs);
            }
        }
    }
    let mut report = RepairIndexReport::default();
    let mut file = IndexFile {
        supersedes: old.clone(),
        packs: Vec::new(),
    };
    let mut entries_in_file = 0usize;
    for id in packs {
        check_interrupt()?;
        progress.file(std::path::Path::new(&id.to_hex()));
        let blobs = match read_trailer(&**backend, repo.sealer(), &id) {
            Ok(blobs) => blobs,
            Err(e) => {
                report.unreadable.push((id, e.message().to_owned()));
                match previous.remove(&id) {
                    Some(blobs) => {
                        report.carried_over += 1;
                        blobs
                    }
                    None => continue,
                }
            }
        };
        report.packs += 1;
        report.blobs += blobs.len() as u64;
        entries_in_file += blobs.len();
        file.packs.push(PackEntries { pack: id, blobs });
        if entries_in_file >= ENTRIES_PER_FILE {
            report.written.push(write(repo, &mut file)?);
            entries_in_file = 0;
        }
    }
    if !file.packs.is_empty() || report.written.is_empty() {
        report.written.push(write(repo, &mut file)?);
    }
    for id in old.iter().filter(|id| !report.written.contains(id)) {
        backend.remove(Kind::Index, &id.to_hex())?;
        report.removed += 1;
    }
    Ok(report)
}

/// Split new index files at this many entries (49 MB of plaintext), far
/// below the 1 GiB a reader accepts.
const ENTRIES_PER_FILE: usize = 1_000_000;

fn write(repo: &Repository, file: &mut IndexFile) -> Result<IndexId> {
    let bytes = file.seal(repo.sealer(), repo.config().zstd_level)?;
    let id = IndexId(*blake3::hash(&bytes).as_bytes());
    repo.backend().write(Kind::Index, &id.to_hex(), &bytes)?;
    file.packs.clear();
    Ok(id)
}
