//! What a file backup keeps of an `lstat`, and the calls that find entries
//! relative to their open directory.
//!
//! Why: below each backup path the walk holds its directory open and
//! looks entries up by name in it (`fstatat`, `openat`, `readlinkat`), so
//! the kernel resolves one path component per call instead of the whole
//! path three times per file (`lstat`, `listxattr`, `open`: `perf` put the
//! path walk at a tenth of the walking thread's time on small files, issue
//! 15). The paths given on the command line are still looked up by path.
//!
//! Invariants: [`Meta`] is the same whether it came from
//! `std::fs::Metadata` or from `fstatat` (`meta_is_the_same_either_way`);
//! nothing here follows a symlink at the last component (`lstat`
//! semantics; files and directories are opened with `O_NOFOLLOW`).

use super::ts;
use crate::format::tree::{NodeKind, Timestamp};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use std::fs::Metadata;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// The `lstat` fields a node is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The entry's type.
    pub kind: NodeKind,
    /// Permission bits and set-ID/sticky bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Length in bytes.
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Last modification.
    pub mtime: Timestamp,
    /// Last access.
    pub atime: Timestamp,
    /// Last status change.
    pub ctime: Timestamp,
    /// Inode number.
    pub ino: u64,
    /// Device of the file system holding it.
    pub dev: u64,
    /// Hard links.
    pub nlink: u64,
    /// Device number, for a device node.
    pub rdev: u64,
}

impl Meta {
    /// From the standard library's `lstat` (or `stat`) result.
    pub fn from_std(md: &Metadata) -> Meta {
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            NodeKind::Dir
        } else if ft.is_symlink() {
            NodeKind::Symlink
        } else if ft.is_fifo() {
            NodeKind::Fifo
        } else if ft.is_char_device() {
            NodeKind::CharDevice
        } else if ft.is_block_device() {
            NodeKind::BlockDevice
        } else if ft.is_socket() {
            NodeKind::Socket
        } else {
            NodeKind::File
        };
        Meta {
            kind,
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            size: md.len(),
            blocks: md.blocks(),
            mtime: ts(md.mtime(), md.mtime_nsec()),
            atime: ts(md.atime(), md.atime_nsec()),
            ctime: ts(md.ctime(), md.ctime_nsec()),
            ino: md.ino(),
            dev: md.dev(),
            nlink: md.nlink(),
            rdev: md.rdev(),
        }
    }

    /// From a raw `stat` structure (`fstatat`). Field widths differ between
    /// architectures, hence the conversions.
    #[allow(clippy::useless_conversion)]
    pub fn from_stat(st: &rfs::Stat) -> Meta {
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => NodeKind::Dir,
            FileType::Symlink => NodeKind::Symlink,
            FileType::Fifo => NodeKind::Fifo,
            FileType::CharacterDevice => NodeKind::CharDevice,
            FileType::BlockDevice => NodeKind::BlockDevice,
            FileType::Socket => NodeKind::Socket,
            _ => NodeKind::File,
        };
        let nanos = |n| i64::try_from(n).unwrap_or(0);
        Meta {
            kind,
            mode: u32::from(st.st_mode) & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: u64::try_from(st.st_size).unwrap_or(0),
            blocks: u64::try_from(st.st_blocks).unwrap_or(0),
            mtime: ts(i64::from(st.st_mtime), nanos(st.st_mtime_nsec)),
            atime: ts(i64::from(st.st_atime), nanos(st.st_atime_nsec)),
            ctime: ts(i64::from(st.st_ctime), nanos(st.st_ctime_nsec)),
            ino: u64::from(st.st_ino),
            dev: u64::from(st.st_dev),
            nlink: u64::from(st.st_nlink),
            rdev: u64::from(st.st_rdev),
        }
    }
}

/// An entry's `lstat`, by name in its open directory.
pub(crate) fn stat_at(dir: BorrowedFd<'_>, name: &[u8]) -> std::io::Result<Meta> {
    let st = rfs::statat(dir, os(name), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Meta::from_stat(&st))
}

