//! The one conformance suite every [`Backend`] must pass. It checks the
//! contract in the module docs of [`crate::backend`]; backends call
//! [`run`] from their own tests with a fresh, empty location.

use super::{Backend, Kind};
use crate::error::{Error, ErrorKind, Result};

fn ensure(cond: bool, what: &str) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Io,
            format!("backend conformance: {what}"),
        ))
    }
}

/// Run every check against an empty backend; the first failure is returned.
pub fn run(b: &dyn Backend) -> Result<()> {
    b.create()?;
    b.create()?; // idempotent
    for kind in Kind::ALL {
        ensure(b.list(kind)?.is_empty(), "a fresh backend lists no files")?;
    }
    let name = "aa".repeat(32);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    b.write(Kind::Data, &name, &data)?;
    ensure(
        b.read(Kind::Data, &name)? == data,
        "read returns what was written",
    )?;
    ensure(
        b.size(Kind::Data, &name)? == data.len() as u64,
        "size matches",
    )?;
    ensure(
        b.read_range(Kind::Data, &name, 100, 50)? == data[100..150],
        "read_range returns the exact range",
    )?;
    ensure(
        b.read_range(Kind::Data, &name, 9_990, 20).is_err(),
        "a short range is an error",
    )?;
    ensure(
        b.read_range(Kind::Data, &name, 10_000, 0)?.is_empty(),
        "an empty range at the end is fine",
    )?;
    let listed = b.list(Kind::Data)?;
    ensure(
        listed == vec![(name.clone(), data.len() as u64)],
        "list shows the pack with its size",
    )?;
    ensure(
        b.list(Kind::Index)?.is_empty(),
        "kinds are separate namespaces",
    )?;
    // Overwrite is atomic and total.
    b.write(Kind::Data, &name, b"short")?;
    ensure(
        b.read(Kind::Data, &name)? == b"short",
        "overwrite replaces the whole file",
    )?;
    // Missing files.
    let err = b.read(Kind::Snapshot, "ff").err();
    ensure(
        err.map(|e| e.kind()) == Some(ErrorKind::NotFound),
        "reading a missing file is NotFound",
    )?;
    ensure(
        b.size(Kind::Snapshot, "ff").err().map(|e| e.kind()) == Some(ErrorKind::NotFound),
        "size of a missing file is NotFound",
    )?;
    // Remove is idempotent.
    b.remove(Kind::Data, &name)?;
    b.remove(Kind::Data, &name)?;
    ensure(
        b.list(Kind::Data)?.is_empty(),
        "removed files are not listed",
    )?;
    // Many files in one kind.
    for i in 0..20u8 {
        b.write(Kind::Snapshot, &crate::id::hex_encode(&[i; 32]), &[i])?;
    }
    ensure(b.list(Kind::Snapshot)?.len() == 20, "list shows every file")?;
    for i in 0..20u8 {
        b.remove(Kind::Snapshot, &crate::id::hex_encode(&[i; 32]))?;
    }
    // Streamed writes: invisible until commit, discarded when dropped.
    let mut w = b.begin_write(Kind::Data)?;
    w.write_all(b"part one, ")?;
    w.write_all(b"part two")?;
    ensure(
        b.list(Kind::Data)?.is_empty(),
        "an uncommitted stream is not listed",
    )?;
    // Cleaning stale temporaries never touches a live write or a file.
    b.write(Kind::Index, &name, b"complete")?;
    b.remove_stale_temporaries(Kind::Data, std::time::Duration::from_secs(3600))?;
    b.remove_stale_temporaries(Kind::Index, std::time::Duration::ZERO)?;
    ensure(
        b.read(Kind::Index, &name)? == b"complete",
        "stale-temporary cleanup leaves complete files alone",
    )?;
    b.remove(Kind::Index, &name)?;
    w.commit(&name)?;
    ensure(
        b.read(Kind::Data, &name)? == b"part one, part two",
        "a committed stream reads back (after a cleanup of stale temporaries)",
    )?;
    b.remove(Kind::Data, &name)?;
    let mut w = b.begin_write(Kind::Data)?;
    w.write_all(b"abandoned")?;
    drop(w);
    ensure(
        b.list(Kind::Data)?.is_empty(),
        "a dropped stream leaves nothing",
    )?;
    // Empty files round-trip.
    b.write(Kind::Lock, "00", b"")?;
    ensure(
        b.read(Kind::Lock, "00")?.is_empty(),
        "empty files round-trip",
    )?;
    b.remove(Kind::Lock, "00")?;
    Ok(())
}
