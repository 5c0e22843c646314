//! A streamed write of the local backend: a temporary file in the kind's
//! directory, renamed into place (then the directory fsynced) on commit,
//! removed if dropped uncommitted. Packs are written around the page
//! cache (`direct`); other files through it.

use super::direct::DirectFile;
use super::fs::io_err;
use super::LocalBackend;
use crate::backend::{Kind, PendingWrite};
use crate::error::{Error, Result};
use rustix::fs::{self as rfs, AtFlags};
use std::os::fd::OwnedFd;

/// A temporary file in the kind's directory, renamed into place on commit.
pub(super) struct LocalPending {
    pub(super) file: Option<DirectFile>,
    pub(super) tmp: String,
    pub(super) dir: OwnedFd,
    pub(super) backend: LocalBackend,
    pub(super) kind: Kind,
}

impl LocalPending {
    /// Where the temporary file is, relative to the root: in the kind's
    /// directory itself (a pack's fan-out directory is chosen by its
    /// final name, at the rename).
    fn tmp_path(&self) -> String {
        match self.kind {
            Kind::Root => self.tmp.clone(),
            k => format!("{}/{}", k.dir(), self.tmp),
        }
    }
}

impl PendingWrite for LocalPending {
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| Error::internal("write after commit"))?;
        f.write_all(data).map_err(|e| {
            Error::io(
                format!("writing {}", self.backend.show(&self.tmp_path())),
                e,
            )
        })
    }

    fn commit(mut self: Box<Self>, name: &str) -> Result<()> {
        let f = self
            .file
            .take()
            .ok_or_else(|| Error::internal("commit twice"))?;
        let result = (|| {
            self.kind.check_name(name)?;
            self.backend.forget_handle(self.kind, name);
            let rel = self.kind.path_of(name);
            let tmp = self.backend.show(&self.tmp_path());
            let f = f
                .finish()
                .map_err(|e| Error::io(format!("writing {tmp}"), e))?;
            f.sync_all()
                .map_err(|e| Error::io(format!("syncing {tmp}"), e))?;
            if self.kind == Kind::Data {
                // A sealed pack is not read again soon (restores and audits
                // come later, in other processes). Its bytes went around
                // the page cache (`direct`) where the file system allows;
                // pages it did leave there (a tail, a file system without
                // direct I/O) go now instead of evicting the server's
                // working set, as borg does with its segments, and are
                // reused by the next pack: writing into pages the kernel
                // already holds halved the backup's kernel time in the
                // benchmark VM, where fresh pages cost a host fault.
                // Advisory only: a failure changes nothing.
                let _ = rfs::fadvise(&*f, 0, None, rfs::Advice::DontNeed);
            }
            drop(f);
            let b = &self.backend;
            let sub = if self.kind == Kind::Data {
                let s = name.get(..2).unwrap_or("00");
                b.open_dir(&self.dir, s, &format!("data/{s}"), true)?
            } else {
                None
            };
            let dest = sub.as_ref().unwrap_or(&self.dir);
            rfs::renameat(&self.dir, self.tmp.as_str(), dest, name)
                .map_err(|e| io_err(format!("renaming into {}", b.show(&rel)), e))?;
            b.fsync_dir(dest, &rel)?;
            if sub.is_some() {
                b.fsync_dir(&self.dir, self.kind.dir())?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = rfs::unlinkat(&self.dir, self.tmp.as_str(), AtFlags::empty());
        }
        result
    }
}

impl Drop for LocalPending {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = rfs::unlinkat(&self.dir, self.tmp.as_str(), AtFlags::empty());
        }
    }
}
