//! Property tests for every on-disk decoder: arbitrary bytes, and
//! truncated or bit-flipped valid encodings, produce `Err` — never a panic,
//! never an unbounded allocation. These run on stable in every test run;
//! the coverage-guided cargo-fuzz targets in `fuzz/` drive the same
//! entry points ([`crate::format::decoders`]).

use crate::chunking::ChunkerParams;
use crate::crypto::{KdfParams, MasterKey};
use crate::format::cbor::Value;
use crate::format::config::Config;
use crate::format::index::{IndexFile, PackEntries};
use crate::format::keyfile::KeyFile;
use crate::format::pack::{decode_trailer_payload, BlobEntry, BlobType};
use crate::format::snapshot::{Snapshot, SnapshotStats};
use crate::format::tree::{Extent, Node, NodeKind, Timestamp, Tree};
use crate::id::{BlobId, ChunkId, SnapshotId, TreeId};
use proptest::prelude::*;

/// Every decoder on raw bytes (the same entry points as `fuzz/`).
fn decode_all(data: &[u8]) {
    crate::format::decoders::run_all(data);
}

fn samples() -> Vec<Vec<u8>> {
    let mut file = Node::new(b"f".to_vec(), NodeKind::File);
    file.content = vec![Extent::Chunk(ChunkId([1; 32])), Extent::Hole(9)];
    file.xattrs = vec![(b"user.x".to_vec(), b"y".to_vec())];
    let mut dir = Node::new(b"d".to_vec(), NodeKind::Dir);
    dir.subtree = Some(TreeId([2; 32]));
    let mut tree = Tree {
        nodes: vec![file, dir],
    };
    let entry = BlobEntry {
        blob_type: BlobType::Chunk,
        id: BlobId([3; 32]),
        offset: 8,
        sealed_len: 41,
        plain_len: 1,
    };
    let index = IndexFile {
        supersedes: vec![],
        packs: vec![PackEntries {
            pack: crate::id::PackId([4; 32]),
            blobs: vec![entry],
        }],
    };
    let mut trailer = vec![1u8];
    crate::format::pack::encode_entries(&mut trailer, &[entry]);
    let snap = Snapshot {
        time: Timestamp { secs: 1, nanos: 2 },
        tree: TreeId([5; 32]),
        paths: vec!["/x".into()],
        host: "h".into(),
        user: "u".into(),
        tags: vec!["t".into()],
        parent: Some(SnapshotId([6; 32])),
        source: "files".into(),
        stats: SnapshotStats::default(),
        program: "p".into(),
    };
    let config = Config {
        id: [7; 16],
        chunker: ChunkerParams::default(),
        fine: Some(crate::chunking::FineParams::default()),
        zstd_level: 3,
        pack_size: 1 << 24,
        created: 0,
        parity: None,
    };
    let fast = KdfParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
    let key = KeyFile::create(&MasterKey::from_bytes([8; 32]), b"pw", fast, 0, "h")
        .map(|k| k.encode())
        .unwrap_or_default();
    let plan = crate::format::gc_plan::Plan {
        name: "gc-x".into(),
        created: 1,
        host: "h".into(),
        packs: [crate::id::PackId([9; 32])].into_iter().collect(),
        waiting: Some(vec!["ab".into()]),
    };
    let lock = Value::map(vec![
        ("v", Value::Uint(1)),
        ("host", Value::Text("h".into())),
        ("pid", Value::Uint(7)),
        ("time", Value::int(5)),
        ("exclusive", Value::Bool(false)),
        ("prune", Value::Bool(true)),
    ]);
    vec![
        tree.encode(),
        index.encode_plain(),
        trailer,
        snap.encode_plain(),
        config.encode_plain(),
        key,
        plan.encode(),
        lock.encode(),
        crate::format::paper::PaperKey::new(MasterKey::from_bytes([8; 32]), [7; 16])
            .to_text()
            .into_bytes(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&data);
    }

    #[test]
    fn mutated_encodings_never_panic(which in 0usize..9, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
        let all = samples();
        let mut data = all[which].clone();
        for (pos, x) in flips {
            if !data.is_empty() {
                let i = pos % data.len();
                data[i] ^= x | 1;
            }
        }
        decode_all(&data);
        let keep = cut % (data.len() + 1);
        decode_all(&data[..keep]);
    }
}

#[test]
fn valid_samples_decode() {
    let s = samples();
    assert!(Tree::decode(&s[0]).is_ok());
    assert!(IndexFile::decode_plain(&s[1]).is_ok());
    assert!(decode_trailer_payload(&s[2]).is_ok());
    assert!(Snapshot::decode_plain(&s[3]).is_ok());
    assert!(Config::decode_plain(&s[4]).is_ok());
    assert!(KeyFile::decode(&s[5]).is_ok());
    assert!(crate::format::gc_plan::Plan::decode("gc-x", &s[6]).is_ok());
    assert!(crate::format::lock::LockInfo::decode_plain(&s[7]).is_ok_and(|l| l.prune));
    assert!(crate::format::decoders::Decoder::PaperKey.run(&s[8]));
}
