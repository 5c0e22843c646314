//! Canonical CBOR (RFC 8949) for trees, snapshots, config and key files.
//!
//! Only the subset the format needs: unsigned and negative integers, byte
//! strings, UTF-8 text, arrays, maps, `false`, `true` and `null`. Encoding
//! follows the core deterministic rules of RFC 8949 §4.2.1: shortest-form
//! heads, definite lengths, map keys sorted by the bytewise order of their
//! encodings, no duplicate keys. The decoder *rejects* anything else, so one
//! value has exactly one encoding and hashes of encodings are stable.
//!
//! The decoder never panics: every length is checked against the remaining
//! input and nesting is limited to [`MAX_DEPTH`].

use crate::error::{Error, Result};

/// Deepest nesting a decoder accepts.
pub const MAX_DEPTH: usize = 32;

/// Items reserved up front for an array or map; more grow on demand, so a
/// hostile count cannot make nested containers reserve gigabytes.
const PREALLOC_MAX: usize = 1024;

/// A CBOR data item of the supported subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3.
    Text(String),
    /// Major type 4.
    Array(Vec<Value>),
    /// Major type 5; encoded in canonical key order whatever the order here.
    Map(Vec<(Value, Value)>),
    /// Simple values 20 and 21.
    Bool(bool),
    /// Simple value 22.
    Null,
}

impl Value {
    /// A map with text keys (the form every Cairn record uses).
    pub fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Text(k.to_owned()), v))
                .collect(),
        )
    }

    /// Signed integer in the shortest major type.
    pub fn int(i: i64) -> Value {
        if i >= 0 {
            Value::Uint(i.unsigned_abs())
        } else {
            Value::Nint(i.unsigned_abs() - 1)
        }
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Uint(n) => head(out, 0, *n),
            Value::Nint(n) => head(out, 1, *n),
            Value::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Text(s) => {
                head(out, 3, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(items) => {
                head(out, 4, items.len() as u64);
                for i in items {
                    i.encode_into(out);
                }
            }
            Value::Map(entries) => {
                let mut enc: Vec<(Vec<u8>, Vec<u8>)> = entries
                    .iter()
                    .map(|(k, v)| (k.encode(), v.encode()))
                    .collect();
                enc.sort_by(|a, b| a.0.cmp(&b.0));
                enc.dedup_by(|a, b| a.0 == b.0);
                head(out, 5, enc.len() as u64);
                for (k, v) in enc {
                    out.extend_from_slice(&k);
                    out.extend_from_slice(&v);
                }
            }
            Value::Bool(false) => out.push(0xf4),
            Value::Bool(true) => out.push(0xf5),
            Value::Null => out.push(0xf6),
        }
    }

    /// Decode exactly one canonical item spanning all of `input`.
    pub fn decode(input: &[u8]) -> Result<Value> {
        let mut d = Decoder { buf: input, pos: 0 };
        let v = d.item(0)?;
        if d.pos != input.len() {
            return Err(Error::corrupt("trailing bytes after CBOR item"));
        }
        Ok(v)
    }
}

