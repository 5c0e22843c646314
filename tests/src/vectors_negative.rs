//! Negative test vectors: objects a conforming reader MUST reject
//! (`negative.json`). Each is a valid object with one rule broken: CBOR
//! that is not canonical, trailing bytes, unsorted or unsafe tree nodes,
//! fields on the wrong node type, bad compression payloads, non-zero pack
//! padding, a config out of canonical order or requiring an unknown
//! feature.
//!
//! Invariants: every vector starts from bytes the engine's encoders
//! produce and accept, and changes only what its `why` names; the
//! generator asserts that the valid base decodes and [`check`] is what
//! the test (`negative_vectors_are_refused`) runs on the checked-in file,
//! so a vector the engine would accept cannot be checked in unnoticed.

use cairn_engine::codec::cbor::Value;
use cairn_engine::codec::config::Config;
use cairn_engine::codec::crypto::MasterKey;
use cairn_engine::codec::pack::decode_trailer_payload;
use cairn_engine::codec::snapshot::Snapshot;
use cairn_engine::codec::tree::{Node, NodeKind, Timestamp, Tree};
use cairn_engine::codec::{compression, pack::BlobEntry, pack::BlobType};
use cairn_engine::{hex_encode, BlobId, ChunkerParams, ErrorKind, TreeId};
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

fn node(name: &[u8], kind: NodeKind) -> Node {
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

fn tree(nodes: Vec<Node>) -> Vec<u8> {
    Tree { nodes }.encode()
}

/// Decode, change with `f`, re-encode (keys sorted, arrays kept in order).
fn edit(bytes: &[u8], f: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let Value::Map(mut m) = Value::decode(bytes).expect("valid base") else {
        panic!("a map")
    };
    f(&mut m);
    Value::Map(m).encode()
}

fn get<'a>(m: &'a mut [(Value, Value)], key: &str) -> &'a mut Value {
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
fn raw_map(entries: &[(&str, Value)]) -> Vec<u8> {
    let mut out = vec![0xa0 | entries.len() as u8];
    for (k, v) in entries {
        out.extend(Value::Text((*k).into()).encode());
        out.extend(v.encode());
    }
    out
}

struct Case {
    name: &'static str,
    object: &'static str,
    expect: ErrorKind,
    why: &'static str,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    use ErrorKind::{Corrupt, UnsupportedVersion};
    let one = tree(vec![node(b"f", NodeKind::File)]);
    Tree::decode(&one).expect("base tree");
    // The base tree starts a2 61 76 01 (map of 2, "v": 1), then "nodes".
    assert_eq!(one[..4], [0xa2, 0x61, 0x76, 0x01]);
    let c = |name, object, expect, why, bytes| Case {
        name,
        object,
        expect,
        why,
        bytes,
    };
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

    // Compression payloads.
    v.push(c(
        "payload-unknown-tag",
        "payload",
        Corrupt,
        "compression tag 02",
        vec![0x02, b'x'],
    ));
    let mut frame = vec![0x01];
    frame.extend(
        compression::compress(&[b'z'; 256], 3)
            .get(1..)
            .expect("frame"),
    );
    assert_eq!(
        compression::decompress(&frame, 1 << 20).expect("base frame"),
        [b'z'; 256]
    );
    let mut after = frame.clone();
    after.push(0x00);
    v.push(c(
        "payload-bytes-after-frame",
        "payload",
        Corrupt,
        "a byte after the zstd frame",
        after,
    ));
    v.push(c(
        "payload-empty",
        "payload",
        Corrupt,
        "no tag byte",
        vec![],
    ));

    // Pack trailer plaintexts (after the compression tag).
    let e = BlobEntry {
        blob_type: BlobType::Chunk,
        id: BlobId([4; 32]),
        offset: 8,
        sealed_len: 50,
        plain_len: 10,
    };
    let mut trailer = vec![1];
    cairn_engine::codec::pack::encode_entries(&mut trailer, &[e]);
    trailer.extend([0u8; 16]);
    decode_trailer_payload(&trailer).expect("base trailer");
    let mut pad = trailer.clone();
    *pad.last_mut().expect("padding") = 0x01;
    v.push(c(
        "trailer-padding-not-zero",
        "trailer_payload",
        Corrupt,
        "the last padding byte is 01",
        pad,
    ));
    let mut ty = trailer.clone();
    ty[5] = 18;
    v.push(c(
        "trailer-blob-type-unknown",
        "trailer_payload",
        Corrupt,
        "blob entry type 18",
        ty,
    ));
    let mut ver = trailer;
    ver[0] = 2;
    v.push(c(
        "trailer-version-2",
        "trailer_payload",
        UnsupportedVersion,
        "trailer version 2: unsupported, not corrupt",
        ver,
    ));

    // Config.
    let cfg = Config {
        id: [7; 16],
        chunker: ChunkerParams::default(),
        zstd_level: 3,
        pack_size: 16 << 20,
        created: 1_767_225_600,
        parity: Some((10, 2)),
    };
    let base = cfg.encode_plain();
    Config::decode_plain(&base).expect("base config");
    let Value::Map(m) = Value::decode(&base).expect("map") else {
        panic!("map")
    };
    let table_order = [
        "v",
        "id",
        "created",
        "chunk_avg",
        "chunk_max",
        "chunk_min",
        "pack_size",
        "parity_k",
        "parity_m",
        "zstd_level",
    ];
    let entries: Vec<(&str, Value)> = table_order
        .iter()
        .map(|k| {
            let v = m
                .iter()
                .find(|(kk, _)| *kk == Value::Text((*k).into()))
                .expect("key");
            (*k, v.1.clone())
        })
        .collect();
    v.push(c("config-old-table-order", "config_cbor", Corrupt, "keys in the order of the old overview.md table: `chunk_*` before `parity_k` (not canonical)", raw_map(&entries)));
    let t = edit(&base, |m| {
        m.retain(|(k, _)| *k != Value::Text("chunk_avg".into()))
    });
    v.push(c(
        "config-missing-chunk-avg",
        "config_cbor",
        Corrupt,
        "no `chunk_avg` (required)",
        t,
    ));
    let t = edit(&base, |m| {
        m.push((
            Value::Text("features".into()),
            Value::Array(vec![Value::Text("from-the-future".into())]),
        ))
    });
    v.push(c(
        "config-unknown-feature",
        "config_cbor",
        UnsupportedVersion,
        "`features` names a feature the reader does not know: unsupported, not corrupt",
        t,
    ));

    // Snapshot.
    let snap = Snapshot {
        time: Timestamp {
            secs: 1_767_225_600,
            nanos: 0,
        },
        tree: TreeId([1; 32]),
        paths: vec!["/srv".into()],
        host: "h".into(),
        user: "u".into(),
        tags: vec!["a".into(), "b".into()],
        parent: None,
        source: "files".into(),
        stats: Default::default(),
        program: "cairn vectors".into(),
    };
    let base = snap.encode_plain();
    Snapshot::decode_plain(&base).expect("base snapshot");
    let t = edit(&base, |m| {
        if let Value::Array(tags) = get(m, "tags") {
            tags.reverse();
        }
    });
    v.push(c(
        "snapshot-tags-unsorted",
        "snapshot_cbor",
        Corrupt,
        "tags `b`, `a`",
        t,
    ));
    let t = edit(&base, |m| *get(m, "source") = Value::Text("tape".into()));
    v.push(c(
        "snapshot-source-unknown",
        "snapshot_cbor",
        Corrupt,
        "source `tape`",
        t,
    ));
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
