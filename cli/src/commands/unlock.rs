//! `cairn unlock`: remove stale locks (or all, with `--remove-all`).

use super::Ctx;
use crate::args::UnlockArgs;
use cairn_engine::Result;

/// Run `unlock`.
pub fn run(ctx: &Ctx, args: &UnlockArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let r = cairn_engine::ops::unlock::unlock(&repo, args.remove_all)?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        ctx.out.info(&format!(
            "removed {}",
            crate::output::count(r.removed as u64, "lock", "locks")
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn unlock --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Remove stale locks (their process is gone)
  cairn unlock
  # Remove every lock, when no cairn process runs
  cairn unlock --remove-all";
