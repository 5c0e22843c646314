//! The copy of `format-spec/` (the specification, the test vectors and
//! the reference restorer) that `init` writes into every repository's
//! `spec/` directory, and every export into every volume, so a repository
//! explains itself and can be restored without this code. The files are
//! compiled in by `build.rs`, so the copy always matches the writer.
//!
//! Invariants: a writer brings an older copy up to its own text when it
//! takes its lock ([`refresh_listed`]), touching nothing but `spec/`;
//! spec files are written whole and atomically, never deleted.

use crate::backend::{Backend, Kind};
use crate::error::Result;

include!(concat!(env!("OUT_DIR"), "/spec_files.rs"));

/// Write every spec file.
pub fn write(backend: &dyn Backend) -> Result<()> {
    for (name, bytes) in FILES {
        backend.write(Kind::Spec, name, bytes)?;
    }
    Ok(())
}

/// Bring the copy up to this writer's text: write the files that are
/// missing or differ (a writer that adds a kind of object, such as a GC
/// plan, first makes sure the repository explains it).
pub fn refresh(backend: &dyn Backend) -> Result<()> {
    for (name, bytes) in FILES {
        // The size first: a huge junk file is replaced, never read.
        let same = backend.size(Kind::Spec, name).ok() == Some(bytes.len() as u64)
            && backend.read(Kind::Spec, name).ok().as_deref() == Some(*bytes);
        if !same {
            backend.write(Kind::Spec, name, bytes)?;
        }
    }
    Ok(())
}

/// The cheap refresh every writer does when it takes its lock: one
/// listing, and a write for each file that is missing or has another size
/// (an older writer's text). Returns how many files it wrote. Spec files
/// are never deleted: an older copy's extra files stay.
pub fn refresh_listed(backend: &dyn Backend) -> Result<usize> {
    let have: std::collections::HashMap<String, u64> =
        backend.list(Kind::Spec)?.into_iter().collect();
    let mut n = 0;
    for (name, bytes) in FILES {
        if have.get(*name) != Some(&(bytes.len() as u64)) {
            backend.write(Kind::Spec, name, bytes)?;
            n += 1;
        }
    }
    Ok(n)
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
