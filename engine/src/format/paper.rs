//! The paper key: a repository's master key as text to print, keep in a
//! safe, and type or scan back decades later (normative in
//! `format-spec/v1/crypto.md`, "Paper key").
//!
//! The text is a header line naming the format, the repository ID in hex,
//! seven key lines and an instruction paragraph. Each key line carries 5
//! bytes as 8 symbols of Crockford base32 and 2 check symbols over the
//! line number and those 8 symbols, so a mistyped character is reported at
//! the line it is on; the 35 bytes are the master key and 3 bytes of its
//! BLAKE3 hash, which catch what the line checks let through.
//!
//! Invariants: decoding never panics and reads at most [`MAX_PAPER_TEXT`]
//! bytes of text; its errors name lines and at most one offending
//! character, never a whole line of the key; the decoder is tolerant of
//! case, spacing, hyphens, blank lines and any text around the key lines.

use crate::crypto::MasterKey;
use crate::error::{Error, ErrorKind, Result};

/// The symbols, in value order (Crockford base32: no I, L, O, U).
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The first line of a paper key.
pub const HEADER: &str = "CAIRN PAPER KEY, FORMAT 1";
/// The paper key format this build reads and writes.
pub const PAPER_VERSION: u32 = 1;
/// Key lines in a paper key.
pub const KEY_LINES: usize = 7;
/// Bytes per key line (8 symbols of 5 bits).
pub const LINE_BYTES: usize = 5;
/// The modulus of the line check (a prime below 32²).
pub const CHECK_MODULUS: u32 = 1021;
/// Longest text the decoder reads.
pub const MAX_PAPER_TEXT: usize = 64 << 10;

/// A master key as printed on paper, with the ID of the repository it was
/// printed from (absent when the text gave none).
#[derive(Clone)]
pub struct PaperKey {
    master: MasterKey,
    repository_id: Option<[u8; 16]>,
}

impl std::fmt::Debug for PaperKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaperKey(<redacted>)")
    }
}

/// The value of a symbol as typed: case-insensitive, with O read as 0 and
/// I and L as 1 (Crockford's rule); `None` for anything else.
fn symbol_value(c: char) -> Option<u32> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u32)
}

fn symbol(v: u32) -> char {
    ALPHABET
        .get(v as usize % 32)
        .map_or('0', |&b| char::from(b))
}

/// The check of key line `number` (1-based) over its 8 symbol values:
/// `r = number`, then `r = (32·r + v) mod 1021` for each value.
pub fn line_check(number: usize, values: &[u32]) -> u32 {
    values.iter().fold(number as u32 % CHECK_MODULUS, |r, &v| {
        (r * 32 + v) % CHECK_MODULUS
    })
}

/// The 35 bytes the key lines carry: the key, then 3 bytes of its BLAKE3.
fn payload(master: &MasterKey) -> [u8; KEY_LINES * LINE_BYTES] {
    let mut p = [0u8; KEY_LINES * LINE_BYTES];
    let key = master.expose();
    let hash = blake3::hash(key);
    for (d, s) in p.iter_mut().zip(key.iter().chain(hash.as_bytes().iter())) {
        *d = *s;
    }
    p
}

/// 5 bytes as 8 symbol values, most significant bits first.
fn to_values(bytes: &[u8]) -> Vec<u32> {
    let n = bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    (0..8).rev().map(|i| ((n >> (5 * i)) & 31) as u32).collect()
}

/// 8 symbol values as 5 bytes.
fn to_bytes(values: &[u32]) -> Vec<u8> {
    let n = values
        .iter()
        .fold(0u64, |n, &v| (n << 5) | u64::from(v & 31));
    (0..5).rev().map(|i| (n >> (8 * i)) as u8).collect()
}

fn hex(b: &[u8]) -> String {
    crate::id::hex_encode(b)
}

impl PaperKey {
    /// Longest text [`PaperKey::decode`] reads, in bytes.
    pub const MAX_TEXT: usize = MAX_PAPER_TEXT;

