//! An export volume set read as one read-only repository
//! (`format-spec/v1/export.md`, "Reading an export"): the union of the
//! volumes found in some directories (the merge property).
//!
//! Invariants:
//! * Nothing is ever written: every write is refused, so immutable media
//!   stay immutable (audits run without a lock, as on read-only storage).
//! * A pack is read from the volume the catalogue places it on; a file
//!   every volume carries a copy of is taken from a copy that matches its
//!   volume's manifest when one does, so one damaged copy does not hide
//!   the intact ones.
//! * A pack on an absent volume is an error of kind
//!   [`ErrorKind::VolumesMissing`] naming the volume, unless an asker was
//!   set: it is then asked for (one question at a time) and the
//!   directories it names are scanned.

mod volume;

pub use volume::Volume;

use crate::backend::{Backend, Kind};
use crate::error::{Error, ErrorKind, Result};
use crate::format::export::{Catalogue, SetId, VolumeRef, CATALOGUE_NAME, MAX_CATALOGUE};
use crate::id::{PackId, SnapshotId};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Asked for missing volumes (by name and description); returns more
/// directories to look in (the ones given so far are looked at again
/// anyway), or an error to stop.
pub type VolumeAsker = dyn Fn(&[String]) -> Result<Vec<PathBuf>> + Send + Sync;

#[derive(Default)]
struct Scan {
    volumes: BTreeMap<VolumeRef, Arc<Volume>>,
    catalogues: BTreeMap<SetId, Catalogue>,
}

/// A read-only union of export volumes.
pub struct ExportBackend {
    dirs: Mutex<Vec<PathBuf>>,
    scan: RwLock<Scan>,
    asker: Option<Box<VolumeAsker>>,
    asking: Mutex<()>,
}

fn read_only() -> Error {
    Error::invalid(
        "an export is read-only (immutable media): restore from it, or bring its snapshots into a repository with `cairn import`",
    )
}

impl ExportBackend {
    /// The volumes in `dirs` (each a volume, or a directory holding
    /// volumes). Fails with `RepositoryNotFound` if there is none.
    pub fn open(dirs: Vec<PathBuf>, asker: Option<Box<VolumeAsker>>) -> Result<Self> {
        let b = ExportBackend {
            dirs: Mutex::new(Vec::new()),
            scan: RwLock::new(Scan::default()),
            asker,
            asking: Mutex::new(()),
        };
        b.add_dirs(dirs)?;
        if b.read_scan().volumes.is_empty() {
            return Err(Error::new(
                ErrorKind::RepositoryNotFound,
                format!("no Cairn export volume in {}", b.location_text()),
            ));
        }
        Ok(b)
    }

