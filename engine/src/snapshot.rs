//! Snapshot records: the root of one backup.
//!
//! A snapshot file is a full envelope (type Snapshot) of compressed
//! canonical CBOR, named by the BLAKE3 of its bytes. It is written only
//! after every blob it references is in a stored pack and in a stored
//! index file (see `repo::commit`).

use crate::cbor::{text_array, text_list, Fields, Value};
use crate::compression;
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{SnapshotId, TreeId};
use crate::tree::Timestamp;

/// Snapshot format version.
pub const SNAPSHOT_VERSION: u64 = 1;
/// Largest snapshot plaintext a reader accepts.
pub const MAX_SNAPSHOT_PLAIN: u64 = 64 << 20;
/// Largest snapshot file a reader accepts.
pub const MAX_SNAPSHOT_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_SNAPSHOT_PLAIN);

/// Totals recorded at backup time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
        sealer.seal(
            ObjectType::Snapshot,
            &[0; 32],
            &compression::compress(&self.encode_plain(), compression::DEFAULT_LEVEL),
        )
    }

    /// Verify name, open and decode a snapshot file.
    pub fn open(sealer: &Sealer, id: &SnapshotId, bytes: &[u8]) -> Result<Self> {
        let ctx = |e: Error| e.context(format!("snapshot {id}"));
        if blake3::hash(bytes).as_bytes() != &id.0 {
            return Err(ctx(Error::corrupt(
                "content does not match its name (damaged)",
            )));
        }
        let payload = sealer
            .open(ObjectType::Snapshot, &[0; 32], bytes)
            .map_err(ctx)?;
        let plain = compression::decompress(&payload, MAX_SNAPSHOT_PLAIN as usize).map_err(ctx)?;
        Self::decode_plain(&plain).map_err(ctx)
    }
}

/// Which snapshots `latest` (and `snapshots`, `forget`) consider, with
/// restic's documented meaning of `--host`, `--tag` and `--path`:
///
/// * hosts: the snapshot's host is any of them;
/// * tags: each flag value is a comma-separated list, and the snapshot has
///   every tag of at least one list (an empty tag in a list matches a
///   snapshot without tags);
/// * paths: the snapshot includes every one of them.
///
/// An empty filter matches every snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    /// Any of these hosts.
    pub hosts: Vec<String>,
    /// Any of these lists, each meaning "all of these tags".
    pub tags: Vec<Vec<String>>,
    /// All of these paths (absolute, cleaned; see [`SnapshotFilter::new`]).
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// From the raw flag values. Tag values are split at commas (spaces
    /// around each tag dropped). A relative path is made absolute against
    /// the current directory, and every path is cleaned lexically (`.`,
    /// `..`, repeated and trailing `/`), as restic does; a value holding
    /// `://` (a MongoDB snapshot's URI) is kept as given.
    pub fn new(hosts: &[String], tags: &[String], paths: &[String]) -> Result<Self> {
        let mut clean = Vec::with_capacity(paths.len());
        for p in paths {
            if p.contains("://") {
                clean.push(p.clone());
                continue;
            }
            let abs = if p.starts_with('/') {
                p.clone()
            } else {
                let cwd = std::env::current_dir()
                    .map_err(|e| Error::io(format!("resolving --path '{p}'"), e))?;
                format!("{}/{p}", cwd.to_string_lossy())
            };
            clean.push(clean_path(&abs));
        }
        Ok(SnapshotFilter {
            hosts: hosts.to_vec(),
            tags: tags
                .iter()
                .map(|l| l.split(',').map(|t| t.trim().to_owned()).collect())
                .collect(),
            paths: clean,
        })
    }

    /// No condition at all.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.tags.is_empty() && self.paths.is_empty()
    }

    /// Does `s` pass? A stdin snapshot's path is matched as `/NAME`, where
    /// its file is in the snapshot.
    pub fn matches(&self, s: &Snapshot) -> bool {
        let host = self.hosts.is_empty() || self.hosts.contains(&s.host);
        let tags = self.tags.is_empty() || self.tags.iter().any(|l| has_tags(s, l));
        let paths = self.paths.iter().all(|want| {
            s.paths.iter().any(|p| {
                let p = match s.source.as_str() {
                    "stdin" => format!("/{p}"),
                    "files" => clean_path(p),
                    _ => p.clone(),
                };
                p == *want
            })
        });
        host && tags && paths
    }

    /// The conditions, for messages (e.g. `--host a --tag x,y`).
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        for h in &self.hosts {
            out.push(format!("--host {h}"));
        }
        for l in &self.tags {
            out.push(format!("--tag {}", l.join(",")));
        }
        for p in &self.paths {
            out.push(format!("--path {p}"));
        }
        out.join(" ")
    }
}

/// Restic's `HasTags`: every tag of `list`; an empty tag matches a
/// snapshot that has no tags.
fn has_tags(s: &Snapshot, list: &[String]) -> bool {
    for t in list {
        if t.is_empty() && s.tags.is_empty() {
            return true;
        }
        if !s.tags.contains(t) {
            return false;
        }
    }
    true
}

/// Lexical cleaning of an absolute path: no empty or `.` components, `..`
/// removes the previous one (never above `/`), no trailing `/`.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
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

    fn snap(host: &str, tags: &[&str], paths: &[&str], source: &str) -> Snapshot {
        Snapshot {
            time: Timestamp::default(),
            tree: TreeId([0; 32]),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            host: host.into(),
            user: String::new(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            parent: None,
            source: source.into(),
            stats: SnapshotStats::default(),
            program: String::new(),
        }
    }

    #[test]
    fn filter_follows_restic() {
        let f = |h: &[&str], t: &[&str], p: &[&str]| {
            let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            SnapshotFilter::new(&v(h), &v(t), &v(p)).unwrap()
        };
        let s = snap("h1", &["a", "b"], &["/etc", "/srv/data"], "files");
        assert!(SnapshotFilter::default().matches(&s));
        assert!(f(&["h2", "h1"], &[], &[]).matches(&s));
        assert!(!f(&["h2"], &[], &[]).matches(&s));
        // A comma list means all of them; repeated flags mean any list.
        assert!(f(&[], &["a,b"], &[]).matches(&s));
        assert!(!f(&[], &["a,c"], &[]).matches(&s));
        assert!(f(&[], &["a,c", " b "], &[]).matches(&s));
        // An empty tag matches only untagged snapshots.
        assert!(!f(&[], &[""], &[]).matches(&s));
        assert!(f(&[], &[""], &[]).matches(&snap("h1", &[], &["/etc"], "files")));
        // Every path must be included; paths are cleaned.
        assert!(f(&[], &[], &["/srv/./data/", "//etc"]).matches(&s));
        assert!(!f(&[], &[], &["/etc", "/home"]).matches(&s));
        assert!(!f(&[], &[], &["/srv"]).matches(&s));
        assert!(f(&[], &[], &["/srv/x/../data"]).matches(&s));
        // A stdin snapshot is at /NAME.
        let st = snap("h1", &[], &["db.dump"], "stdin");
        assert!(f(&[], &[], &["/db.dump"]).matches(&st));
        assert!(!f(&[], &[], &["/etc"]).matches(&st));
        assert_eq!(
            f(&["h"], &["a,b"], &["/x"]).describe(),
            "--host h --tag a,b --path /x"
        );
    }
}
