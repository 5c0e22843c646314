//! `cairn restore SNAPSHOT --target DIR`.

use super::Ctx;
use crate::args::RestoreArgs;
use crate::output::bytes;
use cairn_engine::{RestoreOptions, Result};
use serde_json::json;
use std::time::Instant;

/// Run `restore`.
pub fn run(ctx: &Ctx, args: &RestoreArgs) -> Result<i32> {
    let opts = RestoreOptions {
        target: args.target.clone(),
        includes: args.includes.clone(),
        excludes: args.excludes.clone(),
    };
    // Validate patterns before asking for a password.
    cairn_engine::filter::PathFilter::new(&opts.includes)?;
    cairn_engine::filter::PathFilter::new(&opts.excludes)?;
    let repo = ctx.open()?;
    let (id, snap) = repo.find_snapshot(&args.snapshot)?;
    let progress = ctx.out.progress("restore");
    let start = Instant::now();
    let result = cairn_engine::restore(&repo, &snap, &opts, &progress);
    progress.finish();
    let s = result?;
    let secs = start.elapsed().as_secs_f64();
    for w in &s.warnings {
        if !ctx.out.quiet {
            eprintln!("warning: {w}");
        }
    }
    if ctx.out.json {
        crate::output::print_json(&json!({
            "snapshot_id": id.to_hex(),
            "target": args.target.display().to_string(),
            "files": s.files,
            "dirs": s.dirs,
            "others": s.others,
            "bytes": s.bytes,
            "duration_secs": secs,
            "warnings": s.warnings,
        }));
    } else {
        ctx.out.info(&format!(
            "restored snapshot {} to {}: {} files, {} dirs, {} other, {} in {:.2}s",
            id.short(),
            args.target.display(),
            s.files,
            s.dirs,
            s.others,
            bytes(s.bytes),
            secs
        ));
    }
    Ok(crate::exit::OK)
}
