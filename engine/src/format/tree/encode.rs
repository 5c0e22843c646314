//! The canonical CBOR of trees, written straight into the output.
//!
//! Why: a backup encodes every new or changed directory, and building the
//! generic [`Value`](crate::format::cbor::Value) tree first (a boxed value
//! per field, each map entry encoded apart, sorted, then copied) took a
//! sixth of the walk's thread on a tree of small files (`perf`, issue 15).
//!
//! Invariant: the bytes are exactly those of the generic encoder
//! (`Node::to_cbor`, kept as the reference): canonical map order is the
//! order of the encoded keys, and every key here is a short text string,
//! so it is by length, then bytewise; the fields below are written in that
//! order. The test `direct_encoding_is_the_generic_one` checks it on nodes
//! of every kind and every optional field, and the format's test vectors
//! and golden repositories pin the bytes (a tree's ID is their hash).

use super::{Extent, Node, NodeKind, Timestamp, Tree, TREE_VERSION};
use crate::format::cbor::head;

/// Major types used here.
const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;

impl Tree {
    /// Canonical CBOR; sorts nodes first.
    pub fn encode(&mut self) -> Vec<u8> {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(16 + 192 * self.nodes.len());
        head(&mut out, MAP, 2);
        text(&mut out, "v");
        head(&mut out, UINT, TREE_VERSION);
        text(&mut out, "nodes");
        head(&mut out, ARRAY, self.nodes.len() as u64);
        for n in &self.nodes {
            n.encode_into(&mut out);
        }
        out
    }
}

impl Node {
    /// Append this node's canonical CBOR map to `out`.
    pub(super) fn encode_into(&self, out: &mut Vec<u8>) {
        let device = matches!(self.kind, NodeKind::CharDevice | NodeKind::BlockDevice);
        let file = self.kind == NodeKind::File;
        let optional = [
            self.user.is_some(),
            self.group.is_some(),
            device,
            file,
            self.subtree.is_some(),
            self.target.is_some(),
            !self.xattrs.is_empty(),
        ];
        let fields = 12 + optional.iter().filter(|&&b| b).count();
        head(out, MAP, fields as u64);
        uint(out, "dev", self.dev);
        uint(out, "gid", self.gid.into());
        uint(out, "uid", self.uid.into());
        uint(out, "mode", self.mode.into());
        text(out, "name");
        bytes(out, &self.name);
        if device {
            uint(out, "rdev", self.rdev);
        }
        uint(out, "size", self.size);
        uint(out, "type", self.kind.code());
        if let Some(u) = &self.user {
            text(out, "user");
            text(out, u);
        }
        time(out, "atime", self.atime);
        time(out, "ctime", self.ctime);
        if let Some(g) = &self.group {
            text(out, "group");
            text(out, g);
        }
        uint(out, "inode", self.inode);
        time(out, "mtime", self.mtime);
        uint(out, "nlink", self.nlink);
        if let Some(t) = &self.target {
            text(out, "target");
            bytes(out, t);
        }
        if !self.xattrs.is_empty() {
            text(out, "xattrs");
            head(out, ARRAY, self.xattrs.len() as u64);
            for (k, v) in &self.xattrs {
                head(out, ARRAY, 2);
                bytes(out, k);
                bytes(out, v);
            }
        }
        if file {
            text(out, "content");
            head(out, ARRAY, self.content.len() as u64);
            for e in &self.content {
                match e {
                    Extent::Chunk(id) => bytes(out, &id.0),
                    Extent::Hole(n) => head(out, UINT, *n),
                }
            }
        }
        if let Some(t) = &self.subtree {
            text(out, "subtree");
            bytes(out, &t.0);
        }
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, TEXT, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, BYTES, b.len() as u64);
    out.extend_from_slice(b);
}

fn uint(out: &mut Vec<u8>, key: &str, n: u64) {
    text(out, key);
    head(out, UINT, n);
}

/// `key: [secs, nanos]`, seconds as a signed integer.
fn time(out: &mut Vec<u8>, key: &str, t: Timestamp) {
    text(out, key);
    head(out, ARRAY, 2);
    if t.secs >= 0 {
        head(out, UINT, t.secs.unsigned_abs());
    } else {
        head(out, NINT, t.secs.unsigned_abs() - 1);
    }
    head(out, UINT, t.nanos.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::cbor::Value;
    use crate::id::{ChunkId, TreeId};

    /// The generic encoder's bytes for `tree` (the reference).
    fn generic(tree: &mut Tree) -> Vec<u8> {
        tree.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Value::map(vec![
            ("v", Value::Uint(TREE_VERSION)),
            (
                "nodes",
                Value::Array(tree.nodes.iter().map(Node::to_cbor).collect()),
            ),
        ])
        .encode()
    }

    /// Nodes of every kind, with and without each optional field, numbers
    /// at every CBOR length boundary and times before 1970.
    #[test]
    fn direct_encoding_is_the_generic_one() {
        let kinds = [
            NodeKind::File,
            NodeKind::Dir,
            NodeKind::Symlink,
            NodeKind::CharDevice,
            NodeKind::BlockDevice,
            NodeKind::Fifo,
            NodeKind::Socket,
        ];
        let numbers = [
            0u64,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u32::MAX.into(),
            u64::MAX,
        ];
        let mut nodes = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            for (j, &n) in numbers.iter().enumerate() {
                let mut node = Node::new(format!("n{i}-{j}").into_bytes(), *kind);
                node.size = n;
                node.inode = n.rotate_left(7);
                node.dev = n / 3;
                node.nlink = n / 5;
                node.rdev = n / 7;
                node.uid = (n as u32).wrapping_mul(3);
                node.gid = n as u32;
                node.mode = (n as u32) & 0o7777;
                node.mtime = Timestamp {
                    secs: -(n as i64 & 0xffff),
                    nanos: (n % 1_000_000_000) as u32,
                };
                node.atime = Timestamp {
                    secs: n as i64 & i64::MAX,
                    nanos: 0,
                };
                node.ctime = Timestamp {
                    secs: i64::MIN + (n % 7) as i64,
                    nanos: 999_999_999,
                };
                if j % 2 == 0 {
                    node.user = Some(format!("user{j}"));
                }
                if j % 3 == 0 {
                    node.group = Some("g".repeat(j * 3));
                }
                if j % 2 == 1 {
                    node.xattrs = vec![
                        (b"user.a".to_vec(), vec![j as u8; j * 40]),
                        (b"security.b".to_vec(), Vec::new()),
                    ];
                }
                node.content = (0..j)
                    .map(|k| match k % 3 {
                        0 => Extent::Hole(numbers[k]),
                        _ => Extent::Chunk(ChunkId([k as u8; 32])),
                    })
                    .collect();
                if *kind == NodeKind::Dir {
                    node.subtree = Some(TreeId([j as u8; 32]));
                }
                if *kind == NodeKind::Symlink {
                    node.target = Some(vec![b'x'; j * 30]);
                }
                nodes.push(node);
            }
        }
        let mut tree = Tree { nodes };
        let mut reference = tree.clone();
        assert_eq!(tree.encode(), generic(&mut reference));
        let mut empty = Tree::default();
        assert_eq!(empty.encode(), generic(&mut Tree::default()));
    }
}
