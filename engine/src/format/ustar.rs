//! POSIX.1-1988 ustar headers (IEEE Std 1003.1), for the tar form of
//! export volumes (`format-spec/v1/export.md`, "POSIX tar form").
//!
//! Only what an export needs: regular files and directories, octal
//! numeric fields, paths split between `prefix` and `name`. Invariants:
//! [`header`] writes exactly 512 bytes with a valid checksum or refuses
//! (a path or size ustar cannot hold); [`parse`] never panics and accepts
//! only headers with the ustar magic and a matching checksum.

use crate::error::{Error, Result};

/// The tar block size.
pub const BLOCK: u64 = 512;
/// Archives are padded to a multiple of this (20 blocks).
pub const RECORD: u64 = 10240;
/// Largest member size a ustar size field holds (11 octal digits).
pub const MAX_SIZE: u64 = (1 << 33) - 1;

/// What a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// A parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The member's path (`prefix/name`).
    pub path: String,
    /// File size (0 for directories).
    pub size: u64,
    /// File or directory.
    pub kind: EntryKind,
}

/// Bytes a member of `size` takes: its header plus data padded to a block.
pub fn member_len(size: u64) -> u64 {
    BLOCK + size.div_ceil(BLOCK) * BLOCK
}

/// Bytes of an archive whose members take `members` bytes: two zero
/// blocks, padded to a record.
pub fn archive_len(members: u64) -> u64 {
    (members + 2 * BLOCK).div_ceil(RECORD) * RECORD
}

fn octal(field: &mut [u8], v: u64) -> Result<()> {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    if s.len() != digits {
        return Err(Error::invalid(format!(
            "{v} does not fit a tar header field"
        )));
    }
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
    Ok(())
}

/// The 512-byte header of a member.
pub fn header(path: &str, size: u64, kind: EntryKind, mtime: u64) -> Result<[u8; 512]> {
    let mut h = [0u8; 512];
    let path = match kind {
        EntryKind::Dir => format!("{path}/"),
        EntryKind::File => path.to_owned(),
    };
    let (prefix, name) = if path.len() <= 100 {
        ("", path.as_str())
    } else {
        // Split at a '/' so that name ≤ 100 and prefix ≤ 155 bytes.
        let cut = path
            .char_indices()
            .filter(|(i, c)| *c == '/' && *i <= 155 && path.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| Error::invalid(format!("path {path} is too long for ustar")))?;
        (&path[..cut], &path[cut + 1..])
    };
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mode = if kind == EntryKind::Dir { 0o700 } else { 0o600 };
    octal(&mut h[100..108], mode)?;
    octal(&mut h[108..116], 0)?;
    octal(&mut h[116..124], 0)?;
    if size > MAX_SIZE {
        return Err(Error::invalid(format!("{path} is too large for ustar")));
    }
    octal(&mut h[124..136], size)?;
    octal(&mut h[136..148], mtime.min(MAX_SIZE))?;
    h[156] = if kind == EntryKind::Dir { b'5' } else { b'0' };
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], 0)?;
    octal(&mut h[337..345], 0)?;
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}");
    h[148..154].copy_from_slice(s.as_bytes());
    h[154] = 0;
    h[155] = b' ';
    Ok(h)
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|b| *b != 0)
        .filter(|b| *b != b' ')
        .collect();
    if s.is_empty() || s.len() > 12 || !s.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(&s).ok()?, 8).ok()
}

fn text(field: &[u8]) -> Option<&str> {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    std::str::from_utf8(&field[..end]).ok()
}

/// Parse one header block: `Ok(None)` for a zero block (end of archive).
pub fn parse(h: &[u8; 512]) -> Result<Option<Entry>> {
    if h.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    let bad = |what: &str| Error::corrupt(format!("tar header: {what}"));
    if &h[257..262] != b"ustar" {
        return Err(bad("not a ustar header"));
    }
    let want = parse_octal(&h[148..156]).ok_or_else(|| bad("bad checksum field"))?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if sum != want {
        return Err(bad("checksum mismatch (damaged)"));
    }
    let size = parse_octal(&h[124..136]).ok_or_else(|| bad("bad size field"))?;
    let name = text(&h[..100]).ok_or_else(|| bad("name is not UTF-8"))?;
    let prefix = text(&h[345..500]).ok_or_else(|| bad("prefix is not UTF-8"))?;
    let mut path = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    };
    let kind = match h[156] {
        b'0' | 0 if !path.ends_with('/') => EntryKind::File,
        b'5' => EntryKind::Dir,
        _ => return Err(bad("a member that is neither a file nor a directory")),
    };
    if kind == EntryKind::Dir {
        while path.ends_with('/') {
            path.pop();
        }
    }
    Ok(Some(Entry { path, size, kind }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let long = format!("cairn-01020304-001/{}/{}", "d".repeat(90), "f".repeat(60));
        for (p, k, s) in [
            ("v/data/ab/x", EntryKind::File, 12345),
            ("v/spec", EntryKind::Dir, 0),
            (long.as_str(), EntryKind::File, 1),
        ] {
            let h = header(p, s, k, 1_700_000_000).unwrap();
            let e = parse(&h).unwrap().unwrap();
            assert_eq!((e.path.as_str(), e.size, e.kind), (p, s, k));
            let mut d = h;
            d[10] ^= 1;
            assert!(parse(&d).is_err());
        }
        assert_eq!(parse(&[0; 512]).unwrap(), None);
        assert!(header(&"x".repeat(300), 1, EntryKind::File, 0).is_err());
        assert_eq!(member_len(0), 512);
        assert_eq!(member_len(1), 1024);
        assert_eq!(archive_len(512), 10240);
    }
}
