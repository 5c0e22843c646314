//! `export verify [--repair]`: check every volume present against its
//! manifest and the catalogue, say which are missing, damaged or
//! rebuildable, and rebuild them (`format-spec/v1/export.md`, "Verifying
//! and repairing"). Needs no password: manifests and parity are plaintext
//! functions of the encrypted files.
//!
//! Invariants: a volume is rebuilt into `.<name>.partial` and replaces the
//! old one only when complete ([`super::volume`]); a rebuilt pack is
//! written only if it hashes to its name; replicated files are copied only
//! from copies that match their own volume's manifest.

use super::volume::{hash_reader, VolumeWriter};
use crate::backend::{ExportBackend, Kind, Volume};
use crate::error::{Error, Result};
use crate::format::export::{
    parse_sums, Catalogue, VolumeKind, B3SUMS, CATALOGUE_NAME, LABEL_NAME, SHA256SUMS,
};
use crate::id::PackId;
use crate::ops::Outcome;
use crate::progress::{check_interrupt, Progress};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// A volume's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeState {
    /// Every file matches the manifest and the catalogue.
    Intact,
    /// Some file is missing or differs.
    Damaged,
    /// The volume is not in the directories given.
    Missing,
}

/// One volume's findings.
#[derive(Clone, Debug, Serialize)]
pub struct VolumeStatus {
    /// The volume's name.
    pub name: String,
    /// Its set.
    pub set: String,
    /// Its number.
    pub volume: u32,
    /// State found.
    pub state: VolumeState,
    /// What is wrong.
    pub problems: Vec<String>,
    /// Can it be rebuilt from the other volumes?
    pub rebuildable: bool,
    /// Was it rebuilt by this run (`--repair`)?
    pub repaired: bool,
}

/// The result of `export verify`. Serialized as its `--json` document.
#[derive(Clone, Debug, Serialize)]
pub struct ExportVerifyReport {
    /// Every volume of every set found (and of their bases).
    pub volumes: Vec<VolumeStatus>,
    /// Success when every volume is intact at the end.
    pub outcome: Outcome,
}

/// Which repository file a volume path is, if any.
fn kind_of(rel: &str) -> Option<(Kind, &str)> {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.path_of(name) == rel && k.dir() == dir.split('/').next().unwrap_or(""))?;
    kind.is_valid_name(name).then_some((kind, name))
}

/// Digests of a file of a volume, streamed.
fn digest(v: &Volume, rel: &str) -> Result<([u8; 32], [u8; 32])> {
    if rel == LABEL_NAME || rel == CATALOGUE_NAME {
        let b = v.read_plain(rel, crate::format::export::MAX_CATALOGUE)?;
        return hash_reader(&mut b.as_slice()).map_err(|e| Error::from_io(rel.to_owned(), e));
    }
    let (kind, name) =
        kind_of(rel).ok_or_else(|| Error::corrupt(format!("{rel}: not a file of a volume")))?;
    let size = v.size(kind, name)?;
    let mut r = RangeReader {
        v,
        kind,
        name,
        off: 0,
        size,
    };
    hash_reader(&mut r).map_err(|e| Error::from_io(rel.to_owned(), e))
}

struct RangeReader<'a> {
    v: &'a Volume,
    kind: Kind,
    name: &'a str,
    off: u64,
    size: u64,
}

impl std::io::Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.size - self.off).min(1 << 20);
        if n == 0 {
            return Ok(0);
        }
        let b = self
            .v
            .read_range(self.kind, self.name, self.off, n)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        buf[..b.len()].copy_from_slice(&b);
        self.off += b.len() as u64;
        Ok(b.len())
    }
}

