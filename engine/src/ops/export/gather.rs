//! What an export holds: the chosen snapshots, the packs they reach (in
//! the order they are first needed), the base set's catalogue, and the
//! files every volume carries a copy of.
//!
//! Invariants: every blob reachable from a chosen snapshot is indexed in
//! a pack that goes into this set or is placed by the base catalogue (else
//! the export fails before writing anything); the export's index files
//! describe exactly this set's packs, with the entries the repository's
//! own index files give them.

use super::plan::Plan;
use super::{placements, ExportOptions};
use crate::backend::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::format::export::{Catalogue, PackPlace, SetId, VolumeRef, MAX_CATALOGUE};
use crate::format::index::{IndexFile, PackEntries, MAX_INDEX_FILE};
use crate::id::{BlobId, IndexId, PackId, SnapshotId};
use crate::ops::prune::reach::Reachable;
use crate::repo::Repository;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Packs per export index file.
const PACKS_PER_INDEX: usize = 4096;

/// Everything decided before the first volume is written.
pub(super) struct Gathered {
    /// Chosen snapshots, oldest first.
    pub snapshots: Vec<SnapshotId>,
    /// The packs each snapshot needs.
    needs: Vec<(SnapshotId, BTreeSet<PackId>)>,
    /// Packs of this set with their lengths, in first-need order.
    pub packs: Vec<(PackId, u64)>,
    /// Packs needed but held by a base set.
    pub in_bases: u64,
    base: Option<Catalogue>,
    repository: [u8; 16],
    /// Files every volume carries: (kind, name, bytes).
    pub meta: Vec<(Kind, String, Vec<u8>)>,
    /// An upper bound of the catalogue's length.
    pub catalogue_bound: u64,
}

pub(super) fn gather(repo: &Repository, opts: &ExportOptions) -> Result<Gathered> {
    let backend = repo.backend();
    let mut chosen: Vec<(SnapshotId, crate::format::snapshot::Snapshot)> =
        if opts.snapshots.is_empty() {
            repo.snapshots()?
        } else {
            let mut v = Vec::new();
            for spec in &opts.snapshots {
                let s = repo.find_snapshot(spec)?;
                if !v.iter().any(|(id, _)| *id == s.0) {
                    v.push(s);
                }
            }
            v
        };
    if chosen.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            "the repository has no snapshot to export",
        ));
    }
    chosen.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
    let base = match &opts.incremental_from {
        None => None,
        Some(p) => Some(read_base(p, &repo.config().id)?),
    };
    let sizes: HashMap<PackId, u64> = backend
        .list(Kind::Data)?
        .into_iter()
        .filter_map(|(n, s)| PackId::from_hex(&n).ok().map(|id| (id, s)))
        .collect();
    let index = repo.index()?;
    let mut needs = Vec::new();
    let mut order: Vec<(PackId, u64)> = Vec::new();
    let mut seen: HashSet<PackId> = HashSet::new();
    let mut in_bases: BTreeSet<PackId> = BTreeSet::new();
    for (id, snap) in &chosen {
        let mut reach = Reachable::default();
        reach
            .walk(repo, snap.tree)
            .map_err(|e| e.context(format!("snapshot {}", id.short())))?;
        let mut packs = BTreeSet::new();
        for blob in &reach.blobs {
            let loc = index.get(blob)?.ok_or_else(|| missing_blob(id, blob))?;
            packs.insert(loc.pack);
        }
        for p in &packs {
            if base.as_ref().is_some_and(|b| b.pack(p).is_some()) {
                in_bases.insert(*p);
            } else if seen.insert(*p) {
                let len = *sizes.get(p).ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "pack {} that snapshot {} needs is missing from the repository",
                            p.short(),
                            id.short()
                        ),
                    )
                })?;
                order.push((*p, len));
            }
        }
        needs.push((*id, packs));
    }
    let meta = meta_files(repo, &chosen, &seen)?;
    let base_lines = base
        .as_ref()
        .map_or(0, |b| b.packs.len() + b.bases.len() + 1);
    let catalogue_bound = 4096
        + 170 * (order.len() + base_lines) as u64
        + 300 * order.len() as u64 // parity and group records: at most one each per pack and M
        + needs.iter().map(|(_, p)| 90 + 50 * p.len() as u64).sum::<u64>();
    Ok(Gathered {
        snapshots: chosen.iter().map(|(id, _)| *id).collect(),
        needs,
        packs: order,
        in_bases: in_bases.len() as u64,
        base,
        repository: repo.config().id,
        meta,
        catalogue_bound,
    })
}

fn missing_blob(snap: &SnapshotId, blob: &BlobId) -> Error {
    Error::corrupt(format!(
        "blob {} of snapshot {} is in no indexed pack; run `check` (nothing was exported)",
        &blob.to_hex()[..8],
        snap.short()
    ))
}

