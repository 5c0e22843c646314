//! `dump --archive tar`: a POSIX (pax) tar stream of a snapshot subtree.
//!
//! Each entry is a ustar header, preceded by a pax extended header when
//! something does not fit ustar: a name or link target over 100 bytes
//! (`path`, `linkpath`; `hdrcharset=BINARY` when not UTF-8), times with
//! nanoseconds (`mtime`), ids or sizes beyond the octal fields, user and
//! group names over 32 bytes, and every xattr (`SCHILY.xattr.NAME`, as
//! GNU tar `--xattrs` reads them). Hard links (files the snapshot records
//! with the same device and inode and more than one link) become link
//! entries to the first path; sockets are left out (tar has no type).

use super::{content, entry_name, io_error, ArchiveReport};
use crate::error::Result;
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Node, NodeKind};
use crate::repo::browse::walk;
use crate::repo::Repository;
use std::collections::HashMap;
use std::io::Write;
use tar::{EntryType, Header};

/// Largest value of the 8-byte octal uid/gid fields.
const MAX_ID: u64 = 0o7_777_777;
/// Largest value of the 12-byte octal size field.
const MAX_SIZE: u64 = 0o77_777_777_777;

pub(super) fn write(
    repo: &Repository,
    snap: &Snapshot,
    path: &[u8],
    out: &mut dyn Write,
) -> Result<ArchiveReport> {
    let mut b = tar::Builder::new(out);
    let mut report = ArchiveReport::default();
    let mut first_of: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    walk(repo, snap, path, true, &mut |p, n| {
        let name = entry_name(p);
        if n.kind == NodeKind::Socket {
            report.skipped.push(String::from_utf8_lossy(p).into_owned());
            return Ok(());
        }
        let link_to = match n.kind {
            NodeKind::File if n.nlink > 1 => match first_of.get(&(n.dev, n.inode)) {
                Some(first) => Some(first.clone()),
                None => {
                    first_of.insert((n.dev, n.inode), name.clone());
                    None
                }
            },
            _ => None,
        };
        let (header, pax) = header(n, &name, link_to.as_deref());
        if !pax.is_empty() {
            b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(io_error)?;
        }
        if n.kind == NodeKind::File && link_to.is_none() {
            b.append(&header, content(repo, n)?).map_err(io_error)?;
            report.bytes += n.size;
        } else {
            b.append(&header, std::io::empty()).map_err(io_error)?;
        }
        report.entries += 1;
        Ok(())
    })?;
    b.into_inner().and_then(|w| w.flush()).map_err(io_error)?;
    Ok(report)
}

/// The ustar header of `n` named `name`, and the pax records it needs.
fn header(n: &Node, name: &[u8], link_to: Option<&[u8]>) -> (Header, Vec<(String, Vec<u8>)>) {
    let mut h = Header::new_ustar();
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    let mut binary = false;
    let mut name = name.to_vec();
    if n.kind == NodeKind::Dir {
        name.push(b'/');
    }
    let (kind, target) = match (n.kind, link_to) {
        (NodeKind::File, Some(first)) => (EntryType::Link, Some(first.to_vec())),
        (NodeKind::File, None) => (EntryType::Regular, None),
        (NodeKind::Dir, _) => (EntryType::Directory, None),
        (NodeKind::Symlink, _) => (EntryType::Symlink, n.target.clone()),
        (NodeKind::Fifo, _) => (EntryType::Fifo, None),
        (NodeKind::CharDevice, _) => (EntryType::Char, None),
        (NodeKind::BlockDevice, _) => (EntryType::Block, None),
        (NodeKind::Socket, _) => (EntryType::Regular, None),
    };
    h.set_entry_type(kind);
    if let Some(u) = h.as_ustar_mut() {
        put(&mut u.name, &name);
        if let Some(t) = &target {
            put(&mut u.linkname, t);
        }
    }
    if name.len() > 100 {
        binary |= std::str::from_utf8(&name).is_err();
        pax.push(("path".into(), name));
    }
    if let Some(t) = target.filter(|t| t.len() > 100) {
        binary |= std::str::from_utf8(&t).is_err();
        pax.push(("linkpath".into(), t));
    }
    if binary {
        pax.insert(0, ("hdrcharset".into(), b"BINARY".to_vec()));
    }
    h.set_mode(n.mode & 0o7777);
    h.set_uid(u64::from(n.uid).min(MAX_ID));
    h.set_gid(u64::from(n.gid).min(MAX_ID));
    if u64::from(n.uid) > MAX_ID {
        pax.push(("uid".into(), n.uid.to_string().into_bytes()));
    }
    if u64::from(n.gid) > MAX_ID {
        pax.push(("gid".into(), n.gid.to_string().into_bytes()));
    }
    for (key, who) in [("uname", &n.user), ("gname", &n.group)] {
        let Some(who) = who else { continue };
        let fits = match key {
            "uname" => h.set_username(who).is_ok(),
            _ => h.set_groupname(who).is_ok(),
        };
        if !fits {
            pax.push((key.into(), who.clone().into_bytes()));
        }
    }
    h.set_mtime(u64::try_from(n.mtime.secs).unwrap_or(0));
    if n.mtime.nanos != 0 || n.mtime.secs < 0 {
        pax.push(("mtime".into(), pax_time(n.mtime.secs, n.mtime.nanos)));
    }
    let size = if kind == EntryType::Regular {
        n.size
    } else {
        0
    };
    h.set_size(size);
    if size > MAX_SIZE {
        pax.push(("size".into(), size.to_string().into_bytes()));
    }
    if matches!(n.kind, NodeKind::CharDevice | NodeKind::BlockDevice) {
        let (major, minor) = dev_split(n.rdev);
        let _ = h.set_device_major(major);
        let _ = h.set_device_minor(minor);
    }
    for (k, v) in &n.xattrs {
        if let Ok(k) = std::str::from_utf8(k) {
            pax.push((format!("SCHILY.xattr.{k}"), v.clone()));
        }
    }
    h.set_cksum();
    (h, pax)
}

/// Copy as much of `value` as fits into a fixed header field (the rest,
/// if any, goes in a pax record).
fn put(field: &mut [u8], value: &[u8]) {
    let n = field.len().min(value.len());
    if let (Some(f), Some(v)) = (field.get_mut(..n), value.get(..n)) {
        f.copy_from_slice(v);
    }
}

/// A pax time: seconds, then the nanoseconds as a decimal fraction.
fn pax_time(secs: i64, nanos: u32) -> Vec<u8> {
    if secs < 0 && nanos > 0 {
        // -1.5 s is secs -2 + 0.5: pax writes the value, not the parts.
        let whole = secs + 1;
        let frac = 1_000_000_000 - nanos;
        let sign = if whole == 0 { "-" } else { "" };
        return format!("{sign}{whole}.{frac:09}").into_bytes();
    }
    format!("{secs}.{nanos:09}").into_bytes()
}

/// glibc's `major()`/`minor()` of a `dev_t`.
fn dev_split(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_and_devices() {
        assert_eq!(pax_time(5, 7), b"5.000000007");
        assert_eq!(pax_time(-2, 500_000_000), b"-1.500000000");
        assert_eq!(pax_time(-1, 250_000_000), b"-0.750000000");
        assert_eq!(dev_split(0x0103), (1, 3));
        assert_eq!(
            dev_split(0x05 | (259 << 8) | (0x12300 << 12)),
            (259, 0x12305)
        );
    }
}
