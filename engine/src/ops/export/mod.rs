//! `export`: some snapshots of a repository as a self-contained, immutable
//! volume set for cold media (`format-spec/v1/export.md`); `export
//! verify` and its repair live in [`check`].
//!
//! Invariants:
//! * The repository is read under a shared lock (no prune sweeps what is
//!   being exported) and is never written, apart from the lock.
//! * The set holds exactly the packs the chosen snapshots reach (minus
//!   those a base set already holds), index files for exactly those packs,
//!   the snapshot files unchanged, every key file, the config, marker and
//!   spec, export parity and the manifest.
//! * Each volume fits `volume_size` and appears only when complete
//!   ([`volume`]); a pack is exported only if it hashes to its name.

pub mod check;
mod gather;
pub mod plan;
pub mod volume;

use crate::backend::Kind;
use crate::error::{Error, Result};
use crate::format::export::{Catalogue, ParityPlace, SetId, VolumeEntry, VolumeKind, LABEL_NAME};
use crate::format::ustar;
use crate::progress::{check_interrupt, Progress};
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use volume::VolumeWriter;

/// The default export parity: groups of up to 16 packs, one parity file
/// each, so the loss of any one volume is survivable.
pub const DEFAULT_PARITY: (u8, u8) = (16, 1);

/// What to export and how.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Directory that receives the volumes (created if missing).
    pub to: PathBuf,
    /// Snapshot IDs, prefixes or `latest`; empty means every snapshot.
    pub snapshots: Vec<String>,
    /// Largest size of one volume in bytes.
    pub volume_size: u64,
    /// Write each volume as one POSIX tar file.
    pub tar: bool,
    /// Export parity `(K, M)`; `M = 0` is none.
    pub parity: (u8, u8),
    /// The catalogue of an earlier export this one builds on.
    pub incremental_from: Option<PathBuf>,
}

/// One written volume.
#[derive(Clone, Debug, Serialize)]
pub struct VolumeSummary {
    /// Its file or directory name.
    pub name: String,
    /// `data` or `parity`.
    pub kind: &'static str,
    /// Its size on the medium in bytes.
    pub bytes: u64,
    /// Packs (data volumes) or parity files (parity volumes) on it.
    pub files: u64,
}

/// The result of `export`. Serialized as its `--json` document.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The new set's ID.
    pub set: String,
    /// Where the volumes are.
    pub to: PathBuf,
    /// Earlier sets a restore also needs (incremental exports).
    pub bases: Vec<String>,
    /// Exported snapshots (IDs).
    pub snapshots: Vec<String>,
    /// Packs in this set.
    pub packs: u64,
    /// Their bytes.
    pub pack_bytes: u64,
    /// Packs the snapshots need that a base set already holds.
    pub packs_in_bases: u64,
    /// Bytes of export parity.
    pub parity_bytes: u64,
    /// Export parity, `K+M`.
    pub parity: String,
    /// Every volume written.
    pub volumes: Vec<VolumeSummary>,
    /// Total bytes written.
    pub bytes_written: u64,
    /// Wall-clock seconds.
    pub duration_secs: f64,
}

