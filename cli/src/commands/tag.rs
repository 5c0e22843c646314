//! `cairn tag`: change snapshot tags. A snapshot is immutable and named by
//! its hash, so it is rewritten under a new ID (the old file is removed
//! after the new one is stored).

use super::Ctx;
use crate::args::TagArgs;
use cairn_engine::ops::tag::TagChange;
use cairn_engine::{Error, Result};

/// Tags as given to `flag`, refusing empty ones (a stray comma, an unset
/// shell variable) instead of dropping them silently.
pub fn checked_tags(tags: &[String], flag: &str) -> Result<Vec<String>> {
    if tags.iter().any(String::is_empty) {
        return Err(Error::invalid(format!(
            "{flag}: empty tag (check for a stray comma or an unset variable)"
        )));
    }
    Ok(tags.to_vec())
}

/// Run `tag`.
pub fn run(ctx: &Ctx, a: &TagArgs) -> Result<i32> {
    for (list, flag) in [
        (&a.add, "--add"),
        (&a.remove, "--remove"),
        (&a.set, "--set"),
    ] {
        checked_tags(list, flag)?;
    }
    let change = TagChange {
        set: a.set.clone(),
        add: a.add.clone(),
        remove: a.remove.clone(),
        protect: a.protect,
        unprotect: a.unprotect,
    };
    let repo = ctx.open()?;
    let r = cairn_engine::ops::tag::tag(&repo, &a.snapshots, &change)?;
    if ctx.out.json {
        crate::output::print_report(&r);
        return Ok(crate::exit::OK);
    }
    for c in &r.changed {
        ctx.out.info(&format!(
            "snapshot {} -> {}: tags {}",
            c.old.short(),
            c.new.short(),
            crate::output::esc(&c.tags.join(","))
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn tag --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Never forget this snapshot, whatever the policy
  cairn tag latest --protect
  # Add and remove tags
  cairn tag 3fa9c2 --add reviewed --remove draft";