    /// The paper key of `master` for the repository `repository_id`
    /// (test vectors; a repository gives its own through `ops::key`).
    pub fn new(master: MasterKey, repository_id: [u8; 16]) -> Self {
        PaperKey {
            master,
            repository_id: Some(repository_id),
        }
    }

    /// The master key (to open a repository with).
    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The repository ID the text names, if it names one.
    pub fn repository_id(&self) -> Option<[u8; 16]> {
        self.repository_id
    }

    /// The text to print (lines end in LF).
    pub fn to_text(&self) -> String {
        let mut t = format!("{HEADER}\n\n");
        if let Some(id) = &self.repository_id {
            let h = hex(id);
            let groups: Vec<&str> = (0..4).filter_map(|i| h.get(8 * i..8 * i + 8)).collect();
            t.push_str(&format!("Repository: {}\n\n", groups.join(" ")));
        }
        for (i, chunk) in payload(&self.master).chunks(LINE_BYTES).enumerate() {
            let values = to_values(chunk);
            let s: String = values.iter().map(|&v| symbol(v)).collect();
            let check = line_check(i + 1, &values);
            t.push_str(&format!(
                "{}: {} {}  {}{}\n",
                i + 1,
                s.get(..4).unwrap_or_default(),
                s.get(4..).unwrap_or_default(),
                symbol(check / 32),
                symbol(check % 32)
            ));
        }
        t.push_str(INSTRUCTION);
        t
    }

    /// Read a paper key back from typed or scanned text.
    pub fn decode(text: &str) -> Result<PaperKey> {
        if text.len() > MAX_PAPER_TEXT {
            return Err(Error::invalid(format!(
                "the paper key text is longer than {} KiB; give the text of one paper key",
                MAX_PAPER_TEXT >> 10
            )));
        }
        let mut header = false;
        let mut repository_id = None;
        let mut lines: Vec<Option<(usize, Vec<u32>)>> = vec![None; KEY_LINES];
        let mut problems = Vec::new();
        // Key lines already reported as unreadable (not also "missing").
        let mut reported = Vec::new();
        for (at, raw) in text.lines().enumerate() {
            let at = at + 1;
            let words: Vec<String> = raw
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_uppercase)
                .collect();
            if words
                .iter()
                .take(3)
                .map(String::as_str)
                .eq(["CAIRN", "PAPER", "KEY"])
            {
                header = true;
                let version = match words.get(3..5) {
                    Some([f, n]) if f == "FORMAT" => n.parse::<u32>().ok(),
                    _ => None,
                };
                match version {
                    Some(PAPER_VERSION) => {}
                    Some(v) => {
                        return Err(Error::new(
                            ErrorKind::UnsupportedVersion,
                            format!("this is a paper key of format {v}, which this build of cairn does not read; upgrade cairn"),
                        ))
                    }
                    None => problems.push(format!(
                        "line {at} of the text should read '{HEADER}'"
                    )),
                }
            } else if let Some(rest) = labelled(raw, "repository") {
                match parse_repository_id(rest) {
                    Some(id) => repository_id = Some(id),
                    None => problems.push(format!(
                        "the repository ID (line {at} of the text) is not 32 hex digits"
                    )),
                }
            } else if let Some((number, rest)) = numbered(raw) {
                let Some(slot) = number.checked_sub(1).and_then(|i| lines.get_mut(i)) else {
                    problems.push(format!(
                        "line {at} of the text is numbered {number}, but a paper key has key lines 1 to {KEY_LINES}"
                    ));
                    continue;
                };
                match (parse_key_line(number, rest, at), &slot) {
                    (Err(p), _) => {
                        problems.push(p);
                        reported.push(number);
                    }
                    (Ok(values), Some((first, old))) if *old != values => problems.push(format!(
                        "key line {number} appears twice (lines {first} and {at} of the text), differently"
                    )),
                    (Ok(values), _) => *slot = Some((at, values)),
                }
            }
        }
        if !header {
            problems.insert(
                0,
                format!("the text has no header line '{HEADER}'; type it as printed"),
            );
        }
        let missing: Vec<String> = (1..=KEY_LINES)
            .filter(|n| lines.get(n - 1).is_some_and(Option::is_none) && !reported.contains(n))
            .map(|n| n.to_string())
            .collect();
        match missing.as_slice() {
            [] => {}
            [one] => problems.push(format!("key line {one} is missing")),
            [init @ .., last] => problems.push(format!(
                "key lines {} and {last} are missing",
                init.join(", ")
            )),
        }
        if !problems.is_empty() {
            return Err(Error::invalid(format!(
                "the paper key cannot be read: {}",
                problems.join("; ")
            )));
        }
        let mut bytes = Vec::with_capacity(KEY_LINES * LINE_BYTES);
        for (_, values) in lines.iter().flatten() {
            bytes.extend(to_bytes(values));
        }
        let (key, check) = bytes
            .split_at_checked(32)
            .ok_or_else(|| Error::invalid("the paper key cannot be read: key lines missing"))?;
        if blake3::hash(key).as_bytes().get(..3) != Some(check) {
            return Err(Error::invalid(
                "the paper key cannot be read: every key line matches its check symbols, but the key as a whole does not match its own check (in line 7); two characters on one line are probably mistyped: compare every line with the paper again",
            ));
        }
        let k: [u8; 32] = key
            .try_into()
            .map_err(|_| Error::invalid("the paper key cannot be read: key lines missing"))?;
        Ok(PaperKey {
            master: MasterKey::from_bytes(k),
            repository_id,
        })
    }
}