/// Read and check the catalogue an incremental export builds on.
fn read_base(path: &std::path::Path, repo_id: &[u8; 16]) -> Result<Catalogue> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::from_io(format!("reading {}", path.display()), e))?;
    if meta.len() > MAX_CATALOGUE {
        return Err(Error::corrupt(format!(
            "{} is too large to be a catalogue",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Error::from_io(format!("reading {}", path.display()), e))?;
    let cat = Catalogue::decode(&bytes).map_err(|e| e.context(path.display()))?;
    if cat.repository != *repo_id {
        return Err(Error::invalid(format!(
            "{} is the catalogue of an export of another repository",
            path.display()
        )));
    }
    Ok(cat)
}

/// The files every volume carries: marker, config, keys, spec, the
/// export's index files and the chosen snapshot files.
fn meta_files(
    repo: &Repository,
    chosen: &[(SnapshotId, crate::format::snapshot::Snapshot)],
    packs: &HashSet<PackId>,
) -> Result<Vec<(Kind, String, Vec<u8>)>> {
    use crate::format::config::{CONFIG_NAME, MARKER_NAME, MAX_CONFIG_FILE, MAX_MARKER_FILE};
    let b = repo.backend();
    let mut out = vec![
        (
            Kind::Root,
            MARKER_NAME.to_owned(),
            b.read_max(Kind::Root, MARKER_NAME, MAX_MARKER_FILE)?,
        ),
        (
            Kind::Root,
            CONFIG_NAME.to_owned(),
            b.read_max(Kind::Root, CONFIG_NAME, MAX_CONFIG_FILE)?,
        ),
    ];
    let mut keys = b.list(Kind::Key)?;
    keys.sort();
    for (name, _) in keys {
        let bytes = b.read_max(Kind::Key, &name, crate::format::keyfile::MAX_KEY_FILE)?;
        out.push((Kind::Key, name, bytes));
    }
    for (name, bytes) in crate::repo::spec_copy::FILES {
        out.push((Kind::Spec, (*name).to_owned(), bytes.to_vec()));
    }
    // The repository's entries of exactly these packs.
    let mut entries: BTreeMap<PackId, PackEntries> = BTreeMap::new();
    let mut names = b.list(Kind::Index)?;
    names.sort();
    for (name, _) in names {
        let id = IndexId::from_hex(&name)?;
        let bytes = b.read_max(Kind::Index, &name, MAX_INDEX_FILE)?;
        let file = IndexFile::open(repo.sealer(), &id, &bytes)
            .map_err(|e| e.context(format!("index file {}", id.short())))?;
        for p in file.packs.into_iter().filter(|p| packs.contains(&p.pack)) {
            entries.entry(p.pack).or_insert(p);
        }
    }
    if let Some(p) = packs.iter().find(|p| !entries.contains_key(p)) {
        return Err(Error::corrupt(format!(
            "pack {} is in no index file",
            p.short()
        )));
    }
    let all: Vec<PackEntries> = entries.into_values().collect();
    for chunk in all.chunks(PACKS_PER_INDEX) {
        let file = IndexFile {
            supersedes: Vec::new(),
            packs: chunk.to_vec(),
        };
        let bytes = file.seal(repo.sealer(), repo.config().zstd_level)?;
        out.push((
            Kind::Index,
            blake3::hash(&bytes).to_hex().to_string(),
            bytes,
        ));
    }
    for (id, _) in chosen {
        let name = id.to_hex();
        let bytes = b.read_max(
            Kind::Snapshot,
            &name,
            crate::format::snapshot::MAX_SNAPSHOT_FILE,
        )?;
        out.push((Kind::Snapshot, name, bytes));
    }
    Ok(out)
}

impl Gathered {
    /// The catalogue of set `set` laid out by `plan`.
    pub fn catalogue(&self, set: SetId, created: i64, parity: (u8, u8), plan: &Plan) -> Catalogue {
        let mut place: HashMap<PackId, VolumeRef> = HashMap::new();
        let mut packs: Vec<PackPlace> = Vec::new();
        for (i, v) in plan.data.iter().enumerate() {
            for (id, len) in v {
                place.insert(*id, (set, i as u32 + 1));
                packs.push(PackPlace {
                    id: *id,
                    set,
                    volume: i as u32 + 1,
                    len: *len,
                });
            }
        }
        let mut bases = Vec::new();
        if let Some(b) = &self.base {
            packs.extend(b.packs.iter().cloned());
            for p in &b.packs {
                place.insert(p.id, (p.set, p.volume));
            }
            bases.extend(b.bases.iter().cloned());
            bases.push((b.set, b.volumes.len() as u32));
        }
        bases.sort();
        bases.dedup();
        packs.sort_by_key(|p| p.id);
        let mut snapshots: Vec<(SnapshotId, Vec<VolumeRef>)> = self
            .needs
            .iter()
            .map(|(id, ps)| {
                let mut v: Vec<VolumeRef> =
                    ps.iter().filter_map(|p| place.get(p).copied()).collect();
                v.sort();
                v.dedup();
                (*id, v)
            })
            .collect();
        snapshots.sort_by_key(|s| s.0);
        let (volumes, parity_files) = placements(plan);
        let mut groups: Vec<([u8; 32], Vec<PackId>)> = plan
            .groups
            .iter()
            .map(|g| (g.id, g.packs.iter().map(|p| p.0).collect()))
            .collect();
        groups.sort();
        Catalogue {
            set,
            created,
            repository: self.repository,
            parity,
            bases,
            volumes,
            packs,
            parity_files,
            groups,
            snapshots,
        }
    }
}
