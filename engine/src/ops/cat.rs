//! `cat`: one repository object, opened, verified and decoded, as JSON
//! whose field names are those of `format-spec/v1` (for debugging and for
//! readers of the spec), like `restic cat`.
//!
//! CBOR objects (config, snapshot, tree, lock, key file) are shown as
//! their canonical encoding decodes: every key as the spec names it, byte
//! strings as lowercase hex, except `name` and `target` (names and link
//! targets), shown as text when they are UTF-8 and otherwise under
//! `name_hex`/`target_hex`. Binary objects (index files, pack trailers)
//! use the field names of the spec's byte layouts.
//!
//! Invariants: nothing secret is ever shown: a key file shows its KDF
//! parameters and metadata, never its salt or wrapped master key; the
//! config holds no key. Every object is verified (name, AEAD tag,
//! structure) before it is shown. IDs may be unique prefixes for the kinds
//! the storage lists (snapshots, index files, packs, keys, locks); trees
//! are not listed, so a tree needs its full ID.

use crate::backend::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::Value;
use crate::format::index::IndexFile;
use crate::format::keyfile::KeyFile;
use crate::format::pack::BlobEntry;
use crate::id::{hex_encode, IndexId, PackId, TreeId};
use crate::repo::Repository;
use serde_json::{json, Map, Value as Json};

/// What to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// The repository config.
    Config,
    /// A snapshot: ID, unique prefix or `latest`.
    Snapshot(String),
    /// A tree, by full ID.
    Tree(String),
    /// An index file: ID or unique prefix.
    Index(String),
    /// The trailer of a pack: ID or unique prefix.
    PackTrailer(String),
    /// A key file: ID or unique prefix.
    Key(String),
    /// A lock file: ID or unique prefix.
    Lock(String),
}

impl Object {
    /// From the command line's kind and ID; a missing or extra ID, or an
    /// unknown kind, is a usage error.
    pub fn parse(kind: &str, id: Option<&str>) -> Result<Self> {
        let need = |id: Option<&str>| {
            id.map(str::to_owned).ok_or_else(|| {
                Error::invalid(format!("`cat {kind}` needs an ID (see `cairn cat --help`)"))
            })
        };
        match kind {
            "config" => match id {
                None => Ok(Object::Config),
                Some(_) => Err(Error::invalid("`cat config` takes no ID")),
            },
            "snapshot" => Ok(Object::Snapshot(need(id)?)),
            "tree" => Ok(Object::Tree(need(id)?)),
            "index" => Ok(Object::Index(need(id)?)),
            "pack-trailer" => Ok(Object::PackTrailer(need(id)?)),
            "key" => Ok(Object::Key(need(id)?)),
            "lock" => Ok(Object::Lock(need(id)?)),
            _ => Err(Error::invalid(format!(
                "unknown object kind '{kind}': use config, snapshot, tree, index, pack-trailer, key or lock"
            ))),
        }
    }
}

/// The decoded object (a JSON document).
pub type CatReport = Json;

/// Open, verify and decode `what`.
pub fn cat(repo: &Repository, what: &Object) -> Result<CatReport> {
    let backend = repo.backend();
    match what {
        Object::Config => cbor_json(&repo.config().encode_plain()),
        Object::Snapshot(spec) => cbor_json(&repo.find_snapshot(spec)?.1.encode_plain()),
        Object::Tree(id) => {
            let id = TreeId::from_hex(id).map_err(|_| {
                Error::invalid(format!(
                    "'{id}' is not a tree ID: trees are not listed, so give all 64 hex digits \
                     (from `cairn cat snapshot` or `cairn cat tree` of the parent)"
                ))
            })?;
            cbor_json(&repo.read_tree(&id)?.encode())
        }
        Object::Index(spec) => {
            let name = resolve(repo, Kind::Index, spec, "index file")?;
            let bytes =
                backend.read_max(Kind::Index, &name, crate::format::index::MAX_INDEX_FILE)?;
            let file = IndexFile::open(repo.sealer(), &IndexId::from_hex(&name)?, &bytes)?;
            Ok(json!({
                "version": crate::format::index::INDEX_VERSION,
                "supersedes": file.supersedes.iter().map(|s| s.to_hex()).collect::<Vec<_>>(),
                "packs": file.packs.iter().map(|p| json!({
                    "pack": p.pack.to_hex(),
                    "entries": entries(&p.blobs),
                })).collect::<Vec<_>>(),
            }))
        }
        Object::PackTrailer(spec) => {
            let name = resolve(repo, Kind::Data, spec, "pack")?;
            let list = crate::repo::pack::read_trailer(
                &**backend,
                repo.sealer(),
                &PackId::from_hex(&name)?,
            )?;
            Ok(json!({"version": 1, "entries": entries(&list)}))
        }
        Object::Key(spec) => {
            let name = resolve(repo, Kind::Key, spec, "key file")?;
            let bytes = backend.read_max(Kind::Key, &name, crate::format::keyfile::MAX_KEY_FILE)?;
            let k = KeyFile::decode(&bytes)?;
            // Salt and wrapped key are left out on purpose (see above).
            Ok(json!({
                "kdf": "argon2id",
                "m_kib": k.kdf.memory_kib,
                "t": k.kdf.iterations,
                "p": k.kdf.parallelism,
                "created": k.created,
                "host": k.host,
                "label": k.label,
            }))
        }
        Object::Lock(spec) => {
            let name = resolve(repo, Kind::Lock, spec, "lock file")?;
            let info = crate::repo::lock::read_lock(&**backend, repo.sealer(), &name)?;
            cbor_json(&info.encode_plain())
        }
    }
}