/// Open a regular file to read it, by name in its open directory when
/// there is one, else by path; without updating its access time where
/// permitted (`O_NOATIME` needs ownership or privilege: fall back).
pub(crate) fn open_file(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    name: &[u8],
) -> std::io::Result<std::fs::File> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let open = |f: OFlags| match dir {
        Some(d) => rfs::openat(d, os(name), f, Mode::empty()),
        None => rfs::open(path, f, Mode::empty()),
    };
    let fd = match open(flags | OFlags::NOATIME) {
        Err(rustix::io::Errno::PERM) => open(flags)?,
        other => other?,
    };
    Ok(std::fs::File::from(fd))
}

/// Open a directory to list it, by name in its parent when there is one,
/// else by path.
pub(crate) fn open_dir(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    name: &[u8],
) -> std::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY | OFlags::NOFOLLOW;
    Ok(match dir {
        Some(d) => rfs::openat(d, os(name), flags, Mode::empty())?,
        None => rfs::open(path, flags, Mode::empty())?,
    })
}

/// A symlink's target, by name in its open directory when there is one.
pub(crate) fn read_link(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    name: &[u8],
) -> std::io::Result<Vec<u8>> {
    match dir {
        Some(d) => Ok(rfs::readlinkat(d, os(name), Vec::new())?.into_bytes()),
        None => Ok(std::fs::read_link(path)?.as_os_str().as_bytes().to_vec()),
    }
}

/// The names in an open directory, unsorted, without `.` and `..`; an
/// unreadable entry is an error in the list.
pub(crate) fn list_dir(dir: &OwnedFd) -> std::io::Result<Vec<std::io::Result<Vec<u8>>>> {
    let mut out = Vec::new();
    for ent in rfs::Dir::read_from(dir)? {
        match ent {
            Ok(e) => {
                let n = e.file_name().to_bytes();
                if n != b"." && n != b".." {
                    out.push(Ok(n.to_vec()));
                }
            }
            Err(e) => out.push(Err(e.into())),
        }
    }
    Ok(out)
}

fn os(name: &[u8]) -> &std::ffi::OsStr {
    std::ffi::OsStr::from_bytes(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// Every kind of entry gives the same `Meta` by path (the standard
    /// library) and by name in its open directory (`fstatat`).
    #[test]
    fn meta_is_the_same_either_way() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), b"some bytes").unwrap();
        std::fs::create_dir(d.path().join("d")).unwrap();
        std::os::unix::fs::symlink("f", d.path().join("l")).unwrap();
        nix::unistd::mkfifo(&d.path().join("p"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let dir = open_dir(None, d.path(), b"").unwrap();
        let mut names: Vec<Vec<u8>> = list_dir(&dir)
            .unwrap()
            .into_iter()
            .map(|n| n.unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [b"d".to_vec(), b"f".to_vec(), b"l".to_vec(), b"p".to_vec()]
        );
        let kinds = [
            NodeKind::Dir,
            NodeKind::File,
            NodeKind::Symlink,
            NodeKind::Fifo,
        ];
        for (name, kind) in names.iter().zip(kinds) {
            let path = d.path().join(os(name));
            let by_path = Meta::from_std(&std::fs::symlink_metadata(&path).unwrap());
            let by_name = stat_at(dir.as_fd(), name).unwrap();
            assert_eq!(by_path, by_name);
            assert_eq!(by_name.kind, kind);
        }
        assert_eq!(
            read_link(Some(dir.as_fd()), Path::new("?"), b"l").unwrap(),
            b"f"
        );
        // Not followed: a symlink is not opened as the file it names.
        assert!(open_file(Some(dir.as_fd()), Path::new("?"), b"l").is_err());
        assert!(open_dir(Some(dir.as_fd()), Path::new("?"), b"l").is_err());
        let mut s = String::new();
        std::io::Read::read_to_string(
            &mut open_file(Some(dir.as_fd()), Path::new("?"), b"f").unwrap(),
            &mut s,
        )
        .unwrap();
        assert_eq!(s, "some bytes");
    }
}
