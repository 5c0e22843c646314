//! The format test vectors: generated from the engine with fixed keys,
//! salts and nonces, checked in under `format-spec/test-vectors/v1/`, and
//! compared on every test run (`vectors_are_up_to_date`). Payloads use the
//! *stored* compression tag so vectors do not depend on a zstd version.

use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::codec::chunking::{
    cut_all_classes, cut_all_pages, gear_table, Chunker, ChunkerParams, FineParams,
};
use cairn_engine::codec::compression;
use cairn_engine::codec::crypto::aead::ObjectType;
use cairn_engine::codec::crypto::{KdfParams, MasterKey, Sealer};
use cairn_engine::codec::index::{IndexFile, PackEntries};
use cairn_engine::codec::keyfile::KeyFile;
use cairn_engine::codec::pack::{BlobEntry, BlobType};
use cairn_engine::codec::paper::PaperKey;
use cairn_engine::codec::snapshot::{Snapshot, SnapshotStats};
use cairn_engine::codec::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use cairn_engine::codec::PackBuilder;
use cairn_engine::{hex_encode, BlobId};
use cairn_engine::{ChunkId, TreeId};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Directory of the checked-in vectors, relative to the workspace root.
pub const DIR: &str = "format-spec/test-vectors/v1";

fn h(b: &[u8]) -> String {
    hex_encode(b)
}