pub(crate) fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| Error::corrupt("CBOR item is truncated"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| Error::corrupt("CBOR item is truncated"))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?
            .try_into()
            .map_err(|_| Error::corrupt("CBOR item is truncated"))
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn byte(&mut self) -> Result<u8> {
        let b = self.take(1)?;
        b.first()
            .copied()
            .ok_or_else(|| Error::corrupt("CBOR item is truncated"))
    }

    /// Read an argument, enforcing shortest form.
    fn argument(&mut self, info: u8) -> Result<u64> {
        let (n, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (u64::from(self.byte()?), 24),
            25 => (u64::from(u16::from_be_bytes(self.array()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.array()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.array()?), 0x1_0000_0000),
            _ => return Err(Error::corrupt("indefinite or reserved CBOR length")),
        };
        if n < min {
            return Err(Error::corrupt("CBOR integer is not in shortest form"));
        }
        Ok(n)
    }

    fn length(&mut self, info: u8, min_item_size: usize) -> Result<usize> {
        let n = self.argument(info)?;
        let n = usize::try_from(n).map_err(|_| Error::corrupt("CBOR length too large"))?;
        if n.saturating_mul(min_item_size) > self.remaining() {
            return Err(Error::corrupt("CBOR length exceeds input"));
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(Error::corrupt("CBOR nesting too deep"));
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        match major {
            0 => Ok(Value::Uint(self.argument(info)?)),
            1 => Ok(Value::Nint(self.argument(info)?)),
            2 => {
                let n = self.length(info, 1)?;
                Ok(Value::Bytes(self.take(n)?.to_vec()))
            }
            3 => {
                let n = self.length(info, 1)?;
                let s = std::str::from_utf8(self.take(n)?)
                    .map_err(|_| Error::corrupt("CBOR text is not UTF-8"))?;
                Ok(Value::Text(s.to_owned()))
            }
            4 => {
                let n = self.length(info, 1)?;
                let mut items = Vec::with_capacity(n.min(PREALLOC_MAX));
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(info, 2)?;
                let mut entries = Vec::with_capacity(n.min(PREALLOC_MAX));
                let mut last_key: Option<&[u8]> = None;
                for _ in 0..n {
                    let start = self.pos;
                    let k = self.item(depth + 1)?;
                    let key_bytes = self.buf.get(start..self.pos).unwrap_or_default();
                    if let Some(prev) = last_key {
                        if prev >= key_bytes {
                            return Err(Error::corrupt("CBOR map keys are not in canonical order"));
                        }
                    }
                    last_key = Some(key_bytes);
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            7 => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                _ => Err(Error::corrupt("unsupported CBOR simple value or float")),
            },
            _ => Err(Error::corrupt("CBOR tags are not used by this format")),
        }
    }
}

/// Field access on a decoded map with text keys; errors name the record.
pub struct Fields<'a> {
    record: &'static str,
    entries: &'a [(Value, Value)],
}

impl<'a> Fields<'a> {
    /// View `v` as a map; `record` names it in error messages.
    pub fn of(v: &'a Value, record: &'static str) -> Result<Self> {
        match v {
            Value::Map(entries) => Ok(Fields { record, entries }),
            _ => Err(Error::corrupt(format!("{record}: expected a CBOR map"))),
        }
    }

    /// The value under `key`, if present.
    pub fn opt(&self, key: &str) -> Option<&'a Value> {
        self.entries.iter().find_map(|(k, v)| match k {
            Value::Text(t) if t == key => Some(v),
            _ => None,
        })
    }

    /// The value under `key`, or a corruption error.
    pub fn req(&self, key: &str) -> Result<&'a Value> {
        self.opt(key)
            .ok_or_else(|| Error::corrupt(format!("{}: missing field '{key}'", self.record)))
    }

    fn bad(&self, key: &str, what: &str) -> Error {
        Error::corrupt(format!("{}: field '{key}' is not {what}", self.record))
    }

    /// Required unsigned integer.
    pub fn u64(&self, key: &str) -> Result<u64> {
        match self.req(key)? {
            Value::Uint(n) => Ok(*n),
            _ => Err(self.bad(key, "an unsigned integer")),
        }
    }

    /// Optional unsigned integer.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Uint(n)) => Ok(Some(*n)),
            Some(_) => Err(self.bad(key, "an unsigned integer")),
        }
    }

    /// Required signed integer.
    pub fn i64(&self, key: &str) -> Result<i64> {
        as_i64(self.req(key)?).ok_or_else(|| self.bad(key, "an integer"))
    }

    /// Required byte string.
    pub fn bytes(&self, key: &str) -> Result<&'a [u8]> {
        match self.req(key)? {
            Value::Bytes(b) => Ok(b),
            _ => Err(self.bad(key, "a byte string")),
        }
    }

    /// Optional byte string.
    pub fn opt_bytes(&self, key: &str) -> Result<Option<&'a [u8]>> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b)),
            Some(_) => Err(self.bad(key, "a byte string")),
        }
    }

    /// Required text string.
    pub fn text(&self, key: &str) -> Result<&'a str> {
        match self.req(key)? {
            Value::Text(t) => Ok(t),
            _ => Err(self.bad(key, "text")),
        }
    }

    /// Optional text string.
    pub fn opt_text(&self, key: &str) -> Result<Option<&'a str>> {
        match self.opt(key) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t)),
            Some(_) => Err(self.bad(key, "text")),
        }
    }

    /// Required array.
    pub fn array(&self, key: &str) -> Result<&'a [Value]> {
        match self.req(key)? {
            Value::Array(a) => Ok(a),
            _ => Err(self.bad(key, "an array")),
        }
    }

    /// Optional array (absent means empty).
    pub fn opt_array(&self, key: &str) -> Result<&'a [Value]> {
        match self.opt(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.bad(key, "an array")),
        }
    }

    /// Optional boolean (absent means `false`).
    pub fn opt_bool(&self, key: &str) -> Result<bool> {
        match self.opt(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(key, "a boolean")),
        }
    }
}

