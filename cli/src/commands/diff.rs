//! `cairn diff SNAP1 SNAP2 [PATH]`: what changed from SNAP1 to SNAP2, with
//! restic's letters (`+` added, `-` removed, `M` content, `U` metadata
//! only, `T` type) and totals. Changes print as they are found; with
//! `--json` each is one JSON line (`"message_type": "change"`) and the
//! last line is the totals (`"message_type": "statistics"`), as restic
//! does.

use super::{Ctx, Resolved};
use crate::output::{bytes, esc_bytes, write_error};
use cairn_engine::ops::diff::{Change, DiffReport};
use cairn_engine::{Error, NodeKind, Result};
use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The older snapshot (ID, unique prefix or "latest").
    pub snapshot1: String,
    /// The newer snapshot (ID, unique prefix or "latest").
    pub snapshot2: String,
    /// Compare only this directory or file [default: /].
    pub path: Option<std::ffi::OsString>,
    #[command(flatten, next_help_heading = "Which snapshot \"latest\" means")]
    pub filter: crate::args::SnapshotFilter,
}

/// Run `diff`.
pub fn run(ctx: &Ctx, a: &DiffArgs) -> Result<i32> {
    use std::os::unix::ffi::OsStrExt;
    let repo = ctx.open()?;
    let one = Resolved::find(&repo, &a.snapshot1, &a.filter)?;
    let two = Resolved::find(&repo, &a.snapshot2, &a.filter)?;
    let path = a.path.as_ref().map_or(&b"/"[..], |p| p.as_bytes());
    let json = ctx.out.json;
    let mut out = std::io::BufWriter::new(crate::output::Stdout);
    let mut visit = |c: &Change| -> Result<()> {
        if json {
            let v = serde_json::to_value(c).map_err(|e| Error::internal(e.to_string()))?;
            writeln!(out, "{v}")
        } else {
            let slash = if c.kind == NodeKind::Dir && c.path != b"/" {
                "/"
            } else {
                ""
            };
            writeln!(
                out,
                "{:<5}{}{slash}",
                c.modifier.letter(),
                esc_bytes(c.path)
            )
        }
        .map_err(write_error)
    };
    let report = cairn_engine::ops::diff::diff(
        &repo,
        (&one.id, &one.snap),
        (&two.id, &two.snap),
        path,
        &mut visit,
    )?;
    if json {
        let v = serde_json::to_value(&report).map_err(|e| Error::internal(e.to_string()))?;
        writeln!(out, "{v}").map_err(write_error)?;
    } else {
        write_totals(&mut out, &report, ctx.out.verbose > 0).map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    Ok(crate::exit::OK)
}

fn write_totals(out: &mut dyn Write, r: &DiffReport, verbose: bool) -> std::io::Result<()> {
    let (a, d) = (&r.added, &r.removed);
    writeln!(out)?;
    writeln!(
        out,
        "Files:       {:>5} new, {:>5} removed, {:>5} changed",
        a.files, d.files, r.changed_files
    )?;
    writeln!(out, "Dirs:        {:>5} new, {:>5} removed", a.dirs, d.dirs)?;
    writeln!(
        out,
        "Others:      {:>5} new, {:>5} removed",
        a.others, d.others
    )?;
    writeln!(
        out,
        "Metadata only: {} changed; type changed: {}",
        r.metadata_changed, r.type_changed
    )?;
    writeln!(
        out,
        "Data Blobs:  {:>5} new, {:>5} removed",
        a.data_blobs, d.data_blobs
    )?;
    writeln!(
        out,
        "Tree Blobs:  {:>5} new, {:>5} removed",
        a.tree_blobs, d.tree_blobs
    )?;
    writeln!(out, "  Added:   {}", bytes(a.bytes))?;
    writeln!(out, "  Removed: {}", bytes(d.bytes))?;
    if verbose {
        writeln!(
            out,
            "Trees read: {} ({} identical subtrees skipped unread)",
            r.trees_loaded, r.trees_skipped
        )?;
    }
    Ok(())
}

/// The examples `cairn diff --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # What changed since an older snapshot
  cairn diff 3f2a9c1d latest
  # Only below one directory
  cairn diff 3f2a9c1d 7b01e4aa /srv/app
  # As JSON lines: one per change, then the statistics
  cairn --json diff 3f2a9c1d latest

Letters: + added, - removed, M content modified, U metadata only, T type changed.";