/// Check one present volume: its problems and the packs on it that are
/// not intact.
fn check_volume(v: &Volume, cat: &Catalogue, n: u32) -> (Vec<String>, BTreeSet<PackId>) {
    let mut problems = Vec::new();
    let mut bad = BTreeSet::new();
    let read = |name| v.read_plain(name, 1 << 30).map(|b| parse_sums(&b)).ok();
    let (b3, sha) = (read(B3SUMS), read(SHA256SUMS));
    for (name, s) in [(B3SUMS, &b3), (SHA256SUMS, &sha)] {
        match s {
            None => problems.push(format!("{name}: missing")),
            Some((_, k)) if *k > 0 => problems.push(format!("{name}: {k} unreadable lines")),
            _ => {}
        }
    }
    let b3: BTreeMap<String, [u8; 32]> = b3.map(|s| s.0.into_iter().collect()).unwrap_or_default();
    let sha: BTreeMap<String, [u8; 32]> =
        sha.map(|s| s.0.into_iter().collect()).unwrap_or_default();
    let mut paths: BTreeSet<String> = b3.keys().chain(sha.keys()).cloned().collect();
    let packs: Vec<&crate::format::export::PackPlace> = cat
        .packs
        .iter()
        .filter(|p| p.set == cat.set && p.volume == n)
        .collect();
    paths.insert(LABEL_NAME.into());
    paths.insert(CATALOGUE_NAME.into());
    paths.extend(packs.iter().map(|p| Kind::Data.path_of(&p.id.to_hex())));
    paths.extend(
        cat.parity_files
            .iter()
            .filter(|p| p.volume == n)
            .map(|p| Kind::Parity.path_of(&p.name)),
    );
    for rel in paths {
        if check_interrupt().is_err() {
            break;
        }
        let verdict = match digest(v, &rel) {
            Err(_) => Some("missing or unreadable".to_owned()),
            Ok((hb, hs)) => {
                let (ob, os) = (b3.get(&rel) == Some(&hb), sha.get(&rel) == Some(&hs));
                let named = kind_of(&rel).is_none_or(|(k, name)| {
                    k != Kind::Data || blake3::Hash::from(hb).to_hex().as_str() == name
                });
                match (ob, os, named) {
                    (true, true, true) => None,
                    (false, false, _) | (_, _, false) => Some("damaged".to_owned()),
                    (true, false, _) => Some(format!("its {SHA256SUMS} line is damaged")),
                    (false, true, _) => Some(format!("its {B3SUMS} line is damaged")),
                }
            }
        };
        if let Some(what) = verdict {
            if let Some((Kind::Data, name)) = kind_of(&rel) {
                if what == "damaged" || what.starts_with("missing") {
                    bad.extend(PackId::from_hex(name).ok());
                }
            }
            problems.push(format!("{rel}: {what}"));
        }
    }
    (problems, bad)
}

/// One volume's pass-1 findings: number, the volume if present, its
/// problems, and its packs that are not intact.
type Found = (u32, Option<Arc<Volume>>, Vec<String>, BTreeSet<PackId>);

/// Verify (and with `repair`, rebuild) every volume in `dirs`.
pub fn verify(
    dirs: Vec<PathBuf>,
    repair: bool,
    progress: &dyn Progress,
) -> Result<ExportVerifyReport> {
    let b = ExportBackend::open(dirs, None)?;
    let mut out = Vec::new();
    for cat in b.catalogues() {
        let m = cat.volumes.len() as u32;
        // Pass 1: what is wrong where.
        let mut found: Vec<Found> = Vec::new();
        for n in 1..=m {
            progress.file(std::path::Path::new(&Catalogue::volume_name(
                &cat.set, n, m,
            )));
            match b.volume(&(cat.set, n)) {
                Some(v) => {
                    let (p, bad) = check_volume(&v, &cat, n);
                    found.push((n, Some(v), p, bad));
                }
                None => {
                    let lost = cat
                        .packs
                        .iter()
                        .filter(|p| p.set == cat.set && p.volume == n)
                        .map(|p| p.id)
                        .collect();
                    found.push((n, None, vec!["missing".into()], lost));
                }
            }
        }
        let lost_packs: BTreeSet<PackId> = found.iter().flat_map(|f| f.3.iter().copied()).collect();
        let lost_parity: BTreeSet<String> = cat
            .parity_files
            .iter()
            .filter(|p| {
                found.iter().any(|f| {
                    f.0 == p.volume
                        && (f.1.is_none()
                            || f.2
                                .iter()
                                .any(|x| x.starts_with(&Kind::Parity.path_of(&p.name))))
                })
            })
            .map(|p| p.name.clone())
            .collect();
        for (n, v, problems, bad) in found {
            let name = Catalogue::volume_name(&cat.set, n, m);
            let state = match (&v, problems.is_empty()) {
                (None, _) => VolumeState::Missing,
                (Some(_), true) => VolumeState::Intact,
                (Some(_), false) => VolumeState::Damaged,
            };
            let rebuildable = state == VolumeState::Intact
                || rebuildable(&cat, n, &bad, &lost_packs, &lost_parity);
            let mut status = VolumeStatus {
                name,
                set: cat.set.to_hex(),
                volume: n,
                state,
                problems,
                rebuildable,
                repaired: false,
            };
            if repair && state != VolumeState::Intact && rebuildable {
                rebuild(&b, &cat, n, v.as_deref(), &bad)?;
                status.repaired = true;
            }
            out.push(status);
        }
    }
    let intact = out
        .iter()
        .all(|v| v.state == VolumeState::Intact || v.repaired);
    Ok(ExportVerifyReport {
        volumes: out,
        outcome: Outcome::of_audit(intact),
    })
}