/// A CBOR integer as `i64`, if it fits.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Uint(n) => i64::try_from(*n).ok(),
        Value::Nint(n) => i64::try_from(*n).ok().map(|n| -1 - n),
        _ => None,
    }
}

/// A list of text values.
pub fn text_list(items: &[Value], what: &'static str) -> Result<Vec<String>> {
    items
        .iter()
        .map(|v| match v {
            Value::Text(t) => Ok(t.clone()),
            _ => Err(Error::corrupt(format!("{what}: expected text"))),
        })
        .collect()
}

/// Encode a list of strings as a CBOR array of text.
pub fn text_array(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::Text(s.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc8949_examples() {
        assert_eq!(Value::Uint(0).encode(), [0x00]);
        assert_eq!(Value::Uint(23).encode(), [0x17]);
        assert_eq!(Value::Uint(24).encode(), [0x18, 0x18]);
        assert_eq!(Value::Uint(1000).encode(), [0x19, 0x03, 0xe8]);
        assert_eq!(Value::int(-1).encode(), [0x20]);
        assert_eq!(Value::int(-1000).encode(), [0x39, 0x03, 0xe7]);
        assert_eq!(Value::Text("a".into()).encode(), [0x61, 0x61]);
        // Canonical key order: shorter encodings first.
        let m = Value::map(vec![("bb", Value::Uint(1)), ("a", Value::Uint(2))]);
        assert_eq!(m.encode(), [0xa2, 0x61, b'a', 0x02, 0x62, b'b', b'b', 0x01]);
    }

    #[test]
    fn rejects_non_canonical() {
        assert!(Value::decode(&[0x18, 0x05]).is_err()); // non-shortest
        assert!(Value::decode(&[0x5f]).is_err()); // indefinite
        assert!(Value::decode(&[0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02]).is_err()); // order
        assert!(Value::decode(&[0x00, 0x00]).is_err()); // trailing
        assert!(Value::decode(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Value::decode(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]).is_err()); // float
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<u64>().prop_map(Value::Uint),
            any::<u64>().prop_map(Value::Nint),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,12}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec(("[a-z]{1,6}", inner), 0..8).prop_map(|kv| {
                    let mut seen = std::collections::BTreeMap::new();
                    for (k, v) in kv {
                        seen.insert(k, v);
                    }
                    Value::Map(seen.into_iter().map(|(k, v)| (Value::Text(k), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trip(v in arb_value()) {
            let enc = v.encode();
            let dec = Value::decode(&enc).unwrap();
            prop_assert_eq!(dec.encode(), enc);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Value::decode(&bytes);
        }
    }
}
