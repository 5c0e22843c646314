//! Snapshot records: the root of one backup.
//!
//! A snapshot file is a full envelope (type Snapshot) of compressed
//! canonical CBOR, named by the BLAKE3 of its bytes. It is written only
//! after every blob it references is in a stored pack and in a stored
//! index file (see `repo::commit`).

use crate::compression;
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{text_array, text_list, Fields, Value};
use crate::format::tree::Timestamp;
use crate::id::{SnapshotId, TreeId};

/// Snapshot format version.
pub const SNAPSHOT_VERSION: u64 = 1;
/// Largest snapshot plaintext a reader accepts.
pub const MAX_SNAPSHOT_PLAIN: u64 = 64 << 20;
/// Largest snapshot file a reader accepts.
pub const MAX_SNAPSHOT_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_SNAPSHOT_PLAIN);

/// Totals recorded at backup time.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotStats {
    /// Regular files.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Logical bytes of all files.
    pub bytes: u64,
    /// Files whose content was reused from the parent without reading.
    pub unchanged_files: u64,
    /// Plaintext bytes of chunks this backup stored for the first time.
    pub new_bytes: u64,
    /// Sealed bytes this backup added to packs.
    pub stored_bytes: u64,
}

/// One snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// When it was taken (or `--time`).
    pub time: Timestamp,
    /// Root tree.
    pub tree: TreeId,
    /// Backed-up paths as given (absolute), or the stdin name.
    pub paths: Vec<String>,
    /// Host name.
    pub host: String,
    /// User who ran the backup.
    pub user: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Snapshot used for change detection.
    pub parent: Option<SnapshotId>,
    /// "files", "stdin" or "mongodb".
    pub source: String,
    /// Totals.
    pub stats: SnapshotStats,
    /// Writing program and version.
    pub program: String,
}

impl Snapshot {
    /// Canonical CBOR.
    pub fn encode_plain(&self) -> Vec<u8> {
        let mut tags = self.tags.clone();
        tags.sort();
        tags.dedup();
        let s = &self.stats;
        let mut m = vec![
            ("v", Value::Uint(SNAPSHOT_VERSION)),
            ("time", self.time.to_cbor()),
            ("tree", Value::Bytes(self.tree.0.to_vec())),
            ("paths", text_array(&self.paths)),
            ("host", Value::Text(self.host.clone())),
            ("user", Value::Text(self.user.clone())),
            ("tags", text_array(&tags)),
            ("source", Value::Text(self.source.clone())),
            ("program", Value::Text(self.program.clone())),
            (
                "stats",
                Value::map(vec![
                    ("files", Value::Uint(s.files)),
                    ("dirs", Value::Uint(s.dirs)),
                    ("bytes", Value::Uint(s.bytes)),
                    ("unchanged_files", Value::Uint(s.unchanged_files)),
                    ("new_bytes", Value::Uint(s.new_bytes)),
                    ("stored_bytes", Value::Uint(s.stored_bytes)),
                ]),
            ),
        ];
        if let Some(p) = &self.parent {
            m.push(("parent", Value::Bytes(p.0.to_vec())));
        }
        Value::map(m).encode()
    }

    /// Decode canonical CBOR; never panics.
    pub fn decode_plain(bytes: &[u8]) -> Result<Self> {
        let v = Value::decode(bytes)?;
        let f = Fields::of(&v, "snapshot")?;
        let version = f.u64("v")?;
        if version != SNAPSHOT_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("snapshot version {version} is not supported; upgrade cairn"),
            ));
        }
        let st = Fields::of(f.req("stats")?, "snapshot stats")?;
        let tags = text_list(f.array("tags")?, "snapshot tags")?;
        if tags.windows(2).any(|w| w.first() >= w.get(1)) {
            return Err(Error::corrupt("snapshot tags are not sorted and unique"));
        }
        let source = f.text("source")?;
        if !matches!(source, "files" | "stdin" | "mongodb") {
            return Err(Error::corrupt(format!(
                "snapshot source '{source}' is unknown"
            )));
        }
        Ok(Snapshot {
            time: Timestamp::from_cbor(f.req("time")?)?,
            tree: TreeId::from_slice(f.bytes("tree")?)?,
            paths: text_list(f.array("paths")?, "snapshot paths")?,
            host: f.text("host")?.to_owned(),
            user: f.text("user")?.to_owned(),
            tags,
            parent: f
                .opt_bytes("parent")?
                .map(SnapshotId::from_slice)
                .transpose()?,
            source: source.to_owned(),
            program: f.text("program")?.to_owned(),
            stats: SnapshotStats {
                files: st.u64("files")?,
                dirs: st.u64("dirs")?,
                bytes: st.u64("bytes")?,
                unchanged_files: st.u64("unchanged_files")?,
                new_bytes: st.u64("new_bytes")?,
                stored_bytes: st.u64("stored_bytes")?,
            },
        })
    }

    /// File bytes: compressed, sealed.
    pub fn seal(&self, sealer: &Sealer) -> Result<Vec<u8>> {
        super::object::seal(
            sealer,
            ObjectType::Snapshot,
            &self.encode_plain(),
            compression::DEFAULT_LEVEL,
        )
    }

    /// Verify name, open and decode a snapshot file.
    pub fn open(sealer: &Sealer, id: &SnapshotId, bytes: &[u8]) -> Result<Self> {
        let ctx = |e: Error| e.context(format!("snapshot {id}"));
        let plain = super::object::open_named(
            sealer,
            ObjectType::Snapshot,
            &id.0,
            bytes,
            MAX_SNAPSHOT_PLAIN,
        )
        .map_err(ctx)?;
        Self::decode_plain(&plain).map_err(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = Snapshot {
            time: Timestamp {
                secs: 1_700_000_000,
                nanos: 5,
            },
            tree: TreeId([3; 32]),
            paths: vec!["/data".into()],
            host: "h".into(),
            user: "u".into(),
            tags: vec!["b".into(), "a".into()],
            parent: Some(SnapshotId([1; 32])),
            source: "files".into(),
            stats: SnapshotStats {
                files: 2,
                ..Default::default()
            },
            program: "cairn test".into(),
        };
        let sealer = Sealer::new(&[2; 32]);
        let bytes = s.seal(&sealer).unwrap();
        let id = SnapshotId(*blake3::hash(&bytes).as_bytes());
        let back = Snapshot::open(&sealer, &id, &bytes).unwrap();
        assert_eq!(back.tags, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(back.tree, s.tree);
        let plain = s.encode_plain();
        for cut in 0..plain.len() {
            assert!(Snapshot::decode_plain(&plain[..cut]).is_err());
        }
    }
}
