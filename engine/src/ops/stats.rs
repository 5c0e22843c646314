//! `stats`: how big snapshots are, logically and in storage, with
//! restic's three counting modes (see [`StatsMode`]).
//!
//! One walk over the chosen snapshots computes everything; a subtree met
//! again (in the same or another snapshot) is not walked again: its
//! restore size and file count are remembered by tree ID, and its blobs
//! and contents are already in the sets. (Subtrees holding hard links are
//! the exception: a restore writes a hard-link group once, so their size
//! depends on the snapshot they are in.) Stored sizes come from the index
//! (and pack sizes from the storage's listing); no pack is read.
//!
//! Invariants: every walk is bounded by [`WalkGuard`] (cycles, depth);
//! ratios are `None`, never infinite, when their denominator is zero.

use crate::backend::Kind;
use crate::error::{Error, Result};
use crate::format::index::IndexFile;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Extent, NodeKind};
use crate::id::{BlobId, IndexId, PackId, SnapshotId, TreeId};
use crate::repo::browse::WalkGuard;
use crate::repo::pack::BlobType;
use crate::repo::Repository;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What `total_size` and `total_file_count` count (restic's modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatsMode {
    /// Every file as a restore would write it: sizes summed over every
    /// file entry of every snapshot, a hard-link group once per snapshot
    /// (the default).
    RestoreSize,
    /// Unique files: entries with the same content count once.
    Files,
    /// Unique blobs the snapshots reference, at their stored size.
    RawData,
}

impl StatsMode {
    /// Parse `restore-size`, `files` or `raw-data`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "restore-size" => Ok(StatsMode::RestoreSize),
            "files" | "files-by-contents" => Ok(StatsMode::Files),
            "raw-data" => Ok(StatsMode::RawData),
            _ => Err(Error::invalid(format!(
                "unknown stats mode '{s}': use restore-size, files or raw-data"
            ))),
        }
    }
}

/// The unique blobs the snapshots reference.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BlobTotals {
    /// Content chunks.
    pub data_blobs: u64,
    /// Trees (directories).
    pub tree_blobs: u64,
    /// Plaintext bytes of those blobs.
    pub uncompressed_size: u64,
    /// Bytes they take in packs (compressed and sealed).
    pub stored_size: u64,
    /// Packs holding at least one of them.
    pub packs: u64,
}

/// Everything the repository stores, referenced or not.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RepositoryTotals {
    /// Pack files in the storage.
    pub packs: u64,
    /// Their total size in bytes.
    pub packs_size: u64,
    /// Blobs the index lists.
    pub blobs: u64,
    /// Their plaintext bytes.
    pub uncompressed_size: u64,
    /// Their stored bytes.
    pub stored_size: u64,
}

/// The report; `total_size` and `total_file_count` mean what `mode` says,
/// the rest is the same in every mode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatsReport {
    /// The counting mode.
    pub mode: StatsMode,
    /// Snapshots counted.
    pub snapshots_count: u64,
    /// restore-size: logical bytes a restore of each snapshot writes
    /// (every file entry; a hard-link group once); files: logical
    /// bytes of each unique content once; raw-data: stored bytes of the
    /// unique blobs.
    pub total_size: u64,
    /// restore-size and raw-data: file entries; files: unique contents.
    pub total_file_count: u64,
    /// restore-size's total, whatever the mode.
    pub restore_size: u64,
    /// File entries, counted in every snapshot they appear in.
    pub file_entries: u64,
    /// Distinct file contents.
    pub unique_files: u64,
    /// The unique blobs referenced.
    pub blobs: BlobTotals,
    /// `restore_size` / plaintext bytes of the unique chunks.
    pub dedup_ratio: Option<f64>,
    /// Plaintext / stored bytes of the unique blobs.
    pub compression_ratio: Option<f64>,
    /// Whole-repository totals from the index (only when every snapshot
    /// was counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<RepositoryTotals>,
}

/// Count `snaps` in `mode`; `whole` adds the repository's totals.
pub fn stats(
    repo: &Repository,
    snaps: &[(SnapshotId, Snapshot)],
    mode: StatsMode,
    whole: bool,
) -> Result<StatsReport> {
    let mut c = Counter {
        repo,
        memo: HashMap::new(),
        trees: HashSet::new(),
        chunks: HashSet::new(),
        contents: HashMap::new(),
        chunk_plain: 0,
    };
    let (mut restore_size, mut file_entries) = (0u64, 0u64);
    for (id, snap) in snaps {
        let mut guard = WalkGuard::new(snap);
        let (size, files) = c
            .tree(&snap.tree, &mut guard, &mut HashSet::new())
            .map_err(|e| e.context(format!("snapshot {}", id.short())))?;
        restore_size = restore_size.saturating_add(size);
        file_entries += files;
    }
    let blobs = c.blob_totals()?;
    let unique_size: u64 = c.contents.values().sum();
    let chunk_plain = c.chunk_plain;
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    Ok(StatsReport {
        mode,
        snapshots_count: snaps.len() as u64,
        total_size: match mode {
            StatsMode::RestoreSize => restore_size,
            StatsMode::Files => unique_size,
            StatsMode::RawData => blobs.stored_size,
        },
        total_file_count: match mode {
            StatsMode::Files => c.contents.len() as u64,
            _ => file_entries,
        },
        restore_size,
        file_entries,
        unique_files: c.contents.len() as u64,
        dedup_ratio: ratio(restore_size, chunk_plain),
        compression_ratio: ratio(blobs.uncompressed_size, blobs.stored_size),
        blobs,
        repository: if whole {
            Some(repository_totals(repo)?)
        } else {
            None
        },
    })
}

