//! The copy of `format-spec/` that `init` writes into every repository's
//! `spec/` directory, so a repository explains itself without this code.
//! The files are compiled in, so the copy always matches the writer.

use crate::backend::{Backend, Kind};
use crate::error::Result;

/// (name inside `spec/`, contents).
pub const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../format-spec/README.md")),
    (
        "CHANGES.md",
        include_str!("../../../format-spec/CHANGES.md"),
    ),
    (
        "v1-overview.md",
        include_str!("../../../format-spec/v1/overview.md"),
    ),
    (
        "v1-crypto.md",
        include_str!("../../../format-spec/v1/crypto.md"),
    ),
    (
        "v1-chunking.md",
        include_str!("../../../format-spec/v1/chunking.md"),
    ),
    (
        "v1-packs-and-index.md",
        include_str!("../../../format-spec/v1/packs-and-index.md"),
    ),
    (
        "v1-trees-and-snapshots.md",
        include_str!("../../../format-spec/v1/trees-and-snapshots.md"),
    ),
    (
        "v1-mongodb.md",
        include_str!("../../../format-spec/v1/mongodb.md"),
    ),
    ("v1-gc.md", include_str!("../../../format-spec/v1/gc.md")),
    (
        "v1-parity.md",
        include_str!("../../../format-spec/v1/parity.md"),
    ),
    (
        "v1-export.md",
        include_str!("../../../format-spec/v1/export.md"),
    ),
    (
        "v1-threat-model.md",
        include_str!("../../../format-spec/v1/threat-model.md"),
    ),
];

/// Write every spec file.
pub fn write(backend: &dyn Backend) -> Result<()> {
    for (name, text) in FILES {
        backend.write(Kind::Spec, name, text.as_bytes())?;
    }
    Ok(())
}

/// Bring the copy up to this writer's text: write the files that are
/// missing or differ (a writer that adds a kind of object, such as a GC
/// plan, first makes sure the repository explains it).
pub fn refresh(backend: &dyn Backend) -> Result<()> {
    for (name, text) in FILES {
        // The size first: a huge junk file is replaced, never read.
        let same = backend.size(Kind::Spec, name).ok() == Some(text.len() as u64)
            && backend.read(Kind::Spec, name).ok().as_deref() == Some(text.as_bytes());
        if !same {
            backend.write(Kind::Spec, name, text.as_bytes())?;
        }
    }
    Ok(())
}
