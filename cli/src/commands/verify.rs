//! `cairn verify SNAPSHOT`: read and check every blob; compare totals and,
//! for MongoDB dumps, per-collection document counts and hashes.

use super::{Ctx, Resolved};
use crate::args::VerifyArgs;
use crate::output::{bytes, count, esc};
use cairn_engine::Result;

/// Run `verify`.
pub fn run(ctx: &Ctx, args: &VerifyArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let Resolved { id, snap, .. } = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let progress = ctx.out.progress("verify");
    let result = cairn_engine::ops::verify::verify(&repo, &id, &snap, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        if !r.collections.is_empty() {
            let mut db = "";
            for c in &r.collections {
                if c.db != db {
                    crate::outln!("database {}", esc(&c.db));
                    db = &c.db;
                }
                crate::outln!(
                    "  {:<32} {:>10} documents {:>12}  {}",
                    esc(&c.name),
                    c.count,
                    bytes(c.bytes),
                    if c.ok { "ok" } else { "MISMATCH" }
                );
            }
        }
        crate::outln!(
            "snapshot {}: {}, {} in {} verified{}",
            id.short(),
            count(r.files, "file", "files"),
            bytes(r.bytes),
            count(r.blobs, "blob", "blobs"),
            if r.ok() { ", all ok" } else { "" }
        );
        for e in &r.errors {
            crate::errln!("error: {}", esc(e));
        }
    }
    if !r.ok() {
        crate::errln!(
            "cairn: error: snapshot {} failed verification: {}",
            id.short(),
            count(r.errors.len() as u64, "problem", "problems")
        );
    }
    Ok(crate::exit::for_outcome(r.outcome()))
}

/// The examples `cairn verify --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Read every blob of the newest snapshot
  cairn verify latest
  # One snapshot by ID prefix, as JSON
  cairn --json verify 3fa9c2";
