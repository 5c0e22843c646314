//! Negative test vectors for objects other than trees: compression
//! payloads, pack trailer plaintexts, the config and snapshots. Split from
//! `vectors_negative.rs` (which holds the CBOR and tree cases, the shared
//! helpers and the file itself) to keep both files short.
//!
//! Invariant: as there, each case is a valid object the engine accepts
//! (asserted here) with one rule broken.

use crate::vectors_negative::{edit, get, raw_map, Case};
use cairn_engine::codec::cbor::Value;
use cairn_engine::codec::config::Config;
use cairn_engine::codec::pack::decode_trailer_payload;
use cairn_engine::codec::snapshot::Snapshot;
use cairn_engine::codec::tree::Timestamp;
use cairn_engine::codec::{compression, pack::BlobEntry, pack::BlobType};
use cairn_engine::{BlobId, ChunkerParams, ErrorKind, FineParams, TreeId};

pub(crate) fn cases() -> Vec<Case> {
    use ErrorKind::{Corrupt, UnsupportedVersion};
    let c = Case::new;
    let mut v = Vec::new();
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
        fine: None,
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
    let with_fine = Config {
        fine: Some(FineParams::default()),
        ..cfg.clone()
    }
    .encode_plain();
    let t = edit(&with_fine, |m| {
        m.retain(|(k, _)| *k != Value::Text("fine_limit".into()))
    });
    v.push(c(
        "config-partial-fine-class",
        "config_cbor",
        Corrupt,
        "`fine_min`, `fine_avg` and `fine_max` without `fine_limit` (all four or none)",
        t,
    ));
    let t = edit(&with_fine, |m| {
        for (k, v) in m.iter_mut() {
            if *k == Value::Text("fine_avg".into()) {
                *v = Value::Uint(6000);
            }
        }
    });
    v.push(c(
        "config-fine-avg-not-power-of-two",
        "config_cbor",
        Corrupt,
        "`fine_avg` = 6000, not a power of two (the chunker constraints hold for the fine class too)",
        t,
    ));
    let t = edit(&with_fine, |m| {
        m.retain(|(k, _)| match k {
            Value::Text(k) => k == "fine_page" || !k.starts_with("fine_"),
            _ => true,
        })
    });
    v.push(c(
        "config-page-without-fine-class",
        "config_cbor",
        Corrupt,
        "`fine_page` without the other `fine_*` keys (the page class is part of the fine class)",
        t,
    ));
    let t = edit(&with_fine, |m| {
        for (k, v) in m.iter_mut() {
            if *k == Value::Text("fine_page".into()) {
                *v = Value::Uint(4000);
            }
        }
    });
    v.push(c(
        "config-page-not-power-of-two",
        "config_cbor",
        Corrupt,
        "`fine_page` = 4000, not a power of two from 512 to 65536",
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
