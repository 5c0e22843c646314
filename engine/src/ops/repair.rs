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
use crate::format::index::{IndexFile, PackEntries};
use crate::id::{IndexId, PackId};
use crate::progress::{check_interrupt, Progress};
use crate::repo::lock::LockMode;
use crate::repo::pack::read_trailer;
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
    let _lock = repo.lock(LockMode::Exclusive)?;
    let backend = repo.backend();
    // A missing index/ is what this command repairs: writing the new
    // index recreates it.
    let listed = match backend.list(Kind::Index) {
        Err(e) if e.kind() == crate::ErrorKind::NotFound => Vec::new(),
        other => other?,
    };
    let old: Vec<IndexId> = listed
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
    let mut previous: HashMap<PackId, Vec<crate::repo::pack::BlobEntry>> = HashMap::new();
    for id in &old {
        let read = backend
            .read_max(
                Kind::Index,
                &id.to_hex(),
                crate::format::index::MAX_INDEX_FILE,
            )
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

/// What `repair snapshots` did.
#[derive(Clone, Debug, Default)]
pub struct RepairSnapshotsReport {
    /// Snapshots rewritten without their lost files.
    pub repaired: Vec<RepairedSnapshot>,
    /// Snapshots whose root tree is lost: nothing of them can be restored
    /// or repaired; they are left as they are (remove them with
    /// `cairn forget ID`, or restore the lost pack from a copy).
    pub unrepairable: Vec<crate::id::SnapshotId>,
}

/// One snapshot changed by `repair snapshots`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RepairedSnapshot {
    /// The damaged snapshot (removed after the new one was stored).
    pub old: crate::id::SnapshotId,
    /// Its replacement, restorable minus the lost entries.
    pub new: crate::id::SnapshotId,
    /// Paths left out because their data is lost.
    pub lost: Vec<String>,
}

struct Fixer<'a, 'r> {
    repo: &'r Repository,
    writer: &'a crate::repo::commit::BlobWriter<'r>,
    readable: HashMap<[u8; 32], bool>,
    scratch: Vec<u8>,
}

impl Fixer<'_, '_> {
    /// Can this blob be read and verified? (Cached per blob.)
    fn ok(&mut self, id: [u8; 32], want: crate::repo::pack::BlobType) -> bool {
        if let Some(v) = self.readable.get(&id) {
            return *v;
        }
        let v = self.repo.read_blob(&crate::id::BlobId(id), want).is_ok();
        self.readable.insert(id, v);
        v
    }

    /// Rebuild `id` without lost entries; `None` if unchanged.
    fn tree(
        &mut self,
        id: crate::TreeId,
        path: &str,
        lost: &mut Vec<String>,
    ) -> Result<Option<crate::TreeId>> {
        use crate::format::tree::{Extent, NodeKind};
        let tree = self.repo.read_tree(&id)?;
        let mut changed = false;
        let mut nodes = Vec::with_capacity(tree.nodes.len());
        for mut n in tree.nodes {
            check_interrupt()?;
            let p = format!("{path}/{}", String::from_utf8_lossy(&n.name));
            match (n.kind, n.subtree) {
                (NodeKind::Dir, Some(sub)) => {
                    if !self.ok(sub.0, crate::repo::pack::BlobType::Tree) {
                        lost.push(format!("{p}/ (whole directory)"));
                        changed = true;
                        continue;
                    }
                    if let Some(new) = self.tree(sub, &p, lost)? {
                        n.subtree = Some(new);
                        changed = true;
                    }
                }
                (NodeKind::File, _) => {
                    let ids: Vec<[u8; 32]> = n
                        .content
                        .iter()
                        .filter_map(|e| match e {
                            Extent::Chunk(c) => Some(c.0),
                            Extent::Hole(_) => None,
                        })
                        .collect();
                    if !ids
                        .into_iter()
                        .all(|c| self.ok(c, crate::repo::pack::BlobType::Chunk))
                    {
                        lost.push(p);
                        changed = true;
                        continue;
                    }
                }
                _ => {}
            }
            nodes.push(n);
        }
        if !changed {
            return Ok(None);
        }
        let mut t = crate::format::tree::Tree { nodes };
        let bytes = t.encode();
        let new = crate::id::BlobId(self.repo.keys().blob_id(&bytes));
        if self.writer.claim(&new, crate::repo::pack::BlobType::Tree)? {
            self.writer.store(
                crate::repo::pack::BlobType::Tree,
                new,
                &bytes,
                &mut self.scratch,
            )?;
        }
        self.readable.insert(new.0, true);
        Ok(Some(crate::TreeId(new.0)))
    }
}

