//! The layout of a MongoDB snapshot: the manifest `cairn-mongodb.json`
//! (what the snapshot holds and how it was taken), the encoding of
//! database and collection names as tree entry names, and the framing of
//! `.bson` files (raw BSON documents back to back). The manifest is
//! JSON (RFC 8259), UTF-8, one object; fields are normative in
//! `format-spec/v1/mongodb.md`. Readers ignore unknown fields.

use crate::error::{Error, Result};
use serde_json::{json, Value};

/// File name of the manifest at the snapshot root.
pub const MANIFEST_NAME: &str = "cairn-mongodb.json";
/// Value of the `format` field.
pub const MANIFEST_FORMAT: &str = "cairn-mongodb/1";

/// One dumped collection or view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionEntry {
    /// Database name.
    pub db: String,
    /// Collection name.
    pub name: String,
    /// `"collection"`, `"view"` or `"timeseries"`.
    pub kind: String,
    /// Documents dumped (0 for views).
    pub count: u64,
    /// Bytes of raw BSON dumped.
    pub bytes: u64,
    /// BLAKE3 (hex) of the `.bson` stream: all documents, in dump order.
    pub blake3: String,
}

/// The manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Server URI with the password masked.
    pub uri: String,
    /// `buildInfo.version`.
    pub server_version: String,
    /// `"replica-set"`, `"sharded"` or `"standalone"`.
    pub topology: String,
    /// `"transaction"`, `"snapshot"` or `"per-collection"` (see the spec).
    pub consistency: String,
    /// Cluster time the dump corresponds to, when known (`"t.i"`).
    pub cluster_time: Option<String>,
    /// Collections in dump order.
    pub collections: Vec<CollectionEntry>,
}

impl Manifest {
    /// Serialize (pretty, stable field order).
    pub fn to_json(&self) -> Vec<u8> {
        let cols: Vec<Value> = self
            .collections
            .iter()
            .map(|c| {
                json!({"db": c.db, "name": c.name, "type": c.kind, "count": c.count,
                       "bytes": c.bytes, "blake3": c.blake3})
            })
            .collect();
        let v = json!({
            "format": MANIFEST_FORMAT,
            "uri": self.uri,
            "server_version": self.server_version,
            "topology": self.topology,
            "consistency": self.consistency,
            "cluster_time": self.cluster_time,
            "collections": cols,
        });
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parse; never panics.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let bad = |what: &str| Error::corrupt(format!("{MANIFEST_NAME}: {what}"));
        let v: Value = serde_json::from_slice(bytes).map_err(|e| bad(&format!("not JSON: {e}")))?;
        let text = |v: &Value, k: &str| -> Result<String> {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("missing text field '{k}'")))
        };
        let num = |v: &Value, k: &str| -> Result<u64> {
            v.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(&format!("missing number field '{k}'")))
        };
        if text(&v, "format")? != MANIFEST_FORMAT {
            return Err(Error::new(
                crate::ErrorKind::UnsupportedVersion,
                format!("{MANIFEST_NAME}: unknown format; upgrade cairn"),
            ));
        }
        let mut collections = Vec::new();
        for c in v
            .get("collections")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing 'collections'"))?
        {
            collections.push(CollectionEntry {
                db: text(c, "db")?,
                name: text(c, "name")?,
                kind: text(c, "type")?,
                count: num(c, "count")?,
                bytes: num(c, "bytes")?,
                blake3: text(c, "blake3")?,
            });
        }
        Ok(Manifest {
            uri: text(&v, "uri")?,
            server_version: text(&v, "server_version")?,
            topology: text(&v, "topology")?,
            consistency: text(&v, "consistency")?,
            cluster_time: v
                .get("cluster_time")
                .and_then(Value::as_str)
                .map(str::to_owned),
            collections,
        })
    }
}

/// Split a raw BSON stream into documents; `None` at a clean end.
pub fn next_document(r: &mut impl std::io::Read) -> Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r
            .read(&mut len[got..])
            .map_err(|e| Error::from_io("reading the dump", e))?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(Error::corrupt("BSON stream ends inside a document length"))
            };
        }
        got += n;
    }
    let size = i32::from_le_bytes(len);
    if !(5..=48 << 20).contains(&size) {
        return Err(Error::corrupt(format!(
            "BSON document length {size} is invalid"
        )));
    }
    let mut doc = vec![0u8; size as usize];
    doc[..4].copy_from_slice(&len);
    r.read_exact(&mut doc[4..])
        .map_err(|e| Error::from_io("reading the dump", e))?;
    Ok(Some(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let m = Manifest {
            uri: "mongodb://u:****@h/".into(),
            server_version: "8.2.0".into(),
            topology: "replica-set".into(),
            consistency: "transaction".into(),
            cluster_time: Some("1.2".into()),
            collections: vec![CollectionEntry {
                db: "d".into(),
                name: "c".into(),
                kind: "collection".into(),
                count: 3,
                bytes: 99,
                blake3: "ab".into(),
            }],
        };
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
        assert!(Manifest::from_json(b"{}").is_err());
        assert!(Manifest::from_json(b"\xff").is_err());
    }
}

/// Encode a database or collection name as a tree entry name: `%` and `/`
/// are percent-encoded (`%25`, `%2F`); everything else is kept.
pub fn encode_name(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

/// Inverse of [`encode_name`].
pub fn decode_name(name: &str) -> String {
    name.replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%25", "%")
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in ["plain", "a/b", "100%", "%2F literal", "x.y"] {
            assert_eq!(decode_name(&encode_name(n)), n);
            assert!(!encode_name(n).contains('/'));
        }
    }
}
