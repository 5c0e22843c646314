//! One export volume as found on a medium: a directory, or a POSIX tar
//! file read in place (`format-spec/v1/export.md`, "POSIX tar form").
//!
//! Invariants: nothing is reached through a symbolic link (directories go
//! through [`LocalBackend`], which never follows one; tar members are
//! offsets into the one file opened); a tar member is read only within its
//! recorded bounds; a volume is accepted only with a label that parses.

use crate::backend::{Backend, Kind, LocalBackend};
use crate::error::{Error, ErrorKind, Result};
use crate::format::export::{parse_sums, Label, B3SUMS, LABEL_NAME, MAX_LABEL};
use crate::format::ustar::{self, EntryKind};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where a volume's bytes are.
enum Medium {
    Dir(LocalBackend),
    Tar {
        file: File,
        /// Path inside the volume → (offset of the data, length).
        members: HashMap<String, (u64, u64)>,
    },
}

/// A volume found on a medium.
pub struct Volume {
    /// Its label.
    pub label: Label,
    /// Where it is (for messages).
    pub path: PathBuf,
    medium: Medium,
    sums: OnceLock<HashMap<String, [u8; 32]>>,
}

fn open_nofollow(p: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(p)
        .map_err(|e| Error::from_io(format!("opening {}", p.display()), e))
}

fn not_found(rel: &str) -> Error {
    Error::new(ErrorKind::NotFound, format!("{rel}: file not found"))
}

