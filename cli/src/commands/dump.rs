//! `cairn dump SNAPSHOT PATH`: one file's bytes to standard output, or
//! with `--archive tar|zip` a directory (or file) as an archive stream, to
//! standard output or `--target FILE`.
//!
//! A closed stdout ends the dump quietly; any other write failure is an
//! error. A directory without `--archive` is a usage error that names the
//! flag (restic writes tar then; Cairn asks, so a script never gets an
//! archive where it expected a file's bytes). An archive is never written
//! to a terminal.

use super::{Ctx, Resolved};
use crate::args::SnapshotFilter;
use crate::output::{bytes, count, esc, esc_path};
use cairn_engine::ops::dump::ArchiveFormat;
use cairn_engine::{Error, ErrorKind, Result};
use clap::{Args, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// `cairn dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    /// Snapshot ID, unique prefix, or "latest".
    pub snapshot: String,
    /// File inside the snapshot (for --stdin snapshots: the --stdin-name),
    /// or with --archive a directory ("/" for the whole snapshot).
    pub path: OsString,
    /// Write PATH as an archive: tar (pax: owners, modes, ns times, xattrs,
    /// links, devices) or zip (modes, symlinks, times).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub archive: Option<Archive>,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Which snapshot \"latest\" means")]
    pub filter: SnapshotFilter,
}

/// `--archive` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Archive {
    /// POSIX tar with pax headers.
    Tar,
    /// Zip with deflate.
    Zip,
}

/// Run `dump`.
pub fn run(ctx: &Ctx, args: &DumpArgs) -> Result<i32> {
    if args.archive.is_some() && args.target.is_none() && std::io::stdout().is_terminal() {
        return Err(Error::invalid(
            "standard output is a terminal: redirect it to a file or pipe, or give --target FILE",
        ));
    }
    let repo = ctx.open()?;
    let r = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let path = args.path.as_bytes();
    let mut out: Box<dyn Write> = match &args.target {
        Some(t) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(t).map_err(|e| Error::from_io(t.display().to_string(), e))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            crate::output::Stdout,
        )),
    };
    let Some(archive) = args.archive else {
        let result = cairn_engine::ops::dump::dump(&repo, &r.snap, path, &mut out)
            .map_err(|e| suggest_archive(r.explain(e)));
        drop(out);
        if let (Err(_), Some(t)) = (&result, &args.target) {
            let _ = std::fs::remove_file(t);
        }
        return result.map(|_| crate::exit::OK);
    };
    let format = match archive {
        Archive::Tar => ArchiveFormat::Tar,
        Archive::Zip => ArchiveFormat::Zip,
    };
    let result = cairn_engine::ops::dump::dump_archive(&repo, &r.snap, path, format, &mut out)
        .map_err(|e| r.explain(e));
    drop(out);
    let report = match (result, &args.target) {
        (Ok(report), _) => report,
        (Err(e), Some(t)) => {
            // Leave no truncated archive that looks whole.
            let _ = std::fs::remove_file(t);
            return Err(e);
        }
        (Err(e), None) => return Err(e),
    };
    for s in &report.skipped {
        if !ctx.out.quiet {
            crate::errln!(
                "warning: {} left out: the archive format cannot hold it",
                esc(s)
            );
        }
    }
    if let Some(t) = &args.target {
        if ctx.out.json {
            crate::output::print_report(&report);
        } else if !ctx.out.quiet {
            crate::outln!(
                "wrote {} ({} of file content) to {}",
                count(report.entries, "entry", "entries"),
                bytes(report.bytes),
                esc_path(t)
            );
        }
    }
    Ok(crate::exit::OK)
}

/// A directory given without `--archive`: say how to dump it.
fn suggest_archive(e: Error) -> Error {
    if e.kind() == ErrorKind::InvalidInput
        && (e.message().contains("not a regular file") || e.message().contains("give a file path"))
    {
        return Error::invalid(format!(
            "{}; to dump a directory, add --archive tar or --archive zip",
            e.message()
        ));
    }
    e
}

/// The examples `cairn dump --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # One file to standard output
  cairn dump latest /etc/hostname
  # A --stdin snapshot, back into the program that made it
  cairn dump 3fa9c2 mongo.archive | mongorestore --archive
  # A directory as a tar stream (PAX: long names, xattrs, ns times), or zip
  cairn dump latest /etc --archive tar > etc.tar
  cairn dump latest /srv/www --archive zip --target www.zip";
