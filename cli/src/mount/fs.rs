//! The FUSE filesystem of `cairn mount`: answers the kernel's lookups,
//! listings, attribute, link, xattr and read requests from the inode
//! table and the engine's [`MountSource`].
//!
//! Invariants: read-only (every write request is refused by the default
//! `EROFS`/`ENOSYS` answers and the `ro` mount option); metadata is the
//! snapshot's (mode, owner, times, size, symlink target, xattrs); a file's
//! bytes are served only once its extents were checked against its size,
//! and every chunk is verified, so a damaged chunk reads as `EIO` (and a
//! warning on stderr), never as wrong bytes.

use super::inodes::{Inodes, Item, ROOT};
use cairn_engine::ops::mount::MountSource;
use cairn_engine::{Node, NodeKind, Timestamp};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen, ReplyXattr, Request,
};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may cache answers: nothing in a mount changes.
const TTL: Duration = Duration::from_secs(60);

/// The filesystem.
pub struct CairnFs {
    source: MountSource,
    inodes: Mutex<Inodes>,
    /// Owner shown for the made-up directories (who mounted).
    uid: u32,
    gid: u32,
}

impl CairnFs {
    /// A filesystem over `source` with the made-up tree `inodes`.
    pub fn new(source: MountSource, inodes: Inodes) -> Self {
        CairnFs {
            source,
            inodes: Mutex::new(inodes),
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Inodes> {
        self.inodes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Make sure a directory's children are numbered; `Err` for a file or
    /// an unreadable tree.
    fn load_children(&self, t: &mut Inodes, dir: u64) -> Result<(), Errno> {
        let e = t.get(dir).ok_or(Errno::ENOENT)?;
        if e.children.is_some() {
            return Ok(());
        }
        let tree = match &e.item {
            Item::SnapRoot(tree, _) => *tree,
            Item::Node(n) if n.kind == NodeKind::Dir => n.subtree.ok_or(Errno::EIO)?,
            _ => return Err(Errno::ENOTDIR),
        };
        let nodes = self
            .source
            .tree(&tree)
            .map_err(|e| warn(&format!("reading directory tree {}", tree.short()), &e))?
            .nodes;
        t.set_tree_children(dir, nodes);
        Ok(())
    }

    fn attr(&self, t: &Inodes, ino: u64) -> Option<FileAttr> {
        let e = t.get(ino)?;
        let dir = |time: Timestamp| FileAttr {
            ino: INodeNo(ino),
            size: 0,
            blocks: 0,
            atime: sys_time(time),
            mtime: sys_time(time),
            ctime: sys_time(time),
            crtime: sys_time(time),
            kind: FileType::Directory,
            perm: 0o555,
            nlink: 2,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        };
        Some(match &e.item {
            Item::Virtual(time) => dir(*time),
            Item::SnapRoot(_, time) => FileAttr {
                perm: 0o755,
                ..dir(*time)
            },
            Item::Link(target, time) => FileAttr {
                size: target.len() as u64,
                kind: FileType::Symlink,
                perm: 0o777,
                nlink: 1,
                ..dir(*time)
            },
            Item::Node(n) => node_attr(ino, n),
        })
    }
}

/// A snapshot node's attributes, as the snapshot records them.
fn node_attr(ino: u64, n: &Node) -> FileAttr {
    let (kind, size) = match n.kind {
        NodeKind::File => (FileType::RegularFile, n.size),
        NodeKind::Dir => (FileType::Directory, 0),
        NodeKind::Symlink => (
            FileType::Symlink,
            n.target.as_ref().map_or(0, |t| t.len() as u64),
        ),
        NodeKind::Fifo => (FileType::NamedPipe, 0),
        NodeKind::CharDevice => (FileType::CharDevice, 0),
        NodeKind::BlockDevice => (FileType::BlockDevice, 0),
        NodeKind::Socket => (FileType::Socket, 0),
    };
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: sys_time(n.atime),
        mtime: sys_time(n.mtime),
        ctime: sys_time(n.ctime),
        crtime: sys_time(n.mtime),
        kind,
        perm: (n.mode & 0o7777) as u16,
        nlink: match n.kind {
            NodeKind::Dir => 2,
            _ => u32::try_from(n.nlink.max(1)).unwrap_or(u32::MAX),
        },
        uid: n.uid,
        gid: n.gid,
        // FUSE carries the kernel's 32-bit device encoding, which equals
        // the low half of glibc's for majors < 4096 and minors < 2^20.
        rdev: n.rdev as u32,
        blksize: 4096,
        flags: 0,
    }
}

fn sys_time(t: Timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(t.nanos));
    match u64::try_from(t.secs) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s) + nanos,
        Err(_) => UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos,
    }
}