/// The rest of `line` after `word:` (case-insensitive, spaces allowed).
fn labelled<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let t = line.trim_start();
    let head = t.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    t.get(word.len()..)?.trim_start().strip_prefix(':')
}

/// A key line's number and the rest after `N:`.
fn numbered(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 3 {
        return None;
    }
    let number = t.get(..digits)?.parse().ok()?;
    let rest = t.get(digits..)?.trim_start().strip_prefix(':')?;
    Some((number, rest))
}

fn parse_repository_id(rest: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = rest
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => Some(0),
            'i' | 'l' => Some(1),
            c => c.to_digit(16).map(|d| d as u8),
        })
        .collect::<Option<_>>()?;
    if digits.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (b, pair) in id.iter_mut().zip(digits.chunks(2)) {
        *b = pair.iter().fold(0, |a, d| (a << 4) | d);
    }
    Some(id)
}

/// The 8 key symbols of key line `number` (text line `at`), checked.
fn parse_key_line(number: usize, rest: &str, at: usize) -> std::result::Result<Vec<u32>, String> {
    let mut values = Vec::new();
    for c in rest.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        match symbol_value(c) {
            Some(v) => values.push(v),
            None => {
                let shown = if c.is_ascii_graphic() {
                    format!("'{c}'")
                } else {
                    format!("U+{:04X}", u32::from(c))
                };
                return Err(format!(
                    "key line {number} (line {at} of the text) holds {shown}, which is not a symbol of the paper key (0-9 and A-Z without U)"
                ));
            }
        }
    }
    if values.len() != 10 {
        return Err(format!(
            "key line {number} (line {at} of the text) has {} symbols; a key line has 10 (8 of the key, then 2 check symbols)",
            values.len()
        ));
    }
    let (data, check) = values.split_at(8);
    let written = check.iter().fold(0, |a, v| a * 32 + v);
    if line_check(number, data) != written {
        return Err(format!(
            "key line {number} (line {at} of the text) does not match its check symbols: a character on it is mistyped"
        ));
    }
    Ok(data.to_vec())
}

/// The paragraph printed under the key lines.
const INSTRUCTION: &str = "
This is the master key of the Cairn backup repository named above. Whoever
holds it can read every backup in that repository: keep it in a safe, apart
from the backups and from the password. When every password is lost, type or
scan this text into a file and run `cairn -r REPOSITORY key import --paper
FILE`, which checks the key against the repository and asks for a new
password. Each key line is its number, 8 symbols of Crockford base32 (the
digits and the letters A-Z without I, L, O and U) and 2 check symbols; the
56 symbols of the 7 lines are 35 bytes, of which the first 32 are the key.
The repository's spec/v1-crypto.md (section \"Paper key\") says the rest.
";

#[cfg(test)]
mod tests;
