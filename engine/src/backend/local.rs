//! A repository in a local directory.
//!
//! Invariants: every write goes temp file → fsync → rename → fsync(dir);
//! temporaries start with `.tmp-` and are never listed; directories are
//! created mode 0700 and files 0600.
//!
//! The storage is hostile (`format-spec/v1/threat-model.md`). Below the
//! repository root (which may itself be a symbolic link: the user chose
//! that path) nothing is followed: every directory is opened relative to
//! its parent's descriptor with `O_NOFOLLOW | O_DIRECTORY`, every file
//! with `O_NOFOLLOW | O_NONBLOCK` after `lstat` said it is a regular file,
//! and renames and removals happen relative to those descriptors. So a
//! `locks/` replaced by a link to `/etc`, or a FIFO named like a pack, is
//! refused ([`ErrorKind::Corrupt`], naming the path) and never touched.
//! Names that are not valid for their kind are neither listed, written
//! nor removed ([`Kind::is_valid_name`]).

mod direct;
mod fs;
mod handles;
mod pending;

use super::{Backend, Kind};
use crate::error::{Error, ErrorKind, Result};
use direct::DirectFile;
use fs::{describe, file_type, io_err, is_fanout, lstat};
use pending::LocalPending;
use rustix::fs::{self as rfs, AtFlags, FileType};
use rustix::io::Errno;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::PathBuf;

/// A repository rooted at a local directory.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
    /// Pack handles kept between reads (shared by clones, so a pending
    /// write's commit forgets the name it writes).
    handles: std::sync::Arc<handles::Handles>,
}

const TMP_PREFIX: &str = ".tmp-";

impl LocalBackend {
    /// A backend for `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend {
            root: root.into(),
            handles: Default::default(),
        }
    }
}

impl LocalBackend {
    /// A handle to read `name` from: a kept one for packs (see
    /// `handles`), else freshly opened.
    fn read_handle(&self, kind: Kind, name: &str) -> Result<std::sync::Arc<std::fs::File>> {
        if kind == Kind::Data {
            if let Some(f) = self.handles.get(name) {
                return Ok(f);
            }
        }
        let f = std::sync::Arc::new(self.open_file(kind, name)?.0);
        if kind == Kind::Data {
            self.handles.put(name, std::sync::Arc::clone(&f));
        }
        Ok(f)
    }

    /// This backend is about to write or remove `name`: read it anew.
    fn forget_handle(&self, kind: Kind, name: &str) {
        if kind == Kind::Data {
            self.handles.forget(name);
        }
    }
}

