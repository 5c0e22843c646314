//! The mark phase: decide which packs go (unused, or repacked because they
//! are mostly unused), and copy the referenced blobs out of the packs to
//! repack.
//!
//! Invariants: a pack is selected only if every referenced blob in it has
//! a keeper copy elsewhere or is copied by [`repack`]; a copy is written
//! only after its source verified (AEAD, decompression, keyed BLAKE3); a
//! pack whose referenced blob fails to verify is never condemned.

use super::reach::Reachable;
use super::view::View;
use crate::error::{Error, Remedy, Result};
use crate::id::{BlobId, PackId};
use crate::progress::{check_interrupt, Progress};
use crate::repo::commit::BlobWriter;
use crate::repo::lock::LockGuard;
use crate::repo::pack::{open_blob, BlobEntry};
use crate::repo::Repository;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// How much unused space may stay after a prune.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxUnused {
    /// A percentage of the used bytes.
    Percent(f64),
    /// An absolute number of bytes.
    Bytes(u64),
    /// Never repack for space (only wholly unused packs are deleted).
    Unlimited,
}

/// What happens to a pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// No referenced blob: deleted.
    Delete,
    /// Not in any index (an interrupted writer's): deleted.
    DeleteUnindexed,
    /// Referenced blobs are copied to new packs, then deleted.
    Repack,
}

/// One selected pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The pack.
    pub pack: PackId,
    /// Its size in bytes.
    pub size: u64,
    /// Sealed bytes of referenced blobs kept from it (copied when repacked).
    pub used: u64,
    /// What happens to it.
    pub action: Action,
}

/// The mark decision.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Selected packs, by pack ID.
    pub packs: Vec<Selected>,
    /// Sealed bytes of referenced blobs (one copy each).
    pub used_bytes: u64,
    /// Sealed bytes not needed: unreferenced blobs and extra copies.
    pub unused_bytes: u64,
    /// Unused bytes that stay after the selected work.
    pub unused_after: u64,
    /// Packs considered (stored, not already condemned).
    pub packs_total: u64,
    /// Their total size.
    pub bytes_total: u64,
    /// Blob → the pack whose copy is kept.
    keepers: HashMap<BlobId, PackId>,
}

/// Choose what to delete and repack. `condemned` are the packs of pending
/// plans, which are neither considered nor used as keepers. Fails if a
/// referenced blob has no copy anywhere.
pub fn select(
    view: &View,
    reach: &Reachable,
    condemned: &HashSet<PackId>,
    max_unused: MaxUnused,
    max_repack: Option<u64>,
) -> Result<Selection> {
    let live = |p: &PackId| view.stored.contains_key(p) && !condemned.contains(p);
    // Pass 1: bytes of referenced blobs per pack, counting every copy.
    let mut any_copy: HashMap<PackId, u64> = HashMap::new();
    for (pack, blobs) in view.packs.iter().filter(|(p, _)| live(p)) {
        let used: u64 = blobs
            .iter()
            .filter(|e| reach.contains(&e.id))
            .map(|e| u64::from(e.sealed_len))
            .sum();
        any_copy.insert(*pack, used);
    }
    // Pass 2: one keeper per referenced blob, in the pack that is used most.
    let score = |p: &PackId| {
        let used = any_copy.get(p).copied().unwrap_or(0);
        (
            used * 1024 / view.stored.get(p).copied().unwrap_or(1).max(1),
            *p,
        )
    };
    let mut keepers: HashMap<BlobId, PackId> = HashMap::new();
    for (pack, blobs) in view.packs.iter().filter(|(p, _)| live(p)) {
        for e in blobs.iter().filter(|e| reach.contains(&e.id)) {
            let slot = keepers.entry(e.id).or_insert(*pack);
            if score(pack) > score(slot) {
                *slot = *pack;
            }
        }
    }
    let elsewhere: HashSet<BlobId> = view
        .packs
        .iter()
        .filter(|(p, _)| condemned.contains(p) && view.stored.contains_key(p))
        .flat_map(|(_, b)| b.iter().map(|e| e.id))
        .collect();
    let missing = reach
        .blobs
        .iter()
        .filter(|b| !keepers.contains_key(b) && !elsewhere.contains(b))
        .count();
    if missing > 0 {
        return Err(Error::corrupt(format!(
            "{missing} blobs that snapshots reference are in no stored pack; prune deletes nothing in a repository with missing data until it is repaired"
        ))
        .with_remedy(Remedy::Check));
    }
    let mut sel = Selection::default();
    let mut candidates = Vec::new();
    for (pack, &size) in view.stored.iter().filter(|(p, _)| !condemned.contains(p)) {
        sel.packs_total += 1;
        sel.bytes_total += size;
        let Some(blobs) = view.packs.get(pack) else {
            sel.unused_bytes += size;
            sel.packs.push(Selected {
                pack: *pack,
                size,
                used: 0,
                action: Action::DeleteUnindexed,
            });
            continue;
        };
        let (mut used, mut unused) = (0u64, 0u64);
        for e in blobs {
            if keepers.get(&e.id) == Some(pack) {
                used += u64::from(e.sealed_len);
            } else {
                unused += u64::from(e.sealed_len);
            }
        }
        sel.used_bytes += used;
        sel.unused_bytes += unused;
        if used == 0 {
            sel.packs.push(Selected {
                pack: *pack,
                size,
                used,
                action: Action::Delete,
            });
        } else if unused > 0 {
            candidates.push((unused, size, used, *pack));
        }
    }
    // Repack the most wasteful packs first until little enough is unused.
    let limit = match max_unused {
        MaxUnused::Percent(p) => (sel.used_bytes as f64 * p / 100.0) as u64,
        MaxUnused::Bytes(b) => b,
        MaxUnused::Unlimited => u64::MAX,
    };
    candidates.sort_by(|a, b| {
        let ra = a.0 as f64 / a.1.max(1) as f64;
        let rb = b.0 as f64 / b.1.max(1) as f64;
        rb.total_cmp(&ra).then(a.3.cmp(&b.3))
    });
    let mut unused_after: u64 = candidates.iter().map(|c| c.0).sum();
    let mut repack_bytes = 0u64;
    for (unused, size, used, pack) in candidates {
        if unused_after <= limit {
            break;
        }
        if max_repack.is_some_and(|m| repack_bytes + size > m) {
            continue;
        }
        repack_bytes += size;
        unused_after -= unused;
        sel.packs.push(Selected {
            pack,
            size,
            used,
            action: Action::Repack,
        });
    }
    sel.unused_after = unused_after;
    sel.packs.sort_by_key(|s| s.pack);
    sel.keepers = keepers;
    Ok(sel)
}

