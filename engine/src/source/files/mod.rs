//! Reading filesystem metadata into tree nodes, and a file's content
//! (its data regions chunked, its holes recorded) into the sink.
//!
//! Invariants: `lstat` semantics throughout (symlinks are never followed);
//! names are kept as raw bytes; xattrs are read without following links
//! and sorted by name; a file whose allocated blocks cover its size is
//! treated as dense (one region), so ordinary files cost no extra syscalls.

mod meta;
mod paths;
mod scan;
mod select;
mod walk;

pub use scan::{scan, ScanTotals};
pub use select::{FileSelection, Selector, CACHEDIR_SIGNATURE};
pub use walk::FilesSource;

pub use meta::Meta;

use crate::error::Result;
use crate::format::tree::{Extent, Node, NodeKind, Timestamp};
use crate::source::{ChunkClass, Sink};
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

/// A timestamp from `stat` seconds and nanoseconds.
pub(crate) fn ts(secs: i64, nanos: i64) -> Timestamp {
    Timestamp {
        secs,
        nanos: u32::try_from(nanos).unwrap_or(0).min(999_999_999),
    }
}

/// Caches uid/gid → name lookups for one backup.
#[derive(Default)]
pub struct NameCache {
    users: Mutex<HashMap<u32, Option<String>>>,
    groups: Mutex<HashMap<u32, Option<String>>>,
}

impl NameCache {
    fn user(&self, uid: u32) -> Option<String> {
        let mut m = self.users.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name)
            })
            .clone()
    }

    fn group(&self, gid: u32) -> Option<String> {
        let mut m = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(gid)
            .or_insert_with(|| {
                nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
                    .ok()
                    .flatten()
                    .map(|g| g.name)
            })
            .clone()
    }
}

/// Build a node (without content or subtree) from `lstat` metadata.
/// Xattr or symlink read failures are returned as warnings.
///
/// `dir`: the entry's open directory, where `name` is looked up (`None`:
/// `path` is); `file`: the entry, when it is a regular file already open
/// for reading (its xattrs are then read through the descriptor).
///
/// `previous` is the entry's node in the parent snapshot, if any, given
/// only when that snapshot was made by the same user and is complete (a
/// user sees other xattrs than root, and a partial one may lack some).
/// When it is the same inode on the same device with the same ctime, its
/// xattrs are taken instead of listing and reading them again: setting or
/// removing an xattr updates the ctime, so they cannot have changed (the
/// same reasoning, and the same timestamp-granularity caveat, as reusing
/// content on unchanged mtime and ctime). On an unchanged tree
/// `listxattr` was a tenth of the re-backup's time (perf, issue 15).
pub fn node_from(
    path: &Path,
    dir: Option<BorrowedFd<'_>>,
    name: &[u8],
    md: &Meta,
    names: &NameCache,
    previous: Option<&Node>,
    file: Option<&File>,
) -> (Node, Vec<String>) {
    let mut warnings = Vec::new();
    let mut n = Node::new(name.to_vec(), md.kind);
    n.mode = md.mode;
    n.uid = md.uid;
    n.gid = md.gid;
    n.user = names.user(md.uid);
    n.group = names.group(md.gid);
    n.mtime = md.mtime;
    n.atime = md.atime;
    n.ctime = md.ctime;
    n.inode = md.ino;
    n.dev = md.dev;
    n.nlink = md.nlink;
    if n.kind == NodeKind::File {
        n.size = md.size;
    }
    if matches!(n.kind, NodeKind::CharDevice | NodeKind::BlockDevice) {
        n.rdev = md.rdev;
    }
    if n.kind == NodeKind::Symlink {
        match meta::read_link(dir, path, name) {
            Ok(t) => n.target = Some(t),
            Err(e) => warnings.push(format!("{}: reading symlink: {e}", path.display())),
        }
    }
    if let Some(p) = previous.filter(|p| {
        p.kind == n.kind
            && p.dev == n.dev
            && p.inode == n.inode
            && p.ctime == n.ctime
            && n.ctime != Timestamp::default()
    }) {
        n.xattrs = p.xattrs.clone();
        return (n, warnings);
    }
    let listed = match file {
        Some(f) => xattr::FileExt::list_xattr(f),
        None => xattr::list(path),
    };
    match listed {
        Ok(list) => {
            for name in list {
                let value = match file {
                    Some(f) => xattr::FileExt::get_xattr(f, &name),
                    None => xattr::get(path, &name),
                };
                match value {
                    Ok(Some(v)) => n.xattrs.push((name.as_bytes().to_vec(), v)),
                    Ok(None) => {}
                    Err(e) => warnings.push(format!("{}: reading xattr: {e}", path.display())),
                }
            }
            n.xattrs.sort();
        }
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOTSUP) => {}
        Err(e) => warnings.push(format!("{}: listing xattrs: {e}", path.display())),
    }
    (n, warnings)
}

