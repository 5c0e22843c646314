//! The repository config (sealed, `config`) and the plaintext `CAIRN`
//! marker that names the format version for anyone who finds the files.
//!
//! Invariant: a config that lists a required feature this build does not
//! know is refused as "unsupported version", never read as corruption or
//! silently ignored (`format-spec/README.md`, "Versioning policy").

use crate::chunking::{ChunkerParams, FineParams};
use crate::crypto::{ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{text_list, Fields, Value};

/// Repository format version written by this build.
pub const FORMAT_VERSION: u64 = 1;

/// Name of the marker file.
pub const MARKER_NAME: &str = "CAIRN";
/// Name of the config file.
pub const CONFIG_NAME: &str = "config";
/// Largest config plaintext a reader accepts.
pub const MAX_CONFIG_PLAIN: u64 = 1 << 20;
/// Largest config file a reader accepts.
pub const MAX_CONFIG_FILE: u64 = crate::crypto::aead::max_sealed_len(MAX_CONFIG_PLAIN);
/// Largest `CAIRN` marker a reader accepts (the one Cairn writes is under
/// 400 bytes).
pub const MAX_MARKER_FILE: u64 = 64 << 10;

/// First line of the marker.
pub fn marker_text() -> String {
    format!(
        "CAIRN-REPOSITORY {FORMAT_VERSION}\n\
         This directory is a Cairn archive repository (encrypted, deduplicated).\n\
         Its on-disk format is specified in spec/README.md inside this repository.\n\
         Everything here is encrypted except this file, the spec, and the key files'\n\
         KDF parameters, salt, host name and creation time.\n"
    )
}

/// Parse the marker; returns the format version.
pub fn parse_marker(bytes: &[u8]) -> Result<u64> {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line =
        std::str::from_utf8(first).map_err(|_| Error::corrupt("CAIRN marker is not text"))?;
    let version = line
        .strip_prefix("CAIRN-REPOSITORY ")
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            Error::corrupt("CAIRN marker does not start with 'CAIRN-REPOSITORY <version>'")
        })?;
    if version != FORMAT_VERSION {
        return Err(Error::new(
            ErrorKind::UnsupportedVersion,
            format!("repository format {version} is not supported by this build (it reads {FORMAT_VERSION}); upgrade cairn"),
        ));
    }
    Ok(version)
}

/// Repository-wide parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Random repository ID (16 bytes), names the local cache.
    pub id: [u8; 16],
    /// Chunk size parameters.
    pub chunker: ChunkerParams,
    /// The fine chunk class (`fine_*` keys); `None` = every stream is cut
    /// with `chunker` (repositories made before the class existed).
    pub fine: Option<FineParams>,
    /// zstd level used when writing.
    pub zstd_level: i32,
    /// Target pack size in bytes.
    pub pack_size: u32,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Reed-Solomon parity: `(k, m)` = m parity shards per group of up to
    /// k packs; `None` = off.
    pub parity: Option<(u8, u8)>,
}

/// Required features this build knows (`format-spec/README.md`,
/// "Versioning policy", rule 5). v1 defines none yet.
pub const KNOWN_FEATURES: &[&str] = &[];

/// Check the config's `features` list: well-formed (sorted, unique,
/// non-empty names) or corruption; every name known or "unsupported".
fn check_features(f: &Fields<'_>) -> Result<()> {
    let features = text_list(f.opt_array("features")?, "config features")?;
    if features.iter().any(String::is_empty) || features.windows(2).any(|w| w.first() >= w.get(1)) {
        return Err(Error::corrupt(
            "config: features are not sorted, unique, non-empty names",
        ));
    }
    let unknown: Vec<&str> = features
        .iter()
        .map(String::as_str)
        .filter(|n| !KNOWN_FEATURES.contains(n))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::UnsupportedVersion,
            format!(
                "the repository requires features this build does not know ({}); upgrade cairn",
                unknown.join(", ")
            ),
        ))
    }
}

/// Check `(k, m)` against the bounds of `format-spec/v1/parity.md`.
pub fn validate_parity(k: u8, m: u8) -> Result<()> {
    if (1..=64).contains(&k) && (1..=16).contains(&m) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "parity {k}+{m}: need 1 ≤ K ≤ 64 and 1 ≤ M ≤ 16"
        )))
    }
}

