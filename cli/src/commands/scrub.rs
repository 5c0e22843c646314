//! `cairn scrub`: read and verify packs (see `cairn_engine::ops::scrub`).

use super::Ctx;
use crate::args::ScrubArgs;
use crate::output::{bytes, count, esc};
use cairn_engine::ops::scrub::{ScrubOptions, Subset};
use cairn_engine::Result;

/// Run `scrub`.
pub fn run(ctx: &Ctx, args: &ScrubArgs) -> Result<i32> {
    let opts = ScrubOptions {
        subset: Subset::parse(&args.subset)?,
        stale: args
            .stale
            .as_deref()
            .map(crate::output::parse_duration)
            .transpose()?,
        max_duration: args
            .max_duration
            .as_deref()
            .map(crate::output::parse_duration)
            .transpose()?,
    };
    let from = args
        .from
        .as_ref()
        .map(|raw| crate::location::Location::parse(raw)?.backend())
        .transpose()?;
    let repo = ctx.open()?;
    repo.make_available(cairn_engine::backend::Need::Everything)?;
    let progress = ctx.out.progress("scrub");
    let result =
        cairn_engine::ops::scrub::scrub_run(&repo, opts, args.repair, from.as_deref(), &progress);
    progress.finish();
    let run = result?;
    let (r, repaired) = (&run.report, &run.repaired);
    let secs = run.duration_secs;
    if let Some(e) = &r.record_error {
        // On stderr in both modes: --json keeps stdout for the document.
        if !ctx.out.quiet {
            crate::errln!("warning: the record of what this scrub verified could not be saved in state/scrub ({}); the verification stands, but the next scrub will not know it (read-only storage?)", esc(e));
        }
    }
    if let Some(rep) = &repaired {
        for (p, e) in &rep.failed {
            crate::errln!("pack {p}: not repaired: {} — restore it from a copy of the repository (`cairn scrub --repair --from DIR`); if no copy has it, its data is lost: run `cairn repair snapshots` to keep the rest, then `cairn check`", esc(e));
        }
        if !ctx.out.json {
            ctx.out.info(&format!(
                "repaired {}, rewrote {}, {} could not be repaired",
                count(rep.repaired.len() as u64, "pack", "packs"),
                count(rep.parity_rewritten, "parity group", "parity groups"),
                rep.failed.len()
            ));
        }
    }
    if ctx.out.json {
        crate::output::print_report(&run);
    } else {
        for d in &r.damaged {
            for e in &d.errors {
                crate::errln!("pack {}: {}", d.pack, esc(e));
            }
        }
        for (p, e) in &r.damaged_metadata {
            crate::errln!("{}: {}", esc(p), esc(e));
        }
        for p in &r.missing {
            crate::errln!("pack {p}: missing");
        }
        let age = r
            .oldest_verified_age
            .map(|a| format!("oldest verification {:.1} days ago", a as f64 / 86_400.0))
            .unwrap_or_else(|| "no pack verified yet".into());
        ctx.out.info(&format!(
            "coverage: {} never verified, {age}{}",
            count(r.never_verified, "pack", "packs"),
            if r.stopped_early {
                " (stopped at --max-duration)"
            } else {
                ""
            }
        ));
        ctx.out.info(&format!(
            "scrubbed {} ({}, {}) in {secs:.2}s: {}",
            count(r.packs, "pack", "packs"),
            bytes(r.bytes),
            count(r.blobs, "blob", "blobs"),
            if r.ok() {
                "all intact".to_owned()
            } else {
                format!(
                    "{}, {}",
                    count(r.damaged.len() as u64, "damaged pack", "damaged packs"),
                    count(
                        r.damaged_metadata.len() as u64,
                        "damaged metadata file",
                        "damaged metadata files"
                    )
                )
            }
        ));
    }
    let unrepaired = repaired.as_ref().map_or(0, |x| x.failed.len());
    if r.ok() {
        return Ok(crate::exit::OK);
    }
    if unrepaired > 0 {
        crate::errln!("cairn: error: {unrepaired} pack(s) could not be repaired: restore them from a copy of the repository (`cairn scrub --repair --from DIR`); if no copy has them, their data is lost: run `cairn repair snapshots` to keep the rest, then `cairn check`");
    } else {
        crate::errln!(
            "cairn: error: {} damaged and {} missing pack(s), {} damaged metadata file(s): run `cairn scrub --repair` (parity, or --from a copy); a damaged index file is rebuilt by `cairn repair index`",
            r.damaged.len(),
            r.missing.len(),
            r.damaged_metadata.len()
        );
    }
    Ok(crate::exit::for_outcome(run.outcome()))
}

/// The examples `cairn scrub --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Verify the 10% of packs verified least recently
  cairn scrub --subset 10%
  # Everything not verified for 90 days, for at most 30 minutes
  cairn scrub --stale 90d --max-duration 30min
  # Rebuild damaged packs from parity or from another copy
  cairn scrub --repair --from /mnt/offsite/repo";
