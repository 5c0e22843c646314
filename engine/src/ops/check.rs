//! `cairn check`: structural consistency without reading file content.
//!
//! It reads every index file (name hash, AEAD), every pack trailer (footer
//! and trailer AEAD, structure) and every snapshot's trees, and verifies:
//! every blob a snapshot references is indexed in a stored pack; every
//! index entry points into an existing pack and agrees with that pack's
//! trailer. Packs that no index names, blobs stored twice and files Cairn
//! did not write are reported as information. It never writes.
//!
//! Every error is a [`Finding`] with a remedy that works, so that following
//! the remedies leads to a clean check: a blob that no index file records
//! but a pack trailer holds needs the index repaired; a blob in no pack is
//! lost (restore the pack from a copy, or repair the snapshots to keep the
//! rest); a snapshot whose root tree is lost cannot be repaired (forget
//! it); a missing pack that no snapshot needs only has to leave the index.

use crate::backend::Kind;
use crate::error::{Remedy, Result};
use crate::format::index::IndexFile;
use crate::format::tree::{Extent, NodeKind};
use crate::id::{BlobId, IndexId, PackId, SnapshotId};
use crate::ops::Finding;
use crate::progress::{check_interrupt, Progress};
use crate::repo::pack::{read_trailer, BlobEntry};
use crate::repo::Repository;
use std::collections::{HashMap, HashSet};

/// The outcome of `check`.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Snapshots checked.
    pub snapshots: u64,
    /// Index files read.
    pub index_files: u64,
    /// Packs whose trailer was read.
    pub packs: u64,
    /// Distinct blobs indexed.
    pub blobs: u64,
    /// Real problems (the command fails), each with its remedy.
    pub errors: Vec<Finding>,
    /// Worth knowing, not wrong (unreferenced packs, duplicate blobs).
    pub info: Vec<String>,
}

impl CheckReport {
    /// No errors.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl CheckReport {
    /// Damage found or consistent.
    pub fn outcome(&self) -> crate::ops::Outcome {
        crate::ops::Outcome::of_audit(self.ok())
    }
}

#[derive(serde::Serialize)]
struct View<'a> {
    ok: bool,
    snapshots: u64,
    index_files: u64,
    packs: u64,
    blobs: u64,
    errors: &'a [Finding],
    info: &'a [String],
}

/// The `--json` document of `check`.
impl serde::Serialize for CheckReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        View {
            ok: self.ok(),
            snapshots: self.snapshots,
            index_files: self.index_files,
            packs: self.packs,
            blobs: self.blobs,
            errors: &self.errors,
            info: &self.info,
        }
        .serialize(s)
    }
}

/// Where a referenced blob can be found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Indexed in a stored pack.
    Indexed,
    /// Only in the trailer of a pack no index file names for it.
    TrailerOnly,
    /// In no stored pack at all: the data is lost.
    Lost,
}

/// What the blobs below one tree look like (the tree's own children only).
#[derive(Default)]
struct TreeInfo {
    subtrees: Vec<BlobId>,
    trailer_only: u64,
    lost: u64,
}

/// Everything `check` learns before it walks the snapshots.
struct Known {
    /// Blob → every pack an index file names for it.
    indexed: HashMap<BlobId, Vec<PackId>>,
    /// Packs present in `data/`.
    stored: HashSet<PackId>,
    /// Packs a prune is deleting.
    condemned: HashSet<PackId>,
    /// Blobs listed by a readable trailer of a stored pack.
    in_trailers: HashSet<BlobId>,
}

impl Known {
    fn find(&self, id: &BlobId) -> Found {
        let indexed = self.indexed.get(id).is_some_and(|packs| {
            packs
                .iter()
                .any(|p| self.stored.contains(p) || self.condemned.contains(p))
        });
        if indexed {
            Found::Indexed
        } else if self.in_trailers.contains(id) {
            Found::TrailerOnly
        } else {
            Found::Lost
        }
    }
}

