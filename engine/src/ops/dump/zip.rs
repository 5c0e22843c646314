//! `dump --archive zip`: a zip stream (deflate, written with data
//! descriptors, so it needs no seeking and can go to a pipe).
//!
//! What zip keeps: names (UTF-8; a name that is not UTF-8 is written with
//! U+FFFD in place of its bad bytes, as zip names are text), unix modes,
//! symlinks, the modification time (local DOS time to two seconds, plus
//! the extended-timestamp field with UTC seconds, which `unzip` applies).
//! What it cannot keep: owners, xattrs, nanoseconds, hard links (each
//! path gets its own copy of the content); devices, fifos and sockets are
//! left out and reported.

use super::{content, entry_name, io_error, ArchiveReport};
use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Node, NodeKind, Timestamp};
use crate::repo::browse::walk;
use crate::repo::Repository;
use std::io::Write;
use zip::write::{ExtendedFileOptions, FileOptions};
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The extended-timestamp extra field's header ID ("UT").
const EXTENDED_TIMESTAMP: u16 = 0x5455;

pub(super) fn write(
    repo: &Repository,
    snap: &Snapshot,
    path: &[u8],
    out: &mut dyn Write,
) -> Result<ArchiveReport> {
    let mut z = ZipWriter::new_stream(out);
    let mut report = ArchiveReport::default();
    walk(repo, snap, path, true, &mut |p, n| {
        let name = String::from_utf8_lossy(&entry_name(p)).into_owned();
        let opts = options(n)?;
        match n.kind {
            NodeKind::Dir => z.add_directory(name, opts).map_err(zip_error)?,
            NodeKind::Symlink => {
                let target = String::from_utf8_lossy(n.target.as_deref().unwrap_or_default());
                z.add_symlink(name, target, opts).map_err(zip_error)?
            }
            NodeKind::File => {
                let opts = opts
                    .compression_method(CompressionMethod::Deflated)
                    .large_file(n.size >= u64::from(u32::MAX));
                z.start_file(name, opts).map_err(zip_error)?;
                std::io::copy(&mut content(repo, n)?, &mut z).map_err(io_error)?;
                report.bytes += n.size;
            }
            _ => {
                report.skipped.push(String::from_utf8_lossy(p).into_owned());
                return Ok(());
            }
        }
        report.entries += 1;
        Ok(())
    })?;
    let inner = z.finish().map_err(zip_error)?.into_inner();
    inner.flush().map_err(io_error)?;
    Ok(report)
}

/// Mode, DOS time and the extended timestamp of `n`.
fn options(n: &Node) -> Result<FileOptions<'static, ExtendedFileOptions>> {
    let mut opts = FileOptions::<ExtendedFileOptions>::default()
        .unix_permissions(n.mode & 0o7777)
        .last_modified_time(dos_time(n.mtime));
    // The field holds a 32-bit signed time: times outside it are left out.
    if let Ok(secs) = i32::try_from(n.mtime.secs) {
        let mut field = vec![0x01u8];
        field.extend_from_slice(&secs.to_le_bytes());
        opts.add_extra_data(EXTENDED_TIMESTAMP, field.clone(), false)
            .map_err(zip_error)?;
        opts.add_extra_data(EXTENDED_TIMESTAMP, field, true)
            .map_err(zip_error)?;
    }
    Ok(opts)
}

/// The local DOS time of `t` (zip's base field); before 1980 or after
/// 2107 it is the format's earliest time.
fn dos_time(t: Timestamp) -> DateTime {
    jiff::Timestamp::new(t.secs, 0)
        .ok()
        .map(|ts| ts.to_zoned_datetime(jiff::tz::TimeZone::system()))
        .and_then(|z| {
            DateTime::from_date_and_time(
                u16::try_from(z.year()).ok()?,
                z.month() as u8,
                z.day() as u8,
                z.hour() as u8,
                z.minute() as u8,
                z.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(e) => io_error(e),
        other => Error::invalid(format!("writing the zip archive: {other}")),
    }
}
