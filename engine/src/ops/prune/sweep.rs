//! The sweep phase: delete the packs of plans whose waiting list has
//! emptied, unless a snapshot still needs them.
//!
//! Order (each step durable before the next; `format-spec/v1/gc.md`):
//!
//! 1. a pack holding a referenced blob with no copy outside every plan is
//!    *resurrected*: dropped from its plan, and the plan is rewritten;
//! 2. parity: surviving members of groups that lose a pack get new groups;
//! 3. index files naming a doomed pack are replaced by ones that do not
//!    (new files stored first, then the old ones removed);
//! 4. the packs are deleted, then the dissolved groups' parity files;
//! 5. the plan is removed last, so an interrupted sweep is finished by the
//!    next prune.

use super::reach::Reachable;
use super::view::View;
use crate::backend::Kind;
use crate::error::{ErrorKind, Result};
use crate::format::gc_plan::Plan;
use crate::id::{BlobId, IndexId, PackId};
use crate::progress::{check_interrupt, Progress};
use crate::repo::lock::{read_lock, LockGuard, STALE_AFTER};
use crate::repo::Repository;
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

/// A lock named in a plan counts as ended only after this long without a
/// refresh (twice the normal staleness, to absorb clock differences).
pub const GC_STALE_AFTER: Duration = Duration::from_secs(2 * STALE_AFTER.as_secs());

/// Index entries per rewritten index file.
const ENTRIES_PER_INDEX: usize = 1 << 20;

/// Has the holder of lock `name` finished (file gone, or stale by the
/// GC rule)? An unreadable lock file counts as live.
fn lock_ended(repo: &Repository, name: &str) -> bool {
    match read_lock(&**repo.backend(), repo.sealer(), name) {
        Err(e) => e.kind() == ErrorKind::NotFound,
        Ok(info) => info.is_stale_after(GC_STALE_AFTER),
    }
}

/// Does any process other than the holder of lock `own` hold a lock?
pub fn others_active(repo: &Repository, own: &str) -> Result<bool> {
    Ok(repo
        .backend()
        .list(Kind::Lock)?
        .into_iter()
        .any(|(n, _)| n != own && !lock_ended(repo, &n)))
}

/// The waiting locks of `plan` that are still held; `None` if the plan is
/// not armed.
pub fn still_waiting(repo: &Repository, plan: &Plan) -> Option<usize> {
    plan.waiting
        .as_ref()
        .map(|w| w.iter().filter(|n| !lock_ended(repo, n)).count())
}

/// Arm `plan`: record every lock present now except `own`. Must run after
/// the plan was stored.
pub fn arm(repo: &Repository, plan: &mut Plan, own: &str) -> Result<()> {
    let mut names: Vec<String> = repo
        .backend()
        .list(Kind::Lock)?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n != own)
        .collect();
    names.sort();
    plan.waiting = Some(names);
    crate::repo::gc::store(plan, &**repo.backend(), repo.sealer())
}

/// What a sweep did.
#[derive(Clone, Debug, Default)]
pub struct Swept {
    /// Plans completed.
    pub plans: u64,
    /// Packs deleted.
    pub packs: u64,
    /// Bytes freed.
    pub bytes: u64,
    /// Packs kept because a snapshot written meanwhile needs them.
    pub resurrected: u64,
}

/// Sweep `plans` (all ready). `pending` are the packs of plans not swept
/// now; `reach` must cover every snapshot listed after the plans became
/// ready. The pruner's `lock` is checked for freshness before every step
/// that deletes or replaces files: a lock that may have been taken over
/// (another pruner may be at work) stops the sweep.
pub fn sweep(
    repo: &Repository,
    lock: &LockGuard,
    mut plans: Vec<Plan>,
    pending: &HashSet<PackId>,
    reach: &Reachable,
    progress: &dyn Progress,
) -> Result<Swept> {
    let mut out = Swept::default();
    if plans.is_empty() {
        return Ok(out);
    }
    let backend = repo.backend();
    let view = View::load(repo)?;
    let doomed: HashSet<PackId> = plans
        .iter()
        .flat_map(|p| p.packs.iter().copied())
        .chain(pending.iter().copied())
        .collect();
    // Referenced blobs with a copy in a pack that no plan condemns.
    let safe: HashSet<BlobId> = view
        .packs
        .iter()
        .filter(|(p, _)| view.stored.contains_key(p) && !doomed.contains(p))
        .flat_map(|(_, b)| b.iter().map(|e| e.id))
        .filter(|id| reach.contains(id))
        .collect();
    // 1. Resurrect.
    for plan in &mut plans {
        let needed: BTreeSet<PackId> = plan
            .packs
            .iter()
            .filter(|p| {
                view.packs.get(p).is_some_and(|blobs| {
                    blobs
                        .iter()
                        .any(|e| reach.contains(&e.id) && !safe.contains(&e.id))
                })
            })
            .copied()
            .collect();
        if !needed.is_empty() {
            out.resurrected += needed.len() as u64;
            plan.packs.retain(|p| !needed.contains(p));
            crate::repo::gc::store(plan, &**backend, repo.sealer())?;
        }
    }
    let gone: HashSet<PackId> = plans.iter().flat_map(|p| p.packs.iter().copied()).collect();
    // 2. Parity for the survivors.
    let (_, dissolved) = crate::ops::parity::protect_except(repo, lock, &gone, progress)?;
    // 3. Index files.
    let mut index_removed = None;
    lock.ensure_fresh()?;
    let replaced = view.affected(&|p| gone.contains(p));
    if !replaced.is_empty() {
        for file in view.rewritten(&|p| gone.contains(p), ENTRIES_PER_INDEX) {
            if file.packs.is_empty() {
                continue;
            }
            let bytes = file.seal(repo.sealer(), repo.config().zstd_level)?;
            let id = IndexId(*blake3::hash(&bytes).as_bytes());
            backend.write(Kind::Index, &id.to_hex(), &bytes)?;
        }
        lock.ensure_fresh()?;
        for old in &replaced {
            backend.remove(Kind::Index, &old.to_hex())?;
        }
        index_removed = Some(std::time::Instant::now());
    }
    // 4. Packs, then parity files of dissolved groups.
    let mut doomed_list: Vec<&PackId> = gone.iter().collect();
    doomed_list.sort();
    for p in doomed_list {
        check_interrupt()?;
        lock.ensure_fresh()?;
        if let Some(size) = view.stored.get(p) {
            progress.file(std::path::Path::new(&p.to_hex()));
            backend.remove(Kind::Data, &p.to_hex())?;
            out.packs += 1;
            out.bytes += size;
        }
    }
    for name in dissolved {
        backend.remove(Kind::Parity, &name)?;
    }
    // 5. The plans, once listings no longer show the removed index files
    //    (gc.md, "A store whose listings lag", item 4): a writer that no
    //    longer lists a plan must not list what it made obsolete either.
    if let Some(at) = index_removed {
        let lag = backend.listing_lag();
        while at.elapsed() < lag {
            check_interrupt()?;
            std::thread::sleep(
                lag.saturating_sub(at.elapsed())
                    .min(std::time::Duration::from_millis(200)),
            );
        }
    }
    for plan in &plans {
        backend.remove(Kind::State, &plan.name)?;
        out.plans += 1;
    }
    Ok(out)
}
