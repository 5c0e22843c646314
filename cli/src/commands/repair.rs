//! `cairn repair index` and `cairn repair snapshots`.

use super::Ctx;
use crate::args::RepairCommand;
use crate::output::{count, esc};
use cairn_engine::ops::repair::RepairSnapshotsReport;
use cairn_engine::{Error, ErrorKind, Result};

/// Run a repair.
pub fn run(ctx: &Ctx, cmd: &RepairCommand) -> Result<i32> {
    match cmd {
        RepairCommand::Index => index(ctx),
        RepairCommand::Snapshots => snapshots(ctx),
    }
}

fn snapshots(ctx: &Ctx) -> Result<i32> {
    let repo = ctx.open()?;
    let progress = ctx.out.progress("repair snapshots");
    let result = cairn_engine::ops::repair::repair_snapshots(&repo, &progress);
    progress.finish();
    let report = result?;
    let advice = RepairSnapshotsReport::advice;
    if ctx.out.json {
        crate::output::print_report(&report);
    } else {
        // The report (each snapshot and its lost files) on stdout, as one
        // stream; messages on stderr.
        for f in &report.repaired {
            crate::outln!(
                "snapshot {} -> {} (tag 'repaired'), lost:",
                f.old.short(),
                f.new.short()
            );
            for l in &f.lost {
                crate::outln!("  {}", esc(l));
            }
        }
        for id in &report.unrepairable {
            crate::errln!("error: {}", advice(id));
        }
        ctx.out.info(&format!(
            "{} repaired",
            count(report.repaired.len() as u64, "snapshot", "snapshots")
        ));
    }
    match report.unrepairable.as_slice() {
        [] => Ok(crate::exit::OK),
        some => Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "{} cannot be repaired because the root tree is lost: {} — remove with `cairn forget ID...`",
                count(some.len() as u64, "snapshot", "snapshots"),
                some.iter().map(|i| i.to_hex()).collect::<Vec<_>>().join(" ")
            ),
        )),
    }
}

fn index(ctx: &Ctx) -> Result<i32> {
    let repo = ctx.open()?;
    let progress = ctx.out.progress("repair index");
    let result = cairn_engine::ops::repair::repair_index(&repo, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        for (p, e) in &r.unreadable {
            crate::errln!("warning: pack {p} has an unreadable trailer ({}); its old index entries were kept if any existed — run `cairn scrub`", esc(e));
        }
        ctx.out.info(&format!(
            "indexed {} in {}; replaced {}{}",
            count(r.blobs, "blob", "blobs"),
            count(r.packs, "pack", "packs"),
            count(r.removed, "index file", "index files"),
            if r.unreadable.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} unreadable (run `cairn scrub`)",
                    count(r.unreadable.len() as u64, "pack", "packs")
                )
            }
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn repair --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Index lost or damaged: rebuild it from the packs
  cairn repair index
  # Data truly lost: keep the snapshots restorable, minus the lost files
  cairn repair snapshots";
