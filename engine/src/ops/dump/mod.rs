//! `dump`: one file of a snapshot, byte for byte, to a writer (holes as
//! zeros), or a directory as a tar or zip stream ([`dump_archive`]).
//!
//! Invariants: every chunk is verified before a byte of it is written; a
//! file's extents must add up to its recorded size before any of it is
//! written, and an archive entry carries exactly that many bytes (else
//! the dump fails as corrupt rather than write a misaligned archive);
//! archives are streamed, never holding more than one chunk of a file.

mod tar;
mod zip;

use crate::error::{Error, ErrorKind, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::Node;
use crate::repo::browse::{check_content_len, find, ContentReader, Found};
use crate::repo::Repository;
use std::io::{Read, Write};

/// Write the file at `path` in `snap` to `out`; returns the bytes written.
pub fn dump(repo: &Repository, snap: &Snapshot, path: &[u8], out: &mut dyn Write) -> Result<u64> {
    match find(repo, snap, path)? {
        Found::Node(node) => crate::repo::browse::dump(repo, &node, out),
        Found::Root(_) => Err(Error::invalid("give a file path inside the snapshot")),
    }
}

/// The archive formats `dump --archive` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveFormat {
    /// POSIX tar (pax): names, times to the nanosecond, owners, modes,
    /// symlinks, hard links, devices, fifos, xattrs.
    Tar,
    /// Zip (deflate): names, modes, symlinks, times to the second.
    Zip,
}

/// What an archive dump wrote.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ArchiveReport {
    /// Entries written.
    pub entries: u64,
    /// File content bytes written (before compression).
    pub bytes: u64,
    /// Snapshot paths the format cannot hold (sockets; in zip also
    /// devices and fifos), left out.
    pub skipped: Vec<String>,
}

/// Write the directory (or file) at `path` in `snap` to `out` as an
/// archive. Entry names are snapshot paths without the leading `/`, so
/// extracting the archive into a directory gives the snapshot's layout
/// below it (as `restore` would).
pub fn dump_archive(
    repo: &Repository,
    snap: &Snapshot,
    path: &[u8],
    format: ArchiveFormat,
    out: &mut dyn Write,
) -> Result<ArchiveReport> {
    match format {
        ArchiveFormat::Tar => tar::write(repo, snap, path, out),
        ArchiveFormat::Zip => zip::write(repo, snap, path, out),
    }
}

/// The name an entry has in an archive: its snapshot path without the
/// leading `/`.
fn entry_name(path: &[u8]) -> Vec<u8> {
    path.strip_prefix(b"/").unwrap_or(path).to_vec()
}

/// A file's content for an archive entry: checked against its recorded
/// size first, and then exactly that many bytes or an error.
fn content<'r>(repo: &'r Repository, node: &Node) -> Result<Exact<ContentReader<'r>>> {
    check_content_len(repo, node)?;
    Ok(Exact {
        inner: ContentReader::new(repo, node),
        left: node.size,
    })
}

/// A reader that must yield exactly `left` bytes.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left || (n == 0 && self.left > 0 && !buf.is_empty()) {
            return Err(std::io::Error::other(Error::corrupt(
                "a file's content is not as long as its tree records (a forged or damaged tree)",
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// An I/O error from writing the archive as the crate's error: an engine
/// error carried through a reader comes out as itself, anything else is a
/// write failure (a closed pipe stays recognisable as one).
fn io_error(e: std::io::Error) -> Error {
    if e.get_ref().is_some_and(|r| r.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(err) = inner.downcast::<Error>() {
                return *err;
            }
        }
        return Error::new(ErrorKind::Internal, "an error lost its cause");
    }
    Error::io("writing the archive", e)
}