/// The optional fine class: all four `fine_*` size keys or none, and the
/// optional `fine_page` only with them.
fn decode_fine(f: &Fields<'_>) -> Result<Option<FineParams>> {
    let page = f
        .opt_u64("fine_page")?
        .map(|p| u32::try_from(p).map_err(|_| Error::corrupt("config: fine_page out of range")))
        .transpose()?;
    let keys = ["fine_min", "fine_avg", "fine_max", "fine_limit"];
    let mut vals = [0u64; 4];
    let mut present = 0;
    for (v, k) in vals.iter_mut().zip(keys) {
        if let Some(x) = f.opt_u64(k)? {
            *v = x;
            present += 1;
        }
    }
    match present {
        0 if page.is_some() => {
            return Err(Error::corrupt(
                "config: fine_page without the other fine_* keys",
            ))
        }
        0 => return Ok(None),
        4 => {}
        _ => {
            return Err(Error::corrupt(
                "config: fine_* keys must be all present or all absent",
            ))
        }
    }
    let small =
        |x: u64| u32::try_from(x).map_err(|_| Error::corrupt("config: fine_* size out of range"));
    let [min, avg, max, limit] = vals;
    let fine = FineParams {
        chunker: ChunkerParams {
            min_size: small(min)?,
            avg_size: small(avg)?,
            max_size: small(max)?,
        },
        limit,
        page,
    };
    fine.validate()?;
    Ok(Some(fine))
}

impl Config {
    /// Canonical CBOR.
    pub fn encode_plain(&self) -> Vec<u8> {
        let mut fields = vec![
            ("v", Value::Uint(FORMAT_VERSION)),
            ("id", Value::Bytes(self.id.to_vec())),
            ("chunk_min", Value::Uint(self.chunker.min_size.into())),
            ("chunk_avg", Value::Uint(self.chunker.avg_size.into())),
            ("chunk_max", Value::Uint(self.chunker.max_size.into())),
            ("zstd_level", Value::int(self.zstd_level.into())),
            ("pack_size", Value::Uint(self.pack_size.into())),
            ("created", Value::int(self.created)),
            (
                "parity_k",
                Value::Uint(self.parity.map_or(0, |p| p.0).into()),
            ),
            (
                "parity_m",
                Value::Uint(self.parity.map_or(0, |p| p.1).into()),
            ),
        ];
        if let Some(f) = &self.fine {
            fields.extend([
                ("fine_min", Value::Uint(f.chunker.min_size.into())),
                ("fine_avg", Value::Uint(f.chunker.avg_size.into())),
                ("fine_max", Value::Uint(f.chunker.max_size.into())),
                ("fine_limit", Value::Uint(f.limit)),
            ]);
            if let Some(page) = f.page {
                fields.push(("fine_page", Value::Uint(page.into())));
            }
        }
        Value::map(fields).encode()
    }

