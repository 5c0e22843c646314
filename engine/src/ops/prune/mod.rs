//! `prune`: reclaim the space of data no snapshot references, safely while
//! backups run. The protocol is normative in `format-spec/v1/gc.md`; in
//! short, two phases separated by the end of every writer that could have
//! seen the old state:
//!
//! * **mark**: compute what the snapshots reference, copy referenced blobs
//!   out of mostly-unused packs (repack), and store a *plan* naming the
//!   packs to delete; then record the locks present (the plan is *armed*).
//!   Writers that start later read the plan and never deduplicate against
//!   its packs.
//! * **sweep**: once every recorded lock has ended, re-read the snapshots,
//!   keep (resurrect) any planned pack a new snapshot still needs, replace
//!   the index files, and delete the rest.
//!
//! When no other process holds a lock, both phases happen in one run;
//! otherwise the sweep is finished by a later prune. Every step is
//! idempotent, so a prune killed at any point leaves a valid repository
//! and the next prune completes the work.

mod mark;
pub(crate) mod reach;
mod report;
mod sweep;
mod view;

pub use mark::{Action, MaxUnused, Selected, Selection};
pub use report::{PendingPlan, PruneReport};
pub use sweep::{Swept, GC_STALE_AFTER};

use crate::error::{ErrorKind, Result};
use crate::format::gc_plan::Plan;
use crate::id::PackId;
use crate::progress::Progress;
use crate::repo::lock::{hostname, LockGuard, LockMode};
use crate::repo::Repository;
use reach::Reachable;
use std::collections::HashSet;

/// Settings for [`prune`].
#[derive(Clone, Debug)]
pub struct PruneOptions {
    /// Unused space allowed to remain (default 5% of used).
    pub max_unused: MaxUnused,
    /// Read at most this many bytes of packs for repacking.
    pub max_repack: Option<u64>,
    /// Only report what would be done.
    pub dry_run: bool,
    /// With `dry_run` only: compute as if these snapshots were already
    /// forgotten (`forget --prune --dry-run`). Ignored otherwise.
    pub assume_forgotten: HashSet<crate::id::SnapshotId>,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            max_unused: MaxUnused::Percent(5.0),
            max_repack: None,
            dry_run: false,
            assume_forgotten: HashSet::new(),
        }
    }
}

/// A temporary file not modified for this long belongs to a dead writer.
pub const STALE_TEMPORARY: std::time::Duration = sweep::GC_STALE_AFTER;

/// Run the GC protocol once. Takes a prune lock unless `dry_run` (which
/// writes nothing at all).
pub fn prune(
    repo: &Repository,
    opts: &PruneOptions,
    progress: &dyn Progress,
) -> Result<PruneReport> {
    match opts.dry_run {
        true => run(repo, None, opts, progress),
        false => {
            let lock = repo.lock(LockMode::Prune)?;
            run(repo, Some(&lock), opts, progress)
        }
    }
    .map(|r| r.for_run(opts))
}

/// [`prune`] for a caller that already holds a prune lock.
pub fn prune_locked(
    repo: &Repository,
    lock: &LockGuard,
    opts: &PruneOptions,
    progress: &dyn Progress,
) -> Result<PruneReport> {
    run(repo, (!opts.dry_run).then_some(lock), opts, progress).map(|r| r.for_run(opts))
}

/// On storage without directories (S3), a deleted `snapshots/` prefix
/// looks exactly like a repository whose snapshots were all forgotten. No
/// snapshot while index files exist is therefore refused there: prune
/// deletes nothing rather than take every pack for garbage.
fn refuse_if_snapshots_vanished(repo: &Repository) -> Result<()> {
    let backend = repo.backend();
    if backend.has_directories() || !backend.list(crate::backend::Kind::Snapshot)?.is_empty() {
        return Ok(());
    }
    let indexes = backend.list(crate::backend::Kind::Index)?.len();
    if indexes == 0 {
        return Ok(());
    }
    Err(crate::Error::corrupt(format!(
        "no snapshot is listed, but {indexes} index file(s) are: on an object store a lost snapshots/ prefix looks like an empty one, so prune deletes nothing. If snapshots were lost, restore snapshots/ from a copy; if every snapshot really was forgotten, delete the repository's prefix to reclaim its space"
    )))
}

