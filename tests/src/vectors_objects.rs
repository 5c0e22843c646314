//! Test vectors for the objects `vectors.rs` leaves out (issue 13): a zstd
//! payload, the config, locks, the scrub record, and a small repository of
//! directory trees with subtrees, holes, hard links and devices, its tree
//! pack and two index files.
//!
//! Invariants: every byte is deterministic (fixed keys, nonces and times);
//! each object is produced by the engine's own encoders and decoded back
//! by the engine before it is written out, so a vector can only describe
//! what the engine accepts. The one exception is the zstd frame: it is a
//! constant made once with the `zstd` CLI, so the vectors do not change
//! when the zstd library does; the generator checks that the engine
//! decodes it.

use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::codec::compression;
use cairn_engine::codec::config::Config;
use cairn_engine::codec::crypto::aead::ObjectType;
use cairn_engine::codec::crypto::{MasterKey, Sealer, SubKeys};
use cairn_engine::codec::index::{IndexFile, PackEntries};
use cairn_engine::codec::lock::LockInfo;
use cairn_engine::codec::pack::{BlobEntry, BlobType};
use cairn_engine::codec::scrub_record::ScrubState;
use cairn_engine::codec::snapshot::{Snapshot, SnapshotStats};
use cairn_engine::codec::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use cairn_engine::codec::PackBuilder;
use cairn_engine::{hex_encode, BlobId, ChunkId, ChunkerParams, FineParams, PackId, TreeId};
use serde_json::{json, Value};

fn h(b: &[u8]) -> String {
    hex_encode(b)
}

fn nonce(tag: u8) -> [u8; 24] {
    [tag; 24]
}

const T0: i64 = 1_767_225_600;

/// `zstd -19` (CLI v1.5.4) of [`ZSTD_TEXT`]: one frame with a content
/// size and a checksum.
const ZSTD_FRAME: &str = "28b52ffd24ed1d0100e0436169726e207a73746420766563746f722e2054686520656e642e0a01009d46cd3047b7bd0f";

