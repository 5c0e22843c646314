//! `cairn check`: structural consistency (see `cairn_engine::ops::check`).

use super::Ctx;
use crate::args::CheckArgs;
use crate::output::{count, esc};
use cairn_engine::Result;

/// Run `check`.
pub fn run(ctx: &Ctx, _args: &CheckArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let progress = ctx.out.progress("check");
    let result = cairn_engine::ops::check::check(&repo, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        for i in &r.info {
            ctx.out.info(&format!("info: {}", esc(i)));
        }
        for e in &r.errors {
            crate::errln!("error: {}", esc(&crate::advice::finding(e)));
        }
        ctx.out.info(&format!(
            "checked {}, {}, {}, {}: {}",
            count(r.snapshots, "snapshot", "snapshots"),
            count(r.index_files, "index file", "index files"),
            count(r.packs, "pack", "packs"),
            count(r.blobs, "blob", "blobs"),
            if r.ok() {
                "no errors".to_owned()
            } else {
                count(r.errors.len() as u64, "error", "errors")
            }
        ));
    }
    if !r.ok() {
        crate::errln!(
            "cairn: error: check found {} (listed above)",
            count(r.errors.len() as u64, "error", "errors")
        );
    }
    Ok(crate::exit::for_outcome(r.outcome()))
}

/// The examples `cairn check --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Structure only: index, pack trailers, snapshot trees (no content read)
  cairn check
  # For monitoring (exit 4 means damage found)
  cairn --json check";
