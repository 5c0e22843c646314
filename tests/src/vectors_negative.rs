//! Negative test vectors: objects a conforming reader MUST reject
//! (`negative.json`). Each is a valid object with one rule broken: CBOR
//! that is not canonical, trailing bytes, unsorted or unsafe tree nodes,
//! fields on the wrong node type, bad compression payloads, non-zero pack
//! padding, a config out of canonical order or requiring an unknown
//! feature. This file holds the CBOR and tree cases and the shared
//! helpers; `vectors_negative_objects.rs` the other objects.
//!
//! Invariants: every vector starts from bytes the engine's encoders
//! produce and accept, and changes only what its `why` names; the
//! generator asserts that the valid base decodes and [`check`] is what
//! the test (`negative_vectors_are_refused`) runs on the checked-in file,
//! so a vector the engine would accept cannot be checked in unnoticed.

use cairn_engine::codec::cbor::Value;
use cairn_engine::codec::compression;
use cairn_engine::codec::config::Config;
use cairn_engine::codec::crypto::MasterKey;
use cairn_engine::codec::pack::decode_trailer_payload;
use cairn_engine::codec::snapshot::Snapshot;
use cairn_engine::codec::tree::{Node, NodeKind, Timestamp, Tree};
use cairn_engine::{hex_encode, ErrorKind, TreeId};
use serde_json::{json, Value as Json};

/// Decode `bytes` as `object` with the engine, as a reader would.
pub fn check(object: &str, bytes: &[u8]) -> cairn_engine::Result<()> {
    match object {
        "tree_cbor" => Tree::decode(bytes).map(drop),
        "config_cbor" => Config::decode_plain(bytes).map(drop),
        "snapshot_cbor" => Snapshot::decode_plain(bytes).map(drop),
        "payload" => compression::decompress(bytes, 1 << 20).map(drop),
        "trailer_payload" => decode_trailer_payload(bytes).map(drop),
        other => panic!("unknown vector object {other}"),
    }
}

pub(crate) fn node(name: &[u8], kind: NodeKind) -> Node {
    let mut n = Node::new(name.to_vec(), kind);
    n.mode = 0o644;
    n.mtime = Timestamp {
        secs: 1_767_225_600,
        nanos: 0,
    };
    n.atime = n.mtime;
    n.ctime = n.mtime;
    n.nlink = 1;
    n
}

pub(crate) fn tree(nodes: Vec<Node>) -> Vec<u8> {
    Tree { nodes }.encode()
}

/// Decode, change with `f`, re-encode (keys sorted, arrays kept in order).
pub(crate) fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let Value::Map(mut m) = Value::decode(bytes).expect("valid base") else {
        panic!("a map")
    };
    f(&mut m);
    Value::Map(m).encode()
}

pub(crate) fn get<'a>(m: &'a mut [(Value, Value)], key: &str) -> &'a mut Value {
    &mut m
        .iter_mut()
        .find(|(k, _)| *k == Value::Text(key.into()))
        .expect("key")
        .1
}

/// Edit the first node of a one-node tree.
fn edit_node(base: &[u8], f: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    edit(base, |m| {
        let Value::Array(nodes) = get(m, "nodes") else {
            panic!("nodes")
        };
        let Value::Map(n) = &mut nodes[0] else {
            panic!("node")
        };
        f(n);
    })
}

/// A map encoded with its keys in the given order (no sorting).
pub(crate) fn raw_map(entries: &[(&str, Value)]) -> Vec<u8> {
    let mut out = vec![0xa0 | entries.len() as u8];
    for (k, v) in entries {
        out.extend(Value::Text((*k).into()).encode());
        out.extend(v.encode());
    }
    out
}

pub(crate) struct Case {
    pub name: &'static str,
    pub object: &'static str,
    pub expect: ErrorKind,
    pub why: &'static str,
    pub bytes: Vec<u8>,
}

