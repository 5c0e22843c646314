//! One `scrub` run as the user asks for it: verify, and with `repair`
//! rebuild what is damaged or missing (from parity, or from a copy of the
//! repository) and verify again. The repair writes under a shared lock:
//! a rebuilt pack is written only if its BLAKE3 equals its name, so it is
//! the same immutable object every reader expects.

use super::{scrub, ScrubOptions, ScrubReport};
use crate::backend::Backend;
use crate::error::Result;
use crate::ops::parity::RepairReport;
use crate::ops::Outcome;
use crate::progress::Progress;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use serde::ser::{Serialize, Serializer};
use std::time::Instant;

/// A scrub run's report: the final verification, and the repair if one
/// was made. Serialized as the `--json` document of `scrub`.
#[derive(Clone, Debug)]
pub struct ScrubRun {
    /// The last verification (after the repair, if any).
    pub report: ScrubReport,
    /// What the repair did, if one was made.
    pub repaired: Option<RepairReport>,
    /// Wall-clock time, seconds.
    pub duration_secs: f64,
}

impl ScrubRun {
    /// Damage found (and, after a repair, still there) or all intact.
    pub fn outcome(&self) -> Outcome {
        crate::ops::Outcome::of_audit(self.report.ok())
    }
}

/// Verify; with `repair`, rebuild damaged and missing packs from `from`
/// (a copy of the repository) or else from parity, then verify again.
pub fn scrub_run(
    repo: &Repository,
    opts: ScrubOptions,
    repair: bool,
    from: Option<&dyn Backend>,
    progress: &dyn Progress,
) -> Result<ScrubRun> {
    let start = Instant::now();
    let mut report = scrub(repo, opts, progress)?;
    let mut repaired = None;
    if repair && !report.ok() {
        let targets: Vec<_> = report
            .damaged
            .iter()
            .map(|d| d.pack)
            .chain(report.missing.iter().copied())
            .collect();
        let rep = {
            let lock = repo.lock(LockMode::Shared)?;
            crate::ops::parity::repair(repo, &lock, &targets, from, progress)?
        };
        report = scrub(repo, opts, progress)?;
        repaired = Some(rep);
    }
    Ok(ScrubRun {
        report,
        repaired,
        duration_secs: start.elapsed().as_secs_f64(),
    })
}

#[derive(serde::Serialize)]
struct Damaged<'a> {
    pack: crate::id::PackId,
    errors: &'a [String],
}

#[derive(serde::Serialize)]
struct Metadata<'a> {
    file: &'a str,
    error: &'a str,
}

#[derive(serde::Serialize)]
struct View<'a> {
    ok: bool,
    packs: u64,
    bytes: u64,
    blobs: u64,
    damaged: Vec<Damaged<'a>>,
    metadata_files: u64,
    damaged_metadata: Vec<Metadata<'a>>,
    missing: &'a [crate::id::PackId],
    unprotected_packs: u64,
    never_verified_packs: u64,
    oldest_verification_age_secs: Option<i64>,
    stopped_early: bool,
    record_saved: bool,
    record_error: &'a Option<String>,
    repaired: Option<&'a [crate::id::PackId]>,
    duration_secs: f64,
}

impl Serialize for ScrubRun {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = &self.report;
        View {
            ok: r.ok(),
            packs: r.packs,
            bytes: r.bytes,
            blobs: r.blobs,
            damaged: r
                .damaged
                .iter()
                .map(|d| Damaged {
                    pack: d.pack,
                    errors: &d.errors,
                })
                .collect(),
            metadata_files: r.metadata_files,
            damaged_metadata: r
                .damaged_metadata
                .iter()
                .map(|(file, error)| Metadata { file, error })
                .collect(),
            missing: &r.missing,
            unprotected_packs: r.unprotected,
            never_verified_packs: r.never_verified,
            oldest_verification_age_secs: r.oldest_verified_age,
            stopped_early: r.stopped_early,
            record_saved: r.record_error.is_none(),
            record_error: &r.record_error,
            repaired: self.repaired.as_ref().map(|x| &x.repaired[..]),
            duration_secs: self.duration_secs,
        }
        .serialize(s)
    }
}