fn zstd_text() -> String {
    "Cairn zstd vector. ".repeat(12) + "The end.\n"
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Seal `plain` as a full envelope with a stored payload and zero bind.
fn seal_full(sealer: &Sealer, ty: ObjectType, plain: &[u8], n: u8) -> Vec<u8> {
    sealer
        .seal_with_nonce(ty, &[0; 32], &compression::compress(plain, 0), &nonce(n))
        .expect("seal")
}

/// Every vector file of this module: (file name, JSON).
pub fn generate(mk: &MasterKey) -> Vec<(String, Value)> {
    let keys = mk.subkeys();
    let sealer = Sealer::new(&keys.seal);
    vec![
        ("zstd.json".into(), zstd(&keys, &sealer)),
        ("config.json".into(), config(&sealer)),
        ("lock.json".into(), locks(&sealer)),
        ("scrub-record.json".into(), scrub(&sealer)),
        ("directory-tree.json".into(), directory(&keys, &sealer)),
    ]
}

fn zstd(keys: &SubKeys, sealer: &Sealer) -> Value {
    let text = zstd_text();
    let mut payload = vec![1u8];
    payload.extend(unhex(ZSTD_FRAME));
    let plain = compression::decompress(&payload, text.len()).expect("engine decodes the frame");
    assert_eq!(plain, text.as_bytes());
    let id = BlobId(keys.blob_id(text.as_bytes()));
    let sealed = sealer
        .seal_compact_with_nonce(ObjectType::Chunk, &id.0, &payload, &nonce(70))
        .expect("seal");
    json!({
        "description": "A compression payload with tag 01 (one zstd frame, RFC 8878) and a chunk blob sealed with it. The frame was made once by the zstd CLI and is a constant: a writer's zstd may compress the same text to other bytes, which is equally valid; a reader MUST decode this one",
        "fields": {
            "plaintext_utf8": "the data: decompressing `payload` gives exactly these bytes",
            "payload": "the compression payload: tag byte 01, then the frame",
            "blob_id": "keyed BLAKE3 (blob_id_key of subkeys.json) of the plaintext, not of the payload",
            "plain_len": "the blob entry's plain_len: length of the decompressed data (the tag byte is not counted)",
            "nonce": "nonce of the compact envelope (type 16, bind = blob_id)",
            "sealed": "the compact envelope as stored in a pack: nonce | ciphertext | tag; sealed_len = payload length + 40",
        },
        "plaintext_utf8": text,
        "payload": h(&payload),
        "blob_id": id.to_hex(),
        "plain_len": text.len(),
        "nonce": h(&nonce(70)),
        "sealed": h(&sealed),
    })
}

fn config(sealer: &Sealer) -> Value {
    let c = Config {
        id: std::array::from_fn(|i| 0xc0 | i as u8),
        chunker: ChunkerParams::default(),
        fine: Some(FineParams::default()),
        zstd_level: 3,
        pack_size: 16 << 20,
        created: T0,
        parity: Some((10, 2)),
    };
    let plain = c.encode_plain();
    let file = seal_full(sealer, ObjectType::Config, &plain, 60);
    assert_eq!(Config::open(sealer, &file).expect("config opens"), c);
    json!({
        "description": "A config with parity on and the default fine chunk class (overview.md, \"The config object\"): its canonical CBOR, and the `config` file sealed under seal_key of subkeys.json (full envelope, type 1, zero bind, stored payload). Note the key order of the encoding: fine_avg, fine_max, fine_min and parity_* (8 characters) come before chunk_*, fine_page and pack_size (9), and fine_limit (10) sorts before zstd_level",
        "fields": {
            "config_cbor": "the canonical CBOR map, without the compression tag",
            "nonce": "the envelope nonce",
            "file": "the `config` file: envelope of the payload 00 | config_cbor",
        },
        "config_cbor": h(&plain),
        "nonce": h(&nonce(60)),
        "file": h(&file),
    })
}

fn locks(sealer: &Sealer) -> Value {
    let base = LockInfo {
        host: "vector-host".into(),
        pid: 4242,
        time: T0,
        exclusive: false,
        prune: false,
        instance: "0b8e7a9c-5f52-4b67-9ad0-2d1c3f4e5a6b:4026531836".into(),
    };
    let kinds = [
        ("shared", false, false),
        ("prune", false, true),
        ("exclusive", true, false),
    ];
    let items: Vec<Value> = kinds
        .iter()
        .enumerate()
        .map(|(i, (kind, exclusive, prune))| {
            let l = LockInfo {
                exclusive: *exclusive,
                prune: *prune,
                ..base.clone()
            };
            let plain = l.encode_plain();
            let file = seal_full(sealer, ObjectType::Lock, &plain, 61 + i as u8);
            assert_eq!(LockInfo::open(sealer, &file).expect("lock opens"), l);
            json!({"kind": kind, "lock_cbor": h(&plain), "nonce": h(&nonce(61 + i as u8)), "file": h(&file)})
        })
        .collect();
    json!({
        "description": "One lock file of each kind (overview.md, \"Locks\"): canonical CBOR and the file sealed under seal_key (full envelope, type 5, zero bind, stored payload). Lock file names are random and not part of the vector",
        "fields": {
            "kind": "shared, prune or exclusive, as the `exclusive` and `prune` keys say",
            "lock_cbor": "the canonical CBOR map, without the compression tag",
            "nonce": "the envelope nonce",
            "file": "the lock file",
        },
        "locks": items,
    })
}

fn scrub(sealer: &Sealer) -> Value {
    let mut s = ScrubState::default();
    s.verified.insert(PackId([0x33; 32]), T0 + 60);
    s.verified.insert(PackId([0x11; 32]), T0);
    let plain = s.encode();
    let file = seal_full(sealer, ObjectType::ScrubState, &plain, 64);
    assert_eq!(ScrubState::open(sealer, &file).expect("record opens"), s);
    json!({
        "description": "A scrub record, state/scrub (overview.md, \"The scrub record\"): two packs with their last verification times, sorted by pack ID; full envelope type 8, zero bind, stored payload",
        "fields": {
            "record_cbor": "the canonical CBOR map {\"v\": 1, \"packs\": [[pack_id, secs], ...]}, without the compression tag",
            "nonce": "the envelope nonce",
            "file": "the state/scrub file",
        },
        "record_cbor": h(&plain),
        "nonce": h(&nonce(64)),
        "file": h(&file),
    })
}

fn node(name: &[u8], kind: NodeKind, mode: u32, inode: u64) -> Node {
    let mut n = Node::new(name.to_vec(), kind);
    n.mode = mode;
    n.uid = 1000;
    n.gid = 100;
    n.mtime = Timestamp { secs: T0, nanos: 5 };
    n.atime = n.mtime;
    n.ctime = n.mtime;
    n.inode = inode;
    n.dev = 2049;
    n.nlink = 1;
    n
}

/// Seal `blobs` (type, plaintext) into a pack with fixed nonces from `n`.
fn pack(
    keys: &SubKeys,
    sealer: &Sealer,
    blobs: &[(BlobType, Vec<u8>)],
    n: u8,
) -> (PackId, Vec<BlobEntry>, Vec<u8>) {
    let mem = MemoryBackend::new();
    let mut pb = PackBuilder::new(&mem).expect("pack");
    for (i, (ty, plain)) in blobs.iter().enumerate() {
        let id = BlobId(keys.blob_id(plain));
        let sealed = sealer
            .seal_compact_with_nonce(
                ty.object_type(),
                &id.0,
                &compression::compress(plain, 0),
                &nonce(n + i as u8),
            )
            .expect("seal");
        let entry = BlobEntry {
            blob_type: *ty,
            id,
            offset: 0,
            sealed_len: 0,
            plain_len: plain.len() as u32,
        };
        pb.add(entry, &sealed).expect("add");
    }
    let fp = pb
        .finish_with(
            |p| sealer.seal_with_nonce(ObjectType::PackTrailer, &[0; 32], p, &nonce(n + 8)),
            |l| sealer.seal_compact_with_nonce(ObjectType::PackFooter, &[0; 32], l, &nonce(n + 9)),
        )
        .expect("pack");
    let bytes = mem.read(Kind::Data, &fp.id.to_hex()).expect("pack bytes");
    (fp.id, fp.entries, bytes)
}

fn index_file(sealer: &Sealer, pack: PackId, blobs: &[BlobEntry], n: u8) -> (Vec<u8>, Vec<u8>) {
    let idx = IndexFile {
        supersedes: vec![],
        packs: vec![PackEntries {
            pack,
            blobs: blobs.to_vec(),
        }],
    };
    let plain = idx.encode_plain();
    (
        plain.clone(),
        seal_full(sealer, ObjectType::Index, &plain, n),
    )
}

fn directory(keys: &SubKeys, sealer: &Sealer) -> Value {
    let chunk_a = b"first blob".to_vec();
    let chunk_b = b"second blob, a little longer".to_vec();
    let cid = |b: &[u8]| ChunkId(keys.blob_id(b));

    // docs/: a sparse file (holes around a chunk), a FIFO, a char device.
    let mut sparse = node(b"sparse", NodeKind::File, 0o640, 20);
    sparse.content = vec![
        Extent::Hole(4096),
        Extent::Chunk(cid(&chunk_a)),
        Extent::Hole(100),
    ];
    sparse.size = 4096 + chunk_a.len() as u64 + 100;
    let fifo = node(b"pipe", NodeKind::Fifo, 0o600, 21);
    let mut tty = node(b"tty0", NodeKind::CharDevice, 0o620, 22);
    tty.rdev = 0x400; // major 4, minor 0
    let mut docs = Tree {
        nodes: vec![tty, sparse, fifo],
    };
    let docs_cbor = docs.encode();
    let docs_id = TreeId(keys.blob_id(&docs_cbor));

    // root: two hard-linked files and the directory.
    let mut a = node(b"a", NodeKind::File, 0o4755, 10);
    a.nlink = 2;
    a.content = vec![Extent::Chunk(cid(&chunk_b))];
    a.size = chunk_b.len() as u64;
    let mut b = a.clone();
    b.name = b"b".to_vec();
    let mut d = node(b"docs", NodeKind::Dir, 0o1777, 11);
    d.nlink = 2;
    d.subtree = Some(docs_id);
    let mut root = Tree {
        nodes: vec![d, b, a],
    };
    let root_cbor = root.encode();
    let root_id = TreeId(keys.blob_id(&root_cbor));
    for t in [&root_cbor, &docs_cbor] {
        Tree::decode(t).expect("engine decodes the tree");
    }

    let (cpack, centries, cbytes) = pack(
        keys,
        sealer,
        &[
            (BlobType::Chunk, chunk_a.clone()),
            (BlobType::Chunk, chunk_b.clone()),
        ],
        80,
    );
    let (tpack, tentries, tbytes) = pack(
        keys,
        sealer,
        &[
            (BlobType::Tree, root_cbor.clone()),
            (BlobType::Tree, docs_cbor.clone()),
        ],
        90,
    );
    let (ci_plain, ci_file) = index_file(sealer, cpack, &centries, 100);
    let (ti_plain, ti_file) = index_file(sealer, tpack, &tentries, 101);

    let snap = Snapshot {
        time: Timestamp { secs: T0, nanos: 0 },
        tree: root_id,
        paths: vec!["/".into()],
        host: "vector-host".into(),
        user: "root".into(),
        tags: vec![],
        parent: None,
        source: "files".into(),
        stats: SnapshotStats {
            files: 3,
            dirs: 1,
            bytes: 2 * chunk_b.len() as u64 + 4096 + chunk_a.len() as u64 + 100,
            unchanged_files: 0,
            new_bytes: 0,
            stored_bytes: 0,
        },
        program: "cairn vectors".into(),
    };
    let snap_plain = snap.encode_plain();
    let snap_file = seal_full(sealer, ObjectType::Snapshot, &snap_plain, 102);
    let pack_json = |id: PackId, bytes: &[u8], entries: &[BlobEntry]| {
        json!({
            "pack_id": id.to_hex(),
            "file": h(bytes),
            "entries": entries.iter().map(|e| json!({"type": e.blob_type.object_type() as u8, "id": e.id.to_hex(), "offset": e.offset, "sealed_len": e.sealed_len, "plain_len": e.plain_len})).collect::<Vec<_>>(),
        })
    };
    json!({
        "description": "A complete small file snapshot of `/` (trees-and-snapshots.md): the root tree holds two hard-linked files `a` and `b` (nlink 2, same dev and inode, setuid mode 0o4755) and the directory `docs` (sticky, 0o1777) whose subtree holds a sparse file (hole 4096, chunk, hole 100), a FIFO and a character device. Chunks are in one pack, trees in another (a tree pack), each pack named by its own index file; every object is sealed under seal_key of subkeys.json with the nonces given by the packs' byte order (blob nonces n, n+1; trailer n+8; footer n+9). Restoring it yields: a and b one inode with the 28 bytes of the second chunk; docs/sparse 4206 bytes, zeros except bytes 4096..4106 = \"first blob\"",
        "fields": {
            "chunks_utf8": "the two chunk plaintexts, in chunk-pack order",
            "root_tree_cbor": "canonical CBOR of the root tree; root_tree_id is its keyed BLAKE3 (blob_id_key)",
            "docs_tree_cbor": "canonical CBOR of the subtree of `docs`; docs_tree_id likewise",
            "chunk_pack": "pack of the two chunk blobs (blob type 16); entries as in its trailer, type the entry type byte",
            "tree_pack": "pack of the two tree blobs (blob type 17), root first",
            "index_files": "two index files, one per pack: plaintext (version byte onwards, without the compression tag), the file, and its name (BLAKE3 of the file)",
            "snapshot_cbor": "canonical CBOR of the snapshot; snapshot_file its sealed file, snapshot_id its name",
        },
        "chunks_utf8": ["first blob", "second blob, a little longer"],
        "root_tree_cbor": h(&root_cbor),
        "root_tree_id": root_id.to_hex(),
        "docs_tree_cbor": h(&docs_cbor),
        "docs_tree_id": docs_id.to_hex(),
        "chunk_pack": pack_json(cpack, &cbytes, &centries),
        "tree_pack": pack_json(tpack, &tbytes, &tentries),
        "index_files": [
            {"plaintext": h(&ci_plain), "file": h(&ci_file), "index_id": blake3::hash(&ci_file).to_hex().to_string()},
            {"plaintext": h(&ti_plain), "file": h(&ti_file), "index_id": blake3::hash(&ti_file).to_hex().to_string()},
        ],
        "snapshot_cbor": h(&snap_plain),
        "snapshot_file": h(&snap_file),
        "snapshot_id": blake3::hash(&snap_file).to_hex().to_string(),
    })
}