/// Can volume `n`'s lost packs and parity files be recomputed?
fn rebuildable(
    cat: &Catalogue,
    n: u32,
    bad: &BTreeSet<PackId>,
    lost_packs: &BTreeSet<PackId>,
    lost_parity: &BTreeSet<String>,
) -> bool {
    let m = usize::from(cat.parity.1);
    for (gid, members) in &cat.groups {
        let Some(g) = cat.group(gid) else {
            return false;
        };
        let lost_members = members.iter().filter(|p| lost_packs.contains(p)).count();
        let lost_par = (0..g.m)
            .filter(|j| lost_parity.contains(&g.file_name(*j)))
            .count();
        let needs_packs = members.iter().any(|p| bad.contains(p));
        let needs_parity = cat.parity_files.iter().any(|p| {
            p.volume == n
                && (0..g.m).any(|j| g.file_name(j) == p.name)
                && lost_parity.contains(&p.name)
        });
        if needs_packs && lost_members + lost_par > m {
            return false;
        }
        if needs_parity && lost_members > 0 {
            return false;
        }
    }
    // Packs no group covers cannot come back.
    bad.iter()
        .all(|p| cat.groups.iter().any(|(_, ms)| ms.contains(p)))
}

/// Rebuild volume `n` next to the others (see the module invariants).
fn rebuild(
    b: &ExportBackend,
    cat: &Catalogue,
    n: u32,
    own: Option<&Volume>,
    bad: &BTreeSet<PackId>,
) -> Result<()> {
    let m = cat.volumes.len() as u32;
    let name = Catalogue::volume_name(&cat.set, n, m);
    let peers: Vec<Arc<Volume>> = (1..=m).filter_map(|i| b.volume(&(cat.set, i))).collect();
    let like = own
        .or(peers.first().map(|v| &**v))
        .ok_or_else(|| Error::corrupt("no volume of the set is present"))?;
    let tar = like.path.extension().is_some_and(|e| e == "tar");
    let dir = like.path.parent().map(PathBuf::from).unwrap_or_default();
    let mut w = VolumeWriter::begin(&dir, &name)?;
    w.put_plain(LABEL_NAME, &cat.label(n))?;
    w.put_plain(CATALOGUE_NAME, &cat.encode())?;
    // Replicated files: the names any peer's manifest lists, each from a
    // copy of this set that matches its own volume's manifest.
    let mut names: BTreeSet<(Kind, String)> = BTreeSet::new();
    for v in &peers {
        if let Ok(s) = v.read_plain(B3SUMS, 1 << 30) {
            for (rel, _) in parse_sums(&s).0 {
                if let Some((k, nm)) = kind_of(&rel) {
                    if super::REPLICATED.contains(&k) {
                        names.insert((k, nm.to_owned()));
                    }
                }
            }
        }
    }
    for (k, nm) in names {
        let copy = peers.iter().find_map(|v| {
            let bytes = v.read_max(k, &nm, 1 << 30).ok()?;
            v.matches_manifest(k, &nm, &bytes).then_some(bytes)
        });
        let bytes = copy.ok_or_else(|| {
            Error::corrupt(format!("no intact copy of {} in the set", k.path_of(&nm)))
        })?;
        w.put(k, &nm, &bytes)?;
    }
    let kind = cat.volumes.get(n as usize - 1).map(|v| v.kind);
    if kind == Some(VolumeKind::Data) {
        for p in cat
            .packs
            .iter()
            .filter(|p| p.set == cat.set && p.volume == n)
        {
            check_interrupt()?;
            if !bad.contains(&p.id) {
                w.copy_pack(b, &p.id, p.len)?;
                continue;
            }
            let (gid, _) = cat
                .groups
                .iter()
                .find(|(_, ms)| ms.contains(&p.id))
                .ok_or_else(|| {
                    Error::corrupt(format!("pack {} is in no parity group", p.id.short()))
                })?;
            let g = cat
                .group(gid)
                .ok_or_else(|| Error::corrupt("bad group record"))?;
            crate::ops::parity::repair::rebuild_into(b, w.backend(), &g, &[p.id])?;
        }
    } else {
        for p in cat.parity_files.iter().filter(|p| p.volume == n) {
            check_interrupt()?;
            let (gid, j) = p
                .name
                .split_once('.')
                .ok_or_else(|| Error::corrupt("bad parity name"))?;
            let gid: [u8; 32] = PackId::from_hex(gid)?.0;
            let j: u8 = j.parse().map_err(|_| Error::corrupt("bad parity name"))?;
            let g = cat
                .group(&gid)
                .ok_or_else(|| Error::corrupt("parity file of an unknown group"))?;
            crate::ops::parity::write_shards(b, w.backend(), &g, &[j])?;
        }
    }
    w.finish(tar.then_some(u64::try_from(cat.created).unwrap_or(0)))?;
    Ok(())
}
