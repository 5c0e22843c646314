//! Trees: one directory's entries, encoded as canonical CBOR.
//!
//! `{"v": 1, "nodes": [node, ...]}` with nodes sorted by their raw name
//! bytes. A tree's ID is the keyed BLAKE3 of that encoding, so identical
//! directories deduplicate. Names and symlink targets are byte strings, so
//! non-UTF-8 names survive. Field meanings are normative in
//! `format-spec/v1/trees-and-snapshots.md`.

use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{as_i64, Fields, Value};
use crate::id::{ChunkId, TreeId};

mod encode;

/// Tree format version.
pub const TREE_VERSION: u64 = 1;

/// A point in time: seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds (negative before 1970).
    pub secs: i64,
    /// 0..=999_999_999.
    pub nanos: u32,
}

/// Reports show times as RFC 3339 in UTC (`2026-12-04T19:17:49.5Z`).
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl Timestamp {
    /// RFC 3339 in UTC, with as many fractional digits as needed; a time
    /// outside RFC 3339's range is shown as `secs.nanos`.
    pub fn to_rfc3339(self) -> String {
        jiff::Timestamp::new(self.secs, self.nanos as i32)
            .map(|ts| ts.to_string())
            .unwrap_or_else(|_| format!("{}.{:09}", self.secs, self.nanos))
    }

    /// The current time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
        }
    }

    /// CBOR `[secs, nanos]`.
    pub fn to_cbor(self) -> Value {
        Value::Array(vec![Value::int(self.secs), Value::Uint(self.nanos.into())])
    }

    /// Parse `[secs, nanos]`.
    pub fn from_cbor(v: &Value) -> Result<Self> {
        match v {
            Value::Array(a) => match a.as_slice() {
                [s, Value::Uint(n)] if *n < 1_000_000_000 => Ok(Timestamp {
                    secs: as_i64(s)
                        .ok_or_else(|| Error::corrupt("timestamp seconds out of range"))?,
                    nanos: *n as u32,
                }),
                _ => Err(Error::corrupt("timestamp is not [secs, nanos]")),
            },
            _ => Err(Error::corrupt("timestamp is not an array")),
        }
    }
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Regular file (code 0).
    File,
    /// Directory (1).
    Dir,
    /// Symbolic link (2).
    Symlink,
    /// Named pipe (3).
    Fifo,
    /// Character device (4).
    CharDevice,
    /// Block device (5).
    BlockDevice,
    /// Unix socket (6); recorded, restored as nothing.
    Socket,
}

impl NodeKind {
    fn code(self) -> u64 {
        match self {
            NodeKind::File => 0,
            NodeKind::Dir => 1,
            NodeKind::Symlink => 2,
            NodeKind::Fifo => 3,
            NodeKind::CharDevice => 4,
            NodeKind::BlockDevice => 5,
            NodeKind::Socket => 6,
        }
    }

    fn from_code(c: u64) -> Result<Self> {
        Ok(match c {
            0 => NodeKind::File,
            1 => NodeKind::Dir,
            2 => NodeKind::Symlink,
            3 => NodeKind::Fifo,
            4 => NodeKind::CharDevice,
            5 => NodeKind::BlockDevice,
            6 => NodeKind::Socket,
            _ => return Err(Error::corrupt(format!("unknown node type {c}"))),
        })
    }

    /// One-letter type for `ls --long`.
    pub fn letter(self) -> char {
        match self {
            NodeKind::File => '-',
            NodeKind::Dir => 'd',
            NodeKind::Symlink => 'l',
            NodeKind::Fifo => 'p',
            NodeKind::CharDevice => 'c',
            NodeKind::BlockDevice => 'b',
            NodeKind::Socket => 's',
        }
    }
}

