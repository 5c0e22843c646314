//! The no-follow file-system primitives of the local backend: every
//! directory below the repository root is opened relative to its parent
//! with `O_NOFOLLOW | O_DIRECTORY`, every file is `lstat`ed and opened with
//! `O_NOFOLLOW`, so nothing below the root is reached through a link, a
//! FIFO or a device (`format-spec/v1/threat-model.md`).

use super::{LocalBackend, TMP_PREFIX};
use crate::backend::Kind;
use crate::error::{Error, ErrorKind, Result};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::fs::File;
use std::os::fd::OwnedFd;

pub(super) const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

pub(super) fn io_err(what: String, e: Errno) -> Error {
    Error::io(what, std::io::Error::from(e))
}

pub(super) fn describe(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "of an unknown type",
    }
}

pub(super) fn file_type(st: &rfs::Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// `lstat` of `name` in `dir`; `None` if it does not exist.
pub(super) fn lstat<P: rustix::path::Arg>(
    dir: &OwnedFd,
    name: P,
) -> std::result::Result<Option<rfs::Stat>, Errno> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

impl LocalBackend {
    pub(super) fn show(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.root.display().to_string()
        } else {
            self.root.join(rel).display().to_string()
        }
    }

    /// The refusal for something that is not what Cairn put there.
    pub(super) fn tampered(&self, rel: &str, what: &str) -> Error {
        Error::corrupt(format!(
            "{} is {what}, which Cairn never writes there; Cairn does not follow links or open special files inside a repository — the repository may have been tampered with: inspect it and restore that path from a copy",
            self.show(rel)
        ))
    }

    /// The repository root (following links: the user chose this path);
    /// `None` if it does not exist.
    pub(super) fn open_root(&self) -> Result<Option<OwnedFd>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rfs::open(&self.root, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(io_err(format!("opening {}", self.show("")), e)),
        }
    }

    /// The directory `name` in `parent` (at `rel`), never through a link;
    /// created (0700) if missing and `create`, else `None`.
    pub(super) fn open_dir(
        &self,
        parent: &OwnedFd,
        name: &str,
        rel: &str,
        create: bool,
    ) -> Result<Option<OwnedFd>> {
        for _ in 0..2 {
            match rfs::openat(parent, name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => return Ok(Some(fd)),
                Err(Errno::NOENT) if create => match rfs::mkdirat(parent, name, Mode::RWXU) {
                    Ok(()) | Err(Errno::EXIST) => continue,
                    Err(e) => {
                        return Err(io_err(format!("creating directory {}", self.show(rel)), e))
                    }
                },
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let what = match lstat(parent, name) {
                        Ok(Some(st)) => describe(file_type(&st)),
                        _ => "not a directory",
                    };
                    return Err(self.tampered(rel, what));
                }
                Err(e) => return Err(io_err(format!("opening directory {}", self.show(rel)), e)),
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!("directory {} keeps disappearing", self.show(rel)),
        ))
    }

    /// The directory holding files of `kind` (for packs, `data/` itself).
    pub(super) fn kind_dir(&self, kind: Kind, create: bool) -> Result<Option<OwnedFd>> {
        let Some(root) = self.open_root()? else {
            if create {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("repository directory {} does not exist", self.show("")),
                ));
            }
            return Ok(None);
        };
        if kind == Kind::Root {
            return Ok(Some(root));
        }
        self.open_dir(&root, kind.dir(), kind.dir(), create)
    }

    /// The directory holding file `name` of `kind`.
    pub(super) fn file_dir(&self, kind: Kind, name: &str, create: bool) -> Result<Option<OwnedFd>> {
        let Some(dir) = self.kind_dir(kind, create)? else {
            return Ok(None);
        };
        if kind != Kind::Data {
            return Ok(Some(dir));
        }
        let sub = name.get(..2).unwrap_or("00");
        self.open_dir(&dir, sub, &format!("data/{sub}"), create)
    }

    /// Open an existing regular file for reading, refusing anything else.
    pub(super) fn open_file(&self, kind: Kind, name: &str) -> Result<(File, u64)> {
        let rel = kind.path_of(name);
        let missing = || Error::new(ErrorKind::NotFound, format!("{rel}: file not found"));
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(Error::invalid(format!(
                "invalid repository file name '{}'",
                name.escape_debug()
            )));
        }
        let Some(dir) = self.file_dir(kind, name, false)? else {
            return Err(missing());
        };
        match lstat(&dir, name) {
            Ok(None) => return Err(missing()),
            Ok(Some(st)) if file_type(&st) != FileType::RegularFile => {
                return Err(self.tampered(&rel, describe(file_type(&st))))
            }
            Ok(Some(_)) => {}
            Err(e) => return Err(io_err(format!("stat {}", self.show(&rel)), e)),
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match rfs::openat(&dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(missing()),
            Err(Errno::LOOP) => return Err(self.tampered(&rel, "a symbolic link")),
            Err(e) => return Err(io_err(format!("opening {}", self.show(&rel)), e)),
        };
        let st = rfs::fstat(&fd).map_err(|e| io_err(format!("stat {}", self.show(&rel)), e))?;
        if file_type(&st) != FileType::RegularFile {
            return Err(self.tampered(&rel, describe(file_type(&st))));
        }
        Ok((File::from(fd), u64::try_from(st.st_size).unwrap_or(0)))
    }

    /// Create a new temporary file in `dir`.
    pub(super) fn create_temp(&self, dir: &OwnedFd, rel_dir: &str) -> Result<(File, String)> {
        let mut rnd = [0u8; 8];
        crate::crypto::random_bytes(&mut rnd)?;
        let tmp = format!("{TMP_PREFIX}{}", crate::id::hex_encode(&rnd));
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(dir, tmp.as_str(), flags, Mode::RUSR | Mode::WUSR).map_err(|e| {
            io_err(
                format!("creating {}", self.show(&format!("{rel_dir}/{tmp}"))),
                e,
            )
        })?;
        Ok((File::from(fd), tmp))
    }

    pub(super) fn fsync_dir(&self, dir: &OwnedFd, rel: &str) -> Result<()> {
        rfs::fsync(dir).map_err(|e| io_err(format!("syncing directory {}", self.show(rel)), e))
    }

    /// Every directory holding files of `kind` with its relative path
    /// (`data/` has up to 256), never through a link. Missing: empty.
    pub(super) fn dirs_of(&self, kind: Kind) -> Result<Vec<(OwnedFd, String)>> {
        let Some(dir) = self.kind_dir(kind, false)? else {
            return Ok(Vec::new());
        };
        if kind != Kind::Data {
            return Ok(vec![(dir, kind.dir().to_owned())]);
        }
        let mut out = Vec::new();
        for (name, st) in self.entries(&dir, "data")? {
            if is_fanout(&name) {
                let rel = format!("data/{name}");
                if file_type(&st) != FileType::Directory {
                    if file_type(&st) == FileType::Symlink {
                        return Err(self.tampered(&rel, describe(file_type(&st))));
                    }
                    continue;
                }
                if let Some(fd) = self.open_dir(&dir, &name, &rel, false)? {
                    out.push((fd, rel));
                }
            }
        }
        Ok(out)
    }

    /// Names (without `.` and `..`) and `lstat`s of the entries of `dir`;
    /// entries removed meanwhile are skipped.
    pub(super) fn entries(&self, dir: &OwnedFd, rel: &str) -> Result<Vec<(String, rfs::Stat)>> {
        let err = |e: Errno| io_err(format!("listing {}", self.show(rel)), e);
        let mut out = Vec::new();
        for entry in rfs::Dir::read_from(dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            match lstat(dir, entry.file_name()) {
                Ok(Some(st)) => out.push((name, st)),
                Ok(None) => {} // removed meanwhile (a released lock)
                Err(e) => return Err(io_err(format!("stat {}/{name}", self.show(rel)), e)),
            }
        }
        Ok(out)
    }
}

/// A `data/` fan-out directory name: two lowercase hex digits.
pub(super) fn is_fanout(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