impl Selection {
    /// Total size of packs with `action`.
    pub fn bytes(&self, action: Action) -> (u64, u64) {
        self.packs
            .iter()
            .filter(|s| s.action == action)
            .fold((0, 0), |(n, b), s| (n + 1, b + s.size))
    }
}

/// Copy the kept blobs of every `Repack` pack into new packs, indexed
/// before this returns (under `lock`). Returns the packs that may now be
/// condemned and a warning per damaged pack. A pack whose referenced blob
/// fails verification is not condemned, nor is any other selected pack
/// holding a copy of a blob whose kept copy lies in a damaged pack (that
/// copy may be the only good one). Any other failure (storage) stops the
/// prune before a plan exists.
pub fn repack(
    repo: &Repository,
    lock: &LockGuard,
    view: &View,
    sel: &Selection,
    progress: &dyn Progress,
) -> Result<(BTreeSet<PackId>, Vec<String>)> {
    let writer = BlobWriter::new(repo, lock)?;
    let damaged: Mutex<BTreeMap<PackId, String>> = Mutex::new(BTreeMap::new());
    let todo: Vec<&Selected> = sel
        .packs
        .iter()
        .filter(|s| s.action == Action::Repack)
        .collect();
    todo.par_iter().try_for_each(|s| -> Result<()> {
        check_interrupt()?;
        let empty = Vec::new();
        let keep: Vec<&BlobEntry> = view
            .packs
            .get(&s.pack)
            .unwrap_or(&empty)
            .iter()
            .filter(|e| sel.keepers.get(&e.id) == Some(&s.pack))
            .collect();
        progress.file(std::path::Path::new(&s.pack.to_hex()));
        if let Some(why) = copy_blobs(repo, &writer, &s.pack, &keep)? {
            damaged
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(s.pack, why);
        }
        progress.bytes(s.size);
        Ok(())
    })?;
    writer.finish()?;
    let damaged = damaged.into_inner().unwrap_or_else(|p| p.into_inner());
    // Blobs whose kept copy is in a damaged pack: every copy stays.
    let orphaned: HashSet<BlobId> = sel
        .keepers
        .iter()
        .filter(|(_, p)| damaged.contains_key(p))
        .map(|(b, _)| *b)
        .collect();
    let holds_orphaned = |p: &PackId| {
        view.packs
            .get(p)
            .is_some_and(|b| b.iter().any(|e| orphaned.contains(&e.id)))
    };
    let ok = sel
        .packs
        .iter()
        .map(|s| s.pack)
        .filter(|p| !damaged.contains_key(p) && !holds_orphaned(p))
        .collect();
    let warnings = damaged
        .into_iter()
        .map(|(p, e)| format!("pack {p} was not repacked and stays: {e}"))
        .collect();
    Ok((ok, warnings))
}

