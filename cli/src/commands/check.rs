//! `cairn check`: structural consistency (see `cairn_engine::check`).

use super::Ctx;
use crate::args::CheckArgs;
use cairn_engine::{Error, ErrorKind, Result};
use serde_json::json;

/// Run `check`.
pub fn run(ctx: &Ctx, _args: &CheckArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let progress = ctx.out.progress("check");
    let result = cairn_engine::check::check(&repo, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_json(&json!({
            "ok": r.ok(), "snapshots": r.snapshots, "index_files": r.index_files,
            "packs": r.packs, "blobs": r.blobs, "errors": r.errors, "info": r.info,
        }));
    } else {
        for i in &r.info {
            ctx.out.info(&format!("info: {i}"));
        }
        for e in &r.errors {
            crate::errln!("error: {e}");
        }
        ctx.out.info(&format!(
            "checked {} snapshots, {} index files, {} packs, {} blobs: {}",
            r.snapshots,
            r.index_files,
            r.packs,
            r.blobs,
            if r.ok() {
                "no errors".to_owned()
            } else {
                format!("{} errors", r.errors.len())
            }
        ));
    }
    if r.ok() {
        Ok(crate::exit::OK)
    } else {
        Err(Error::new(
            ErrorKind::Corrupt,
            format!("check found {} errors (listed above)", r.errors.len()),
        ))
    }
}
