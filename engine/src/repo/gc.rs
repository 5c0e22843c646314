//! The garbage-collection protocol as every writer and reader sees it:
//! loading the GC plans in `state/`, storing one, and the condemned set
//! (the union of their packs). Prune drives the protocol (`ops::prune`);
//! commit, check, scrub and parity only read it.
//!
//! Invariant (normative in `format-spec/v1/gc.md`): a writer that cannot
//! read every plan must not go on, because it would not know which packs
//! may be disappearing.

use crate::backend::{Backend, Kind};
use crate::crypto::Sealer;
use crate::error::{Error, ErrorKind, Remedy, Result};
use crate::format::gc_plan::{Plan, MAX_FILE, PREFIX};
use crate::id::PackId;
use crate::repo::Repository;
use std::collections::HashSet;

/// Compress, seal and store `plan` (atomically replacing an older version).
pub fn store(plan: &Plan, backend: &dyn Backend, sealer: &Sealer) -> Result<()> {
    backend.write(Kind::State, &plan.name, &plan.seal(sealer)?)
}

/// Every plan in the repository, by name. Fails if any plan cannot be
/// read: a writer that does not know every condemned pack must not go on.
pub fn load_all(backend: &dyn Backend, sealer: &Sealer) -> Result<Vec<Plan>> {
    let (plans, bad) = load_all_lenient(backend, sealer)?;
    match bad.into_iter().next() {
        None => Ok(plans),
        Some((name, e)) => Err(Error::new(
            e.kind(),
            format!("garbage-collection plan state/{name} cannot be read ({e})"),
        )
        .with_remedy(Remedy::PruneThenRetry)),
    }
}

/// Plan files that could not be read: (name, why).
pub type Unreadable = Vec<(String, Error)>;

/// Readable plans, and the names of unreadable ones with why.
pub fn load_all_lenient(backend: &dyn Backend, sealer: &Sealer) -> Result<(Vec<Plan>, Unreadable)> {
    let mut names: Vec<String> = backend
        .list(Kind::State)?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with(PREFIX))
        .collect();
    names.sort();
    let (mut plans, mut bad) = (Vec::new(), Vec::new());
    for name in names {
        match backend
            .read_max(Kind::State, &name, MAX_FILE)
            .and_then(|b| Plan::open(sealer, &name, &b))
        {
            Ok(p) => plans.push(p),
            Err(e) if e.kind() == ErrorKind::NotFound => {} // swept meanwhile
            Err(e) => bad.push((name, e)),
        }
    }
    Ok((plans, bad))
}

/// The union of the condemned packs of `plans`.
pub fn condemned(plans: &[Plan]) -> HashSet<PackId> {
    plans.iter().flat_map(|p| p.packs.iter().copied()).collect()
}

/// The packs condemned by readable plans: what a reader must not expect
/// to stay.
pub fn condemned_packs(repo: &Repository) -> Result<HashSet<PackId>> {
    let (plans, _) = load_all_lenient(&**repo.backend(), repo.sealer())?;
    Ok(condemned(&plans))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;
    use crate::compression;
    use crate::crypto::ObjectType;

    #[test]
    fn round_trip_and_truncation() {
        let mut p = Plan::new(
            [PackId([3; 32]), PackId([1; 32])].into_iter().collect(),
            1_700_000_000,
            "h".into(),
        )
        .unwrap();
        let b = MemoryBackend::new();
        let s = Sealer::new(&[7; 32]);
        store(&p, &b, &s).unwrap();
        assert_eq!(load_all(&b, &s).unwrap(), vec![p.clone()]);
        p.waiting = Some(vec!["bb".into(), "aa".into()]);
        store(&p, &b, &s).unwrap();
        let back = load_all(&b, &s).unwrap().remove(0);
        assert_eq!(back.waiting, Some(vec!["aa".into(), "bb".into()]));
        let plain = p.encode();
        for cut in 0..plain.len() {
            assert!(Plan::decode("x", &plain[..cut]).is_err());
        }
        // An unreadable plan stops writers.
        b.write(Kind::State, "gc-00112233445566778899aabbccddee00", b"junk")
            .unwrap();
        assert!(load_all(&b, &s).is_err());
        let bad = load_all_lenient(&b, &s).unwrap().1;
        assert_eq!(bad.len(), 1);
        assert_eq!(
            bad[0].1.kind(),
            ErrorKind::Corrupt,
            "forged: may be removed"
        );
        // Authentic but undecodable (a newer writer's): never "corrupt".
        let newer = s
            .seal(
                ObjectType::GcPlan,
                &[0; 32],
                &compression::compress(b"\xa1av\x02", 0),
            )
            .unwrap();
        b.write(Kind::State, "gc-00112233445566778899aabbccddee00", &newer)
            .unwrap();
        let bad = load_all_lenient(&b, &s).unwrap().1;
        assert_eq!(bad[0].1.kind(), ErrorKind::UnsupportedVersion);
    }
}