/// Blob entries with the field names of the spec's 49-byte layout.
fn entries(list: &[BlobEntry]) -> Vec<Json> {
    list.iter()
        .map(|e| {
            json!({
                "type": e.blob_type.object_type() as u8,
                "id": e.id.to_hex(),
                "offset": e.offset,
                "sealed_len": e.sealed_len,
                "plain_len": e.plain_len,
            })
        })
        .collect()
}

/// The one name in `kind` that starts with `spec` (hex, any case).
fn resolve(repo: &Repository, kind: Kind, spec: &str, what: &str) -> Result<String> {
    if spec.is_empty() || !spec.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!(
            "'{spec}' is not a {what} ID or ID prefix (hex digits)"
        )));
    }
    let want = spec.to_ascii_lowercase();
    let mut found: Vec<String> = repo
        .backend()
        .list(kind)?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with(&want))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::new(
            ErrorKind::NotFound,
            format!("no {what} matches '{spec}'"),
        )),
        n => Err(Error::new(
            ErrorKind::Ambiguous,
            format!("'{spec}' matches {n} {what}s; give more digits"),
        )),
    }
}

/// Decode canonical CBOR and show it as JSON (see the module docs).
fn cbor_json(plain: &[u8]) -> Result<Json> {
    Ok(to_json(&Value::decode(plain)?))
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Uint(n) => json!(n),
        // Below i64's range (no Cairn field is): the exact value as text.
        Value::Nint(n) => i64::try_from(*n).map_or_else(
            |_| Json::String((-1 - i128::from(*n)).to_string()),
            |n| json!(-1 - n),
        ),
        Value::Bytes(b) => Json::String(hex_encode(b)),
        Value::Text(t) => Json::String(t.clone()),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Value::Text(t) => t.clone(),
                    other => to_json(other).to_string(),
                };
                match (key.as_str(), v) {
                    ("name" | "target", Value::Bytes(b)) => match std::str::from_utf8(b) {
                        Ok(s) => out.insert(key, Json::String(s.to_owned())),
                        Err(_) => out.insert(format!("{key}_hex"), Json::String(hex_encode(b))),
                    },
                    _ => out.insert(key, to_json(v)),
                };
            }
            Json::Object(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_becomes_spec_named_json() {
        let v = Value::map(vec![
            ("v", Value::Uint(1)),
            ("name", Value::Bytes(b"a.txt".to_vec())),
            ("target", Value::Bytes(vec![0xff, 0x00])),
            ("subtree", Value::Bytes(vec![0xab; 2])),
            ("created", Value::int(-5)),
            ("tags", Value::Array(vec![Value::Text("x".into())])),
        ]);
        let j = to_json(&Value::decode(&v.encode()).unwrap());
        assert_eq!(
            j,
            json!({"v": 1, "name": "a.txt", "target_hex": "ff00", "subtree": "abab",
                   "created": -5, "tags": ["x"]})
        );
        assert_eq!(
            to_json(&Value::Nint(u64::MAX)),
            json!("-18446744073709551616")
        );
    }

    #[test]
    fn kinds_and_ids_are_checked() {
        assert_eq!(Object::parse("config", None).unwrap(), Object::Config);
        assert_eq!(
            Object::parse("pack-trailer", Some("ab")).unwrap(),
            Object::PackTrailer("ab".into())
        );
        for (k, id) in [("config", Some("x")), ("tree", None), ("blob", Some("ab"))] {
            let e = Object::parse(k, id).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{k}");
        }
    }
}
