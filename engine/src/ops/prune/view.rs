//! A complete, verified reading of the repository's index files and pack
//! listing, as prune needs it (the local cache is not trusted for this).
//!
//! Invariant: loading fails if any index file cannot be read, because an
//! index rewrite that supersedes files it could not read would drop their
//! entries.

use crate::backend::Kind;
use crate::error::{Error, Remedy, Result};
use crate::format::index::{IndexFile, PackEntries};
use crate::id::{IndexId, PackId};
use crate::progress::check_interrupt;
use crate::repo::pack::BlobEntry;
use crate::repo::Repository;
use std::collections::{BTreeMap, HashMap};

/// Index files and packs, read at one moment.
#[derive(Debug, Default)]
pub struct View {
    /// Every index file read, with the packs it names.
    pub files: Vec<(IndexId, Vec<PackId>)>,
    /// Indexed packs and their entries (first listing wins).
    pub packs: BTreeMap<PackId, Vec<BlobEntry>>,
    /// Packs present in `data/`, with their sizes.
    pub stored: HashMap<PackId, u64>,
}

impl View {
    /// Read every index file, then list the packs.
    pub fn load(repo: &Repository) -> Result<Self> {
        let backend = repo.backend();
        let mut v = View::default();
        let mut names = backend.list(Kind::Index)?;
        names.sort();
        for (name, _) in names {
            check_interrupt()?;
            let Ok(id) = IndexId::from_hex(&name) else {
                continue;
            };
            let file = backend
                .read_max(Kind::Index, &name, crate::format::index::MAX_INDEX_FILE)
                .and_then(|b| IndexFile::open(repo.sealer(), &id, &b))
                .map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!("{e}; prune deletes nothing while an index file cannot be read"),
                    )
                    .with_remedy(Remedy::RepairIndex)
                })?;
            let named = file.packs.iter().map(|p| p.pack).collect();
            for p in file.packs {
                v.packs.entry(p.pack).or_insert(p.blobs);
            }
            v.files.push((id, named));
        }
        v.stored = backend
            .list(Kind::Data)?
            .into_iter()
            .filter_map(|(n, size)| PackId::from_hex(&n).ok().map(|id| (id, size)))
            .collect();
        Ok(v)
    }

    /// The index files that name a pack in `gone`: only these are
    /// replaced when it is deleted (`format-spec/v1/gc.md`, P7), so the
    /// rewrite follows what prune deletes, not the size of the index.
    pub fn affected(&self, gone: &dyn Fn(&PackId) -> bool) -> Vec<IndexId> {
        self.affected_files(gone).map(|(id, _)| *id).collect()
    }

    /// [`affected`](Self::affected), with the packs each file names.
    fn affected_files<'v>(
        &'v self,
        gone: &'v dyn Fn(&PackId) -> bool,
    ) -> impl Iterator<Item = &'v (IndexId, Vec<PackId>)> {
        self.files
            .iter()
            .filter(move |(_, packs)| packs.iter().any(gone))
    }

    /// The index files that replace the [`affected`](Self::affected) ones
    /// once the packs in `gone` are deleted: every other pack those files
    /// name, with its entries, split so no file exceeds `per_file` entries.
    pub fn rewritten(&self, gone: &dyn Fn(&PackId) -> bool, per_file: usize) -> Vec<IndexFile> {
        let replaced = self.affected(gone);
        let kept: std::collections::BTreeSet<&PackId> = self
            .affected_files(gone)
            .flat_map(|(_, packs)| packs)
            .filter(|p| !gone(p))
            .collect();
        let mut out = vec![IndexFile {
            supersedes: replaced.clone(),
            packs: Vec::new(),
        }];
        let mut n = 0;
        for pack in kept {
            let Some(blobs) = self.packs.get(pack) else {
                continue;
            };
            if n > 0 && n + blobs.len() > per_file {
                out.push(IndexFile {
                    supersedes: replaced.clone(),
                    packs: Vec::new(),
                });
                n = 0;
            }
            n += blobs.len();
            if let Some(last) = out.last_mut() {
                last.packs.push(PackEntries {
                    pack: *pack,
                    blobs: blobs.clone(),
                });
            }
        }
        out
    }
}