/// Check `repo`.
pub fn check(repo: &Repository, progress: &dyn Progress) -> Result<CheckReport> {
    repo.bypass_tree_cache();
    let mut r = CheckReport::default();
    let backend = repo.backend();
    let _lock = repo.audit_lock()?;
    // The self-description a future reader needs (spec, vectors, reference
    // restorer): reported, not damage — no data depends on it, and the
    // next write refreshes it.
    if !crate::repo::spec_copy::stale(&**backend)?.is_empty() {
        r.info.push(
            "spec/ lacks files of this Cairn's format specification, test vectors or reference restorer, or holds older versions of them; the next write (backup, forget, prune, …) brings it up to date".into(),
        );
    }
    // Packs that a prune has condemned may disappear at any moment.
    let (plans, bad_plans) = crate::repo::gc::load_all_lenient(&**backend, repo.sealer())?;
    let condemned = crate::repo::gc::condemned(&plans);
    for (name, e) in bad_plans {
        r.errors.push(Finding::new(
            format!("garbage-collection plan state/{name}: {e}; backups refuse to run until it is removed"),
            Remedy::PruneThenRetry,
        ));
    }
    for kind in Kind::ALL {
        for f in backend.foreign(kind)? {
            r.info.push(format!(
                "{f}: not a file Cairn writes, ignored (remove it unless someone put it there on purpose)"
            ));
        }
    }
    // Snapshots listed first: whatever they reference was indexed before
    // they were stored, so the index read next covers it even while
    // backups run.
    let mut snaps = backend.list(Kind::Snapshot)?;
    // 1. Index files. A prune may replace some while we read: start over.
    let mut attempt = 0;
    let (indexed, by_pack, dup) = loop {
        let mut partial = CheckReport::default();
        match read_index(repo, &mut partial)? {
            Some(maps) => {
                r.index_files = partial.index_files;
                r.errors.extend(partial.errors);
                r.info.extend(partial.info);
                break maps;
            }
            None if attempt < 5 => attempt += 1,
            None => {
                return Err(crate::Error::new(
                    crate::ErrorKind::Io,
                    "index files kept changing while being read",
                )
                .with_remedy(Remedy::Retry))
            }
        }
    };
    r.blobs = indexed.len() as u64;
    if dup > 0 {
        r.info.push(format!(
            "{dup} blobs are stored in more than one pack (harmless; costs space)"
        ));
    }
    // 2. Packs: trailers agree with the index.
    let stored: HashSet<PackId> = backend
        .list(Kind::Data)?
        .into_iter()
        .filter_map(|(n, _)| PackId::from_hex(&n).ok())
        .collect();
    let mut in_trailers = HashSet::new();
    let mut packs: Vec<&PackId> = stored.iter().collect();
    packs.sort();
    for id in packs {
        check_interrupt()?;
        progress.file(std::path::Path::new(&id.to_hex()));
        r.packs += 1;
        let trailer = match read_trailer(&**backend, repo.sealer(), id) {
            Ok(t) => t,
            Err(e) if e.kind() == crate::ErrorKind::NotFound && condemned.contains(id) => continue,
            Err(e) => {
                r.errors.push(Finding::new(
                    format!("{e}; the pack is damaged"),
                    Remedy::ScrubRepair,
                ));
                continue;
            }
        };
        in_trailers.extend(trailer.iter().map(|e| e.id));
        match by_pack.get(id) {
            None => r.info.push(format!(
                "pack {id} is not in any index (left by an interrupted backup)"
            )),
            Some(listed) => {
                let in_trailer: HashMap<BlobId, &BlobEntry> =
                    trailer.iter().map(|e| (e.id, e)).collect();
                for e in listed {
                    if in_trailer.get(&e.id) != Some(&e) {
                        r.errors.push(Finding::new(
                            format!(
                                "pack {id}: the index entry for blob {} does not match the pack trailer",
                                e.id.to_hex()
                            ),
                            Remedy::RepairIndex,
                        ));
                    }
                }
            }
        }
    }
    let known = Known {
        indexed,
        stored,
        condemned,
        in_trailers,
    };
    // 3. Snapshots: every referenced tree and chunk is findable.
    snaps.sort();
    let mut walk = Walk {
        repo,
        known: &known,
        trees: HashMap::new(),
        needed_missing: HashSet::new(),
        unreadable_trees: false,
    };
    for (name, _) in snaps {
        check_interrupt()?;
        let Ok(id) = SnapshotId::from_hex(&name) else {
            continue;
        };
        r.snapshots += 1;
        let snap = match repo.load_snapshot(&id) {
            Ok(s) => s,
            Err(e) if e.kind() == crate::ErrorKind::NotFound => {
                r.snapshots -= 1; // forgotten meanwhile
                continue;
            }
            Err(e) => {
                r.errors.push(Finding::new(
                    format!("{e} (snapshots/{name})"),
                    Remedy::RestoreOrForget(id),
                ));
                continue;
            }
        };
        walk.snapshot(&id, BlobId(snap.tree.0), &mut r.errors);
    }
    // 4. Packs the index names but that are gone.
    let mut missing: Vec<&PackId> = by_pack
        .keys()
        .filter(|p| !known.stored.contains(p))
        .collect();
    missing.sort();
    for id in missing {
        let path = format!("data/{}/{id}", &id.to_hex()[..2]);
        if known.condemned.contains(id) {
            r.info.push(format!(
                "pack {id} is being deleted by a prune (a garbage-collection plan names it)"
            ));
        } else if walk.needed_missing.contains(id) || walk.unreadable_trees {
            r.errors.push(Finding::new(
                format!("pack {id} is named by the index but missing ({path})"),
                Remedy::RestorePackFromCopy,
            ));
        } else {
            r.errors.push(Finding::new(
                format!("pack {id} is named by the index but missing, and no snapshot needs it"),
                Remedy::RepairIndex,
            ));
        }
    }
    Ok(r)
}

