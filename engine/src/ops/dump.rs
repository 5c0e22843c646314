//! `dump`: one file of a snapshot, byte for byte, to a writer (holes as
//! zeros). Every chunk is verified before a byte of it is written, and the
//! extents must add up to the recorded size before anything is written.

use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::repo::browse::{find, Found};
use crate::repo::Repository;
use std::io::Write;

/// Write the file at `path` in `snap` to `out`; returns the bytes written.
pub fn dump(repo: &Repository, snap: &Snapshot, path: &[u8], out: &mut dyn Write) -> Result<u64> {
    match find(repo, snap, path)? {
        Found::Node(node) => crate::repo::browse::dump(repo, &node, out),
        Found::Root(_) => Err(Error::invalid("give a file path inside the snapshot")),
    }
}