/// Read one pack, verify each kept blob fully, and store its sealed bytes
/// unchanged in a new pack. `Ok(Some(why))` if the pack is damaged (a kept
/// blob does not verify); `Err` if reading or storing failed otherwise.
fn copy_blobs(
    repo: &Repository,
    writer: &BlobWriter<'_>,
    pack: &PackId,
    keep: &[&BlobEntry],
) -> Result<Option<String>> {
    let bytes = repo
        .backend()
        .read(crate::backend::Kind::Data, &pack.to_hex())?;
    for e in keep {
        let Some(sealed) = usize::try_from(e.offset)
            .ok()
            .and_then(|o| bytes.get(o..o.checked_add(e.sealed_len as usize)?))
        else {
            return Ok(Some(format!(
                "blob {} lies outside the pack",
                e.id.to_hex()
            )));
        };
        if let Err(err) = open_blob(repo.keys(), repo.sealer(), e, sealed) {
            return Ok(Some(format!("blob {}: {err}", e.id.to_hex())));
        }
        writer.store_sealed(e.blob_type, e.id, e.plain_len, sealed)?;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::pack::BlobType;

    fn entry(b: u8, len: u32) -> BlobEntry {
        BlobEntry {
            blob_type: BlobType::Chunk,
            id: BlobId([b; 32]),
            offset: 8,
            sealed_len: len,
            plain_len: len,
        }
    }

    /// Packs: 1 fully used, 2 one-tenth used, 3 unused, 4 unindexed,
    /// 5 condemned by a pending plan, 6 a duplicate of a blob in 1.
    fn fixture() -> (View, Reachable) {
        let mut v = View::default();
        let p = |b: u8| PackId([b; 32]);
        v.packs.insert(p(1), vec![entry(10, 1000), entry(11, 1000)]);
        v.packs.insert(p(2), vec![entry(20, 100), entry(21, 900)]);
        v.packs.insert(p(3), vec![entry(30, 500)]);
        v.packs.insert(p(5), vec![entry(50, 500)]);
        v.packs.insert(p(6), vec![entry(10, 1000)]);
        for (b, size) in [
            (1, 4096),
            (2, 4096),
            (3, 4096),
            (4, 4096),
            (5, 4096),
            (6, 4096),
        ] {
            v.stored.insert(p(b), size);
        }
        let mut r = Reachable::default();
        r.blobs.extend([10, 11, 20, 50].map(|b| BlobId([b; 32])));
        (v, r)
    }

    #[test]
    fn selects_unused_unindexed_duplicates_and_wasteful_packs() {
        let (v, r) = fixture();
        let pending: HashSet<PackId> = [PackId([5; 32])].into_iter().collect();
        let sel = select(&v, &r, &pending, MaxUnused::Percent(5.0), None).unwrap();
        let action = |b: u8| {
            sel.packs
                .iter()
                .find(|s| s.pack == PackId([b; 32]))
                .map(|s| s.action)
        };
        assert_eq!(action(1), None, "fully used pack stays");
        assert_eq!(action(2), Some(Action::Repack));
        assert_eq!(action(3), Some(Action::Delete));
        assert_eq!(action(4), Some(Action::DeleteUnindexed));
        assert_eq!(action(5), None, "a pending plan's pack is not considered");
        assert_eq!(action(6), Some(Action::Delete), "the duplicate copy goes");
        assert_eq!(sel.used_bytes, 2100);
        assert_eq!(sel.unused_after, 0);
        assert_eq!(sel.keepers[&BlobId([10; 32])], PackId([1; 32]));
    }

    #[test]
    fn limits_are_honoured_and_missing_data_refuses() {
        let (v, r) = fixture();
        let none = HashSet::new();
        let lax = select(&v, &r, &none, MaxUnused::Unlimited, None).unwrap();
        assert!(lax.packs.iter().all(|s| s.action != Action::Repack));
        let capped = select(&v, &r, &none, MaxUnused::Percent(0.0), Some(100)).unwrap();
        assert!(capped.packs.iter().all(|s| s.action != Action::Repack));
        assert_eq!(capped.unused_after, 900);
        // A referenced blob that is nowhere: nothing is selected at all.
        let mut r2 = r;
        r2.blobs.insert(BlobId([99; 32]));
        assert!(select(&v, &r2, &none, MaxUnused::Percent(5.0), None).is_err());
    }
}
