//! Which entries a file backup reads, and when a file counts as unchanged:
//! the filters restic users script with (`--exclude`, `--iexclude`,
//! `--exclude-if-present`, `--exclude-caches`, `--exclude-larger-than`)
//! and the change rules (`--ignore-inode`, `--ignore-ctime`).
//!
//! Invariants: the backup walk and the progress scan ask the same
//! [`Selector`], so the scan's totals count what the backup reads; a tag
//! file that excludes a directory's content is itself kept (restic: "exclude
//! contents of directories containing filename, except filename itself");
//! `--exclude-caches` honours only a `CACHEDIR.TAG` that starts with the
//! signature of the Cache Directory Tagging Specification.

use super::super::filter::PathFilter;
use crate::error::{Error, Result};
use crate::format::tree::{Node, NodeKind, Timestamp};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The header a `CACHEDIR.TAG` starts with (Cache Directory Tagging
/// Specification, version 1.0).
pub const CACHEDIR_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";

/// What a file backup reads and how it tells unchanged files.
#[derive(Clone, Debug, Default)]
pub struct FileSelection {
    /// Exclude patterns ([`PathFilter`]).
    pub excludes: Vec<String>,
    /// Exclude patterns matched regardless of case.
    pub iexcludes: Vec<String>,
    /// `NAME` or `NAME:HEADER`: a directory holding a file `NAME` (that
    /// starts with `HEADER`) keeps only that file.
    pub exclude_if_present: Vec<String>,
    /// `--exclude-caches`: `CACHEDIR.TAG:` + [`CACHEDIR_SIGNATURE`].
    pub exclude_caches: bool,
    /// Skip regular files larger than this many bytes.
    pub exclude_larger_than: Option<u64>,
    /// Do not descend into other file systems.
    pub one_file_system: bool,
    /// Record access times (otherwise atime = mtime).
    pub with_atime: bool,
    /// A changed inode number does not make a file changed (nor does its
    /// ctime, as in restic).
    pub ignore_inode: bool,
    /// A changed ctime does not make a file changed.
    pub ignore_ctime: bool,
}

/// A compiled [`FileSelection`].
#[derive(Clone, Debug)]
pub struct Selector {
    excludes: PathFilter,
    iexcludes: PathFilter,
    tags: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    larger_than: Option<u64>,
    pub(super) one_fs: bool,
    pub(super) with_atime: bool,
    ignore_inode: bool,
    ignore_ctime: bool,
}

impl Selector {
    /// Compile; a bad pattern or tag spec is `InvalidInput` quoting it.
    pub fn new(sel: &FileSelection) -> Result<Self> {
        let mut tags = Vec::new();
        for spec in &sel.exclude_if_present {
            let (name, header) = match spec.split_once(':') {
                Some((n, h)) => (n, Some(h.as_bytes().to_vec())),
                None => (spec.as_str(), None),
            };
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(Error::invalid(format!(
                    "--exclude-if-present '{spec}': give a file name (NAME or NAME:HEADER), without '/'"
                )));
            }
            tags.push((name.as_bytes().to_vec(), header));
        }
        if sel.exclude_caches {
            tags.push((
                b"CACHEDIR.TAG".to_vec(),
                Some(CACHEDIR_SIGNATURE.as_bytes().to_vec()),
            ));
        }
        Ok(Selector {
            excludes: PathFilter::new(&sel.excludes)?,
            iexcludes: PathFilter::with_case(&sel.iexcludes, true)?,
            tags,
            larger_than: sel.exclude_larger_than,
            one_fs: sel.one_file_system,
            with_atime: sel.with_atime,
            ignore_inode: sel.ignore_inode,
            ignore_ctime: sel.ignore_ctime,
        })
    }

    /// Is `path` excluded by a pattern?
    pub fn excluded(&self, path: &Path) -> bool {
        self.excludes.matches(path) || self.iexcludes.matches(path)
    }

    /// Is a regular file of `size` bytes too large to back up?
    pub fn too_large(&self, size: u64) -> bool {
        self.larger_than.is_some_and(|max| size > max)
    }

    /// If directory `dir` holds a tag file that excludes its content,
    /// the tag's name (the one entry kept).
    pub fn tag_in(&self, dir: &Path) -> Option<&[u8]> {
        self.tags.iter().find_map(|(name, header)| {
            let p = dir.join(std::ffi::OsStr::from_bytes(name));
            let md = std::fs::symlink_metadata(&p).ok()?;
            let ok = match header {
                None => true,
                Some(h) => md.is_file() && starts_with(&p, h),
            };
            ok.then_some(name.as_slice())
        })
    }

    /// Would a file with this metadata reuse `p`'s content unread?
    pub fn unchanged(
        &self,
        p: &Node,
        size: u64,
        mtime: Timestamp,
        ctime: Timestamp,
        inode: u64,
    ) -> bool {
        p.kind == NodeKind::File
            && p.size == size
            && p.mtime == mtime
            && (self.ignore_ctime || self.ignore_inode || p.ctime == ctime)
            && (self.ignore_inode || p.inode == inode)
    }
}

/// Does the file at `p` start with `header`? (Unreadable: no.)
fn starts_with(p: &Path, header: &[u8]) -> bool {
    let Ok(f) = std::fs::File::open(p) else {
        return false;
    };
    let mut got = Vec::with_capacity(header.len());
    match f.take(header.len() as u64).read_to_end(&mut got) {
        Ok(_) => got == header,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_sizes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("CACHEDIR.TAG"),
            format!("{CACHEDIR_SIGNATURE}\n"),
        )
        .unwrap();
        std::fs::write(d.path().join(".nobackup"), "").unwrap();
        let caches = Selector::new(&FileSelection {
            exclude_caches: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(caches.tag_in(d.path()), Some(&b"CACHEDIR.TAG"[..]));
        let wrong = Selector::new(&FileSelection {
            exclude_if_present: vec!["CACHEDIR.TAG:Signature: 0000".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(wrong.tag_in(d.path()), None);
        let named = Selector::new(&FileSelection {
            exclude_if_present: vec![".nobackup".into()],
            exclude_larger_than: Some(10),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(named.tag_in(d.path()), Some(&b".nobackup"[..]));
        assert!(named.too_large(11) && !named.too_large(10));
        for bad in ["", "a/b", ":x", ".."] {
            let sel = FileSelection {
                exclude_if_present: vec![bad.into()],
                ..Default::default()
            };
            assert!(Selector::new(&sel).is_err(), "{bad:?}");
        }
    }
}