impl Case {
    /// A case: `object` holding `bytes` must be refused as `expect`.
    pub(crate) fn new(
        name: &'static str,
        object: &'static str,
        expect: ErrorKind,
        why: &'static str,
        bytes: Vec<u8>,
    ) -> Case {
        Case {
            name,
            object,
            expect,
            why,
            bytes,
        }
    }
}

fn cases() -> Vec<Case> {
    use ErrorKind::Corrupt;
    let one = tree(vec![node(b"f", NodeKind::File)]);
    Tree::decode(&one).expect("base tree");
    // The base tree starts a2 61 76 01 (map of 2, "v": 1), then "nodes".
    assert_eq!(one[..4], [0xa2, 0x61, 0x76, 0x01]);
    let c = Case::new;
    let mut v = Vec::new();
    let mut non_shortest = vec![0xa2, 0x61, 0x76, 0x18, 0x01];
    non_shortest.extend(&one[4..]);
    v.push(c(
        "cbor-int-not-shortest",
        "tree_cbor",
        Corrupt,
        "`v` = 1 encoded as 18 01 instead of 01 (rule 2)",
        non_shortest,
    ));
    let mut unsorted = vec![0xa2];
    unsorted.extend(&one[4..]);
    unsorted.extend([0x61, 0x76, 0x01]);
    v.push(c(
        "cbor-keys-unsorted",
        "tree_cbor",
        Corrupt,
        "`nodes` before `v` (rule 4)",
        unsorted,
    ));
    let mut dup = vec![0xa3, 0x61, 0x76, 0x01];
    dup.extend(&one[1..]);
    v.push(c(
        "cbor-duplicate-key",
        "tree_cbor",
        Corrupt,
        "`v` twice (rule 4)",
        dup,
    ));
    // "nodes" header at offset 10: 81 (array of 1) becomes 9f … ff.
    assert_eq!(one[10], 0x81);
    let mut indef = one[..10].to_vec();
    indef.push(0x9f);
    indef.extend(&one[11..]);
    indef.push(0xff);
    v.push(c(
        "cbor-indefinite-length",
        "tree_cbor",
        Corrupt,
        "`nodes` as an indefinite-length array (rule 3)",
        indef,
    ));
    let mut float = vec![0xa2, 0x61, 0x76, 0xf9, 0x3c, 0x00];
    float.extend(&one[4..]);
    v.push(c(
        "cbor-float",
        "tree_cbor",
        Corrupt,
        "`v` as the half-precision float 1.0 (rule 1)",
        float,
    ));
    let mut tagged = vec![0xa2, 0x61, 0x76, 0xc1, 0x01];
    tagged.extend(&one[4..]);
    v.push(c(
        "cbor-tag",
        "tree_cbor",
        Corrupt,
        "`v` wrapped in tag 1 (rule 1)",
        tagged,
    ));
    let mut trailing = one.clone();
    trailing.push(0x00);
    v.push(c(
        "cbor-trailing-bytes",
        "tree_cbor",
        Corrupt,
        "one byte after the item (rule 5)",
        trailing,
    ));

    let two = tree(vec![node(b"a", NodeKind::File), node(b"b", NodeKind::File)]);
    let swapped = edit(&two, |m| {
        if let Value::Array(n) = get(m, "nodes") {
            n.reverse();
        }
    });
    v.push(c(
        "tree-nodes-unsorted",
        "tree_cbor",
        Corrupt,
        "nodes `b` then `a`",
        swapped,
    ));
    let same = edit(&two, |m| {
        if let Value::Array(n) = get(m, "nodes") {
            n[1] = n[0].clone();
        }
    });
    v.push(c(
        "tree-duplicate-name",
        "tree_cbor",
        Corrupt,
        "two nodes named `a`",
        same,
    ));
    for (name, bad) in [
        ("tree-name-empty", &b""[..]),
        ("tree-name-dot", b"."),
        ("tree-name-dotdot", b".."),
        ("tree-name-slash", b"a/b"),
        ("tree-name-nul", b"a\0b"),
    ] {
        let bytes = edit_node(&one, |n| *get(n, "name") = Value::Bytes(bad.to_vec()));
        v.push(c(
            name,
            "tree_cbor",
            Corrupt,
            "an unsafe name (trees-and-snapshots.md, \"Ordering and name safety\")",
            bytes,
        ));
    }
    let t = edit_node(&one, |n| *get(n, "type") = Value::Uint(7));
    v.push(c(
        "tree-node-type-unknown",
        "tree_cbor",
        Corrupt,
        "node type 7",
        t,
    ));
    let t = edit_node(&one, |n| {
        n.push((Value::Text("rdev".into()), Value::Uint(0x400)))
    });
    v.push(c(
        "tree-rdev-on-file",
        "tree_cbor",
        Corrupt,
        "a non-zero `rdev` on a regular file",
        t,
    ));
    let t = edit_node(&one, |n| *get(n, "mode") = Value::Uint(0o10644));
    v.push(c(
        "tree-mode-too-large",
        "tree_cbor",
        Corrupt,
        "`mode` above 0o7777",
        t,
    ));
    let t = edit_node(&one, |n| {
        n.retain(|(k, _)| *k != Value::Text("mtime".into()))
    });
    v.push(c(
        "tree-missing-mtime",
        "tree_cbor",
        Corrupt,
        "a node without `mtime` (always present)",
        t,
    ));
    let t = tree(vec![node(b"l", NodeKind::Symlink)]);
    v.push(c(
        "tree-symlink-without-target",
        "tree_cbor",
        Corrupt,
        "a symlink without `target`",
        t,
    ));
    let t = tree(vec![node(b"d", NodeKind::Dir)]);
    v.push(c(
        "tree-dir-without-subtree",
        "tree_cbor",
        Corrupt,
        "a directory without `subtree`",
        t,
    ));
    let mut f = node(b"f", NodeKind::File);
    f.xattrs = vec![(b"user.b".to_vec(), vec![]), (b"user.a".to_vec(), vec![])];
    let t = edit_node(&tree(vec![node(b"f", NodeKind::File)]), |n| {
        n.push((
            Value::Text("xattrs".into()),
            Value::Array(
                f.xattrs
                    .iter()
                    .map(|(k, x)| {
                        Value::Array(vec![Value::Bytes(k.clone()), Value::Bytes(x.clone())])
                    })
                    .collect(),
            ),
        ))
    });
    v.push(c(
        "tree-xattrs-unsorted",
        "tree_cbor",
        Corrupt,
        "xattrs `user.b` before `user.a`",
        t,
    ));
    let mut dir = node(b"d", NodeKind::Dir);
    dir.subtree = Some(TreeId([9; 32]));
    let t = edit_node(&tree(vec![dir]), |n| {
        n.push((
            Value::Text("content".into()),
            Value::Array(vec![Value::Uint(5)]),
        ))
    });
    v.push(c(
        "tree-content-on-directory",
        "tree_cbor",
        Corrupt,
        "a directory with `content`",
        t,
    ));

    v.extend(crate::vectors_negative_objects::cases());
    v
}

/// `negative.json`.
pub fn generate(_mk: &MasterKey) -> (String, Json) {
    let items: Vec<Json> = cases()
        .into_iter()
        .map(|c| {
            json!({"name": c.name, "object": c.object, "expect": c.expect.as_str(), "why": c.why, "bytes": hex_encode(&c.bytes)})
        })
        .collect();
    (
        "negative.json".into(),
        json!({
            "description": "Objects a conforming reader MUST reject. Each is a valid object (made by the reference encoder) with one rule broken, as `why` says. `object` says how to read `bytes`: tree_cbor, config_cbor, snapshot_cbor (the CBOR plaintext, without the compression tag), payload (a compression payload, tag byte first), trailer_payload (a pack trailer's plaintext after its tag byte: version, count, entries, padding). `expect` is the error kind: corrupt, or unsupported_version where the object is newer than the reader rather than damaged",
            "vectors": items,
        }),
    )
}
