//! `cairn tag`: change snapshot tags. A snapshot is immutable and named by
//! its hash, so it is rewritten under a new ID (the old file is removed
//! after the new one is stored).

use super::Ctx;
use crate::args::TagArgs;
use cairn_engine::ops::retention::PROTECTED_TAG;
use cairn_engine::{Error, LockMode, Result};
use serde_json::json;

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
    if a.add.is_empty() && a.remove.is_empty() && a.set.is_empty() && !a.protect && !a.unprotect {
        return Err(Error::invalid(
            "nothing to change: give --add, --remove, --set, --protect or --unprotect",
        ));
    }
    let repo = ctx.open()?;
    let _lock = repo.lock(LockMode::Prune)?;
    let mut changed = Vec::new();
    for spec in &a.snapshots {
        let (old, mut s) = repo.find_snapshot(spec)?;
        if !a.set.is_empty() {
            s.tags = a.set.clone();
        }
        s.tags.extend(a.add.iter().cloned());
        s.tags.retain(|t| !a.remove.contains(t));
        if a.protect {
            s.tags.push(PROTECTED_TAG.into());
        }
        if a.unprotect {
            s.tags.retain(|t| t != PROTECTED_TAG);
        }
        s.tags.sort();
        s.tags.dedup();
        let new = repo.rewrite_snapshot(&old, &s)?;
        changed.push(json!({"old": old.to_hex(), "new": new.to_hex(), "tags": s.tags}));
        if !ctx.out.json {
            ctx.out.info(&format!(
                "snapshot {} -> {}: tags {}",
                old.short(),
                new.short(),
                crate::output::esc(&s.tags.join(","))
            ));
        }
    }
    if ctx.out.json {
        crate::output::print_json(&json!({"changed": changed}));
    }
    Ok(crate::exit::OK)
}