/// Make every snapshot that references lost data restorable again, minus
/// the lost files and directories (listed in the report). A new snapshot
/// (tagged `repaired`) is stored before the damaged one is removed. Run
/// `scrub --repair` and `repair index` first: whatever they can bring back
/// is kept. A snapshot whose root tree is lost is left alone and reported
/// as unrepairable.
pub fn repair_snapshots(
    repo: &Repository,
    progress: &dyn Progress,
) -> Result<RepairSnapshotsReport> {
    repo.bypass_tree_cache();
    let lock = repo.lock(LockMode::Exclusive)?;
    let mut out = RepairSnapshotsReport::default();
    let mut readable = HashMap::new();
    for (old, snap) in repo.snapshots()? {
        progress.file(std::path::Path::new(&old.to_hex()));
        let writer = crate::repo::commit::BlobWriter::new(repo, &lock)?;
        let mut fixer = Fixer {
            repo,
            writer: &writer,
            readable: std::mem::take(&mut readable),
            scratch: Vec::new(),
        };
        let mut lost = Vec::new();
        let root = if fixer.ok(snap.tree.0, crate::repo::pack::BlobType::Tree) {
            fixer.tree(snap.tree, "", &mut lost)?
        } else {
            out.unrepairable.push(old);
            None
        };
        readable = std::mem::take(&mut fixer.readable);
        let Some(root) = root else {
            writer.abandon()?;
            continue;
        };
        let mut fixed = snap.clone();
        fixed.tree = root;
        if !fixed.tags.iter().any(|t| t == "repaired") {
            fixed.tags.push("repaired".into());
            fixed.tags.sort();
        }
        let new = writer.commit(&fixed)?;
        repo.backend().remove(Kind::Snapshot, &old.to_hex())?;
        out.repaired.push(RepairedSnapshot { old, new, lost });
    }
    Ok(out)
}
#[derive(serde::Serialize)]
struct UnreadablePack<'a> {
    pack: PackId,
    error: &'a str,
}

#[derive(serde::Serialize)]
struct IndexView<'a> {
    packs: u64,
    blobs: u64,
    unreadable: Vec<UnreadablePack<'a>>,
    carried_over: u64,
    index_files: &'a [IndexId],
    removed_index_files: u64,
}

/// The `--json` document of `repair index`.
impl serde::Serialize for RepairIndexReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        IndexView {
            packs: self.packs,
            blobs: self.blobs,
            unreadable: self
                .unreadable
                .iter()
                .map(|(pack, error)| UnreadablePack { pack: *pack, error })
                .collect(),
            carried_over: self.carried_over,
            index_files: &self.written,
            removed_index_files: self.removed,
        }
        .serialize(s)
    }
}

impl RepairSnapshotsReport {
    /// What to do about a snapshot whose root tree is lost.
    pub fn advice(id: &crate::id::SnapshotId) -> String {
        format!(
            "snapshot {}: its root tree is lost, so nothing of it can be restored or repaired — remove it with `cairn forget {}` (or restore the lost pack from a copy of the repository with `cairn scrub --repair --from DIR`)",
            id.short(),
            id.to_hex()
        )
    }
}

#[derive(serde::Serialize)]
struct Unrepairable {
    id: crate::id::SnapshotId,
    advice: String,
}

#[derive(serde::Serialize)]
struct SnapshotsView<'a> {
    repaired: &'a [RepairedSnapshot],
    unrepairable: Vec<Unrepairable>,
}

/// The `--json` document of `repair snapshots`.
impl serde::Serialize for RepairSnapshotsReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        SnapshotsView {
            repaired: &self.repaired,
            unrepairable: self
                .unrepairable
                .iter()
                .map(|id| Unrepairable {
                    id: *id,
                    advice: Self::advice(id),
                })
                .collect(),
        }
        .serialize(s)
    }
}