/// One piece of a file's content, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// A stored chunk (CBOR: 32-byte byte string).
    Chunk(ChunkId),
    /// A hole of this many zero bytes, restored sparse (CBOR: unsigned int).
    Hole(u64),
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Raw name bytes (no `/`, not `.` or `..`).
    pub name: Vec<u8>,
    /// Type.
    pub kind: NodeKind,
    /// Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Owner name, if it resolved.
    pub user: Option<String>,
    /// Group name, if it resolved.
    pub group: Option<String>,
    /// Modification time.
    pub mtime: Timestamp,
    /// Access time.
    pub atime: Timestamp,
    /// Status change time (recorded; cannot be restored).
    pub ctime: Timestamp,
    /// Logical size in bytes (files).
    pub size: u64,
    /// Inode number at backup time.
    pub inode: u64,
    /// Device number of the containing filesystem at backup time.
    pub dev: u64,
    /// Hard-link count at backup time.
    pub nlink: u64,
    /// Device number for character and block devices.
    pub rdev: u64,
    /// File content.
    pub content: Vec<Extent>,
    /// Directory content.
    pub subtree: Option<TreeId>,
    /// Symlink target bytes.
    pub target: Option<Vec<u8>>,
    /// Extended attributes, sorted by name.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Node {
    /// A node with the given name and kind and zeroed metadata.
    pub fn new(name: Vec<u8>, kind: NodeKind) -> Self {
        Node {
            name,
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            user: None,
            group: None,
            mtime: Timestamp::default(),
            atime: Timestamp::default(),
            ctime: Timestamp::default(),
            size: 0,
            inode: 0,
            dev: 0,
            nlink: 1,
            rdev: 0,
            content: Vec::new(),
            subtree: None,
            target: None,
            xattrs: Vec::new(),
        }
    }

    /// The node as a generic CBOR value: the reference the direct encoder
    /// (`encode`, which writes trees) is tested against.
    #[cfg(test)]
    fn to_cbor(&self) -> Value {
        let mut m = vec![
            ("name", Value::Bytes(self.name.clone())),
            ("type", Value::Uint(self.kind.code())),
            ("mode", Value::Uint(self.mode.into())),
            ("uid", Value::Uint(self.uid.into())),
            ("gid", Value::Uint(self.gid.into())),
            ("mtime", self.mtime.to_cbor()),
            ("atime", self.atime.to_cbor()),
            ("ctime", self.ctime.to_cbor()),
            ("size", Value::Uint(self.size)),
            ("inode", Value::Uint(self.inode)),
            ("dev", Value::Uint(self.dev)),
            ("nlink", Value::Uint(self.nlink)),
        ];
        if let Some(u) = &self.user {
            m.push(("user", Value::Text(u.clone())));
        }
        if let Some(g) = &self.group {
            m.push(("group", Value::Text(g.clone())));
        }
        if matches!(self.kind, NodeKind::CharDevice | NodeKind::BlockDevice) {
            m.push(("rdev", Value::Uint(self.rdev)));
        }
        if self.kind == NodeKind::File {
            m.push((
                "content",
                Value::Array(
                    self.content
                        .iter()
                        .map(|e| match e {
                            Extent::Chunk(id) => Value::Bytes(id.0.to_vec()),
                            Extent::Hole(n) => Value::Uint(*n),
                        })
                        .collect(),
                ),
            ));
        }
        if let Some(t) = &self.subtree {
            m.push(("subtree", Value::Bytes(t.0.to_vec())));
        }
        if let Some(t) = &self.target {
            m.push(("target", Value::Bytes(t.clone())));
        }
        if !self.xattrs.is_empty() {
            m.push((
                "xattrs",
                Value::Array(
                    self.xattrs
                        .iter()
                        .map(|(k, v)| {
                            Value::Array(vec![Value::Bytes(k.clone()), Value::Bytes(v.clone())])
                        })
                        .collect(),
                ),
            ));
        }
        Value::map(m)
    }

    fn from_cbor(v: &Value) -> Result<Self> {
        let f = Fields::of(v, "tree node")?;
        let small = |k: &str| -> Result<u32> {
            u32::try_from(f.u64(k)?)
                .map_err(|_| Error::corrupt(format!("tree node: '{k}' out of range")))
        };
        let name = f.bytes("name")?.to_vec();
        if name.is_empty()
            || name.contains(&b'/')
            || name == b"."
            || name == b".."
            || name.contains(&0)
        {
            return Err(Error::corrupt("tree node has an unsafe name"));
        }
        let kind = NodeKind::from_code(f.u64("type")?)?;
        let mut content = Vec::new();
        for item in f.opt_array("content")? {
            content.push(match item {
                Value::Bytes(b) => Extent::Chunk(ChunkId::from_slice(b)?),
                Value::Uint(n) => Extent::Hole(*n),
                _ => return Err(Error::corrupt("tree node: bad content item")),
            });
        }
        let mut xattrs = Vec::new();
        for item in f.opt_array("xattrs")? {
            match item {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::Bytes(k), Value::Bytes(v)] => xattrs.push((k.clone(), v.clone())),
                    _ => return Err(Error::corrupt("tree node: bad xattr")),
                },
                _ => return Err(Error::corrupt("tree node: bad xattr")),
            }
        }
        if xattrs
            .windows(2)
            .any(|w| w.first().map(|a| &a.0) >= w.get(1).map(|b| &b.0))
        {
            return Err(Error::corrupt(
                "tree node: xattrs are not sorted by unique name",
            ));
        }
        let node = Node {
            name,
            kind,
            mode: small("mode")?,
            uid: small("uid")?,
            gid: small("gid")?,
            user: f.opt_text("user")?.map(str::to_owned),
            group: f.opt_text("group")?.map(str::to_owned),
            mtime: Timestamp::from_cbor(f.req("mtime")?)?,
            atime: Timestamp::from_cbor(f.req("atime")?)?,
            ctime: Timestamp::from_cbor(f.req("ctime")?)?,
            size: f.u64("size")?,
            inode: f.u64("inode")?,
            dev: f.u64("dev")?,
            nlink: f.u64("nlink")?,
            rdev: f.opt_u64("rdev")?.unwrap_or(0),
            content,
            subtree: f
                .opt_bytes("subtree")?
                .map(TreeId::from_slice)
                .transpose()?,
            target: f.opt_bytes("target")?.map(<[u8]>::to_vec),
            xattrs,
        };
        node.check_fields()?;
        Ok(node)
    }

    /// Per-type field rules of `format-spec/v1/trees-and-snapshots.md`.
    pub(crate) fn check_fields(&self) -> Result<()> {
        let is = |k: NodeKind| self.kind == k;
        let ok = self.mode <= 0o7777
            && (self.content.is_empty() || is(NodeKind::File))
            && (self.subtree.is_some() == is(NodeKind::Dir))
            && (self.target.is_some() == is(NodeKind::Symlink))
            && (self.rdev == 0 || is(NodeKind::CharDevice) || is(NodeKind::BlockDevice));
        if ok {
            Ok(())
        } else {
            Err(Error::corrupt(format!(
                "tree node '{}' has fields that do not fit its type",
                String::from_utf8_lossy(&self.name)
            )))
        }
    }
}