    /// Decode; never panics.
    pub fn decode_plain(bytes: &[u8]) -> Result<Self> {
        let v = Value::decode(bytes)?;
        let f = Fields::of(&v, "config")?;
        let version = f.u64("v")?;
        if version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("config version {version} is not supported; upgrade cairn"),
            ));
        }
        check_features(&f)?;
        let small = |k: &str| -> Result<u32> {
            u32::try_from(f.u64(k)?)
                .map_err(|_| Error::corrupt(format!("config: '{k}' out of range")))
        };
        let chunker = ChunkerParams {
            min_size: small("chunk_min")?,
            avg_size: small("chunk_avg")?,
            max_size: small("chunk_max")?,
        };
        chunker.validate()?;
        let fine = decode_fine(&f)?;
        let pack_size = small("pack_size")?;
        if !(4096..=1 << 30).contains(&pack_size) {
            return Err(Error::corrupt("config: pack_size out of range"));
        }
        Ok(Config {
            id: f
                .bytes("id")?
                .try_into()
                .map_err(|_| Error::corrupt("config: id is not 16 bytes"))?,
            chunker,
            fine,
            zstd_level: i32::try_from(f.i64("zstd_level")?)
                .ok()
                .filter(|l| (0..=22).contains(l))
                .ok_or_else(|| Error::corrupt("config: zstd_level out of range"))?,
            pack_size,
            created: f.i64("created")?,
            parity: match (
                f.opt_u64("parity_k")?.unwrap_or(0),
                f.opt_u64("parity_m")?.unwrap_or(0),
            ) {
                (0, _) | (_, 0) => None,
                (k, m) => {
                    let (k, m) = (
                        u8::try_from(k)
                            .map_err(|_| Error::corrupt("config: parity_k out of range"))?,
                        u8::try_from(m)
                            .map_err(|_| Error::corrupt("config: parity_m out of range"))?,
                    );
                    validate_parity(k, m).map_err(|e| Error::corrupt(e.message().to_owned()))?;
                    Some((k, m))
                }
            },
        })
    }

    /// Sealed file bytes.
    pub fn seal(&self, sealer: &Sealer) -> Result<Vec<u8>> {
        super::object::seal(sealer, ObjectType::Config, &self.encode_plain(), 0)
    }

    /// Open the sealed config.
    pub fn open(sealer: &Sealer, bytes: &[u8]) -> Result<Self> {
        let plain = super::object::open(sealer, ObjectType::Config, bytes, MAX_CONFIG_PLAIN)
            .map_err(|e| e.context("config"))?;
        Self::decode_plain(&plain)
    }

    /// Hex of the repository ID.
    pub fn id_hex(&self) -> String {
        crate::id::hex_encode(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_and_config() {
        assert_eq!(parse_marker(marker_text().as_bytes()).unwrap(), 1);
        assert_eq!(
            parse_marker(b"CAIRN-REPOSITORY 9\n").unwrap_err().kind(),
            ErrorKind::UnsupportedVersion
        );
        assert!(parse_marker(b"garbage").is_err());
        let c = Config {
            id: [7; 16],
            chunker: ChunkerParams::default(),
            fine: None,
            zstd_level: 3,
            pack_size: 16 << 20,
            created: 1,
            parity: Some((10, 2)),
        };
        let s = Sealer::new(&[1; 32]);
        assert_eq!(Config::open(&s, &c.seal(&s).unwrap()).unwrap(), c);
        let with_fine = Config {
            fine: Some(FineParams::default()),
            ..c.clone()
        };
        let plain = with_fine.encode_plain();
        assert_eq!(Config::decode_plain(&plain).unwrap(), with_fine);
        // All four fine_* keys or none.
        let Value::Map(mut m) = Value::decode(&plain).unwrap() else {
            panic!("config is a map")
        };
        let without = |m: &[(Value, Value)], key: &str| -> Vec<(Value, Value)> {
            m.iter()
                .filter(|(k, _)| *k != Value::Text(key.into()))
                .cloned()
                .collect()
        };
        let corrupt = |m: Vec<(Value, Value)>| {
            Config::decode_plain(&Value::Map(m).encode())
                .unwrap_err()
                .kind()
                == ErrorKind::Corrupt
        };
        assert!(corrupt(without(&m, "fine_limit")));
        // fine_page is optional, but only with the other fine_* keys.
        let no_page = Config::decode_plain(&Value::Map(without(&m, "fine_page")).encode());
        assert_eq!(no_page.unwrap().fine.and_then(|f| f.page), None);
        let mut page_alone = m.clone();
        for k in ["fine_min", "fine_avg", "fine_max", "fine_limit"] {
            page_alone = without(&page_alone, k);
        }
        assert!(corrupt(page_alone));
        m.retain(|(k, _)| *k != Value::Text("fine_page".into()));
        m.push((Value::Text("fine_page".into()), Value::Uint(4000)));
        assert!(corrupt(m));
    }

    /// The config plaintext of `c` with a `features` list added.
    fn with_features(c: &Config, features: &[&str]) -> Vec<u8> {
        let Value::Map(mut m) = Value::decode(&c.encode_plain()).unwrap() else {
            panic!("config is a map")
        };
        let list = features.iter().map(|f| Value::Text((*f).into())).collect();
        m.push((Value::Text("features".into()), Value::Array(list)));
        Value::Map(m).encode() // sorted canonically by the encoder
    }

    #[test]
    fn unknown_required_features_are_unsupported_not_corrupt() {
        let c = Config {
            id: [7; 16],
            chunker: ChunkerParams::default(),
            fine: Some(FineParams::default()),
            zstd_level: 3,
            pack_size: 16 << 20,
            created: 1,
            parity: None,
        };
        assert_eq!(Config::decode_plain(&with_features(&c, &[])).unwrap(), c);
        let err = Config::decode_plain(&with_features(&c, &["from-the-future"])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedVersion);
        assert!(err.message().contains("from-the-future"));
        let err = Config::decode_plain(&with_features(&c, &["b", "a"])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
    }
}