impl Backend for LocalBackend {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }

    fn begin_write(&self, kind: Kind) -> Result<Box<dyn super::PendingWrite + '_>> {
        let dir = self
            .kind_dir(kind, true)?
            .ok_or_else(|| Error::invalid("no directory to write into"))?;
        let (file, tmp) = self.create_temp(&dir, kind.dir())?;
        let file = if kind == Kind::Data {
            DirectFile::new(file)
        } else {
            DirectFile::buffered(file)
        };
        Ok(Box::new(LocalPending {
            file: Some(file),
            tmp,
            dir,
            backend: self.clone(),
            kind,
        }))
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn create(&self) -> Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::io(format!("creating directory {}", self.show("")), e))?;
        let root = self.open_root()?.ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("{} vanished", self.show("")))
        })?;
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::Root) {
            let dir = self.open_dir(&root, kind.dir(), kind.dir(), true)?;
            if let (Kind::Data, Some(data)) = (kind, dir) {
                for i in 0..=255u8 {
                    let sub = crate::id::hex_encode(&[i]);
                    self.open_dir(&data, &sub, &format!("data/{sub}"), true)?;
                }
                self.fsync_dir(&data, "data")?;
            }
        }
        self.fsync_dir(&root, "")
    }

    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        kind.check_name(name)?;
        self.forget_handle(kind, name);
        let rel = kind.path_of(name);
        let dir = self
            .file_dir(kind, name, true)?
            .ok_or_else(|| Error::invalid("no directory to write into"))?;
        let rel_dir = rel.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        let (mut f, tmp) = self.create_temp(&dir, &rel_dir)?;
        let result = (|| {
            f.write_all(data)
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::io(format!("writing {}", self.show(&rel)), e))?;
            drop(f);
            rfs::renameat(&dir, tmp.as_str(), &dir, name)
                .map_err(|e| io_err(format!("renaming into {}", self.show(&rel)), e))?;
            self.fsync_dir(&dir, &rel_dir)
        })();
        if result.is_err() {
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
        }
        result
    }

    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        self.read_max(kind, name, u64::MAX)
    }

    fn read_max(&self, kind: Kind, name: &str, max: u64) -> Result<Vec<u8>> {
        let (f, size) = self.open_file(kind, name)?;
        if size > max {
            return Err(super::too_large(kind, name, size, max));
        }
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        f.take(max.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", self.show(&kind.path_of(name))), e))?;
        if buf.len() as u64 > max {
            return Err(super::too_large(kind, name, buf.len() as u64, max));
        }
        Ok(buf)
    }

    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let f = self.read_handle(kind, name)?;
        let p = self.show(&kind.path_of(name));
        let len = usize::try_from(len).map_err(|_| Error::internal("range too large"))?;
        let mut buf = vec![0u8; len];
        f.read_exact_at(&mut buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::corrupt(format!(
                    "{p} is shorter than expected (wanted {len} bytes at offset {offset}); the file is truncated"
                ))
            } else {
                Error::io(format!("reading {p}"), e)
            }
        })?;
        Ok(buf)
    }

    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        let rel = kind.path_of(name);
        let missing = || Error::new(ErrorKind::NotFound, format!("{rel}: file not found"));
        let Some(dir) = self.file_dir(kind, name, false)? else {
            return Err(missing());
        };
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(Error::invalid(format!(
                "invalid repository file name '{}'",
                name.escape_debug()
            )));
        }
        match lstat(&dir, name) {
            Ok(None) => Err(missing()),
            Ok(Some(st)) if file_type(&st) == FileType::RegularFile => {
                Ok(u64::try_from(st.st_size).unwrap_or(0))
            }
            Ok(Some(st)) => Err(self.tampered(&rel, describe(file_type(&st)))),
            Err(e) => Err(io_err(format!("stat {}", self.show(&rel)), e)),
        }
    }

    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        if kind.required() && self.open_root()?.is_some() && self.kind_dir(kind, false)?.is_none() {
            return Err(missing_dir(&self.show(kind.dir()), kind));
        }
        let mut out = Vec::new();
        for (dir, rel) in self.dirs_of(kind)? {
            for (name, st) in self.entries(&dir, &rel)? {
                let here = kind != Kind::Data || rel.ends_with(name.get(..2).unwrap_or("-"));
                if !kind.is_valid_name(&name) || !here {
                    continue; // foreign: see `foreign`
                }
                if file_type(&st) != FileType::RegularFile {
                    return Err(self.tampered(&format!("{rel}/{name}"), describe(file_type(&st))));
                }
                out.push((name, u64::try_from(st.st_size).unwrap_or(0)));
            }
        }
        Ok(out)
    }

    fn foreign(&self, kind: Kind) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let kind_names: Vec<&str> = Kind::ALL.iter().map(|k| k.dir()).collect();
        let mut dirs = self.dirs_of(kind)?;
        if kind == Kind::Data {
            if let Some(d) = self.kind_dir(Kind::Data, false)? {
                for (name, st) in self.entries(&d, "data")? {
                    let ok = name.starts_with('.')
                        || (is_fanout(&name) && file_type(&st) == FileType::Directory);
                    if !ok {
                        out.push(format!("data/{name} ({})", describe(file_type(&st))));
                    }
                }
            }
        }
        for (dir, rel) in dirs.drain(..) {
            for (name, st) in self.entries(&dir, &rel)? {
                let path = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                let ft = file_type(&st);
                let ok = name.starts_with(TMP_PREFIX)
                    || (kind == Kind::Root && kind_names.contains(&name.as_str()))
                    || (kind.is_valid_name(&name)
                        && (kind != Kind::Data || rel.ends_with(name.get(..2).unwrap_or("-"))));
                if !ok {
                    out.push(format!("{path} ({})", describe(ft)));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        kind.check_name(name)?;
        self.forget_handle(kind, name);
        let rel = kind.path_of(name);
        let Some(dir) = self.file_dir(kind, name, false)? else {
            return Ok(());
        };
        match lstat(&dir, name) {
            Ok(None) => return Ok(()),
            Ok(Some(st)) if file_type(&st) != FileType::RegularFile => {
                return Err(self.tampered(&rel, describe(file_type(&st))))
            }
            Ok(Some(_)) => {}
            Err(e) => return Err(io_err(format!("stat {}", self.show(&rel)), e)),
        }
        match rfs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => self.fsync_dir(&dir, rel.rsplit_once('/').map_or("", |(d, _)| d)),
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(io_err(format!("removing {}", self.show(&rel)), e)),
        }
    }

    fn remove_stale_temporaries(&self, kind: Kind, older_than: std::time::Duration) -> Result<u64> {
        let mut freed = 0;
        let mut dirs = self.dirs_of(kind)?;
        if kind == Kind::Data {
            if let Some(d) = self.kind_dir(Kind::Data, false)? {
                dirs.push((d, "data".into())); // streamed packs start here
            }
        }
        let now = crate::format::tree::Timestamp::now().secs;
        for (dir, rel) in dirs {
            for (name, st) in self.entries(&dir, &rel)? {
                let idle = now.saturating_sub(st.st_mtime);
                if !name.starts_with(TMP_PREFIX)
                    || file_type(&st) != FileType::RegularFile
                    || idle <= older_than.as_secs() as i64
                {
                    continue;
                }
                match rfs::unlinkat(&dir, name.as_str(), AtFlags::empty()) {
                    Ok(()) => freed += u64::try_from(st.st_size).unwrap_or(0),
                    Err(Errno::NOENT) => {}
                    Err(e) => {
                        return Err(io_err(format!("removing {}/{name}", self.show(&rel)), e))
                    }
                }
            }
        }
        Ok(freed)
    }
}

/// The error for a missing directory that every repository has.
fn missing_dir(path: &str, kind: Kind) -> Error {
    let what = "every repository has it, so this one is damaged or was tampered with";
    match kind {
        // The index is derived from the packs: rebuilding it is the remedy.
        Kind::Index => Error::new(
            ErrorKind::NotFound,
            format!("directory {path} is missing: {what}"),
        )
        .with_remedy(crate::error::Remedy::RepairIndex),
        Kind::Snapshot => Error::new(
            ErrorKind::NotFound,
            format!("directory {path} is missing: {what} — restore it from a copy of the repository; until then nothing can be restored, and prune deletes nothing"),
        ),
        _ => Error::new(
            ErrorKind::NotFound,
            format!("directory {path} is missing: {what} — restore it from a copy of the repository"),
        ),
    }
}

#[cfg(test)]
mod tests;
