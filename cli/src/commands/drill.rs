//! `cairn drill`: restore to a temporary place, compare against the
//! snapshot's recorded hashes, write a JSON report, clean up.

use super::{Ctx, Resolved};
use crate::args::DrillArgs;
use crate::output::esc;
use cairn_engine::ops::drill::DrillTarget;
use cairn_engine::{Error, Result};

/// Run `drill`.
pub fn run(ctx: &Ctx, args: &DrillArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let Resolved { id, snap, .. } = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let target = match &args.to {
        Some(uri) => DrillTarget::MongoDb(super::mongo_args::connect(uri, args.mongo_timeout)?),
        None => DrillTarget::Directory(args.tmp_dir.clone().unwrap_or_else(std::env::temp_dir)),
    };
    let progress = ctx.out.progress("drill");
    let record = cairn_engine::ops::drill::drill(&repo, &id, &snap, &target, &progress);
    progress.finish();
    if let Some(path) = &args.report {
        let report = serde_json::to_value(&record).unwrap_or_default();
        let mut text = serde_json::to_vec_pretty(&report).unwrap_or_default();
        text.push(b'\n');
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| Error::io(format!("writing the drill report {}", path.display()), e))?;
    }
    if ctx.out.json {
        crate::output::print_report(&record);
    } else {
        ctx.out.info(&format!(
            "drill of snapshot {}: {} in {:.2}s",
            id.short(),
            record.status(),
            record.duration_secs
        ));
        if let Ok(r) = &record.result {
            for m in &r.mismatches {
                crate::errln!("mismatch: {}", esc(m));
            }
        }
    }
    let outcome = record.outcome();
    match record.result {
        Err(e) => Err(e),
        Ok(r) => {
            if !r.mismatches.is_empty() {
                crate::errln!(
                    "cairn: error: drill found {} mismatches",
                    r.mismatches.len()
                );
            }
            Ok(crate::exit::for_outcome(outcome))
        }
    }
}

/// The examples `cairn drill --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Restore the newest snapshot to a temporary place, compare, clean up
  cairn drill
  # Keep a report for alerting
  cairn drill latest --tmp-dir /var/tmp --report /var/log/cairn-drill.json";
