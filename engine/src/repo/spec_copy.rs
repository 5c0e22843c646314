//! The copy of `format-spec/` (the specification, the test vectors and
//! the reference restorer) that `init` writes into every repository's
//! `spec/` directory, and every export into every volume, so a repository
//! explains itself and can be restored without this code. The files are
//! compiled in by `build.rs`, so the copy always matches the writer.
//!
//! Invariants: a writer brings an older copy up to its own text when it
//! takes its lock ([`refresh_if_stale`]), touching nothing but `spec/`;
//! spec files are written whole and atomically, never deleted.

use crate::backend::{Backend, Kind};
use crate::error::Result;

include!(concat!(env!("OUT_DIR"), "/spec_files.rs"));

/// The file that records which copy `spec/` holds.
pub const STAMP_NAME: &str = "STAMP.txt";

fn stamp_text() -> String {
    format!("{STAMP}\n")
}

/// Write every spec file, then the stamp.
pub fn write(backend: &dyn Backend) -> Result<()> {
    for (name, bytes) in FILES {
        backend.write(Kind::Spec, name, bytes)?;
    }
    backend.write(Kind::Spec, STAMP_NAME, stamp_text().as_bytes())
}

/// Bring the copy up to this writer's text: write the files that are
/// missing or differ, then the stamp.
pub fn refresh(backend: &dyn Backend) -> Result<()> {
    for (name, bytes) in FILES {
        // The size first: a huge junk file is replaced, never read.
        let same = backend.size(Kind::Spec, name).ok() == Some(bytes.len() as u64)
            && backend.read(Kind::Spec, name).ok().as_deref() == Some(*bytes);
        if !same {
            backend.write(Kind::Spec, name, bytes)?;
        }
    }
    backend.write(Kind::Spec, STAMP_NAME, stamp_text().as_bytes())
}

/// The refresh every writer does when it takes its lock: one small read
/// of the stamp; only when it is not this writer's (an older or newer
/// Cairn wrote the copy, or it is damaged) a full [`refresh`]. Returns
/// whether it refreshed. Spec files are never deleted: an older copy's
/// extra files stay.
pub fn refresh_if_stale(backend: &dyn Backend) -> Result<bool> {
    let current = backend
        .read_max(Kind::Spec, STAMP_NAME, 1024)
        .is_ok_and(|b| b == stamp_text().as_bytes());
    if current {
        return Ok(false);
    }
    refresh(backend)?;
    Ok(true)
}

/// Files of this writer's copy that the repository lacks or holds with
/// other contents (for `check`); each as `spec/NAME (missing|stale)`.
pub fn stale(backend: &dyn Backend) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (name, bytes) in FILES {
        let state = match backend.size(Kind::Spec, name) {
            Err(_) => Some("missing"),
            Ok(n) if n != bytes.len() as u64 => Some("stale"),
            Ok(_) => match backend.read(Kind::Spec, name) {
                Ok(b) if b == *bytes => None,
                _ => Some("stale"),
            },
        };
        if let Some(state) = state {
            out.push(format!("spec/{name} ({state})"));
        }
    }
    Ok(out)
}
