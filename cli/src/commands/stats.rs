//! `cairn stats [SNAPSHOT...] [--mode MODE]`: sizes of snapshots (every
//! snapshot the filters select, by default all), logically and in
//! storage, like `restic stats`. The mode (restic's) decides what "Total
//! Size" and "Total File Count" count; the storage lines (unique blobs,
//! packs, ratios) are the same in every mode. Without snapshots or filters
//! the repository's own totals (everything the index lists) follow.

use super::Ctx;
use crate::output::{bytes, write_error};
use cairn_engine::ops::stats::{StatsMode, StatsReport};
use cairn_engine::Result;
use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Snapshots to count (ID, unique prefix or "latest") [default: every
    /// snapshot the filters select].
    pub snapshots: Vec<String>,
    /// What Total Size counts: restore-size (every file as restored),
    /// files (each distinct file content once) or raw-data (the unique
    /// blobs referenced, at their stored size).
    #[arg(long, value_name = "MODE", default_value = "restore-size")]
    pub mode: String,
    #[command(flatten, next_help_heading = "Which snapshots to count")]
    pub filter: crate::args::SnapshotFilter,
}

/// Run `stats`.
pub fn run(ctx: &Ctx, a: &StatsArgs) -> Result<i32> {
    let mode = StatsMode::parse(&a.mode)?;
    let repo = ctx.open()?;
    let snaps = super::find::select(&repo, &a.snapshots, &a.filter)?;
    let whole = a.snapshots.is_empty() && a.filter.to_engine()?.is_empty();
    let report = cairn_engine::ops::stats::stats(&repo, &snaps, mode, whole)?;
    if ctx.out.json {
        crate::output::print_report(&report);
    } else {
        let mut out = std::io::BufWriter::new(crate::output::Stdout);
        write_human(&mut out, &report).map_err(write_error)?;
        out.flush().map_err(write_error)?;
    }
    Ok(crate::exit::OK)
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"))
}

fn write_human(out: &mut dyn Write, r: &StatsReport) -> std::io::Result<()> {
    let mode = serde_json::to_value(r.mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let b = &r.blobs;
    writeln!(out, "Stats in {mode} mode:")?;
    writeln!(out, "     Snapshots processed:  {}", r.snapshots_count)?;
    writeln!(out, "        Total File Count:  {}", r.total_file_count)?;
    writeln!(out, "              Total Size:  {}", bytes(r.total_size))?;
    writeln!(out, "Referenced data (unique blobs):")?;
    writeln!(
        out,
        "              Blob Count:  {} ({} data, {} tree) in {} packs",
        b.data_blobs + b.tree_blobs,
        b.data_blobs,
        b.tree_blobs,
        b.packs
    )?;
    writeln!(out, "            Restore Size:  {}", bytes(r.restore_size))?;
    writeln!(
        out,
        "       Uncompressed Size:  {}",
        bytes(b.uncompressed_size)
    )?;
    writeln!(out, "             Stored Size:  {}", bytes(b.stored_size))?;
    writeln!(out, "     Deduplication Ratio:  {}", ratio(r.dedup_ratio))?;
    writeln!(
        out,
        "       Compression Ratio:  {}",
        ratio(r.compression_ratio)
    )?;
    if let Some(t) = &r.repository {
        writeln!(out, "Repository (everything the index lists):")?;
        writeln!(
            out,
            "                   Packs:  {} ({})",
            t.packs,
            bytes(t.packs_size)
        )?;
        writeln!(out, "                   Blobs:  {}", t.blobs)?;
        writeln!(
            out,
            "       Uncompressed Size:  {}",
            bytes(t.uncompressed_size)
        )?;
        writeln!(out, "             Stored Size:  {}", bytes(t.stored_size))?;
    }
    Ok(())
}

/// The examples `cairn stats --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # The whole repository: stored size, deduplication and compression
  cairn stats
  # The unique data the latest snapshot references
  cairn stats latest --mode raw-data
  # Distinct files of one host's snapshots
  cairn stats --host web1 --mode files
  cairn --json stats";
