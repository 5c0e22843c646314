//! A repository in a local directory.
//!
//! Invariants: every write goes temp file → fsync → rename → fsync(dir);
//! temporaries start with `.tmp-` and are never listed; directories are
//! created mode 0700 and files 0600.

use super::{Backend, Kind};
use crate::error::{Error, ErrorKind, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A repository rooted at a local directory.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

const TMP_PREFIX: &str = ".tmp-";

impl LocalBackend {
    /// A backend for `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend { root: root.into() }
    }

    /// The directories holding files of `kind` (`data/` has 256).
    fn dirs_of(&self, kind: Kind) -> Result<Vec<PathBuf>> {
        let base = self.root.join(kind.dir());
        if kind != Kind::Data {
            return Ok(vec![base]);
        }
        match fs::read_dir(&base) {
            Ok(rd) => Ok(rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(format!("listing {}", base.display()), e)),
        }
    }

    fn path(&self, kind: Kind, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(Error::invalid(format!(
                "invalid repository file name '{name}'"
            )));
        }
        Ok(self.root.join(kind.path_of(name)))
    }

    fn not_found_or_io(what: String, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(ErrorKind::NotFound, format!("{what}: file not found"))
        } else {
            Error::io(what, e)
        }
    }
}

fn mkdir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(format!("creating directory {}", path.display()), e))
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

/// Write `data` to `path` atomically and durably (0600).
pub(crate) fn atomic_write(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::invalid("path has no parent directory"))?;
    mkdir(dir)?;
    let mut rnd = [0u8; 8];
    crate::crypto::random_bytes(&mut rnd)?;
    let tmp = dir.join(format!("{TMP_PREFIX}{}", crate::id::hex_encode(&rnd)));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        f.write_all(data)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        fs::rename(&tmp, path)
            .map_err(|e| Error::io(format!("renaming into {}", path.display()), e))?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A temporary file in the kind's directory, renamed into place on commit.
struct LocalPending {
    file: Option<File>,
    tmp: PathBuf,
    dir: PathBuf,
    backend: LocalBackend,
    kind: Kind,
}

impl super::PendingWrite for LocalPending {
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| Error::invalid("write after commit"))?;
        f.write_all(data)
            .map_err(|e| Error::io(format!("writing {}", self.tmp.display()), e))
    }

    fn commit(mut self: Box<Self>, name: &str) -> Result<()> {
        let f = self
            .file
            .take()
            .ok_or_else(|| Error::invalid("commit twice"))?;
        let result = (|| {
            f.sync_all()
                .map_err(|e| Error::io(format!("syncing {}", self.tmp.display()), e))?;
            drop(f);
            let dest = self.backend.path(self.kind, name)?;
            let dest_dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
            mkdir(&dest_dir)?;
            fs::rename(&self.tmp, &dest)
                .map_err(|e| Error::io(format!("renaming into {}", dest.display()), e))?;
            fsync_dir(&dest_dir)?;
            if dest_dir != self.dir {
                fsync_dir(&self.dir)?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Drop for LocalPending {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Backend for LocalBackend {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }

    fn begin_write(&self, kind: Kind) -> Result<Box<dyn super::PendingWrite + '_>> {
        let dir = self.root.join(kind.dir());
        mkdir(&dir)?;
        let mut rnd = [0u8; 8];
        crate::crypto::random_bytes(&mut rnd)?;
        let tmp = dir.join(format!("{TMP_PREFIX}{}", crate::id::hex_encode(&rnd)));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
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
        for kind in Kind::ALL {
            mkdir(&self.root.join(kind.dir()))?;
        }
        for i in 0..=255u8 {
            mkdir(&self.root.join("data").join(crate::id::hex_encode(&[i])))?;
        }
        fsync_dir(&self.root)
    }

    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        atomic_write(&self.path(kind, name)?, data)
    }

    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        let p = self.path(kind, name)?;
        fs::read(&p).map_err(|e| Self::not_found_or_io(format!("reading {}", p.display()), e))
    }

    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let p = self.path(kind, name)?;
        let f = File::open(&p)
            .map_err(|e| Self::not_found_or_io(format!("opening {}", p.display()), e))?;
        let len = usize::try_from(len).map_err(|_| Error::invalid("range too large"))?;
        let mut buf = vec![0u8; len];
        f.read_exact_at(&mut buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::corrupt(format!(
                    "{} is shorter than expected (wanted {len} bytes at offset {offset}); the file is truncated",
                    p.display()
                ))
            } else {
                Error::io(format!("reading {}", p.display()), e)
            }
        })?;
        Ok(buf)
    }

    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        let p = self.path(kind, name)?;
        fs::metadata(&p)
            .map(|m| m.len())
            .map_err(|e| Self::not_found_or_io(format!("stat {}", p.display()), e))
    }

    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        let dirs = self.dirs_of(kind)?;
        let mut out = Vec::new();
        for dir in dirs {
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
            };
            for entry in rd {
                let entry =
                    entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let md = match entry.metadata() {
                    Ok(md) => md,
                    // Removed between readdir and stat (a released lock).
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(format!("stat {}", entry.path().display()), e)),
                };
                if md.is_file() {
                    out.push((name, md.len()));
                }
            }
        }
        Ok(out)
    }

    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        let p = self.path(kind, name)?;
        match fs::remove_file(&p) {
            Ok(()) => {
                if let Some(dir) = p.parent() {
                    fsync_dir(dir)?;
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("removing {}", p.display()), e)),
        }
    }

    fn remove_stale_temporaries(&self, kind: Kind, older_than: std::time::Duration) -> Result<u64> {
        let mut freed = 0;
        let mut dirs = self.dirs_of(kind)?;
        if kind == Kind::Data {
            dirs.push(self.root.join(kind.dir())); // streamed packs start here
        }
        for dir in dirs {
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for entry in rd.filter_map(|e| e.ok()) {
                if !entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    continue;
                }
                let Ok(md) = entry.metadata() else { continue };
                let idle = md.modified().ok().and_then(|t| t.elapsed().ok());
                if md.is_file() && idle.is_some_and(|d| d > older_than) {
                    match fs::remove_file(entry.path()) {
                        Ok(()) => freed += md.len(),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(Error::io(
                                format!("removing {}", entry.path().display()),
                                e,
                            ))
                        }
                    }
                }
            }
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("repo"));
        super::super::conformance::run(&b).unwrap();
    }

    #[test]
    fn files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("repo"));
        b.create().unwrap();
        b.write(Kind::Snapshot, "ab", b"x").unwrap();
        let mode = fs::metadata(dir.path().join("repo/snapshots/ab"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
        let mode = fs::metadata(dir.path().join("repo/snapshots"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}