struct Counter<'r> {
    repo: &'r Repository,
    /// Restore size and file entries below each tree walked.
    memo: HashMap<TreeId, (u64, u64)>,
    trees: HashSet<TreeId>,
    chunks: HashSet<BlobId>,
    /// Each distinct content (hash of its extent list) and its size.
    contents: HashMap<[u8; 32], u64>,
    /// Plaintext bytes of the unique chunks (set by `blob_totals`).
    chunk_plain: u64,
}

impl Counter<'_> {
    /// Restore size and file entries below tree `id`. A restore writes a
    /// hard-link group once, so a file with more than one link adds its
    /// size only the first time its (device, inode) is met in `links`
    /// (one set per snapshot); a subtree holding such files is therefore
    /// not remembered (its size depends on what the snapshot met before).
    fn tree(
        &mut self,
        id: &TreeId,
        guard: &mut WalkGuard,
        links: &mut HashSet<(u64, u64)>,
    ) -> Result<(u64, u64)> {
        if let Some(t) = self.memo.get(id) {
            return Ok(*t);
        }
        crate::progress::check_interrupt()?;
        guard.enter(id)?;
        self.trees.insert(*id);
        let tree = self.repo.read_tree(id)?;
        let (mut size, mut files) = (0u64, 0u64);
        let mut linked = false;
        for n in &tree.nodes {
            guard.node(n)?;
            match (n.kind, n.subtree) {
                (NodeKind::File, _) => {
                    files += 1;
                    if n.nlink <= 1 || links.insert((n.dev, n.inode)) {
                        size = size.saturating_add(n.size);
                    }
                    linked |= n.nlink > 1;
                    self.content(n);
                }
                (NodeKind::Dir, Some(sub)) => {
                    let (s, f) = self.tree(&sub, guard, links)?;
                    size = size.saturating_add(s);
                    files += f;
                    // Only subtrees without hard links are remembered.
                    linked |= !self.memo.contains_key(&sub);
                }
                _ => {}
            }
        }
        guard.leave();
        if !linked {
            self.memo.insert(*id, (size, files));
        }
        Ok((size, files))
    }

    /// Record a file's chunks and its content (hash of its extent list).
    fn content(&mut self, n: &crate::format::tree::Node) {
        let mut h = blake3::Hasher::new();
        for e in &n.content {
            match e {
                Extent::Chunk(c) => {
                    h.update(&[0]).update(&c.0);
                    self.chunks.insert(BlobId(c.0));
                }
                Extent::Hole(len) => {
                    h.update(&[1]).update(&len.to_le_bytes());
                }
            }
        }
        self.contents.insert(*h.finalize().as_bytes(), n.size);
    }

    /// Look up every unique blob in the index; sets `chunk_plain`.
    fn blob_totals(&mut self) -> Result<BlobTotals> {
        let mut t = BlobTotals::default();
        let mut packs: HashSet<PackId> = HashSet::new();
        let mut chunk_plain = 0u64;
        let chunks = self.chunks.iter().map(|b| (*b, BlobType::Chunk));
        let trees = self.trees.iter().map(|t| (BlobId(t.0), BlobType::Tree));
        for (id, ty) in chunks.chain(trees) {
            crate::progress::check_interrupt()?;
            let loc = self.repo.locate(&id, ty)?;
            packs.insert(loc.pack);
            let plain = u64::from(loc.entry.plain_len);
            t.uncompressed_size += plain;
            t.stored_size += u64::from(loc.entry.sealed_len);
            match ty {
                BlobType::Chunk => {
                    t.data_blobs += 1;
                    chunk_plain += plain;
                }
                BlobType::Tree => t.tree_blobs += 1,
            }
        }
        t.packs = packs.len() as u64;
        self.chunk_plain = chunk_plain;
        Ok(t)
    }
}

/// What the index and the storage's listing say the repository holds: a
/// pack listed by several index files counts once (the first listing).
fn repository_totals(repo: &Repository) -> Result<RepositoryTotals> {
    let backend = repo.backend();
    let mut t = RepositoryTotals::default();
    for (_, size) in backend.list(Kind::Data)? {
        t.packs += 1;
        t.packs_size += size;
    }
    let mut seen: HashSet<PackId> = HashSet::new();
    let mut names = backend.list(Kind::Index)?;
    names.sort();
    for (name, _) in names {
        crate::progress::check_interrupt()?;
        let Ok(id) = IndexId::from_hex(&name) else {
            continue;
        };
        let bytes = backend.read_max(Kind::Index, &name, crate::format::index::MAX_INDEX_FILE)?;
        for p in IndexFile::open(repo.sealer(), &id, &bytes)?.packs {
            if !seen.insert(p.pack) {
                continue;
            }
            for b in p.blobs {
                t.blobs += 1;
                t.uncompressed_size += u64::from(b.plain_len);
                t.stored_size += u64::from(b.sealed_len);
            }
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_serialize_as_restic_names() {
        for (s, m) in [
            ("restore-size", StatsMode::RestoreSize),
            ("files", StatsMode::Files),
            ("raw-data", StatsMode::RawData),
        ] {
            assert_eq!(StatsMode::parse(s).unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), s);
        }
        let e = StatsMode::parse("blobs-per-file").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    }
}