impl Volume {
    /// The volume at `path`, if it is one (a directory with a `VOLUME`
    /// label, or a tar file whose first member is such a directory).
    pub fn probe(path: &Path) -> Result<Option<Volume>> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        let medium = if meta.is_dir() {
            if !path.join(LABEL_NAME).is_file() {
                return Ok(None);
            }
            Medium::Dir(LocalBackend::new(path))
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "tar") {
            let file = open_nofollow(path)?;
            Medium::Tar {
                members: tar_members(&file, meta.len()).map_err(|e| e.context(path.display()))?,
                file,
            }
        } else {
            return Ok(None);
        };
        let mut v = Volume {
            label: Label {
                set: Default::default(),
                n: 1,
                m: 1,
            },
            path: path.to_owned(),
            medium,
            sums: OnceLock::new(),
        };
        let label = v.read_plain(LABEL_NAME, MAX_LABEL)?;
        v.label = Label::decode(&label).map_err(|e| e.context(path.display()))?;
        Ok(Some(v))
    }

    /// One of the export's own files (`VOLUME`, `CATALOGUE`, manifests).
    pub fn read_plain(&self, name: &str, max: u64) -> Result<Vec<u8>> {
        match &self.medium {
            Medium::Dir(b) => {
                let p = Path::new(&b.location()).join(name);
                let f = open_nofollow(&p).map_err(|_| not_found(name))?;
                let mut out = Vec::new();
                f.take(max + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| Error::from_io(format!("reading {}", p.display()), e))?;
                if out.len() as u64 > max {
                    return Err(Error::corrupt(format!("{} is too large", p.display())));
                }
                Ok(out)
            }
            Medium::Tar { .. } => {
                let size = self.size_rel(name)?;
                if size > max {
                    return Err(Error::corrupt(format!(
                        "{name} in {} is too large",
                        self.path.display()
                    )));
                }
                self.range_rel(name, 0, size)
            }
        }
    }

    fn size_rel(&self, rel: &str) -> Result<u64> {
        match &self.medium {
            Medium::Tar { members, .. } => {
                members.get(rel).map(|m| m.1).ok_or_else(|| not_found(rel))
            }
            Medium::Dir(_) => Err(Error::internal("size_rel on a directory volume")),
        }
    }

    fn range_rel(&self, rel: &str, off: u64, len: u64) -> Result<Vec<u8>> {
        let Medium::Tar { file, members } = &self.medium else {
            return Err(Error::internal("range_rel on a directory volume"));
        };
        let (start, size) = *members.get(rel).ok_or_else(|| not_found(rel))?;
        if off.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::corrupt(format!("{rel}: read past its end")));
        }
        let mut buf =
            vec![0u8; usize::try_from(len).map_err(|_| Error::corrupt("read too large"))?];
        file.read_exact_at(&mut buf, start + off)
            .map_err(|e| Error::from_io(format!("reading {rel} in {}", self.path.display()), e))?;
        Ok(buf)
    }

    /// Does the volume hold this repository file?
    pub fn has(&self, kind: Kind, name: &str) -> bool {
        self.size(kind, name).is_ok()
    }

    /// Size of a repository file on this volume.
    pub fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        match &self.medium {
            Medium::Dir(b) => b.size(kind, name),
            Medium::Tar { .. } => self.size_rel(&kind.path_of(name)),
        }
    }

    /// A range of a repository file on this volume.
    pub fn read_range(&self, kind: Kind, name: &str, off: u64, len: u64) -> Result<Vec<u8>> {
        match &self.medium {
            Medium::Dir(b) => b.read_range(kind, name, off, len),
            Medium::Tar { .. } => self.range_rel(&kind.path_of(name), off, len),
        }
    }

    /// The whole file, at most `max` bytes.
    pub fn read_max(&self, kind: Kind, name: &str, max: u64) -> Result<Vec<u8>> {
        match &self.medium {
            Medium::Dir(b) => b.read_max(kind, name, max),
            Medium::Tar { .. } => {
                let size = self.size(kind, name)?;
                if size > max {
                    return Err(crate::backend::too_large(kind, name, size, max));
                }
                self.read_range(kind, name, 0, size)
            }
        }
    }

    /// Repository files of `kind` on this volume, with sizes.
    pub fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        match &self.medium {
            Medium::Dir(b) => match b.list(kind) {
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
                other => other,
            },
            Medium::Tar { members, .. } => {
                let mut out = Vec::new();
                for (rel, (_, size)) in members {
                    let name = rel.rsplit('/').next().unwrap_or("");
                    if kind.path_of(name) == *rel && kind.is_valid_name(name) {
                        out.push((name.to_owned(), *size));
                    }
                }
                Ok(out)
            }
        }
    }

    /// Does this copy of a file match this volume's `B3SUMS` line?
    pub fn matches_manifest(&self, kind: Kind, name: &str, bytes: &[u8]) -> bool {
        let sums = self.sums.get_or_init(|| {
            self.read_plain(B3SUMS, 1 << 30)
                .map(|b| parse_sums(&b).0.into_iter().collect())
                .unwrap_or_default()
        });
        sums.get(&kind.path_of(name)) == Some(blake3::hash(bytes).as_bytes())
    }
}

/// The members of a ustar volume, below its top directory.
fn tar_members(file: &File, len: u64) -> Result<HashMap<String, (u64, u64)>> {
    let mut out = BTreeMap::new();
    let mut top: Option<String> = None;
    let mut off = 0u64;
    while off + ustar::BLOCK <= len {
        let mut h = [0u8; 512];
        file.read_exact_at(&mut h, off)
            .map_err(|e| Error::from_io("reading a tar header", e))?;
        let Some(e) = ustar::parse(&h)? else { break };
        let data = off + ustar::BLOCK;
        if data.checked_add(e.size).is_none_or(|end| end > len) {
            return Err(Error::corrupt(
                "a tar member runs past the end of the file (truncated)",
            ));
        }
        match (&top, e.kind) {
            (None, EntryKind::Dir) if !e.path.contains('/') => top = Some(e.path.clone()),
            (None, _) => return Err(Error::corrupt("a volume tar must start with its directory")),
            (Some(t), EntryKind::File) => {
                if let Some(rel) = e
                    .path
                    .strip_prefix(t.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                {
                    out.insert(rel.to_owned(), (data, e.size));
                }
            }
            (Some(_), EntryKind::Dir) => {}
        }
        off = off.saturating_add(ustar::member_len(e.size));
    }
    Ok(out.into_iter().collect())
}
