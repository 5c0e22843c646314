//! `cairn forget`: remove snapshots by ID or by retention policy. Only
//! snapshot files are removed; the data they alone referenced stays until
//! a prune reclaims it. Protected snapshots are never removed.

use super::Ctx;
use crate::args::ForgetArgs;
use crate::output::{esc, local_time};
use cairn_engine::ops::forget::{ForgetOptions, GroupBy};
use cairn_engine::ops::retention::{CalendarDuration, Period, Policy};
use cairn_engine::{Error, Result};

/// A `--keep-*` count: `-1` means all, `0` means the rule is not given
/// (restic treats zero counts as unset), other negatives are refused.
fn count(flag: &str, n: Option<i64>) -> Result<Option<i64>> {
    match n {
        Some(n) if n < -1 => Err(Error::invalid(format!(
            "--keep-{flag} {n}: give a count of 0 or more, or -1 for all"
        ))),
        Some(0) | None => Ok(None),
        Some(n) => Ok(Some(n)),
    }
}

/// A `--keep-within*` duration in restic's syntax (`m` = months); a zero
/// duration means the rule is not given, as in restic.
fn within(flag: &str, d: &Option<String>) -> Result<Option<CalendarDuration>> {
    d.as_deref()
        .map(|d| CalendarDuration::parse(d).map_err(|e| e.context(format!("--{flag}"))))
        .transpose()
        .map(|d| d.filter(|d| !d.is_zero()))
}

pub(crate) fn policy(a: &ForgetArgs) -> Result<Policy> {
    let mut tags = Vec::new();
    for t in &a.keep_tags {
        let group: Vec<String> = t.split(',').map(str::to_owned).collect();
        if group.iter().any(String::is_empty) {
            return Err(Error::invalid(format!(
                "--keep-tag '{t}': empty tag (write --keep-tag a,b for snapshots with both a and b)"
            )));
        }
        tags.push(group);
    }
    let mut p = Policy {
        last: count("last", a.keep_last)?,
        within: within("keep-within", &a.keep_within)?,
        tags,
        ..Policy::default()
    };
    for (period, n) in [
        (Period::Hourly, a.keep_hourly),
        (Period::Daily, a.keep_daily),
        (Period::Weekly, a.keep_weekly),
        (Period::Monthly, a.keep_monthly),
        (Period::Quarterly, a.keep_quarterly),
        (Period::Yearly, a.keep_yearly),
    ] {
        if let Some(n) = count(period.name(), n)? {
            p.periods.push((period, n));
        }
    }
    for (period, d) in [
        (Period::Hourly, &a.keep_within_hourly),
        (Period::Daily, &a.keep_within_daily),
        (Period::Weekly, &a.keep_within_weekly),
        (Period::Monthly, &a.keep_within_monthly),
        (Period::Quarterly, &a.keep_within_quarterly),
        (Period::Yearly, &a.keep_within_yearly),
    ] {
        if let Some(d) = within(&format!("keep-within-{}", period.name()), d)? {
            p.within_periods.push((period, d));
        }
    }
    Ok(p)
}

/// Run `forget`.
pub fn run(ctx: &Ctx, a: &ForgetArgs) -> Result<i32> {
    let opts = ForgetOptions {
        snapshots: a.snapshots.clone(),
        filter: a.filter.to_engine()?,
        group_by: GroupBy::parse(&a.group_by)?,
        policy: policy(a)?,
        dry_run: a.dry_run,
        prune: if a.prune {
            Some(super::prune::options(&a.prune_opts, a.dry_run)?)
        } else {
            None
        },
    };
    let repo = ctx.open()?;
    let r = if a.prune {
        let progress = ctx.out.progress("prune");
        let result = cairn_engine::ops::forget::forget(&repo, &opts, &progress);
        progress.finish();
        result?
    } else {
        cairn_engine::ops::forget::forget(&repo, &opts, &cairn_engine::NoProgress)?
    };
    if ctx.out.json {
        crate::output::print_report(&r);
        return Ok(crate::exit::OK);
    }
    for g in &r.groups {
        for k in &g.keep {
            crate::outln!(
                "keep   {} {}  {}  ({})",
                k.id.short(),
                local_time(k.time),
                esc(&g.group),
                esc(&k.reasons.join(", "))
            );
        }
    }
    for rm in &r.remove {
        crate::outln!(
            "remove {} {}  {}",
            rm.id.short(),
            rm.time.map_or("(unreadable)".into(), local_time),
            if rm.reasons.is_empty() {
                "no rule keeps it".to_owned()
            } else {
                esc(&rm.reasons.join(", ")).into_owned()
            }
        );
    }
    ctx.out.info(&format!(
        "{} {}{}",
        if a.dry_run { "would remove" } else { "removed" },
        crate::output::count(r.remove.len() as u64, "snapshot", "snapshots"),
        if a.dry_run || a.prune {
            ""
        } else {
            "; run `cairn prune` to reclaim their space"
        }
    ));
    if let Some(p) = &r.prune {
        super::prune::render(ctx, p, a.dry_run);
    }
    Ok(crate::exit::OK)
}
