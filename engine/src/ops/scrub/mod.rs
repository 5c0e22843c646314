//! `cairn scrub`: read the repository and verify every byte — each pack's
//! name (BLAKE3 of its bytes), its trailer, and every blob's AEAD tag and
//! keyed BLAKE3 ID; and every index, snapshot and key file (name hash and,
//! for index and snapshot files, AEAD) and the config. `--subset n/m`
//! verifies a deterministic share of the packs (those whose first ID byte
//! is congruent to n−1 modulo m), so m runs cover everything; the small
//! metadata files are verified on every run. Packs are verified in
//! parallel, each in bounded memory (a stripe and one blob), so memory
//! grows with the thread count, never with pack or repository size.

mod run;

pub use run::{scrub_run, ScrubRun};

use crate::backend::Kind;
use crate::error::{Error, Result};
use crate::format::scrub_record::ScrubState;
use crate::id::PackId;
use crate::progress::{check_interrupt, Progress};
use crate::repo::pack::{open_blob, read_trailer};
use crate::repo::Repository;

/// Which packs to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subset {
    /// 1-based part.
    pub n: u32,
    /// Number of parts.
    pub m: u32,
    /// Or: this percentage of the packs, least recently verified first.
    pub percent: Option<u32>,
}

impl Subset {
    /// Everything.
    pub const ALL: Subset = Subset {
        n: 1,
        m: 1,
        percent: None,
    };

