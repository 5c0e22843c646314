//! `cairn repair index`.

use super::Ctx;
use crate::args::RepairCommand;
use cairn_engine::Result;
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
    let result = cairn_engine::repair::repair_snapshots(&repo, &progress);
    progress.finish();
    let fixed = result?;
    if ctx.out.json {
        let v: Vec<_> = fixed
            .iter()
            .map(|f| json!({"old": f.old.to_hex(), "new": f.new.to_hex(), "lost": f.lost}))
            .collect();
        crate::output::print_json(&json!({"repaired": v}));
    } else {
        for f in &fixed {
            ctx.out.info(&format!(
                "snapshot {} -> {} (tag 'repaired'), lost:",
                f.old.short(),
                f.new.short()
            ));
            for l in &f.lost {
                crate::outln!("  {l}");
            }
        }
        ctx.out.info(&format!("{} snapshots repaired", fixed.len()));
    }
    Ok(crate::exit::OK)
}

fn index(ctx: &Ctx) -> Result<i32> {
    let repo = ctx.open()?;
    let progress = ctx.out.progress("repair index");
    let result = cairn_engine::repair::repair_index(&repo, &progress);
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
            crate::errln!("warning: pack {p} has an unreadable trailer ({e}); its old index entries were kept if any existed — run `cairn scrub`");
        }
        ctx.out.info(&format!(
            "indexed {} blobs in {} packs; replaced {} index files{}",
            r.blobs,
            r.packs,
            r.removed,
            if r.unreadable.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} packs unreadable (run `cairn scrub`)",
                    r.unreadable.len()
                )
            }
        ));
    }
    Ok(crate::exit::OK)
}
