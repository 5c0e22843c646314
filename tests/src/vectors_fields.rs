//! Field descriptions for the vector files `vectors.rs` and
//! `export_vectors.rs` write: each file gains a `fields` object saying
//! what every field holds, in what byte order, and what a hash is taken
//! over, so a reader of the vectors needs no Cairn source (issue 13).
//!
//! Invariant: every field of a described file is described, and nothing
//! else is ([`annotate`] panics otherwise), so a field added to a vector
//! without a description fails `vectors_are_up_to_date` at once.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Descriptions per vector file; nested objects use `a.b`, array items
/// `a[].b`.
fn descriptions() -> Vec<(&'static str, Value)> {
    vec![
        (
            "subkeys.json",
            json!({
                "master_key": "the vector master key: bytes 00 01 … 1f",
                "seal_key": "BLAKE3 derive_key(context \"cairn 2026-11-30 v1 seal\", master_key)",
                "blob_id_key": "BLAKE3 derive_key(context \"cairn 2026-11-30 v1 blob id\", master_key)",
                "gear_key": "BLAKE3 derive_key(context \"cairn 2026-11-30 v1 chunker gear\", master_key)",
                "gear_table_first_4": "G[0..4] of chunking.md, \"Gear table\", each as 16 hex digits of the u64 value, most significant digit first (G[i] itself is read little-endian from the XOF bytes 8i..8i+8)",
                "gear_table_blake3": "BLAKE3 hash (unkeyed) of the 2048 bytes G[0] | G[1] | … | G[255], each G[i] as u64 LE: that is, of the first 2048 XOF bytes themselves",
            }),
        ),
        (
            "kdf-and-key-file.json",
            json!({
                "password_utf8": "the password, as UTF-8 bytes",
                "salt": "the Argon2id salt of the key file",
                "m_kib": "Argon2id memory in KiB", "t": "Argon2id passes", "p": "Argon2id lanes",
                "kek": "Argon2id(password, salt, m_kib, t, p), 32 bytes, version 0x13",
                "master_key": "the master key the key file wraps",
                "wrap_nonce": "nonce of the `wrapped` envelope (type 2, zero bind, plaintext = master_key, no compression tag)",
                "key_file": "the whole key file: \"CRNK\" 01 | canonical CBOR map",
                "key_file_id": "its name: BLAKE3 (unkeyed) of key_file",
                "labelled_key_file": "the same key file with a label",
                "labelled_key_file.label_utf8": "the label",
                "labelled_key_file.key_file": "the whole labelled key file",
                "labelled_key_file.key_file_id": "its name",
            }),
        ),
        (
            "envelope.json",
            json!({
                "full": "a full envelope (crypto.md)",
                "full.type": "object type, the envelope's type byte",
                "full.bind": "the 32-byte bind",
                "full.nonce": "the 24-byte nonce",
                "full.plaintext_utf8": "the envelope plaintext exactly (no compression tag: the envelope seals whatever bytes it is given)",
                "full.sealed": "the envelope bytes",
                "compact": "a compact envelope (crypto.md)",
                "compact.type": "object type (not stored in a compact envelope; part of the additional data)",
                "compact.bind": "the 32-byte bind",
                "compact.nonce": "the 24-byte nonce",
                "compact.plaintext_utf8": "the envelope plaintext exactly",
                "compact.sealed": "the envelope bytes: nonce | ciphertext | tag",
            }),
        ),
        (
            "chunking.json",
            json!({
                "default": "the default parameters",
                "small": "small parameters, with blob IDs",
                "default.min": "chunk_min", "default.avg": "chunk_avg", "default.max": "chunk_max",
                "default.seed": "input = BLAKE3 XOF (unkeyed) of this string, `length` bytes",
                "default.length": "input length in bytes",
                "default.cuts": "chunk lengths in order; they add up to `length`",
                "small.min": "chunk_min", "small.avg": "chunk_avg", "small.max": "chunk_max",
                "small.seed": "as default.seed", "small.length": "input length",
                "small.cuts": "chunk lengths in order",
                "small.first_8_blob_ids": "keyed BLAKE3 (blob_id_key) of the first 8 chunks",
                "fine": "a stream of the fine class (chunking.md, \"Chunk classes\"): main parameters = `small`",
                "fine.seed": "as default.seed", "fine.length": "input length",
                "fine.fine_min": "fine_min", "fine.fine_avg": "fine_avg", "fine.fine_max": "fine_max",
                "fine.fine_limit": "fine_limit (kept small so the switch to the main parameters shows)",
                "fine.cuts": "chunk lengths of the input as a stream at offset 0 of its file",
                "fine.region_offset": "offset in its file of a data region holding the same input",
                "fine.region_cuts": "chunk lengths of that region: fine while a chunk starts before fine_limit − region_offset",
                "page": "a stream of the page class (chunking.md, \"Chunk classes\"): main parameters = `small`",
                "page.seed": "as default.seed", "page.length": "input length",
                "page.fine_page": "fine_page, the page size",
                "page.fine_limit": "fine_limit (not a multiple of fine_page: the page chunk that starts before it runs to its page boundary past it)",
                "page.cuts": "chunk lengths of the input as a stream at offset 0 of its file: pages until fine_limit, then main chunks",
                "page.region_offset": "offset in its file of a data region holding the same input (not a multiple of fine_page)",
                "page.region_cuts": "chunk lengths of that region: each chunk that starts before fine_limit − region_offset ends at the next multiple of fine_page in the file",
            }),
        ),
        (
            "pack.json",
            json!({
                "blobs": "the blobs in pack order",
                "blobs[].plaintext_utf8": "the chunk's data, without the compression tag; the payload sealed is 00 | data",
                "blobs[].id": "keyed BLAKE3 (blob_id_key) of the data (not of the payload)",
                "blobs[].nonce": "nonce of the blob's compact envelope (type 16, bind = id)",
                "trailer_nonce": "nonce of the trailer (full envelope, type 6, zero bind)",
                "footer_nonce": "nonce of the footer (compact envelope, type 7, zero bind)",
                "pack": "the whole pack file",
                "pack_id": "its name: BLAKE3 (unkeyed) of pack",
                "entries": "the trailer's blob entries",
                "entries[].id": "blob ID", "entries[].offset": "offset of the compact envelope in the pack",
                "entries[].sealed_len": "length of the compact envelope (payload + 40)",
                "entries[].plain_len": "length of the data after decompression (the tag byte is not counted)",
            }),
        ),
        (
            "index.json",
            json!({
                "plaintext": "the index plaintext from its version byte on, without the compression tag; the sealed payload is 00 | plaintext",
                "nonce": "the envelope nonce (full envelope, type 3, zero bind)",
                "file": "the index file", "index_id": "its name: BLAKE3 (unkeyed) of file",
            }),
        ),
        (
            "tree-and-snapshot.json",
            json!({
                "tree_cbor": "canonical CBOR of the tree (the tree blob's plaintext, without the compression tag)",
                "tree_id": "keyed BLAKE3 (blob_id_key) of tree_cbor",
                "snapshot_cbor": "canonical CBOR of the snapshot, without the compression tag",
                "snapshot_nonce": "the envelope nonce (full envelope, type 4, zero bind, payload 00 | snapshot_cbor)",
                "snapshot_file": "the snapshot file", "snapshot_id": "its name: BLAKE3 (unkeyed) of snapshot_file",
            }),
        ),
        (
            "parity.json",
            json!({
                "members": "the group's packs, sorted by pack ID; member i is data shard i (0-based)",
                "members[].pack_id": "BLAKE3 (unkeyed) of the pack bytes",
                "members[].len": "the pack length in bytes",
                "group_id": "the group ID: BLAKE3 of the member list (parity.md, \"Groups and shards\")",
                "parity_files": "the parity files `<group_id>.<j>`, item j for j = 0, 1 (0-based, as the j in the file name and header)",
            }),
        ),
        (
            "gc-plan.json",
            json!({
                "name": "the plan's file name in state/",
                "plan_cbor": "canonical CBOR of the plan, without the compression tag",
                "plan_nonce": "the envelope nonce (full envelope, type 9, zero bind, payload 00 | plan_cbor)",
                "plan_file": "the plan file",
            }),
        ),
        (
            "paper-key.json",
            json!({
                "master_key": "the key printed", "repository_id": "the config `id` printed with it",
                "payload": "the 35 bytes the key lines carry: master_key | first 3 bytes of BLAKE3 (unkeyed) of master_key",
                "line_checks": "the check characters of key lines 1..7, in order",
                "text": "the whole printed text, UTF-8",
            }),
        ),
        (
            "export.json",
            json!({
                "volume_name": "the volume directory name",
                "label": "the volume label file, UTF-8",
                "catalogue": "the CATALOGUE file, UTF-8",
                "b3sums": "the B3SUMS manifest of a volume holding only the label and catalogue",
                "sha256sums": "the SHA256SUMS manifest of the same volume",
            }),
        ),
    ]
}

fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = format!("{prefix}{k}");
            out.push(p.clone());
            match x {
                Value::Object(_) => paths(x, &format!("{p}."), out),
                Value::Array(a) if a.first().is_some_and(Value::is_object) => {
                    paths(&a[0], &format!("{p}[]."), out)
                }
                _ => {}
            }
        }
    }
}

/// Add `fields` to each described file; panic on an undescribed or stale
/// field name.
pub fn annotate(files: &mut BTreeMap<String, Value>) {
    for (name, fields) in descriptions() {
        let v = files
            .get_mut(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let mut have = Vec::new();
        paths(v, "", &mut have);
        have.retain(|p| p != "description");
        let described: Vec<&String> = fields.as_object().expect("map").keys().collect();
        for p in &have {
            assert!(
                described.contains(&p),
                "{name}: field {p} has no description"
            );
        }
        for d in &described {
            assert!(
                have.contains(d),
                "{name}: described field {d} does not exist"
            );
        }
        v.as_object_mut()
            .expect("object")
            .insert("fields".into(), fields);
    }
}