    /// Parse `n/m` or `P%`.
    pub fn parse(s: &str) -> Result<Self> {
        if let Some(p) = s.strip_suffix('%') {
            let p: u32 = p
                .parse()
                .ok()
                .filter(|p| (1..=100).contains(p))
                .ok_or_else(|| {
                    Error::invalid(format!("--subset '{s}': a percentage must be 1% to 100%"))
                })?;
            return Ok(Subset {
                n: 1,
                m: 1,
                percent: Some(p),
            });
        }
        let bad = || {
            Error::invalid(format!(
                "--subset '{s}': use n/m with 1 ≤ n ≤ m ≤ 256, or P%"
            ))
        };
        let (n, m) = s.split_once('/').ok_or_else(bad)?;
        let (n, m): (u32, u32) = (n.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if n == 0 || m == 0 || n > m || m > 256 {
            return Err(bad());
        }
        Ok(Subset {
            n,
            m,
            percent: None,
        })
    }

    fn contains(&self, id: &PackId) -> bool {
        if self.percent.is_some() {
            return true;
        }
        u32::from(id.0[0]) % self.m == self.n - 1
    }
}

/// One damaged pack.
#[derive(Clone, Debug)]
pub struct PackError {
    /// The pack.
    pub pack: PackId,
    /// What is wrong.
    pub errors: Vec<String>,
}

/// The outcome of a scrub.
#[derive(Clone, Debug, Default)]
pub struct ScrubReport {
    /// Packs verified.
    pub packs: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Blobs verified.
    pub blobs: u64,
    /// Damaged packs.
    pub damaged: Vec<PackError>,
    /// Metadata files verified (index, snapshot, key files, config).
    pub metadata_files: u64,
    /// Damaged metadata files: (path, what is wrong).
    pub damaged_metadata: Vec<(String, String)>,
    /// Packs named by the index or a parity group but not stored.
    pub missing: Vec<PackId>,
    /// With parity on: stored packs no parity group covers.
    pub unprotected: u64,
    /// Stored packs never verified by any scrub (after this run).
    pub never_verified: u64,
    /// Age in seconds of the oldest verification among the other packs.
    pub oldest_verified_age: Option<i64>,
    /// `--max-duration` ended the run before every selected pack was read.
    pub stopped_early: bool,
    /// Why the record of this run (`state/scrub`) could not be saved
    /// (read-only storage, for instance); `None` when it was.
    pub record_error: Option<String>,
}

/// What to read in one run.
#[derive(Clone, Copy, Debug)]
pub struct ScrubOptions {
    /// Deterministic part, or a percentage of the stalest packs.
    pub subset: Subset,
    /// Only packs not verified for this long (or never).
    pub stale: Option<std::time::Duration>,
    /// Stop starting new packs after this long.
    pub max_duration: Option<std::time::Duration>,
}

impl ScrubReport {
    /// Nothing damaged.
    pub fn ok(&self) -> bool {
        self.damaged.is_empty() && self.damaged_metadata.is_empty() && self.missing.is_empty()
    }
}

fn verify_metadata(repo: &Repository, report: &mut ScrubReport) -> Result<()> {
    use crate::format::index::IndexFile;
    use crate::format::keyfile::KeyFile;
    use crate::id::{IndexId, KeyId, SnapshotId};
    let backend = repo.backend();
    for kind in [Kind::Index, Kind::Snapshot, Kind::Key] {
        for (name, _) in backend.list(kind)? {
            check_interrupt()?;
            report.metadata_files += 1;
            let path = kind.path_of(&name);
            let max = match kind {
                Kind::Index => crate::format::index::MAX_INDEX_FILE,
                Kind::Snapshot => crate::format::snapshot::MAX_SNAPSHOT_FILE,
                _ => crate::format::keyfile::MAX_KEY_FILE,
            };
            let res = backend
                .read_max(kind, &name, max)
                .and_then(|bytes| match kind {
                    Kind::Index => {
                        IndexFile::open(repo.sealer(), &IndexId::from_hex(&name)?, &bytes)
                            .map(|_| ())
                    }
                    Kind::Snapshot => crate::format::snapshot::Snapshot::open(
                        repo.sealer(),
                        &SnapshotId::from_hex(&name)?,
                        &bytes,
                    )
                    .map(|_| ()),
                    _ => {
                        if KeyFile::id(&bytes) != KeyId::from_hex(&name)? {
                            return Err(Error::corrupt("content does not match its name"));
                        }
                        KeyFile::decode(&bytes).map(|_| ())
                    }
                });
            match res {
                // Replaced or forgotten since it was listed (prune, forget).
                Err(e) if e.kind() == crate::ErrorKind::NotFound => report.metadata_files -= 1,
                Err(e) => report.damaged_metadata.push((path, e.message().to_owned())),
                Ok(()) => {}
            }
        }
    }
    for (name, _) in backend.list(Kind::Parity)? {
        check_interrupt()?;
        report.metadata_files += 1;
        if !crate::ops::parity::parity_ok(&**backend, &name)
            && backend.size(Kind::Parity, &name).is_ok()
        {
            report.damaged_metadata.push((
                Kind::Parity.path_of(&name),
                "parity file does not match its checksum".into(),
            ));
        }
    }
    report.metadata_files += 1;
    let config = backend
        .read_max(
            Kind::Root,
            crate::format::config::CONFIG_NAME,
            crate::format::config::MAX_CONFIG_FILE,
        )
        .and_then(|b| crate::repo::Config::open(repo.sealer(), &b));
    if let Err(e) = config {
        report
            .damaged_metadata
            .push(("config".into(), e.message().to_owned()));
    }
    Ok(())
}

/// What reading one pack found.
#[derive(Default)]
struct PackOutcome {
    bytes: u64,
    blobs: u64,
    errors: Vec<String>,
}

/// Verify one pack in a single pass of bounded reads: its BLAKE3 against
/// its name, its trailer, and every blob the trailer lists. Memory holds
/// one stripe plus the blob being verified, whatever the pack's size.
/// Damage is reported in the outcome; only an interruption is an error.
fn verify_pack(repo: &Repository, id: &PackId, progress: &dyn Progress) -> Result<PackOutcome> {
    let mut out = PackOutcome::default();
    let errors = &mut out.errors;
    let backend = repo.backend();
    let name = id.to_hex();
    let size = match backend.size(Kind::Data, &name) {
        Ok(s) => s,
        Err(e) => {
            errors.push(e.to_string());
            return Ok(out);
        }
    };
    let entries = match read_trailer(&**backend, repo.sealer(), id) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(e.message().to_owned());
            Vec::new()
        }
    };
    let mut hasher = blake3::Hasher::new();
    let (mut buf, mut buf_start, mut next, mut off) = (Vec::new(), 0u64, 0usize, 0u64);
    while off < size {
        check_interrupt()?;
        let len = crate::ops::parity::STRIPE.min(size - off);
        let piece = match backend.read_range(Kind::Data, &name, off, len) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e.to_string());
                return Ok(out);
            }
        };
        hasher.update(&piece);
        out.bytes += len;
        progress.bytes(len);
        buf.extend_from_slice(&piece);
        off += len;
        // Entries are sorted and disjoint (read_trailer checks): verify
        // each as soon as its bytes are in, then drop what lies before
        // the next one.
        while let Some(e) = entries.get(next) {
            let end = e.offset + u64::from(e.sealed_len);
            if end > off {
                break;
            }
            let from = usize::try_from(e.offset - buf_start).unwrap_or(usize::MAX);
            let res = match buf.get(from..from.saturating_add(e.sealed_len as usize)) {
                Some(sealed) => open_blob(repo.keys(), repo.sealer(), e, sealed).map(|_| ()),
                None => Err(Error::corrupt("blob lies outside the pack")),
            };
            out.blobs += 1;
            if let Err(err) = res {
                errors.push(format!("blob {}: {}", e.id.to_hex(), err.message()));
            }
            next += 1;
        }
        let keep_from = entries.get(next).map_or(off, |e| e.offset.min(off));
        let drop = usize::try_from(keep_from.saturating_sub(buf_start)).unwrap_or(0);
        buf.drain(..drop.min(buf.len()));
        buf_start = keep_from.max(buf_start);
    }
    if hasher.finalize().as_bytes() != &id.0 {
        errors.push("content does not match the pack's name (BLAKE3)".into());
    }
    Ok(out)
}