/// Deterministic input bytes: BLAKE3 XOF of `seed` (unkeyed), `n` bytes.
pub fn input(seed: &str, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

fn master() -> MasterKey {
    MasterKey::from_bytes(std::array::from_fn(|i| i as u8))
}

fn nonce(tag: u8) -> [u8; 24] {
    [tag; 24]
}

/// Generate every vector file: name → JSON.
pub fn generate() -> BTreeMap<String, Value> {
    let mut files = BTreeMap::new();
    let mk = master();
    let mk_bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
    let keys = mk.subkeys();
    let sealer = Sealer::new(&keys.seal);

    // KDF and key file.
    let kdf = KdfParams {
        memory_kib: 256,
        iterations: 2,
        parallelism: 1,
    };
    let salt: Vec<u8> = (0..32u8).map(|i| 0xa0 ^ i).collect();
    let kek = kdf.derive(b"password", &salt).expect("kdf");
    let kf = KeyFile::create_with(
        &mk,
        b"password",
        kdf,
        salt.clone(),
        &nonce(1),
        1_767_225_600,
        "vector-host",
    )
    .expect("key file");
    let kbytes = kf.encode();
    let mut labelled = kf.clone();
    labelled.label = Some("vector label".into());
    let lbytes = labelled.encode();
    files.insert(
        "kdf-and-key-file.json".into(),
        json!({
            "description": "Argon2id (RFC 9106, v0x13, 32-byte output) and a key file wrapping the master key",
            "password_utf8": "password",
            "salt": h(&salt),
            "m_kib": kdf.memory_kib, "t": kdf.iterations, "p": kdf.parallelism,
            "kek": h(&kek),
            "master_key": h(&std::array::from_fn::<u8, 32, _>(|i| i as u8)),
            "wrap_nonce": h(&nonce(1)),
            "key_file": h(&kbytes),
            "key_file_id": KeyFile::id(&kbytes).to_hex(),
            "labelled_key_file": {"label_utf8": "vector label", "key_file": h(&lbytes),
                                  "key_file_id": KeyFile::id(&lbytes).to_hex()},
        }),
    );

    // Paper key.
    let repository_id: [u8; 16] = std::array::from_fn(|i| 0xf0 ^ i as u8);
    let text = PaperKey::new(mk.clone(), repository_id).to_text();
    let mut payload = mk_bytes.to_vec();
    payload.extend_from_slice(&blake3::hash(&mk_bytes).as_bytes()[..3]);
    files.insert(
        "paper-key.json".into(),
        json!({
            "description": "The paper key of master_key for repository_id: the 35 bytes its 7 key lines carry (the key, then 3 bytes of its BLAKE3), and the text printed",
            "master_key": h(&mk_bytes),
            "repository_id": h(&repository_id),
            "payload": h(&payload),
            "line_checks": (1..=7).map(|n| {
                let line = text.lines().find(|l| l.starts_with(&format!("{n}: "))).expect("key line");
                line.split_whitespace().last().expect("check").to_owned()
            }).collect::<Vec<_>>(),
            "text": text,
        }),
    );

    // Key hierarchy and gear table.
    let gear = gear_table(&keys.gear);
    let gear_bytes: Vec<u8> = gear.iter().flat_map(|g| g.to_le_bytes()).collect();
    files.insert(
        "subkeys.json".into(),
        json!({
            "description": "BLAKE3 derive_key subkeys of the master key, and the gear table",
            "master_key": h(&std::array::from_fn::<u8, 32, _>(|i| i as u8)),
            "seal_key": h(&keys.seal),
            "blob_id_key": h(&keys.blob_id),
            "gear_key": h(&keys.gear),
            "gear_table_first_4": gear.iter().take(4).map(|g| format!("{g:016x}")).collect::<Vec<_>>(),
            "gear_table_blake3": blake3::hash(&gear_bytes).to_hex().to_string(),
        }),
    );

    // Envelopes.
    let bind: [u8; 32] = [0x5a; 32];
    let full = sealer
        .seal_with_nonce(
            ObjectType::Snapshot,
            &[0; 32],
            b"full envelope payload",
            &nonce(2),
        )
        .expect("seal");
    let compact = sealer
        .seal_compact_with_nonce(
            ObjectType::Chunk,
            &bind,
            b"compact envelope payload",
            &nonce(3),
        )
        .expect("seal");
    files.insert(
        "envelope.json".into(),
        json!({
            "description": "XChaCha20-Poly1305 envelopes under seal_key from subkeys.json",
            "full": {"type": ObjectType::Snapshot as u8, "bind": h(&[0; 32]), "nonce": h(&nonce(2)),
                     "plaintext_utf8": "full envelope payload", "sealed": h(&full)},
            "compact": {"type": ObjectType::Chunk as u8, "bind": h(&bind), "nonce": h(&nonce(3)),
                        "plaintext_utf8": "compact envelope payload", "sealed": h(&compact)},
        }),
    );

    // Chunking and blob IDs.
    let small = ChunkerParams {
        min_size: 1024,
        avg_size: 4096,
        max_size: 16384,
    };
    let data = input("cairn chunking vector", 256 * 1024);
    let cuts_small = Chunker::new(&keys.gear, small)
        .expect("chunker")
        .cut_all(&data);
    let big = input("cairn chunking vector, default parameters", 24 << 20);
    let cuts_default = Chunker::new(&keys.gear, ChunkerParams::default())
        .expect("chunker")
        .cut_all(&big);
    // The fine class over the small parameters: a stream at offset 0 and
    // a data region that starts 12 KiB into its file.
    let fine = FineParams {
        limit: 16384,
        ..FineParams::with_average(512)
    };
    let small_chunker = Chunker::new(&keys.gear, small).expect("chunker");
    let fine_chunker = Chunker::new(&keys.gear, fine.chunker).expect("chunker");
    let fine_data = input("cairn fine chunk class vector", 64 * 1024);
    let region_offset = 12288u64;
    let cuts_fine = cut_all_classes(&small_chunker, &fine_chunker, fine.limit, &fine_data);
    let cuts_region = cut_all_classes(
        &small_chunker,
        &fine_chunker,
        fine.limit - region_offset,
        &fine_data,
    );
    // The page class over the small parameters: 512-byte pages, a limit
    // of 16,000 bytes (not a multiple of the page: the last page chunk
    // runs past it); a stream at offset 0 and a region that starts 12,388
    // bytes into its file (off a page boundary).
    let page_data = input("cairn page chunk class vector", 32 * 1024);
    let (page_limit, page_region) = (16000u64, 12388u64);
    let cuts_page = cut_all_pages(&small_chunker, 512, 0, page_limit, &page_data);
    let cuts_page_region = cut_all_pages(
        &small_chunker,
        512,
        page_region,
        page_limit - page_region,
        &page_data,
    );
    let mut off = 0;
    let ids: Vec<String> = cuts_small
        .iter()
        .take(8)
        .map(|n| {
            let id = keys.blob_id(&data[off..off + n]);
            off += n;
            h(&id)
        })
        .collect();
    files.insert(
        "chunking.json".into(),
        json!({
            "description": "Keyed FastCDC cut lengths with the gear table of subkeys.json; input = BLAKE3 XOF (unkeyed) of the seed string",
            "small": {"seed": "cairn chunking vector", "length": data.len(),
                      "min": small.min_size, "avg": small.avg_size, "max": small.max_size,
                      "cuts": cuts_small, "first_8_blob_ids": ids},
            "default": {"seed": "cairn chunking vector, default parameters", "length": big.len(),
                        "min": 524288, "avg": 1048576, "max": 4194304, "cuts": cuts_default},
            "fine": {"seed": "cairn fine chunk class vector", "length": fine_data.len(),
                     "fine_min": fine.chunker.min_size, "fine_avg": fine.chunker.avg_size,
                     "fine_max": fine.chunker.max_size, "fine_limit": fine.limit,
                     "cuts": cuts_fine, "region_offset": region_offset, "region_cuts": cuts_region},
            "page": {"seed": "cairn page chunk class vector", "length": page_data.len(),
                     "fine_page": 512, "fine_limit": page_limit,
                     "cuts": cuts_page, "region_offset": page_region, "region_cuts": cuts_page_region},
        }),
    );

    // Pack.
    let mem = MemoryBackend::new();
    let mut pb = PackBuilder::new(&mem).expect("pack");
    let mut entries_json = Vec::new();
    for (i, text) in ["first blob", "second blob, a little longer"]
        .iter()
        .enumerate()
    {
        let id = BlobId(keys.blob_id(text.as_bytes()));
        let payload = compression::compress(text.as_bytes(), 0);
        let sealed = sealer
            .seal_compact_with_nonce(ObjectType::Chunk, &id.0, &payload, &nonce(10 + i as u8))
            .expect("seal");
        pb.add(
            BlobEntry {
                blob_type: BlobType::Chunk,
                id,
                offset: 0,
                sealed_len: 0,
                plain_len: text.len() as u32,
            },
            &sealed,
        )
        .expect("add");
        entries_json.push(
            json!({"plaintext_utf8": text, "id": id.to_hex(), "nonce": h(&nonce(10 + i as u8))}),
        );
    }
    let fp = pb
        .finish_with(
            |plain| sealer.seal_with_nonce(ObjectType::PackTrailer, &[0; 32], plain, &nonce(20)),
            |len| sealer.seal_compact_with_nonce(ObjectType::PackFooter, &[0; 32], len, &nonce(21)),
        )
        .expect("pack");
    let pack_bytes = mem.read(Kind::Data, &fp.id.to_hex()).expect("pack bytes");
    files.insert(
        "pack.json".into(),
        json!({
            "description": "A pack of two chunk blobs (stored payloads); trailer nonce 0x14 repeated, footer nonce 0x15 repeated",
            "blobs": entries_json,
            "trailer_nonce": h(&nonce(20)),
            "footer_nonce": h(&nonce(21)),
            "pack": h(&pack_bytes),
            "pack_id": fp.id.to_hex(),
            "entries": fp.entries.iter().map(|e| json!({"id": e.id.to_hex(), "offset": e.offset, "sealed_len": e.sealed_len, "plain_len": e.plain_len})).collect::<Vec<_>>(),
        }),
    );

    // Index file.
    let index = IndexFile {
        supersedes: vec![],
        packs: vec![PackEntries {
            pack: fp.id,
            blobs: fp.entries.clone(),
        }],
    };
    let plain = index.encode_plain();
    let sealed = sealer
        .seal_with_nonce(
            ObjectType::Index,
            &[0; 32],
            &compression::compress(&plain, 0),
            &nonce(30),
        )
        .expect("seal");
    files.insert(
        "index.json".into(),
        json!({
            "description": "An index file naming the pack of pack.json (stored payload)",
            "plaintext": h(&plain), "nonce": h(&nonce(30)), "file": h(&sealed),
            "index_id": blake3::hash(&sealed).to_hex().to_string(),
        }),
    );

    // Tree and snapshot.
    let mut file = Node::new(b"hello.txt".to_vec(), NodeKind::File);
    file.mode = 0o644;
    file.uid = 1000;
    file.gid = 1000;
    file.user = Some("alice".into());
    file.group = Some("staff".into());
    file.mtime = Timestamp {
        secs: 1_767_225_600,
        nanos: 123_456_789,
    };
    file.atime = file.mtime;
    file.ctime = file.mtime;
    file.size = 10 + 4096;
    file.inode = 42;
    file.dev = 2049;
    file.content = vec![
        Extent::Chunk(ChunkId(keys.blob_id(b"first blob"))),
        Extent::Hole(4096),
    ];
    file.xattrs = vec![(b"user.comment".to_vec(), b"hi".to_vec())];
    let mut link = Node::new(vec![b'l', 0xff], NodeKind::Symlink);
    link.mode = 0o777;
    link.target = Some(b"hello.txt".to_vec());
    let mut tree = Tree {
        nodes: vec![link, file],
    };
    let tree_bytes = tree.encode();
    let tree_id = TreeId(keys.blob_id(&tree_bytes));
    let snap = Snapshot {
        time: Timestamp {
            secs: 1_767_225_600,
            nanos: 0,
        },
        tree: tree_id,
        paths: vec!["/srv/data".into()],
        host: "vector-host".into(),
        user: "root".into(),
        tags: vec!["nightly".into()],
        parent: None,
        source: "files".into(),
        stats: SnapshotStats {
            files: 1,
            dirs: 0,
            bytes: 4106,
            unchanged_files: 0,
            new_bytes: 10,
            stored_bytes: 75,
        },
        program: "cairn vectors".into(),
    };
    let snap_plain = snap.encode_plain();
    let snap_sealed = sealer
        .seal_with_nonce(
            ObjectType::Snapshot,
            &[0; 32],
            &compression::compress(&snap_plain, 0),
            &nonce(40),
        )
        .expect("seal");
    files.insert(
        "tree-and-snapshot.json".into(),
        json!({
            "description": "A tree (canonical CBOR) with a file and a non-UTF-8 symlink, and a snapshot pointing at it",
            "tree_cbor": h(&tree_bytes), "tree_id": tree_id.to_hex(),
            "snapshot_cbor": h(&snap_plain), "snapshot_nonce": h(&nonce(40)),
            "snapshot_file": h(&snap_sealed), "snapshot_id": blake3::hash(&snap_sealed).to_hex().to_string(),
        }),
    );
    // Parity: a group of three small "packs" with two parity shards.
    let mem = MemoryBackend::new();
    let mut members = Vec::new();
    for (i, n) in [4096usize, 8192, 4096].iter().enumerate() {
        let data = input(&format!("cairn parity vector {i}"), *n);
        let id = cairn_engine::PackId(*blake3::hash(&data).as_bytes());
        mem.write(Kind::Data, &id.to_hex(), &data).expect("write");
        members.push((id, *n as u64));
    }
    let group = cairn_engine::codec::parity::Group::new(members, 2);
    cairn_engine::codec::write_group(&mem, &group).expect("parity");
    let shards: Vec<String> = (0..2)
        .map(|j| {
            h(&mem
                .read(Kind::Parity, &group.file_name(j))
                .expect("parity file"))
        })
        .collect();
    files.insert(
        "parity.json".into(),
        json!({
            "description": "Parity group of three packs (contents: BLAKE3 XOF of 'cairn parity vector <i>', lengths 4096/8192/4096), k=3, m=2; members sorted by pack ID",
            "members": group.packs.iter().map(|(id, len)| json!({"pack_id": id.to_hex(), "len": len})).collect::<Vec<_>>(),
            "group_id": h(&group.id),
            "parity_files": shards,
        }),
    );
    // A garbage-collection plan (gc.md), armed.
    let plan = cairn_engine::codec::gc_plan::Plan {
        name: "gc-000102030405060708090a0b0c0d0e0f".into(),
        created: 1_767_225_600,
        host: "vector-host".into(),
        packs: [[0x22u8; 32], [0x11; 32]]
            .into_iter()
            .map(cairn_engine::PackId)
            .collect(),
        waiting: Some(vec!["ab".repeat(32)]),
    };
    let plan_plain = plan.encode();
    let plan_sealed = sealer
        .seal_with_nonce(
            ObjectType::GcPlan,
            &[0; 32],
            &compression::compress(&plan_plain, 0),
            &nonce(50),
        )
        .expect("seal");
    files.insert(
        "gc-plan.json".into(),
        json!({
            "description": "An armed garbage-collection plan condemning two packs and waiting for one lock (gc.md); sealed with the seal key, full envelope type 9, stored payload",
            "name": plan.name,
            "plan_cbor": h(&plan_plain),
            "plan_nonce": h(&nonce(50)),
            "plan_file": h(&plan_sealed),
        }),
    );
    let (name, v) = crate::export_vectors::generate();
    files.insert(name, v);
    for (name, v) in crate::vectors_objects::generate(&mk) {
        files.insert(name, v);
    }
    let (name, v) = crate::vectors_negative::generate(&mk);
    files.insert(name, v);
    crate::vectors_fields::annotate(&mut files);
    files
}

/// Objects with keys in sorted order, whatever serde_json's map type is
/// (its `preserve_order` feature may be switched on by other crates).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Pretty JSON with sorted keys and a trailing newline, as checked in.
pub fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sorted(v)).expect("json");
    s.push('\n');
    s
}