fn file_type(item: &Item) -> FileType {
    match item {
        Item::Virtual(_) | Item::SnapRoot(..) => FileType::Directory,
        Item::Link(..) => FileType::Symlink,
        Item::Node(n) => node_attr(0, n).kind,
    }
}

/// Say on stderr why a request fails, and fail it with `EIO`.
fn warn(what: &str, e: &cairn_engine::Error) -> Errno {
    crate::errln!(
        "cairn: warning: {what}: {}",
        crate::output::esc(&e.to_string())
    );
    Errno::EIO
}

/// Answer a getxattr/listxattr request: the size when asked for it,
/// else the bytes if they fit.
fn xattr_reply(reply: ReplyXattr, size: u32, data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    if size == 0 {
        reply.size(len);
    } else if len > size {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(data);
    }
}

impl Filesystem for CairnFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let mut t = self.table();
        if let Err(e) = self.load_children(&mut t, parent.0) {
            return reply.error(e);
        }
        match t
            .child(parent.0, name.as_bytes())
            .and_then(|ino| self.attr(&t, ino))
        {
            Some(attr) => reply.entry(&TTL, &attr, Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(&self.table(), ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let t = self.table();
        match t.get(ino.0).map(|e| &e.item) {
            Some(Item::Link(target, _)) => reply.data(target),
            Some(Item::Node(n)) if n.kind == NodeKind::Symlink => {
                reply.data(n.target.as_deref().unwrap_or_default())
            }
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let mut t = self.table();
        let Some(e) = t.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let node = match &e.item {
            Item::Node(n) if n.kind == NodeKind::File => n,
            _ => return reply.error(Errno::EISDIR),
        };
        if e.file.is_none() {
            let map = match self.source.open(node) {
                Ok(m) => m,
                Err(err) => {
                    let what = format!("opening '{}'", String::from_utf8_lossy(&node.name));
                    return reply.error(warn(&what, &err));
                }
            };
            if let Some(e) = t.get_mut(ino.0) {
                e.file = Some(std::sync::Arc::new(map));
            }
        }
        // Content never changes: the kernel may keep its page cache.
        reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let (map, name) = {
            let t = self.table();
            match t.get(ino.0) {
                Some(e) => match (&e.file, &e.item) {
                    (Some(m), Item::Node(n)) => (m.clone(), n.name.clone()),
                    _ => return reply.error(Errno::EBADF),
                },
                None => return reply.error(Errno::ENOENT),
            }
        };
        match self.source.read(&map, offset, size as usize) {
            Ok(data) => reply.data(&data),
            Err(e) => {
                let what = format!("reading '{}'", String::from_utf8_lossy(&name));
                reply.error(warn(&what, &e))
            }
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let mut t = self.table();
        if let Err(e) = self.load_children(&mut t, ino.0) {
            return reply.error(e);
        }
        let Some(e) = t.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let parent = if ino.0 == ROOT { ROOT } else { e.parent };
        let mut all: Vec<(u64, FileType, &[u8])> = vec![
            (ino.0, FileType::Directory, b"."),
            (parent, FileType::Directory, b".."),
        ];
        for (name, child) in e.children.iter().flatten() {
            if let Some(c) = t.get(*child) {
                all.push((*child, file_type(&c.item), name));
            }
        }
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (child, kind, name)) in all.into_iter().enumerate().skip(skip) {
            if reply.add(INodeNo(child), i as u64 + 1, kind, OsStr::from_bytes(name)) {
                break;
            }
        }
        reply.ok();
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let t = self.table();
        let value = match t.get(ino.0).map(|e| &e.item) {
            Some(Item::Node(n)) => n
                .xattrs
                .iter()
                .find(|(k, _)| k.as_slice() == name.as_bytes())
                .map(|(_, v)| v.as_slice()),
            Some(_) => None,
            None => return reply.error(Errno::ENOENT),
        };
        match value {
            Some(v) => xattr_reply(reply, size, v),
            None => reply.error(Errno::ENODATA),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let t = self.table();
        let mut names = Vec::new();
        match t.get(ino.0).map(|e| &e.item) {
            Some(Item::Node(n)) => {
                for (k, _) in &n.xattrs {
                    names.extend_from_slice(k);
                    names.push(0);
                }
            }
            Some(_) => {}
            None => return reply.error(Errno::ENOENT),
        }
        xattr_reply(reply, size, &names);
    }
}
