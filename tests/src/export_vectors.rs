//! Test vectors of the export volume files (`format-spec/v1/export.md`):
//! a catalogue, a label and the two manifests, byte for byte.

use serde_json::{json, Value};
use sha2::Digest;

/// `export.json`.
pub fn generate() -> (String, Value) {
    use cairn_engine::codec::export::{
        sums_text, Catalogue, PackPlace, ParityPlace, SetId, VolumeEntry, VolumeKind,
    };
    use cairn_engine::codec::parity::Group;
    use cairn_engine::{PackId, SnapshotId};
    let set = SetId([0x5e; 16]);
    let base = SetId([0x0b; 16]);
    let packs: Vec<(PackId, u64)> = [(0x11u8, 4096u64), (0x22, 8192), (0x33, 4096)]
        .iter()
        .map(|(b, n)| (PackId([*b; 32]), *n))
        .collect();
    let group = Group::new(packs.clone(), 1);
    let mut places: Vec<PackPlace> = packs
        .iter()
        .enumerate()
        .map(|(i, (id, len))| PackPlace {
            id: *id,
            set,
            volume: i as u32 + 1,
            len: *len,
        })
        .collect();
    places.push(PackPlace {
        id: PackId([0x01; 32]),
        set: base,
        volume: 2,
        len: 1000,
    });
    places.sort_by_key(|p| p.id);
    let parity_len = group.header_len() + group.shard_len + 32;
    let cat = Catalogue {
        set,
        created: 1_767_225_600,
        repository: [0x7e; 16],
        parity: (16, 1),
        bases: vec![(base, 2)],
        volumes: (1..=4)
            .map(|n| VolumeEntry {
                n,
                kind: if n < 4 {
                    VolumeKind::Data
                } else {
                    VolumeKind::Parity
                },
                bytes: if n < 4 {
                    packs[n as usize - 1].1
                } else {
                    parity_len
                },
            })
            .collect(),
        packs: places,
        parity_files: vec![ParityPlace {
            name: group.file_name(0),
            volume: 4,
            len: parity_len,
        }],
        groups: vec![(group.id, group.packs.iter().map(|p| p.0).collect())],
        snapshots: vec![(SnapshotId([0x44; 32]), vec![(base, 2), (set, 1), (set, 2)])],
    };
    let catalogue = cat.encode();
    let label = cat.label(1);
    let files: [(&str, &[u8]); 2] = [("CATALOGUE", &catalogue), ("VOLUME", &label)];
    let b3 = sums_text(
        files
            .iter()
            .map(|(p, b)| ((*p).to_owned(), *blake3::hash(b).as_bytes()))
            .collect(),
    );
    let sha = sums_text(
        files
            .iter()
            .map(|(p, b)| ((*p).to_owned(), sha2::Sha256::digest(b).into()))
            .collect(),
    );
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        "export.json".into(),
        json!({
            "description": "Volume 1 of a 4-volume export set building on one base set: its catalogue (3 packs of this set in one 16+1 parity group, one pack of the base, one snapshot), its label, and the manifests of a volume holding just these two files",
            "catalogue": text(&catalogue),
            "label": text(&label),
            "b3sums": text(&b3),
            "sha256sums": text(&sha),
            "volume_name": Catalogue::volume_name(&set, 1, 4),
        }),
    )
}