/// A directory listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    /// Entries, sorted by name bytes, names unique.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Decode; never panics. Rejects unsorted or duplicate names.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let v = Value::decode(bytes)?;
        let f = Fields::of(&v, "tree")?;
        let version = f.u64("v")?;
        if version != TREE_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("tree version {version} is not supported; upgrade cairn"),
            ));
        }
        let nodes = f
            .array("nodes")?
            .iter()
            .map(Node::from_cbor)
            .collect::<Result<Vec<_>>>()?;
        if nodes
            .windows(2)
            .any(|w| w.first().map(|a| &a.name) >= w.get(1).map(|b| &b.name))
        {
            return Err(Error::corrupt("tree nodes are not sorted by unique name"));
        }
        Ok(Tree { nodes })
    }

    /// Find an entry by name.
    pub fn get(&self, name: &[u8]) -> Option<&Node> {
        self.position(name).and_then(|i| self.nodes.get(i))
    }

    /// The index of the node named `name` in `nodes`, which are in name
    /// order.
    pub fn position(&self, name: &[u8]) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_fields() {
        let mut f = Node::new(b"\xffbin".to_vec(), NodeKind::File);
        f.content = vec![Extent::Chunk(ChunkId([1; 32])), Extent::Hole(4096)];
        f.xattrs = vec![(b"user.a".to_vec(), b"1".to_vec())];
        f.user = Some("root".into());
        f.mtime = Timestamp { secs: -5, nanos: 7 };
        let mut d = Node::new(b"dir".to_vec(), NodeKind::Dir);
        d.subtree = Some(TreeId([2; 32]));
        let mut l = Node::new(b"link".to_vec(), NodeKind::Symlink);
        l.target = Some(b"/x".to_vec());
        let mut dev = Node::new(b"null".to_vec(), NodeKind::CharDevice);
        dev.rdev = 0x103;
        let mut t = Tree {
            nodes: vec![l, f, d, dev],
        };
        let enc = t.encode();
        let back = Tree::decode(&enc).unwrap();
        assert_eq!(back, t);
        assert!(back.get(b"dir").is_some());
        assert!(back.get(b"nope").is_none());
        for cut in 0..enc.len() {
            assert!(Tree::decode(&enc[..cut]).is_err());
        }
    }

    #[test]
    fn rejects_path_traversal_names() {
        for bad in [&b".."[..], b"a/b", b"", b"."] {
            let mut t = Tree {
                nodes: vec![Node::new(bad.to_vec(), NodeKind::File)],
            };
            assert!(Tree::decode(&t.encode()).is_err(), "{bad:?}");
        }
    }
}