/// The snapshot walk, with what is known about each tree kept once.
struct Walk<'a> {
    repo: &'a Repository,
    known: &'a Known,
    trees: HashMap<BlobId, Option<TreeInfo>>,
    /// Missing packs that hold the only indexed copy of a referenced blob.
    needed_missing: HashSet<PackId>,
    /// A tree in a stored pack could not be read: what lies below it is
    /// unknown.
    unreadable_trees: bool,
}

impl Walk<'_> {
    fn lost(&mut self, id: &BlobId) {
        if let Some(packs) = self.known.indexed.get(id) {
            self.needed_missing.extend(packs.iter().copied());
        }
    }

    /// Read tree `id` once; `None` (with an error recorded) if it cannot
    /// be read although it is indexed in a stored pack.
    fn info(&mut self, id: BlobId, snap: &SnapshotId, errors: &mut Vec<Finding>) {
        if self.trees.contains_key(&id) {
            return;
        }
        let tree = match self.repo.read_tree(&crate::TreeId(id.0)) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Finding::new(
                    format!("snapshot {}: {e}", snap.short()),
                    Remedy::ScrubRepairThenRepairSnapshots,
                ));
                self.unreadable_trees = true;
                self.trees.insert(id, None);
                return;
            }
        };
        let mut info = TreeInfo::default();
        for n in &tree.nodes {
            let subtree = match (n.kind, n.subtree) {
                (NodeKind::Dir, Some(sub)) => Some(BlobId(sub.0)),
                _ => None,
            };
            let chunks = n.content.iter().filter_map(|e| match e {
                Extent::Chunk(c) => Some(BlobId(c.0)),
                Extent::Hole(_) => None,
            });
            for child in subtree.into_iter().chain(chunks) {
                match self.known.find(&child) {
                    Found::Indexed if Some(child) == subtree => info.subtrees.push(child),
                    Found::Indexed => {}
                    Found::TrailerOnly => info.trailer_only += 1,
                    Found::Lost => {
                        info.lost += 1;
                        self.lost(&child);
                    }
                }
            }
        }
        self.trees.insert(id, Some(info));
    }

    /// Walk one snapshot and report what it needs.
    fn snapshot(&mut self, snap: &SnapshotId, root: BlobId, errors: &mut Vec<Finding>) {
        match self.known.find(&root) {
            Found::Indexed => {}
            Found::TrailerOnly => {
                errors.push(Finding::new(
                    format!(
                        "snapshot {} references blobs that no index file records (its root tree among them) but pack trailers hold",
                        snap.short()
                    ),
                    Remedy::RepairIndex,
                ));
                return;
            }
            Found::Lost => {
                self.lost(&root);
                errors.push(Finding::new(
                    format!(
                        "snapshot {}: its root tree is in no pack, so nothing of it can be restored or repaired",
                        snap.short()
                    ),
                    Remedy::RestorePackOrForget(*snap),
                ));
                return;
            }
        }
        let (mut trailer_only, mut lost) = (0u64, 0u64);
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(tid) = stack.pop() {
            if !seen.insert(tid) {
                continue;
            }
            self.info(tid, snap, errors);
            if let Some(Some(info)) = self.trees.get(&tid) {
                trailer_only += info.trailer_only;
                lost += info.lost;
                stack.extend(info.subtrees.iter().copied());
            }
        }
        if trailer_only > 0 {
            errors.push(Finding::new(
                format!(
                    "snapshot {} references {trailer_only} blobs that no index file records but pack trailers hold",
                    snap.short()
                ),
                Remedy::RepairIndex,
            ));
        }
        if lost > 0 {
            errors.push(Finding::new(
                format!(
                    "snapshot {} references {lost} blobs that are in no pack (their data is lost)",
                    snap.short()
                ),
                Remedy::RestorePacksOrRepairSnapshots,
            ));
        }
    }
}

