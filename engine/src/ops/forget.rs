//! `forget`: remove snapshots by ID or by retention policy
//! ([`crate::ops::retention`]), optionally followed by a prune. Only
//! snapshot files are removed; the data they alone referenced stays until
//! a prune reclaims it.
//!
//! Invariants: a protected snapshot is never removed (given by ID it is an
//! error, and the policy always keeps it); snapshot files are removed under
//! a prune-mode lock, and `--prune` runs under that same lock, so no other
//! prune can interleave.

use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::Timestamp;
use crate::id::SnapshotId;
use crate::ops::prune::{prune, prune_locked, PruneOptions, PruneReport};
use crate::ops::retention::{apply, Candidate, Policy, PROTECTED_TAG};
use crate::progress::Progress;
use crate::repo::lock::LockMode;
use crate::repo::{Repository, SnapshotFilter};
use serde::Serialize;
use std::collections::BTreeMap;

/// Which snapshot fields group snapshots for a policy (restic's
/// `--group-by`); an empty grouping puts all snapshots in one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupBy {
    /// Group by host.
    pub host: bool,
    /// Group by the set of backed-up paths.
    pub paths: bool,
    /// Group by the set of tags.
    pub tags: bool,
}

impl GroupBy {
    /// Parse restic's comma-separated list (`host,paths`; empty = none).
    pub fn parse(spec: &str) -> Result<Self> {
        let mut g = GroupBy::default();
        for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part {
                "host" => g.host = true,
                "paths" => g.paths = true,
                "tags" => g.tags = true,
                bad => {
                    return Err(Error::invalid(format!(
                        "--group-by '{bad}': use host, paths and/or tags"
                    )))
                }
            }
        }
        Ok(g)
    }

    fn key(&self, s: &Snapshot) -> String {
        let mut k = Vec::new();
        if self.host {
            k.push(format!("host={}", s.host));
        }
        if self.paths {
            k.push(format!("paths={}", s.paths.join(":")));
        }
        if self.tags {
            k.push(format!("tags={}", s.tags.join(",")));
        }
        k.join(" ")
    }
}

/// What to forget.
#[derive(Clone, Debug, Default)]
pub struct ForgetOptions {
    /// Snapshots given explicitly (IDs, prefixes or `latest`); when
    /// non-empty the policy is not applied.
    pub snapshots: Vec<String>,
    /// Which snapshots the policy considers.
    pub filter: SnapshotFilter,
    /// How the policy groups them.
    pub group_by: GroupBy,
    /// The retention policy.
    pub policy: Policy,
    /// Only report what would be removed.
    pub dry_run: bool,
    /// Prune afterwards with these options.
    pub prune: Option<PruneOptions>,
}

/// A snapshot the policy keeps, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Kept {
    /// The snapshot.
    pub id: SnapshotId,
    /// Its time.
    pub time: Timestamp,
    /// The rules that keep it.
    pub reasons: Vec<String>,
}

/// One policy group.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// The group key (`host=… paths=…`), empty without grouping.
    pub group: String,
    /// What the policy keeps in it.
    pub keep: Vec<Kept>,
}

/// A snapshot removed (or, dry, to be removed).
#[derive(Clone, Debug, Serialize)]
pub struct Removed {
    /// The snapshot.
    pub id: SnapshotId,
    /// Its time; `None` for a snapshot file that cannot be read (removed
    /// by its full ID, as `check` advises).
    pub time: Option<Timestamp>,
    /// Why it goes (empty: no rule keeps it).
    #[serde(skip)]
    pub reasons: Vec<String>,
}

/// The result of `forget`. Serialized as its `--json` document.
#[derive(Clone, Debug, Serialize)]
pub struct ForgetReport {
    /// Nothing was removed: this is what would be.
    pub dry_run: bool,
    /// The policy's groups (empty when snapshots were given by ID).
    pub groups: Vec<Group>,
    /// Removed snapshots.
    pub remove: Vec<Removed>,
    /// The prune that followed, if asked for.
    pub prune: Option<PruneReport>,
}