/// Verify `packs` in parallel: one pack per thread (or as many as the
/// storage wants in flight), each in bounded memory. Packs are *started*
/// strictly in the given order (stalest first), so a deadline skips the
/// freshest; no pack is started after `max_duration`. Outcomes come back
/// sorted by position; positions missing were not started. An interruption
/// ends every worker at its next pack.
fn verify_in_order(
    repo: &Repository,
    packs: &[(PackId, u64)],
    started: std::time::Instant,
    max_duration: Option<std::time::Duration>,
    progress: &dyn Progress,
) -> Vec<(usize, Result<PackOutcome>)> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<PackOutcome>)> = crate::ops::io_bound(repo, || {
        (0..rayon::current_num_threads().max(1))
            .into_par_iter()
            .flat_map_iter(|_| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((id, _)) = packs.get(i) else { break };
                    if max_duration.is_some_and(|d| started.elapsed() >= d) {
                        break;
                    }
                    progress.file(std::path::Path::new(&id.to_hex()));
                    let outcome = check_interrupt().and_then(|()| verify_pack(repo, id, progress));
                    let stop = outcome.is_err();
                    mine.push((i, outcome));
                    if stop {
                        break;
                    }
                }
                mine
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done
}

fn packs_all(repo: &Repository) -> Result<std::collections::HashSet<PackId>> {
    Ok(repo
        .backend()
        .list(Kind::Data)?
        .into_iter()
        .filter_map(|(n, _)| PackId::from_hex(&n).ok())
        .collect())
}

/// Verify the selected packs, least recently verified first, and record
/// each intact pack's verification time in `state/scrub`.
pub fn scrub(
    repo: &Repository,
    opts: ScrubOptions,
    progress: &dyn Progress,
) -> Result<ScrubReport> {
    let started = std::time::Instant::now();
    let now = crate::format::tree::Timestamp::now().secs;
    let backend = repo.backend();
    let _lock = repo.audit_lock()?;
    // Packs that a prune has condemned may disappear at any moment: they
    // are neither verified nor reported missing (never rebuilt).
    let condemned = crate::repo::gc::condemned_packs(repo)?;
    let state = crate::repo::scrub_state::load(repo);
    let last = |id: &PackId| state.verified.get(id).copied();
    let subset = opts.subset;
    let mut packs: Vec<(PackId, u64)> = backend
        .list(Kind::Data)?
        .into_iter()
        .filter_map(|(n, size)| PackId::from_hex(&n).ok().map(|id| (id, size)))
        .filter(|(id, _)| !condemned.contains(id))
        .filter(|(id, _)| subset.percent.is_some() || subset.contains(id))
        .filter(|(id, _)| match (opts.stale, last(id)) {
            (Some(age), Some(t)) => now.saturating_sub(t) >= age.as_secs() as i64,
            _ => true,
        })
        .collect();
    packs.sort_by_key(|(id, _)| (last(id).unwrap_or(i64::MIN), *id));
    if let Some(p) = subset.percent {
        let take = (packs.len() * p as usize).div_ceil(100);
        packs.truncate(take);
    }
    let mut fresh = ScrubState::default();
    let mut report = ScrubReport::default();
    verify_metadata(repo, &mut report)?;
    // What should exist (parity members, indexed packs) is read before
    // what does: a backup storing a pack and its index meanwhile is then
    // never mistaken for a missing pack.
    let groups = crate::ops::parity::groups(&**backend)?;
    let covered: std::collections::BTreeSet<PackId> = groups
        .values()
        .flat_map(|(g, _)| g.packs.iter().map(|p| p.0))
        .collect();
    let mut expected = covered.clone();
    for (name, _) in backend.list(Kind::Index)? {
        let Ok(id) = crate::id::IndexId::from_hex(&name) else {
            continue;
        };
        if let Ok(f) = backend
            .read_max(Kind::Index, &name, crate::format::index::MAX_INDEX_FILE)
            .and_then(|b| crate::format::index::IndexFile::open(repo.sealer(), &id, &b))
        {
            expected.extend(f.packs.iter().map(|p| p.pack));
        }
    }
    let stored: std::collections::HashSet<PackId> = packs_all(repo)?;
    if repo.config().parity.is_some() {
        report.unprotected = stored
            .iter()
            .filter(|p| !covered.contains(p) && !condemned.contains(p))
            .count() as u64;
    }
    report.missing = expected
        .into_iter()
        .filter(|p| !stored.contains(p) && !condemned.contains(p) && subset.contains(p))
        .collect();
    for (i, outcome) in verify_in_order(repo, &packs, started, opts.max_duration, progress) {
        let PackOutcome {
            bytes,
            blobs,
            errors,
        } = outcome?;
        let id = packs[i].0;
        report.bytes += bytes;
        report.blobs += blobs;
        report.packs += 1;
        if errors.is_empty() {
            fresh
                .verified
                .insert(id, crate::format::tree::Timestamp::now().secs);
        } else {
            report.damaged.push(PackError { pack: id, errors });
        }
    }
    report.stopped_early = report.packs < packs.len() as u64;
    // Record what was verified. A read-only medium keeps no record: the
    // report says so (the CLI warns), the verification itself stands.
    if let Err(e) = crate::repo::scrub_state::save(&fresh, repo, &stored) {
        report.record_error = Some(e.to_string());
    }
    let merged = crate::repo::scrub_state::load(repo);
    report.never_verified = stored
        .iter()
        .filter(|p| !merged.verified.contains_key(p))
        .count() as u64;
    report.oldest_verified_age = stored
        .iter()
        .filter_map(|p| merged.verified.get(p))
        .min()
        .map(|t| now.saturating_sub(*t).max(0));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_partition() {
        let parts: Vec<Subset> = (1..=3)
            .map(|n| Subset::parse(&format!("{n}/3")).unwrap())
            .collect();
        for b in 0..=255u8 {
            let id = PackId([b; 32]);
            assert_eq!(parts.iter().filter(|s| s.contains(&id)).count(), 1);
        }
        assert!(Subset::parse("0/3").is_err());
        assert!(Subset::parse("4/3").is_err());
        assert!(Subset::parse("x").is_err());
    }
}