type IndexMaps = (
    HashMap<BlobId, Vec<PackId>>,
    HashMap<PackId, Vec<BlobEntry>>,
    u64,
);

/// Read every index file: blob → packs, pack → entries, and the number of
/// blobs stored in more than one pack. `None` if a listed file vanished
/// before it was read.
fn read_index(repo: &Repository, r: &mut CheckReport) -> Result<Option<IndexMaps>> {
    let backend = repo.backend();
    let mut indexed: HashMap<BlobId, Vec<PackId>> = HashMap::new();
    let mut by_pack: HashMap<PackId, Vec<BlobEntry>> = HashMap::new();
    let mut dup = 0u64;
    for (name, _) in backend.list(Kind::Index)? {
        check_interrupt()?;
        let Ok(id) = IndexId::from_hex(&name) else {
            continue;
        };
        let file = match backend
            .read_max(Kind::Index, &name, crate::format::index::MAX_INDEX_FILE)
            .and_then(|b| IndexFile::open(repo.sealer(), &id, &b))
        {
            Ok(f) => f,
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                r.errors.push(Finding::new(
                    format!("{e} (readers use the pack trailers meanwhile)"),
                    Remedy::RepairIndex,
                ));
                continue;
            }
        };
        r.index_files += 1;
        for p in file.packs {
            for e in &p.blobs {
                let packs = indexed.entry(e.id).or_default();
                if !packs.contains(&p.pack) {
                    if !packs.is_empty() {
                        dup += 1;
                    }
                    packs.push(p.pack);
                }
            }
            let list = by_pack.entry(p.pack).or_default();
            if list.is_empty() {
                *list = p.blobs;
            }
        }
    }
    Ok(Some((indexed, by_pack, dup)))
}