    fn read_scan(&self) -> std::sync::RwLockReadGuard<'_, Scan> {
        self.scan.read().unwrap_or_else(|p| p.into_inner())
    }

    fn location_text(&self) -> String {
        let dirs = self.dirs.lock().unwrap_or_else(|p| p.into_inner());
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Look for volumes in more directories.
    pub fn add_dirs(&self, dirs: Vec<PathBuf>) -> Result<()> {
        let mut found = Vec::new();
        for d in &dirs {
            if let Some(v) = Volume::probe(d)? {
                found.push(v);
                continue;
            }
            let Ok(entries) = std::fs::read_dir(d) else {
                return Err(Error::new(
                    ErrorKind::RepositoryNotFound,
                    format!("{} is not a directory", d.display()),
                ));
            };
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                if let Some(v) = Volume::probe(&p)? {
                    found.push(v);
                }
            }
        }
        let mut scan = self.scan.write().unwrap_or_else(|p| p.into_inner());
        for v in found {
            let key = (v.label.set, v.label.n);
            if !scan.catalogues.contains_key(&v.label.set) {
                if let Ok(c) = v
                    .read_plain(CATALOGUE_NAME, MAX_CATALOGUE)
                    .and_then(|b| Catalogue::decode(&b))
                {
                    if c.set == v.label.set {
                        scan.catalogues.insert(c.set, c);
                    }
                }
            }
            scan.volumes.entry(key).or_insert_with(|| Arc::new(v));
        }
        let mut known = self.dirs.lock().unwrap_or_else(|p| p.into_inner());
        for d in dirs {
            if !known.contains(&d) {
                known.push(d);
            }
        }
        Ok(())
    }

    /// Look again in every directory given so far (a medium was mounted).
    pub fn rescan(&self) -> Result<()> {
        let dirs = self.dirs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.add_dirs(dirs)
    }

    /// The catalogue of every set present, by set ID.
    pub fn catalogues(&self) -> Vec<Catalogue> {
        self.read_scan().catalogues.values().cloned().collect()
    }

    /// Volume `r`, if present.
    pub fn volume(&self, r: &VolumeRef) -> Option<Arc<Volume>> {
        self.read_scan().volumes.get(r).cloned()
    }

    /// Names and descriptions of absent volumes among `want`.
    fn absent(&self, want: &BTreeSet<VolumeRef>) -> Vec<String> {
        let scan = self.read_scan();
        want.iter()
            .filter(|r| !scan.volumes.contains_key(r))
            .map(|(set, n)| {
                let m = scan
                    .catalogues
                    .values()
                    .find_map(|c| c.volume_count(set))
                    .unwrap_or(*n);
                format!(
                    "{} (volume {n} of {m} of export set {})",
                    Catalogue::volume_name(set, *n, m),
                    set.to_hex()
                )
            })
            .collect()
    }

    /// The volumes snapshot `id` needs that are absent (by the catalogue
    /// of the set that exported it).
    pub fn missing_for(&self, id: &SnapshotId) -> Vec<String> {
        let want: BTreeSet<VolumeRef> = self
            .read_scan()
            .catalogues
            .values()
            .filter_map(|c| c.needs(id))
            .flatten()
            .copied()
            .collect();
        self.absent(&want)
    }

    /// Every volume of every set present (and of their bases) that is absent.
    pub fn missing_all(&self) -> Vec<String> {
        let mut want = BTreeSet::new();
        for c in self.read_scan().catalogues.values() {
            want.extend((1..=c.volumes.len() as u32).map(|n| (c.set, n)));
            for (b, m) in &c.bases {
                want.extend((1..=*m).map(|n| (*b, n)));
            }
        }
        self.absent(&want)
    }

    /// Make sure the volumes `missing` computes are present: ask for them
    /// if an asker was set, else fail listing them.
    pub fn require(&self, missing: &dyn Fn(&Self) -> Vec<String>) -> Result<()> {
        loop {
            let absent = missing(self);
            if absent.is_empty() {
                return Ok(());
            }
            match &self.asker {
                Some(ask) => {
                    let _one = self.asking.lock().unwrap_or_else(|p| p.into_inner());
                    let dirs = ask(&absent)?;
                    self.rescan()?;
                    self.add_dirs(dirs)?;
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::VolumesMissing,
                        format!(
                            "the export lacks {} this needs: {}; put {} beside the others or name where {} with --volumes-at DIR",
                            if absent.len() == 1 { "a volume" } else { "volumes" },
                            absent.join(", "),
                            if absent.len() == 1 { "it" } else { "them" },
                            if absent.len() == 1 { "it is" } else { "they are" }
                        ),
                    ))
                }
            }
        }
    }

    /// The volume holding pack `name`, asking for it if needed.
    fn pack_volume(&self, name: &str) -> Result<Arc<Volume>> {
        let id = PackId::from_hex(name)
            .map_err(|_| Error::new(ErrorKind::NotFound, format!("data/{name}: file not found")))?;
        let place = |s: &Scan| {
            s.catalogues
                .values()
                .find_map(|c| c.pack(&id).map(|p| (p.set, p.volume)))
        };
        let Some(at) = place(&self.read_scan()) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{}: no catalogue names this pack", Kind::Data.path_of(name)),
            ));
        };
        let want = BTreeSet::from([at]);
        self.require(&|b: &Self| b.absent(&want))?;
        self.read_scan()
            .volumes
            .get(&at)
            .cloned()
            .ok_or_else(|| Error::internal("volume vanished after it was found"))
    }

    /// The volumes holding a copy of a replicated file, best copy first.
    fn copies(&self, kind: Kind, name: &str) -> Vec<Arc<Volume>> {
        self.read_scan()
            .volumes
            .values()
            .filter(|v| v.has(kind, name))
            .cloned()
            .collect()
    }

    /// The volume to read `kind`/`name` from.
    fn locate(&self, kind: Kind, name: &str) -> Result<Arc<Volume>> {
        if kind == Kind::Data {
            return self.pack_volume(name);
        }
        self.copies(kind, name).into_iter().next().ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{}: file not found in the export", kind.path_of(name)),
            )
        })
    }
}

impl Backend for ExportBackend {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }
    fn location(&self) -> String {
        format!("export:{}", self.location_text())
    }
    fn make_available(&self, need: &crate::backend::Need) -> Result<()> {
        match need {
            crate::backend::Need::Snapshot(id) => self.require(&|b: &Self| b.missing_for(id)),
            crate::backend::Need::Everything => self.require(&|b: &Self| b.missing_all()),
        }
    }
    fn create(&self) -> Result<()> {
        Err(read_only())
    }
    fn write(&self, _: Kind, _: &str, _: &[u8]) -> Result<()> {
        Err(read_only())
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        self.read_max(kind, name, u64::MAX)
    }
    fn read_max(&self, kind: Kind, name: &str, max: u64) -> Result<Vec<u8>> {
        if kind == Kind::Data {
            return self.pack_volume(name)?.read_max(kind, name, max);
        }
        let copies = self.copies(kind, name);
        let mut first = None;
        for v in &copies {
            match v.read_max(kind, name, max) {
                Ok(b) if v.matches_manifest(kind, name, &b) => return Ok(b),
                other => {
                    first.get_or_insert(other);
                }
            }
        }
        first.unwrap_or_else(|| {
            Err(Error::new(
                ErrorKind::NotFound,
                format!("{}: file not found in the export", kind.path_of(name)),
            ))
        })
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.locate(kind, name)?.read_range(kind, name, offset, len)
    }
    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        self.locate(kind, name)?.size(kind, name)
    }
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        let scan = self.read_scan();
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        if kind == Kind::Data {
            for c in scan.catalogues.values() {
                for p in &c.packs {
                    out.insert(p.id.to_hex(), p.len);
                }
            }
        } else {
            for v in scan.volumes.values() {
                out.extend(v.list(kind)?);
            }
        }
        Ok(out.into_iter().collect())
    }
    fn remove(&self, _: Kind, _: &str) -> Result<()> {
        Err(read_only())
    }
}
