//! Key files, `keys/<id>`: `"CRNK" | version=1 | CBOR map` holding the
//! master key wrapped under a key-encryption key that Argon2id derives
//! from one password (normative in `format-spec/v1/crypto.md`). Several
//! key files can open one repository. Invariant: the decoder never panics,
//! and the master key leaves a key file only through [`KeyFile::open`]
//! with the right password.

use crate::crypto::{KdfParams, MasterKey, ObjectType, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::cbor::{Fields, Value};
use crate::id::KeyId;

/// Magic of a key file.
pub const KEY_MAGIC: [u8; 4] = *b"CRNK";
/// Key file version.
pub const KEY_VERSION: u8 = 1;
/// Longest label or host name a writer puts in a key file, in bytes.
pub const MAX_LABEL: usize = 256;
/// Largest key file a reader accepts (a key file Cairn writes is under
/// 400 bytes; the rest is room for long host names).
pub const MAX_KEY_FILE: u64 = 64 << 10;

/// A decoded key file.
#[derive(Clone, Debug)]
pub struct KeyFile {
    /// Argon2id cost.
    pub kdf: KdfParams,
    /// Argon2id salt (16 to 64 bytes).
    pub salt: Vec<u8>,
    /// Full envelope (type KeyWrap, bind zero) holding the master key.
    pub wrapped: Vec<u8>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Host that created it (informational).
    pub host: String,
    /// What the user called it (`key add --label`; informational,
    /// optional: files written before labels existed have none).
    pub label: Option<String>,
}

impl KeyFile {
    /// Wrap `master` under `password` with a fresh salt.
    pub fn create(
        master: &MasterKey,
        password: &[u8],
        kdf: KdfParams,
        created: i64,
        host: &str,
    ) -> Result<Self> {
        let mut salt = vec![0u8; 32];
        crate::crypto::random_bytes(&mut salt)?;
        let mut nonce = [0u8; 24];
        crate::crypto::random_bytes(&mut nonce)?;
        Self::create_with(master, password, kdf, salt, &nonce, created, host)
    }

    /// Deterministic variant for test vectors.
    pub fn create_with(
        master: &MasterKey,
        password: &[u8],
        kdf: KdfParams,
        salt: Vec<u8>,
        nonce: &[u8; 24],
        created: i64,
        host: &str,
    ) -> Result<Self> {
        let kek = kdf.derive(password, &salt)?;
        let wrapped = Sealer::new(&kek).seal_with_nonce(
            ObjectType::KeyWrap,
            &[0; 32],
            master.expose(),
            nonce,
        )?;
        Ok(KeyFile {
            kdf,
            salt,
            wrapped,
            created,
            host: host.to_owned(),
            label: None,
        })
    }

    /// Unwrap the master key; a failing tag means the password is wrong.
    pub fn open(&self, password: &[u8]) -> Result<MasterKey> {
        let kek = self.kdf.derive(password, &self.salt)?;
        let plain = Sealer::new(&kek)
            .open(ObjectType::KeyWrap, &[0; 32], &self.wrapped)
            .map_err(|e| match e.kind() {
                ErrorKind::Corrupt => Error::new(
                    ErrorKind::WrongPassword,
                    "wrong password (no key file could be opened with it)",
                ),
                _ => e,
            })?;
        let k: [u8; 32] = plain
            .try_into()
            .map_err(|_| Error::corrupt("wrapped master key is not 32 bytes"))?;
        Ok(MasterKey::from_bytes(k))
    }

    /// Serialize: magic, version, canonical CBOR.
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = vec![
            ("kdf", Value::Text("argon2id".into())),
            ("m_kib", Value::Uint(self.kdf.memory_kib.into())),
            ("t", Value::Uint(self.kdf.iterations.into())),
            ("p", Value::Uint(self.kdf.parallelism.into())),
            ("salt", Value::Bytes(self.salt.clone())),
            ("wrapped", Value::Bytes(self.wrapped.clone())),
            ("created", Value::int(self.created)),
            ("host", Value::Text(self.host.clone())),
        ];
        if let Some(label) = &self.label {
            fields.push(("label", Value::Text(label.clone())));
        }
        let v = Value::map(fields);
        let mut out = KEY_MAGIC.to_vec();
        out.push(KEY_VERSION);
        out.extend_from_slice(&v.encode());
        out
    }

    /// Parse a key file; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (magic, rest) = bytes
            .split_at_checked(4)
            .ok_or_else(|| Error::corrupt("key file is truncated"))?;
        if magic != KEY_MAGIC {
            return Err(Error::corrupt("key file does not start with 'CRNK'"));
        }
        let (version, body) = rest
            .split_first()
            .ok_or_else(|| Error::corrupt("key file is truncated"))?;
        if *version != KEY_VERSION {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion,
                format!("key file version {version} is not supported; upgrade cairn"),
            ));
        }
        let v = Value::decode(body)?;
        let f = Fields::of(&v, "key file")?;
        if f.text("kdf")? != "argon2id" {
            return Err(Error::corrupt("key file names an unknown KDF"));
        }
        let small = |k: &str| -> Result<u32> {
            u32::try_from(f.u64(k)?)
                .map_err(|_| Error::corrupt(format!("key file: '{k}' too large")))
        };
        let kdf = KdfParams {
            memory_kib: small("m_kib")?,
            iterations: small("t")?,
            parallelism: small("p")?,
        };
        kdf.validate()?;
        let salt = f.bytes("salt")?.to_vec();
        if !(16..=64).contains(&salt.len()) {
            return Err(Error::corrupt("key file salt must be 16 to 64 bytes"));
        }
        Ok(KeyFile {
            kdf,
            salt,
            wrapped: f.bytes("wrapped")?.to_vec(),
            created: f.i64("created")?,
            host: f.text("host")?.to_owned(),
            label: f.opt_text("label")?.map(str::to_owned),
        })
    }

    /// The key file's ID: BLAKE3 of its encoding.
    pub fn id(bytes: &[u8]) -> KeyId {
        KeyId(*blake3::hash(bytes).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfParams {
        KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn wrap_unwrap_and_wrong_password() {
        let mk = MasterKey::from_bytes([9; 32]);
        let kf = KeyFile::create(&mk, b"secret", fast(), 0, "h").unwrap();
        let enc = kf.encode();
        let back = KeyFile::decode(&enc).unwrap();
        assert_eq!(back.open(b"secret").unwrap().expose(), &[9; 32]);
        let err = back.open(b"wrong").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongPassword);
        assert!(!err.to_string().contains("wrong\""));
    }

    #[test]
    fn label_is_optional_and_round_trips() {
        let mk = MasterKey::from_bytes([9; 32]);
        let mut kf = KeyFile::create(&mk, b"secret", fast(), 0, "h").unwrap();
        let plain = kf.encode();
        assert_eq!(KeyFile::decode(&plain).unwrap().label, None);
        kf.label = Some("laptop".into());
        let labelled = kf.encode();
        assert_ne!(plain, labelled);
        let back = KeyFile::decode(&labelled).unwrap();
        assert_eq!(back.label.as_deref(), Some("laptop"));
        assert_eq!(back.open(b"secret").unwrap().expose(), &[9; 32]);
        // Canonical order: "label" sorts between "salt" and "m_kib".
        let at = |k: &[u8]| labelled.windows(k.len()).position(|w| w == k).unwrap();
        assert!(at(b"salt") < at(b"label") && at(b"label") < at(b"m_kib"));
        // A label that is not text is corruption.
        let v = Value::decode(&labelled[5..]).unwrap();
        let Value::Map(mut entries) = v else { panic!() };
        for (k, v) in &mut entries {
            if *k == Value::Text("label".into()) {
                *v = Value::Uint(1);
            }
        }
        let mut bad = KEY_MAGIC.to_vec();
        bad.push(KEY_VERSION);
        bad.extend(Value::Map(entries).encode());
        assert_eq!(
            KeyFile::decode(&bad).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn decode_garbage() {
        assert!(KeyFile::decode(b"").is_err());
        assert!(KeyFile::decode(b"CRNK").is_err());
        assert_eq!(
            KeyFile::decode(b"CRNK\x02\xa0").unwrap_err().kind(),
            ErrorKind::UnsupportedVersion
        );
        assert!(KeyFile::decode(b"CRNK\x01\xa0").is_err());
    }
}
