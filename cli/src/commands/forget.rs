//! `cairn forget`: remove snapshots by ID or by retention policy. Only
//! snapshot files are removed; the data they alone referenced stays until
//! a prune reclaims it. Protected snapshots are never removed.

use super::Ctx;
use crate::output::{esc, local_time};
use cairn_engine::ops::forget::{ForgetOptions, GroupBy};
use cairn_engine::ops::retention::{CalendarDuration, Period, Policy};
use cairn_engine::{Error, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct ForgetArgs {
    /// Snapshots to forget explicitly (ID prefixes).
    pub snapshots: Vec<String>,
    /// Keep the N newest.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_last: Option<i64>,
    /// Keep the newest snapshot of each of the N newest hours (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_hourly: Option<i64>,
    /// Keep one per day for the N newest days (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_daily: Option<i64>,
    /// Keep one per ISO week for the N newest weeks (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_weekly: Option<i64>,
    /// Keep one per month for the N newest months (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_monthly: Option<i64>,
    /// Keep one per quarter for the N newest quarters (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_quarterly: Option<i64>,
    /// Keep one per year for the N newest years (-1: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub keep_yearly: Option<i64>,
    /// Keep everything within DURATION of the newest snapshot, as in
    /// restic: units y, m (months), d, h, combined like 1y5m7d2h.
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// Keep one per hour within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_hourly: Option<String>,
    /// Keep one per day within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_daily: Option<String>,
    /// Keep one per week within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_weekly: Option<String>,
    /// Keep one per month within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_monthly: Option<String>,
    /// Keep one per quarter within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_quarterly: Option<String>,
    /// Keep one per year within DURATION of the newest snapshot.
    #[arg(long, value_name = "DURATION")]
    pub keep_within_yearly: Option<String>,
    /// Keep snapshots with this tag (repeatable).
    #[arg(long = "keep-tag", value_name = "TAG")]
    pub keep_tags: Vec<String>,
    /// Apply the policy per group of: host, paths, tags (comma-separated).
    #[arg(long, default_value = "host,paths")]
    pub group_by: String,
    /// Show what would be removed, and why everything else is kept.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filter: crate::args::SnapshotFilter,
    /// Prune right after forgetting (with --dry-run: show what it would do).
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub prune_opts: crate::args::PruneOpts,
}

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

/// The examples `cairn forget --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # See what a policy would remove
  cairn forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run
  # Apply it and reclaim the space
  cairn forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --prune
  # Forget one snapshot by ID prefix
  cairn forget 3fa9c2";
