//! `cairn unlock`: remove stale locks (or all, with `--remove-all`).

use super::Ctx;
use crate::args::UnlockArgs;
use cairn_engine::Result;
use serde_json::json;

/// Run `unlock`.
pub fn run(ctx: &Ctx, args: &UnlockArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let n = cairn_engine::remove_locks(&**repo.backend(), repo.sealer(), args.remove_all)?;
    if ctx.out.json {
        crate::output::print_json(&json!({"removed": n}));
    } else {
        ctx.out.info(&format!(
            "removed {}",
            crate::output::count(n as u64, "lock", "locks")
        ));
    }
    Ok(crate::exit::OK)
}