/// A file's data regions `(offset, len)`, in order; gaps are holes.
/// Dense files return one region covering the whole size. Given a
/// descriptor at offset 0 (a fresh one), leaves it there.
pub fn data_regions(file: &File, md: &Metadata) -> std::io::Result<Vec<(u64, u64)>> {
    let size = md.len();
    if size == 0 {
        return Ok(Vec::new());
    }
    if md.blocks().saturating_mul(512) >= size {
        return Ok(vec![(0, size)]);
    }
    use nix::unistd::{lseek, Whence};
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut out = Vec::new();
    let mut off: i64 = 0;
    let end = i64::try_from(size).unwrap_or(i64::MAX);
    while off < end {
        let data = match lseek(fd, off, Whence::SeekData) {
            Ok(d) => d,
            Err(nix::errno::Errno::ENXIO) => break,
            Err(nix::errno::Errno::EINVAL) => {
                out = vec![(0, size)];
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let hole = match lseek(fd, data, Whence::SeekHole) {
            Ok(h) => h.min(end),
            Err(e) => return Err(e.into()),
        };
        if hole > data {
            out.push((data as u64, (hole - data) as u64));
        }
        off = hole;
    }
    lseek(fd, 0, Whence::SeekSet)?;
    Ok(out)
}

/// Read an open regular file's content into the sink: its data regions
/// chunked, its holes recorded. `Ok(Err)`: the file could not be read (the
/// caller warns and skips it); `Err`: the backup must stop. Returns the
/// extents and the size read, which is less than the `lstat` size when the
/// file shrank while it was read.
pub(crate) fn read_content(
    sink: &mut dyn Sink,
    mut f: File,
    class: ChunkClass,
) -> Result<std::io::Result<(Vec<Extent>, u64)>> {
    let md = match f.metadata() {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    advise_sequential(&f, md.len());
    let regions = match data_regions(&f, &md) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let mut content = Vec::new();
    let mut pos = 0u64;
    let mut shrank = false;
    for (off, len) in regions {
        if off > pos {
            content.push(Extent::Hole(off - pos));
        }
        // The descriptor is at `pos`: a dense file needs no seek.
        if off != pos {
            if let Err(e) = f.seek(SeekFrom::Start(off)) {
                return Ok(Err(e));
            }
        }
        let n = match sink.chunk(&mut (&mut f).take(len), &mut content, class, off, true)? {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        pos = off + n;
        if n < len {
            shrank = true; // the file shrank while we read it
            break;
        }
    }
    if !shrank && md.len() > pos {
        content.push(Extent::Hole(md.len() - pos));
        pos = md.len();
    }
    Ok(Ok((content, pos)))
}

/// Files up to this size are read in a few large calls (the chunker asks
/// for twice its largest chunk at a time), and a read makes the kernel
/// fetch all it asks for: advice given just before would only cost two
/// system calls per file (of about thirteen per small file in `strace -c`,
/// issue 15). Reading ahead of time is the walk's look-ahead's job.
const ADVISE_ABOVE: u64 = 1 << 20;

/// Ask the kernel to read a large file ahead asynchronously and with a
/// wider window, so disk reads overlap chunking, hashing and compression.
pub(crate) fn advise_sequential(f: &std::fs::File, size: u64) {
    use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
    use std::os::fd::AsRawFd;
    if size > ADVISE_ABOVE {
        let fd = f.as_raw_fd();
        let _ = posix_fadvise(fd, 0, 0, PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL);
        let _ = posix_fadvise(fd, 0, 0, PosixFadviseAdvice::POSIX_FADV_WILLNEED);
    }
}

/// Open a file we will read soon (by name in its open directory) and ask
/// the kernel to start reading it. With `keep`, the walk reads it through
/// this descriptor when its turn comes, so the look-ahead costs no second
/// `open`; without, the descriptor is closed once the advice is given.
/// Best effort: a file we may not read or that vanished gives `None`, and
/// its turn reports why.
pub(crate) fn prefetch(dir: BorrowedFd<'_>, path: &Path, name: &[u8], keep: bool) -> Option<File> {
    use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
    use std::os::fd::AsRawFd;
    let f = meta::open_file(Some(dir), path, name).ok()?;
    let _ = posix_fadvise(f.as_raw_fd(), 0, 0, PosixFadviseAdvice::POSIX_FADV_WILLNEED);
    keep.then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn sparse_regions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let mut f = File::create(&p).unwrap();
        f.seek(SeekFrom::Start(64 << 20)).unwrap();
        f.write_all(b"tail").unwrap();
        drop(f);
        let f = File::open(&p).unwrap();
        let md = f.metadata().unwrap();
        let r = data_regions(&f, &md).unwrap();
        let total: u64 = r.iter().map(|x| x.1).sum();
        assert!(total < 1 << 20, "{r:?}");
        assert_eq!(r.last().map(|x| x.0 + x.1), Some(md.len()));
        // The probe left the offset at 0 (the reader relies on it), not
        // at the data or the end.
        let mut first = [9u8; 4];
        std::io::Read::read_exact(&mut &f, &mut first).unwrap();
        assert_eq!(first, [0; 4]);
    }
}
