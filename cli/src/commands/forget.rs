//! `cairn forget`: remove snapshots by ID or by retention policy. Only
//! snapshot files are removed; the data they alone referenced stays until
//! a prune reclaims it. Protected snapshots are never removed.

use super::Ctx;
use crate::args::{ForgetArgs, SnapshotFilter};
use crate::output::{esc, local_time, rfc3339};
use cairn_engine::ops::retention::{
    apply, CalendarDuration, Candidate, Period, Policy, PROTECTED_TAG,
};
use cairn_engine::{Error, ErrorKind, LockMode, Result, Snapshot, SnapshotId};
use serde_json::json;
use std::collections::BTreeMap;

/// Does `s` pass the filter? restic's meaning (see
/// [`cairn_engine::SnapshotFilter`]): any host; all tags of any
/// comma-separated list; every path.
pub fn matches(f: &SnapshotFilter, s: &Snapshot) -> bool {
    f.to_engine().is_ok_and(|f| f.matches(s))
}

/// Is `e` the error of a snapshot file that exists but cannot be read?
fn unreadable(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::UnsupportedVersion)
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

fn policy(a: &ForgetArgs) -> Result<Policy> {
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

fn group_key(by: &[&str], s: &Snapshot) -> String {
    let mut k = Vec::new();
    for b in by {
        match *b {
            "host" => k.push(format!("host={}", s.host)),
            "paths" => k.push(format!("paths={}", s.paths.join(":"))),
            "tags" => k.push(format!("tags={}", s.tags.join(","))),
            _ => {}
        }
    }
    k.join(" ")
}

/// Run `forget`.
pub fn run(ctx: &Ctx, a: &ForgetArgs) -> Result<i32> {
    let by: Vec<&str> = a
        .group_by
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = by
        .iter()
        .find(|b| !matches!(**b, "host" | "paths" | "tags"))
    {
        return Err(Error::invalid(format!(
            "--group-by '{bad}': use host, paths and/or tags"
        )));
    }
    let pol = policy(a)?;
    if pol.is_empty() && a.snapshots.is_empty() {
        return Err(Error::invalid(
            "no policy and no snapshot given (zero counts and durations are no policy, as in restic): nothing is removed",
        ));
    }
    let prune_opts = if a.prune {
        Some(super::prune::options(&a.prune_opts, a.dry_run)?)
    } else {
        None
    };
    let repo = ctx.open()?;
    let lock = if a.dry_run {
        None
    } else {
        Some(repo.lock(LockMode::Prune)?)
    };
    let all = repo.snapshots()?;
    // The record is `None` for a snapshot file that cannot be read.
    let mut remove: Vec<(SnapshotId, Option<Snapshot>, Vec<String>)> = Vec::new();
    let mut report = Vec::new();
    if !a.snapshots.is_empty() {
        for spec in &a.snapshots {
            let (id, s) = match repo.find_snapshot(spec) {
                Ok(found) => found,
                // A damaged snapshot file (what `check` advises to forget)
                // can be removed by its full ID: it restores nothing.
                Err(e) if unreadable(&e) && SnapshotId::from_hex(spec).is_ok() => {
                    let id = SnapshotId::from_hex(spec)?;
                    remove.push((
                        id,
                        None,
                        vec![format!("given by its full ID; unreadable: {e}")],
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if s.tags.iter().any(|t| t == PROTECTED_TAG) {
                return Err(Error::invalid(format!(
                    "snapshot {} is protected; `cairn tag --unprotect` it first",
                    id.short()
                )));
            }
            remove.push((id, Some(s), vec!["given on the command line".into()]));
        }
    } else {
        let tz = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
        let mut groups: BTreeMap<String, Vec<(SnapshotId, Snapshot)>> = BTreeMap::new();
        for (id, s) in all.into_iter().filter(|(_, s)| matches(&a.filter, s)) {
            groups.entry(group_key(&by, &s)).or_default().push((id, s));
        }
        for (key, members) in groups {
            let cands: Vec<Candidate> = members
                .iter()
                .map(|(id, s)| Candidate {
                    id: *id,
                    time: s.time,
                    tags: s.tags.clone(),
                })
                .collect();
            let mut keep = Vec::new();
            for d in apply(&pol, &cands, &tz) {
                let Some((id, s)) = members.iter().find(|(id, _)| *id == d.id) else {
                    continue;
                };
                if d.keep {
                    keep.push(
                        json!({"id": id.to_hex(), "time": rfc3339(s.time), "reasons": d.reasons}),
                    );
                    if !ctx.out.json {
                        crate::outln!(
                            "keep   {} {}  {}  ({})",
                            id.short(),
                            local_time(s.time),
                            esc(&key),
                            esc(&d.reasons.join(", "))
                        );
                    }
                } else {
                    remove.push((*id, Some(s.clone()), Vec::new()));
                }
            }
            report.push(json!({"group": key, "keep": keep}));
        }
    }
    for (id, s, why) in &remove {
        if !ctx.out.json {
            crate::outln!(
                "remove {} {}  {}",
                id.short(),
                s.as_ref()
                    .map_or("(unreadable)".into(), |s| local_time(s.time)),
                if why.is_empty() {
                    "no rule keeps it".to_owned()
                } else {
                    esc(&why.join(", ")).into_owned()
                }
            );
        }
    }
    if !a.dry_run {
        for (id, _, _) in &remove {
            repo.backend()
                .remove(cairn_engine::backend::Kind::Snapshot, &id.to_hex())?;
        }
    }
    let pruned = match prune_opts {
        Some(mut opts) => {
            opts.assume_forgotten = remove.iter().map(|(id, _, _)| *id).collect();
            let progress = ctx.out.progress("prune");
            let result = match &lock {
                Some(l) => cairn_engine::ops::prune::prune_locked(&repo, l, &opts, &progress),
                None => cairn_engine::ops::prune::prune(&repo, &opts, &progress),
            };
            progress.finish();
            Some(result?)
        }
        None => None,
    };
    if ctx.out.json {
        let removed: Vec<_> = remove
            .iter()
            .map(|(id, s, _)| json!({"id": id.to_hex(), "time": s.as_ref().map(|s| rfc3339(s.time))}))
            .collect();
        let prune = pruned
            .as_ref()
            .map(|r| super::prune::report_json(r, a.dry_run));
        crate::output::print_json(
            &json!({"dry_run": a.dry_run, "groups": report, "remove": removed, "prune": prune}),
        );
        return Ok(crate::exit::OK);
    }
    ctx.out.info(&format!(
        "{} {}{}",
        if a.dry_run { "would remove" } else { "removed" },
        crate::output::count(remove.len() as u64, "snapshot", "snapshots"),
        if a.dry_run || a.prune {
            ""
        } else {
            "; run `cairn prune` to reclaim their space"
        }
    ));
    if let Some(r) = &pruned {
        super::prune::render(ctx, r, a.dry_run);
    }
    Ok(crate::exit::OK)
}
