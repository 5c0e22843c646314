//! One entry point per on-disk decoder, for the fuzz targets in `fuzz/`
//! and the property tests in `decode_fuzz`. Each takes arbitrary bytes and
//! must return (an `Err` is fine) without panicking or allocating without
//! bound. Not part of the stable API.

use crate::crypto::{ObjectType, Sealer};
use crate::format::keyfile::KeyFile;

/// A decoder that reads repository bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// Canonical CBOR values.
    Cbor,
    /// Key files (`keys/`).
    KeyFile,
    /// Full envelopes.
    Envelope,
    /// Compact envelopes (blobs).
    CompactEnvelope,
    /// Pack trailer payloads.
    PackTrailer,
    /// Index file plaintexts.
    IndexFile,
    /// Trees.
    Tree,
    /// Snapshot plaintexts.
    Snapshot,
    /// Config plaintexts.
    Config,
    /// The `CAIRN` marker.
    Marker,
    /// Compression payloads.
    Decompress,
    /// Parity file headers.
    ParityHeader,
    /// The scrub record.
    ScrubState,
    /// Garbage-collection plans.
    GcPlan,
    /// Lock plaintexts.
    Lock,
    /// MongoDB manifests.
    MongoManifest,
    /// BSON document framing in MongoDB streams.
    BsonDocument,
    /// Export catalogues (`CATALOGUE`).
    ExportCatalogue,
    /// Export volume labels (`VOLUME`).
    VolumeLabel,
    /// Export manifests (`B3SUMS`, `SHA256SUMS`).
    ExportManifest,
    /// ustar headers of tar volumes.
    TarHeader,
    /// Paper key text (`key import --paper`).
    PaperKey,
}

impl Decoder {
    /// Every decoder.
    pub const ALL: [Decoder; 22] = [
        Decoder::Cbor,
        Decoder::KeyFile,
        Decoder::Envelope,
        Decoder::CompactEnvelope,
        Decoder::PackTrailer,
        Decoder::IndexFile,
        Decoder::Tree,
        Decoder::Snapshot,
        Decoder::Config,
        Decoder::Marker,
        Decoder::Decompress,
        Decoder::ParityHeader,
        Decoder::ScrubState,
        Decoder::GcPlan,
        Decoder::Lock,
        Decoder::MongoManifest,
        Decoder::BsonDocument,
        Decoder::ExportCatalogue,
        Decoder::VolumeLabel,
        Decoder::ExportManifest,
        Decoder::TarHeader,
        Decoder::PaperKey,
    ];

    /// Run this decoder on `data`; returns whether it accepted the input.
    pub fn run(self, data: &[u8]) -> bool {
        let sealer = || Sealer::new(&[1; 32]);
        match self {
            Decoder::Cbor => crate::format::cbor::Value::decode(data).is_ok(),
            Decoder::KeyFile => KeyFile::decode(data).is_ok(),
            Decoder::Envelope => sealer().open(ObjectType::Snapshot, &[0; 32], data).is_ok(),
            Decoder::CompactEnvelope => sealer()
                .open_compact(ObjectType::Chunk, &[0; 32], data)
                .is_ok(),
            Decoder::PackTrailer => crate::format::pack::decode_trailer_payload(data).is_ok(),
            Decoder::IndexFile => crate::format::index::IndexFile::decode_plain(data).is_ok(),
            Decoder::Tree => crate::format::tree::Tree::decode(data).is_ok(),
            Decoder::Snapshot => crate::format::snapshot::Snapshot::decode_plain(data).is_ok(),
            Decoder::Config => crate::format::config::Config::decode_plain(data).is_ok(),
            Decoder::Marker => crate::format::config::parse_marker(data).is_ok(),
            Decoder::Decompress => crate::compression::decompress(data, 1 << 20).is_ok(),
            Decoder::ParityHeader => crate::format::parity::Group::parse(data).is_ok(),
            Decoder::ScrubState => crate::format::scrub_record::ScrubState::decode(data).is_ok(),
            Decoder::GcPlan => crate::format::gc_plan::Plan::decode("gc-x", data).is_ok(),
            Decoder::Lock => crate::format::lock::LockInfo::decode_plain(data).is_ok(),
            Decoder::MongoManifest => crate::format::mongodb::Manifest::from_json(data).is_ok(),
            Decoder::BsonDocument => crate::format::mongodb::next_document(&mut &data[..]).is_ok(),
            Decoder::ExportCatalogue => crate::format::export::Catalogue::decode(data).is_ok(),
            Decoder::VolumeLabel => crate::format::export::Label::decode(data).is_ok(),
            Decoder::ExportManifest => crate::format::export::parse_sums(data).1 == 0,
            Decoder::TarHeader => {
                let mut h = [0u8; 512];
                let n = data.len().min(512);
                h[..n].copy_from_slice(&data[..n]);
                crate::format::ustar::parse(&h).is_ok()
            }
            Decoder::PaperKey => {
                crate::format::paper::PaperKey::decode(&String::from_utf8_lossy(data)).is_ok()
            }
        }
    }
}

/// Run every decoder on `data`.
pub fn run_all(data: &[u8]) {
    for d in Decoder::ALL {
        d.run(data);
    }
}
