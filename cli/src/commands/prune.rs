//! `cairn prune` (and the prune half of `forget --prune`): run the GC
//! protocol of `cairn_engine::ops::prune` and report what was (or, with
//! `--dry-run`, would be) deleted and repacked, with sizes.

use super::Ctx;
use crate::args::{PruneArgs, PruneOpts};
use crate::output::{bytes, count, parse_size};
use cairn_engine::ops::prune::{Action, MaxUnused, PruneOptions, PruneReport};
use cairn_engine::{Error, Result};

/// Validate `--max-unused` and `--max-repack-size`.
pub fn options(o: &PruneOpts, dry_run: bool) -> Result<PruneOptions> {
    let max_unused = match o.max_unused.trim() {
        "unlimited" => MaxUnused::Unlimited,
        s if s.ends_with('%') => {
            let p: f64 = s[..s.len() - 1].trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "--max-unused '{s}': expected e.g. 5%, 500M or unlimited"
                ))
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(Error::invalid(format!(
                    "--max-unused '{s}': a percentage must be between 0% and 100%"
                )));
            }
            MaxUnused::Percent(p)
        }
        s => MaxUnused::Bytes(parse_size(s).map_err(|e| e.context("--max-unused"))?),
    };
    let max_repack = o
        .max_repack_size
        .as_deref()
        .map(|s| parse_size(s).map_err(|e| e.context("--max-repack-size")))
        .transpose()?;
    Ok(PruneOptions {
        max_unused,
        max_repack,
        dry_run,
        ..PruneOptions::default()
    })
}

/// Run `prune`.
pub fn run(ctx: &Ctx, a: &PruneArgs) -> Result<i32> {
    let opts = options(&a.opts, a.dry_run)?;
    let repo = ctx.open()?;
    let progress = ctx.out.progress("prune");
    let result = cairn_engine::ops::prune::prune(&repo, &opts, &progress);
    progress.finish();
    render(ctx, &result?, a.dry_run);
    Ok(crate::exit::OK)
}

/// Print a prune report.
pub fn render(ctx: &Ctx, r: &PruneReport, dry_run: bool) {
    if ctx.out.json {
        crate::output::print_report(r);
        return;
    }
    let (del_n, del_b) = r.selected(Action::Delete);
    let (orph_n, orph_b) = r.selected(Action::DeleteUnindexed);
    let (rep_n, rep_b) = r.selected(Action::Repack);
    let (unused_before, unused_after) = r.unused_bytes();
    for w in &r.warnings {
        crate::errln!("warning: {}", crate::output::esc(w));
    }
    for name in &r.removed_unreadable {
        crate::errln!("warning: removed unreadable garbage-collection plan state/{name}");
    }
    if dry_run {
        for s in r.packs() {
            let what = match s.action {
                Action::Delete => "delete",
                Action::DeleteUnindexed => "delete (unindexed)",
                Action::Repack => "repack",
            };
            crate::outln!(
                "{what:<18} {}  {:>10}  used {}",
                s.pack.short(),
                bytes(s.size),
                bytes(s.used)
            );
        }
    }
    let would = |done: &str, dry: &str| {
        if dry_run {
            dry.to_owned()
        } else {
            done.to_owned()
        }
    };
    ctx.out.info(&format!(
        "{} reference {} ({}); unused {} → {} after",
        count(r.snapshots, "snapshot", "snapshots"),
        count(r.referenced_blobs, "blob", "blobs"),
        bytes(r.used_bytes()),
        bytes(unused_before),
        bytes(unused_after)
    ));
    ctx.out.info(&format!(
        "{} {} ({}), {} of them unindexed; {} {} ({}, copying {})",
        would("scheduled for deletion", "would delete"),
        count(del_n + orph_n, "unused pack", "unused packs"),
        bytes(del_b + orph_b),
        orph_n,
        would("repacked", "would repack"),
        count(rep_n, "pack", "packs"),
        bytes(rep_b),
        bytes(if dry_run {
            r.packs()
                .iter()
                .filter(|s| s.action == Action::Repack)
                .map(|s| s.used)
                .sum()
        } else {
            r.repacked_bytes
        })
    ));
    if !dry_run {
        ctx.out.info(&format!(
            "deleted {}, freed {}{}",
            count(r.swept.packs, "pack", "packs"),
            bytes(r.swept.bytes),
            if r.swept.resurrected > 0 {
                format!(
                    "; kept {} that new snapshots need",
                    count(r.swept.resurrected, "pack", "packs")
                )
            } else {
                String::new()
            }
        ));
    }
    if r.stale_temporaries_bytes > 0 {
        ctx.out.info(&format!(
            "removed {} of temporaries left by interrupted writes",
            bytes(r.stale_temporaries_bytes)
        ));
    }
    for p in &r.pending {
        ctx.out.info(&format!(
            "{} wait for {} to finish (plan state/{}); the next prune deletes them",
            count(p.packs, "pack", "packs"),
            count(p.waiting, "running operation", "running operations"),
            p.name
        ));
    }
}

/// The examples `cairn prune --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # What would be deleted and repacked, with sizes
  cairn prune --dry-run
  # Leave up to 10% unused; repack at most 2G this run
  cairn prune --max-unused 10% --max-repack-size 2G";
