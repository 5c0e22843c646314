//! `cairn repair index` and `cairn repair snapshots`.

use super::Ctx;
use crate::args::RepairCommand;
use crate::output::{count, esc};
use cairn_engine::{Error, ErrorKind, Result};
use serde_json::json;

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
    let advice = |id: &cairn_engine::SnapshotId| {
        format!(
            "snapshot {}: its root tree is lost, so nothing of it can be restored or repaired — remove it with `cairn forget {}` (or restore the lost pack from a copy of the repository with `cairn scrub --repair --from DIR`)",
            id.short(),
            id.to_hex()
        )
    };
    if ctx.out.json {
        let v: Vec<_> = report
            .repaired
            .iter()
            .map(|f| json!({"old": f.old.to_hex(), "new": f.new.to_hex(), "lost": f.lost}))
            .collect();
        let u: Vec<_> = report
            .unrepairable
            .iter()
            .map(|id| json!({"id": id.to_hex(), "advice": advice(id)}))
            .collect();
        crate::output::print_json(&json!({"repaired": v, "unrepairable": u}));
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
        let bad: Vec<_> = r
            .unreadable
            .iter()
            .map(|(p, e)| json!({"pack": p.to_hex(), "error": e}))
            .collect();
        crate::output::print_json(&json!({
            "packs": r.packs, "blobs": r.blobs, "unreadable": bad,
            "carried_over": r.carried_over,
            "index_files": r.written.iter().map(|i| i.to_hex()).collect::<Vec<_>>(),
            "removed_index_files": r.removed,
        }));
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
