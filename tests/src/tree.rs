//! Comparing file trees: a source directory and its restored copy must
//! agree in names, types, content and every kind of metadata Cairn keeps
//! (modes, owners, nanosecond mtimes, xattrs, device numbers, hard links).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// A comparable description of one filesystem entry.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// Type letter.
    pub kind: char,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// mtime in ns (not for symlinks' parents' sake: all kinds).
    pub mtime_ns: i128,
    /// Size (files).
    pub size: u64,
    /// BLAKE3 of content (files) or link target (symlinks).
    pub content: String,
    /// xattrs.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Device number (devices).
    pub rdev: u64,
    /// Number of names for this inode within the tree.
    pub links: u64,
}

/// Describe every entry under `root` by relative path (raw bytes).
pub fn describe(root: &Path) -> BTreeMap<Vec<u8>, Entry> {
    let mut m = BTreeMap::new();
    for e in walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = e.path();
        let md = std::fs::symlink_metadata(p).expect("lstat");
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            'd'
        } else if ft.is_symlink() {
            'l'
        } else if ft.is_fifo() {
            'p'
        } else if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else {
            '-'
        };
        let content = match kind {
            '-' => blake3::hash(&std::fs::read(p).expect("read"))
                .to_hex()
                .to_string(),
            'l' => String::from_utf8_lossy(
                std::fs::read_link(p)
                    .expect("readlink")
                    .as_os_str()
                    .as_bytes(),
            )
            .into_owned(),
            _ => String::new(),
        };
        let mut xattrs: Vec<_> = xattr::list(p)
            .map(|l| {
                l.map(|n| {
                    (
                        n.as_bytes().to_vec(),
                        xattr::get(p, &n).ok().flatten().unwrap_or_default(),
                    )
                })
                .collect()
            })
            .unwrap_or_default();
        xattrs.sort();
        let rel = p
            .strip_prefix(root)
            .expect("prefix")
            .as_os_str()
            .as_bytes()
            .to_vec();
        m.insert(
            rel,
            Entry {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime_ns: i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
                size: if kind == '-' { md.len() } else { 0 },
                content,
                xattrs,
                rdev: if matches!(kind, 'c' | 'b') {
                    md.rdev()
                } else {
                    0
                },
                links: if kind == '-' { md.nlink() } else { 0 },
            },
        );
    }
    m
}

/// Assert two trees are identical in content and metadata; returns the
/// number of entries compared.
pub fn assert_same_tree(expected: &Path, actual: &Path) -> usize {
    let a = describe(expected);
    let b = describe(actual);
    let names = |m: &BTreeMap<Vec<u8>, Entry>| {
        m.keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b), "different entries");
    for (k, ea) in &a {
        let eb = &b[k];
        assert_eq!(ea, eb, "entry {} differs", String::from_utf8_lossy(k));
    }
    a.len()
}
