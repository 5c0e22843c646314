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

/// Remove a file and wait until listings omit it: at once, or within the
/// backend's [`Backend::listing_lag`]. Two listings in a row must omit it
/// (a replicated store may answer each from other replicas).
fn remove_settled(b: &dyn Backend, kind: Kind, name: &str) -> Result<()> {
    b.remove(kind, name)?;
    let start = std::time::Instant::now();
    let mut omitted_in_a_row = 0;
    loop {
        let listed = b.list(kind)?.iter().any(|(n, _)| n == name);
        omitted_in_a_row = if listed { 0 } else { omitted_in_a_row + 1 };
        let settled = omitted_in_a_row >= 2 || (omitted_in_a_row == 1 && b.listing_lag().is_zero());
        if settled {
            return Ok(());
        }
        if start.elapsed() > b.listing_lag() && listed {
            return ensure(
                false,
                "a removed file is not listed (after the backend's listing lag)",
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
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
    let missing = "ff".repeat(32);
    let err = b.read(Kind::Snapshot, &missing).err();
    ensure(
        err.map(|e| e.kind()) == Some(ErrorKind::NotFound),
        "reading a missing file is NotFound",
    )?;
    ensure(
        b.size(Kind::Snapshot, &missing).err().map(|e| e.kind()) == Some(ErrorKind::NotFound),
        "size of a missing file is NotFound",
    )?;
    // Remove is idempotent.
    remove_settled(b, Kind::Data, &name)?;
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
        remove_settled(b, Kind::Snapshot, &crate::id::hex_encode(&[i; 32]))?;
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
    remove_settled(b, Kind::Index, &name)?;
    w.commit(&name)?;
    ensure(
        b.read(Kind::Data, &name)? == b"part one, part two",
        "a committed stream reads back (after a cleanup of stale temporaries)",
    )?;
    remove_settled(b, Kind::Data, &name)?;
    let mut w = b.begin_write(Kind::Data)?;
    w.write_all(b"abandoned")?;
    drop(w);
    ensure(
        b.list(Kind::Data)?.is_empty(),
        "a dropped stream leaves nothing",
    )?;
    // Empty files round-trip.
    b.write(Kind::Lock, &name, b"")?;
    ensure(
        b.read(Kind::Lock, &name)?.is_empty(),
        "empty files round-trip",
    )?;
    remove_settled(b, Kind::Lock, &name)?;
    names(b)?;
    bounded_reads(b)?;
    Ok(())
}

/// One valid name of every kind (see [`Kind::is_valid_name`]).
fn sample_name(kind: Kind) -> String {
    let hex = "5a".repeat(32);
    match kind {
        Kind::Root => "config".into(),
        Kind::Spec => "README.md".into(),
        Kind::Parity => format!("{hex}.1"),
        Kind::State => "gc-00112233445566778899aabbccddeeff".into(),
        _ => hex,
    }
}

/// Names: only those Cairn writes are written, listed and removed.
fn names(b: &dyn Backend) -> Result<()> {
    for kind in Kind::ALL {
        let name = sample_name(kind);
        b.write(kind, &name, b"valid")?;
        ensure(
            b.list(kind)? == vec![(name.clone(), 5)],
            "every kind lists a file with a valid name",
        )?;
        for bad in ["hosts", "..", "", "a/b", ".tmp-0011", "CONFIG"] {
            let refused =
                |r: Result<()>| r.err().map(|e| e.kind()) == Some(ErrorKind::InvalidInput);
            ensure(
                refused(b.write(kind, bad, b"x")),
                "write refuses a name Cairn does not write",
            )?;
            ensure(
                refused(b.remove(kind, bad)),
                "remove refuses a name Cairn does not write",
            )?;
        }
        let w = b.begin_write(kind)?;
        ensure(
            w.commit("hosts").err().map(|e| e.kind()) == Some(ErrorKind::InvalidInput),
            "commit refuses a name Cairn does not write",
        )?;
        ensure(
            b.list(kind)? == vec![(name.clone(), 5)],
            "refused names leave nothing behind",
        )?;
        for other in Kind::ALL {
            ensure(
                b.list(other)?.iter().all(|(n, _)| other.is_valid_name(n)),
                "listings hold only valid names",
            )?;
        }
        remove_settled(b, kind, &name)?;
    }
    Ok(())
}

/// `read_max` returns files up to its limit and refuses larger ones.
fn bounded_reads(b: &dyn Backend) -> Result<()> {
    let name = sample_name(Kind::Snapshot);
    b.write(Kind::Snapshot, &name, &[7u8; 1000])?;
    ensure(
        b.read_max(Kind::Snapshot, &name, 1000)?.len() == 1000,
        "read_max returns a file of exactly the limit",
    )?;
    ensure(
        b.read_max(Kind::Snapshot, &name, 999)
            .err()
            .map(|e| e.kind())
            == Some(ErrorKind::Corrupt),
        "read_max refuses a file over the limit as corrupt",
    )?;
    remove_settled(b, Kind::Snapshot, &name)
}