/// Is `e` the error of a snapshot file that exists but cannot be read?
fn unreadable(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::UnsupportedVersion)
}

/// Run `forget` (see the module docs).
pub fn forget(
    repo: &Repository,
    opts: &ForgetOptions,
    progress: &dyn Progress,
) -> Result<ForgetReport> {
    if opts.policy.is_empty() && opts.snapshots.is_empty() {
        return Err(Error::invalid(
            "no policy and no snapshot given (zero counts and durations are no policy, as in restic): nothing is removed",
        ));
    }
    let lock = match opts.dry_run {
        true => None,
        false => Some(repo.lock(LockMode::Prune)?),
    };
    let mut report = ForgetReport {
        dry_run: opts.dry_run,
        groups: Vec::new(),
        remove: Vec::new(),
        prune: None,
    };
    if opts.snapshots.is_empty() {
        report.groups = by_policy(repo, opts, &mut report.remove)?;
    } else {
        report.remove = given(repo, &opts.snapshots)?;
    }
    if let Some(lock) = &lock {
        for r in &report.remove {
            repo.remove_snapshot(lock, &r.id)?;
        }
    }
    if let Some(mut popts) = opts.prune.clone() {
        popts.dry_run = opts.dry_run;
        popts.assume_forgotten = report.remove.iter().map(|r| r.id).collect();
        report.prune = Some(match &lock {
            Some(l) => prune_locked(repo, l, &popts, progress)?,
            None => prune(repo, &popts, progress)?,
        });
    }
    Ok(report)
}

/// The snapshots given by ID, refusing protected ones.
fn given(repo: &Repository, specs: &[String]) -> Result<Vec<Removed>> {
    let mut out = Vec::new();
    for spec in specs {
        let (id, s) = match repo.find_snapshot(spec) {
            Ok(found) => found,
            // A damaged snapshot file (what `check` advises to forget)
            // can be removed by its full ID: it restores nothing.
            Err(e) if unreadable(&e) && SnapshotId::from_hex(spec).is_ok() => {
                out.push(Removed {
                    id: SnapshotId::from_hex(spec)?,
                    time: None,
                    reasons: vec![format!("given by its full ID; unreadable: {e}")],
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        if s.tags.iter().any(|t| t == PROTECTED_TAG) {
            return Err(
                Error::invalid(format!("snapshot {} is protected", id.short()))
                    .with_remedy(Remedy::Unprotect),
            );
        }
        out.push(Removed {
            id,
            time: Some(s.time),
            reasons: vec!["given on the command line".into()],
        });
    }
    Ok(out)
}

/// Apply the policy per group; fills `remove` and returns what each group
/// keeps.
fn by_policy(
    repo: &Repository,
    opts: &ForgetOptions,
    remove: &mut Vec<Removed>,
) -> Result<Vec<Group>> {
    let tz = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
    let mut groups: BTreeMap<String, Vec<(SnapshotId, Snapshot)>> = BTreeMap::new();
    for (id, s) in repo.snapshots()? {
        if opts.filter.matches(&s) {
            groups
                .entry(opts.group_by.key(&s))
                .or_default()
                .push((id, s));
        }
    }
    let mut out = Vec::new();
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
        for d in apply(&opts.policy, &cands, &tz) {
            let Some((id, s)) = members.iter().find(|(id, _)| *id == d.id) else {
                continue;
            };
            if d.keep {
                keep.push(Kept {
                    id: *id,
                    time: s.time,
                    reasons: d.reasons,
                });
            } else {
                remove.push(Removed {
                    id: *id,
                    time: Some(s.time),
                    reasons: Vec::new(),
                });
            }
        }
        out.push(Group { group: key, keep });
    }
    Ok(out)
}
