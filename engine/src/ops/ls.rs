//! `ls`: the entries of a snapshot at and below a path, in tree order,
//! streamed to a visitor (a snapshot may hold millions of entries: they
//! are never collected). Each entry serializes as one line of `ls --json`.

use crate::error::Result;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Node, NodeKind, Timestamp};
use crate::repo::Repository;
use serde::Serialize;

/// One listed entry: its absolute path in the snapshot and its node.
pub struct Entry<'a> {
    /// The path, as raw bytes (names need not be UTF-8).
    pub path: &'a [u8],
    /// The node.
    pub node: &'a Node,
}

/// The stable name of a node kind in reports.
pub fn kind_name(k: NodeKind) -> &'static str {
    match k {
        NodeKind::File => "file",
        NodeKind::Dir => "dir",
        NodeKind::Symlink => "symlink",
        NodeKind::Fifo => "fifo",
        NodeKind::CharDevice => "chardev",
        NodeKind::BlockDevice => "blockdev",
        NodeKind::Socket => "socket",
    }
}

#[derive(Serialize)]
struct View<'a> {
    path: String,
    path_bytes_hex: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    user: &'a Option<String>,
    group: &'a Option<String>,
    size: u64,
    mtime: Timestamp,
    target: Option<String>,
}

/// A path that is not UTF-8 is shown lossily, with its exact bytes in
/// `path_bytes_hex`.
impl Serialize for Entry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let n = self.node;
        View {
            path: String::from_utf8_lossy(self.path).into_owned(),
            path_bytes_hex: std::str::from_utf8(self.path)
                .is_err()
                .then(|| crate::id::hex_encode(self.path)),
            kind: kind_name(n.kind),
            mode: n.mode,
            uid: n.uid,
            gid: n.gid,
            user: &n.user,
            group: &n.group,
            size: n.size,
            mtime: n.mtime,
            target: n
                .target
                .as_ref()
                .map(|t| String::from_utf8_lossy(t).into_owned()),
        }
        .serialize(s)
    }
}

/// Visit `path` of `snap` and, for a directory, everything below it.
pub fn ls(
    repo: &Repository,
    snap: &Snapshot,
    path: &[u8],
    visit: &mut dyn FnMut(&Entry<'_>) -> Result<()>,
) -> Result<()> {
    crate::repo::browse::walk(repo, snap, path, true, &mut |p, node| {
        visit(&Entry { path: p, node })
    })
}