fn run(
    repo: &Repository,
    lock: Option<&LockGuard>,
    opts: &PruneOptions,
    progress: &dyn Progress,
) -> Result<PruneReport> {
    let mut report = PruneReport::default();
    let own = lock.map(|l| l.name().to_owned()).unwrap_or_default();
    // Plans are about to exist: the repository's spec must explain them.
    // Taking the lock brought `spec/` up to this writer's copy.
    // Plans: drop unreadable ones (no writer runs while one exists, and no
    // one can delete what it names), arm unarmed ones, split by readiness.
    let (mut plans, bad) = crate::repo::gc::load_all_lenient(&**repo.backend(), repo.sealer())?;
    for (name, e) in bad {
        if e.kind() != ErrorKind::Corrupt {
            return Err(e.context(format!("plan state/{name}")));
        }
        if !opts.dry_run {
            repo.backend().remove(crate::backend::Kind::State, &name)?;
        }
        report.removed_unreadable.push(name);
    }
    if !opts.dry_run {
        for p in plans.iter_mut().filter(|p| p.waiting.is_none()) {
            sweep::arm(repo, p, &own)?;
        }
    }
    let (ready, waiting): (Vec<Plan>, Vec<Plan>) = plans
        .into_iter()
        .partition(|p| sweep::still_waiting(repo, p) == Some(0));
    // References, computed only after readiness was decided.
    let mut reach = Reachable::default();
    if opts.dry_run {
        reach
            .snapshots
            .extend(opts.assume_forgotten.iter().copied());
    }
    reach.scan(repo)?;
    refuse_if_snapshots_vanished(repo)?;
    let pending: HashSet<PackId> = crate::repo::gc::condemned(&waiting);
    if opts.dry_run {
        let mut view = view::View::load(repo)?;
        let doomed = crate::repo::gc::condemned(&ready);
        view.stored.retain(|p, _| !doomed.contains(p));
        report.selection = mark::select(&view, &reach, &pending, opts.max_unused, opts.max_repack)?;
        report.pending = pending_report(repo, ready.iter().chain(&waiting));
        let mut report = finish(report, &reach)?;
        report.snapshots = report
            .snapshots
            .saturating_sub(opts.assume_forgotten.len() as u64);
        return Ok(report);
    }
    let Some(lock) = lock else {
        return Err(crate::Error::internal(
            "prune needs a lock unless it is a dry run",
        ));
    };
    report.swept = sweep::sweep(repo, lock, ready, &pending, &reach, progress)?;
    // Mark.
    let view = view::View::load(repo)?;
    report.selection = mark::select(&view, &reach, &pending, opts.max_unused, opts.max_repack)?;
    let (condemn, warnings) = mark::repack(repo, lock, &view, &report.selection, progress)?;
    report.warnings.extend(warnings);
    report.repacked_bytes = report
        .selection
        .packs
        .iter()
        .filter(|s| s.action == Action::Repack && condemn.contains(&s.pack))
        .map(|s| s.used)
        .sum();
    if let Err(e) = crate::ops::parity::protect(repo, lock, progress) {
        report
            .warnings
            .push(format!("parity for repacked packs: {e}"));
    }
    let mut waiting = waiting;
    if !condemn.is_empty() {
        lock.ensure_fresh()?;
        let mut p = Plan::new(
            condemn,
            crate::format::tree::Timestamp::now().secs,
            hostname(),
        )?;
        crate::repo::gc::store(&p, &**repo.backend(), repo.sealer())?;
        sweep::arm(repo, &mut p, &own)?;
        if sweep::still_waiting(repo, &p) == Some(0) {
            reach.scan(repo)?;
            lock.ensure_fresh()?;
            let s = sweep::sweep(repo, lock, vec![p], &pending, &reach, progress)?;
            report.swept.plans += s.plans;
            report.swept.packs += s.packs;
            report.swept.bytes += s.bytes;
            report.swept.resurrected += s.resurrected;
        } else {
            waiting.push(p);
        }
    }
    report.pending = pending_report(repo, waiting.iter());
    // Temporaries of writes killed long ago; only while no other process
    // holds a lock, so no live writer can own one.
    if !sweep::others_active(repo, &own)? {
        for kind in crate::backend::Kind::ALL {
            report.stale_temporaries_bytes += repo
                .backend()
                .remove_stale_temporaries(kind, STALE_TEMPORARY)?;
        }
    }
    finish(report, &reach)
}

fn pending_report<'a>(
    repo: &Repository,
    plans: impl Iterator<Item = &'a Plan>,
) -> Vec<PendingPlan> {
    plans
        .map(|p| PendingPlan {
            name: p.name.clone(),
            packs: p.packs.len() as u64,
            waiting: sweep::still_waiting(repo, p).unwrap_or(0) as u64,
        })
        .collect()
}

fn finish(mut report: PruneReport, reach: &Reachable) -> Result<PruneReport> {
    report.snapshots = reach.snapshots.len() as u64;
    report.referenced_blobs = reach.blobs.len() as u64;
    Ok(report)
}