/// Export snapshots of `repo` (see the module docs).
pub fn export(
    repo: &Repository,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportReport> {
    let started = Instant::now();
    let (k, m) = opts.parity;
    if m > 0 && !(1..=64).contains(&k) || m > 16 {
        return Err(Error::invalid(format!(
            "export parity {k}+{m}: K must be 1 to 64 and M 0 to 16"
        )));
    }
    let _lock = repo.lock(LockMode::Shared)?;
    let g = gather::gather(repo, opts)?;
    let tar = opts.tar;
    let cost = move |path: &str, len: u64| {
        // Two manifest lines of 64 hex digits, the path and separators.
        let sums = 2 * (64 + 3 + 19 + path.len() as u64);
        sums + if tar { ustar::member_len(len) } else { len }
    };
    let fixed: u64 = g
        .meta
        .iter()
        .map(|(kind, name, b)| cost(&kind.path_of(name), b.len() as u64))
        .sum::<u64>()
        + cost(LABEL_NAME, 2048)
        + cost("CATALOGUE", g.catalogue_bound)
        + if tar {
            300 * ustar::BLOCK + 2 * ustar::RECORD
        } else {
            0
        };
    let capacity = opts.volume_size.checked_sub(fixed).ok_or_else(|| {
        Error::invalid(format!(
            "--volume-size {} is too small: the copies of the repository's keys, index, snapshots, spec and the catalogue alone take {fixed} bytes",
            opts.volume_size
        ))
    })?;
    let plan = plan::plan(&g.packs, capacity, &cost, opts.parity)?;
    let mut set = SetId::default();
    crate::crypto::random_bytes(&mut set.0)?;
    let created = crate::format::tree::Timestamp::now().secs;
    let cat = g.catalogue(set, created, opts.parity, &plan);
    let cat_bytes = cat.encode();
    volume::private_dir(&opts.to)?;
    let backend = repo.backend();
    let mut volumes = Vec::new();
    let total = plan.volumes() as u32;
    let mtime = u64::try_from(created).unwrap_or(0);
    for n in 1..=total {
        check_interrupt()?;
        let name = Catalogue::volume_name(&set, n, total);
        progress.file(std::path::Path::new(&name));
        let mut w = VolumeWriter::begin(&opts.to, &name)?;
        w.put_plain(LABEL_NAME, &cat.label(n))?;
        w.put_plain(crate::format::export::CATALOGUE_NAME, &cat_bytes)?;
        for (kind, fname, bytes) in &g.meta {
            w.put(*kind, fname, bytes)?;
        }
        let idx = n as usize - 1;
        let (kind, files) = if let Some(packs) = plan.data.get(idx) {
            for (id, len) in packs {
                w.copy_pack(&**backend, id, *len)?;
                progress.bytes(*len);
            }
            ("data", packs.len())
        } else {
            let files = &plan.parity[idx - plan.data.len()];
            for (gi, j) in files {
                crate::ops::parity::write_shards(
                    &**backend,
                    w.backend(),
                    &plan.groups[*gi],
                    &[*j],
                )?;
            }
            ("parity", files.len())
        };
        let bytes = w.finish(tar.then_some(mtime))?;
        if bytes > opts.volume_size {
            return Err(Error::internal(format!(
                "volume {name} came out at {bytes} bytes, more than --volume-size {}",
                opts.volume_size
            )));
        }
        volumes.push(VolumeSummary {
            name: if tar { format!("{name}.tar") } else { name },
            kind,
            bytes,
            files: files as u64,
        });
    }
    let parity_bytes = cat.parity_files.iter().map(|p| p.len).sum();
    Ok(ExportReport {
        set: set.to_hex(),
        to: opts.to.clone(),
        bases: cat.bases.iter().map(|(b, _)| b.to_hex()).collect(),
        snapshots: g.snapshots.iter().map(|s| s.to_hex()).collect(),
        packs: g.packs.len() as u64,
        pack_bytes: g.packs.iter().map(|p| p.1).sum(),
        packs_in_bases: g.in_bases,
        parity_bytes,
        parity: format!("{k}+{m}"),
        bytes_written: volumes.iter().map(|v| v.bytes).sum(),
        volumes,
        duration_secs: started.elapsed().as_secs_f64(),
    })
}

/// The `volume` and `parity` records of a plan (a volume's `bytes` are
/// those of its packs or parity files).
fn placements(plan: &plan::Plan) -> (Vec<VolumeEntry>, Vec<ParityPlace>) {
    let mut vols = Vec::new();
    for (i, packs) in plan.data.iter().enumerate() {
        vols.push(VolumeEntry {
            n: i as u32 + 1,
            kind: VolumeKind::Data,
            bytes: packs.iter().map(|p| p.1).sum(),
        });
    }
    let mut files = Vec::new();
    for (i, fs) in plan.parity.iter().enumerate() {
        let n = (plan.data.len() + i) as u32 + 1;
        let mut bytes = 0;
        for (gi, j) in fs {
            let g = &plan.groups[*gi];
            let len = plan::parity_file_len(g);
            bytes += len;
            files.push(ParityPlace {
                name: g.file_name(*j),
                volume: n,
                len,
            });
        }
        vols.push(VolumeEntry {
            n,
            kind: VolumeKind::Parity,
            bytes,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    (vols, files)
}

/// Kinds whose files every volume carries a copy of.
pub const REPLICATED: [Kind; 5] = [
    Kind::Root,
    Kind::Key,
    Kind::Spec,
    Kind::Index,
    Kind::Snapshot,
];
