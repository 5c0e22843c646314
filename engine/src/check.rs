//! `cairn check`: structural consistency without reading file content.
//!
//! It reads every index file (name hash, AEAD), every pack trailer (footer
//! and trailer AEAD, structure) and every snapshot's trees, and verifies:
//! every blob a snapshot references is indexed; every index entry points
//! into an existing pack and agrees with that pack's trailer. Packs that
//! no index names and blobs stored twice are reported as information.
//! It never writes. Each error says what to do next.

use crate::backend::Kind;
use crate::error::Result;
use crate::id::{BlobId, IndexId, PackId};
use crate::index::IndexFile;
use crate::pack::{read_trailer, BlobEntry};
use crate::progress::{check_interrupt, Progress};
use crate::repo::Repository;
use crate::tree::{Extent, NodeKind};
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
    /// Real problems (the command fails).
    pub errors: Vec<String>,
    /// Worth knowing, not wrong (unreferenced packs, duplicate blobs).
    pub info: Vec<String>,
}

impl CheckReport {
    /// No errors.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Check `repo`.
pub fn check(repo: &Repository, progress: &dyn Progress) -> Result<CheckReport> {
    let mut r = CheckReport::default();
    let backend = repo.backend();
    let _lock = repo.audit_lock()?;
    // Packs that a prune has condemned may disappear at any moment.
    let (plans, bad_plans) = crate::prune::plan::load_all_lenient(&**backend, repo.sealer())?;
    let condemned = crate::prune::plan::condemned(&plans);
    for (name, e) in bad_plans {
        r.errors.push(format!(
            "garbage-collection plan state/{name}: {e} — backups refuse to run until `cairn prune` removes it"
        ));
    }
    // Snapshots listed first: whatever they reference was indexed before
    // they were stored, so the index read next covers it even while
    // backups run.
    let mut snaps = backend.list(Kind::Snapshot)?;
    // 1. Index files. A prune may replace some while we read: start over.
    let mut attempt = 0;
    let (where_is, by_pack, dup) = loop {
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
                    "index files kept changing while being read; run `cairn check` again",
                ))
            }
        }
    };
    r.blobs = where_is.len() as u64;
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
                r.errors.push(format!(
                    "{e} — the pack is damaged; restore it from a copy of the repository"
                ));
                continue;
            }
        };
        match by_pack.get(id) {
            None => r.info.push(format!(
                "pack {id} is not in any index (left by an interrupted backup)"
            )),
            Some(indexed) => {
                let in_trailer: HashMap<BlobId, &BlobEntry> =
                    trailer.iter().map(|e| (e.id, e)).collect();
                for e in indexed {
                    if in_trailer.get(&e.id) != Some(&e) {
                        r.errors.push(format!(
                            "pack {id}: the index entry for blob {} does not match the pack trailer",
                            e.id.to_hex()
                        ));
                    }
                }
            }
        }
    }
    for id in by_pack.keys() {
        if !stored.contains(id) && condemned.contains(id) {
            r.info.push(format!(
                "pack {id} is being deleted by a prune (a garbage-collection plan names it)"
            ));
        } else if !stored.contains(id) {
            r.errors.push(format!(
                "pack {id} is named by the index but missing — restore data/{}/{id} from a copy of the repository",
                &id.to_hex()[..2]
            ));
        }
    }
    // 3. Snapshots: every referenced tree and chunk is indexed.
    let mut seen_trees: HashSet<BlobId> = HashSet::new();
    snaps.sort();
    for (name, _) in snaps {
        check_interrupt()?;
        let Ok(id) = crate::id::SnapshotId::from_hex(&name) else {
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
                r.errors.push(format!(
                    "{e} — restore snapshots/{name} from a copy of the repository"
                ));
                continue;
            }
        };
        let mut missing = 0u64;
        let mut stack = vec![BlobId(snap.tree.0)];
        while let Some(tid) = stack.pop() {
            if !seen_trees.insert(tid) {
                continue;
            }
            if !where_is.contains_key(&tid) {
                missing += 1;
                continue;
            }
            let tree = match repo.read_tree(&crate::TreeId(tid.0)) {
                Ok(t) => t,
                Err(e) => {
                    r.errors.push(format!("snapshot {}: {e}", id.short()));
                    continue;
                }
            };
            for n in &tree.nodes {
                if let (NodeKind::Dir, Some(sub)) = (n.kind, n.subtree) {
                    stack.push(BlobId(sub.0));
                }
                for e in &n.content {
                    if let Extent::Chunk(c) = e {
                        if !where_is.contains_key(&BlobId(c.0)) {
                            missing += 1;
                        }
                    }
                }
            }
        }
        if missing > 0 {
            r.errors.push(format!(
                "snapshot {} references {missing} blobs that no index file records — run `cairn repair index`; if that does not help, restore the missing packs from a copy",
                id.short()
            ));
        }
    }
    Ok(r)
}

type IndexMaps = (
    HashMap<BlobId, (PackId, BlobEntry)>,
    HashMap<PackId, Vec<BlobEntry>>,
    u64,
);

/// Read every index file: blob → (pack, entry), pack → entries, and the
/// number of blobs stored in more than one pack. `None` if a listed file
/// vanished before it was read.
fn read_index(repo: &Repository, r: &mut CheckReport) -> Result<Option<IndexMaps>> {
    let backend = repo.backend();
    let mut where_is: HashMap<BlobId, (PackId, BlobEntry)> = HashMap::new();
    let mut by_pack: HashMap<PackId, Vec<BlobEntry>> = HashMap::new();
    let mut dup = 0u64;
    for (name, _) in backend.list(Kind::Index)? {
        check_interrupt()?;
        let Ok(id) = IndexId::from_hex(&name) else {
            r.info
                .push(format!("index/{name}: not an index file name, ignored"));
            continue;
        };
        let file = match backend
            .read_max(Kind::Index, &name, crate::index::file::MAX_INDEX_FILE)
            .and_then(|b| IndexFile::open(repo.sealer(), &id, &b))
        {
            Ok(f) => f,
            Err(e) if e.kind() == crate::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                r.errors.push(format!(
                    "{e} — restore index/{name} from a copy of the repository"
                ));
                continue;
            }
        };
        r.index_files += 1;
        for p in file.packs {
            for e in &p.blobs {
                match where_is.insert(e.id, (p.pack, *e)) {
                    Some((other, _)) if other != p.pack => dup += 1,
                    _ => {}
                }
            }
            let list = by_pack.entry(p.pack).or_default();
            if list.is_empty() {
                *list = p.blobs;
            }
        }
    }
    Ok(Some((where_is, by_pack, dup)))
}
