//! Check and scrub on a repository damaged through its storage: a flipped
//! byte in a pack, a deleted pack, a truncated index file. Each report must
//! name exactly the damaged file, the undamaged snapshot must still restore
//! byte for byte, and a restore that needs damaged data must fail rather
//! than return wrong bytes.
//!
//! The damage is confined: snapshot `clean` is backed up first, `hit`
//! second with unrelated content, and only packs that `hit` added are
//! touched.

use crate::common::{self, backup, open, restore, Files, MemRepo};
use cairn_engine::backend::{Backend, Kind};
use cairn_engine::ops::check::{check, CheckReport};
use cairn_engine::ops::scrub::{scrub, ScrubOptions, ScrubReport, Subset};
use cairn_engine::{NoProgress, SnapshotId};
use std::collections::BTreeSet;

struct Damaged {
    m: MemRepo,
    clean: (SnapshotId, Files),
    hit: (SnapshotId, Files),
    /// Packs only `hit` uses, sorted.
    hit_packs: Vec<String>,
}

fn pack_names(m: &MemRepo) -> BTreeSet<String> {
    m.storage
        .list(Kind::Data)
        .expect("list")
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

fn two_snapshots() -> Damaged {
    let m = MemRepo::new();
    let mut rng = common::Rng::new(21);
    let clean: Files = [
        ("a".to_owned(), rng.bytes(12_000)),
        ("d/b".to_owned(), rng.bytes(3000)),
    ]
    .into();
    let hit: Files = [
        ("x".to_owned(), rng.bytes(12_000)),
        ("d/y".to_owned(), rng.bytes(3000)),
    ]
    .into();
    let clean_id = backup(&m.repo, &clean, 1)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let before = pack_names(&m);
    let hit_id = backup(&m.repo, &hit, 2)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    let hit_packs: Vec<String> = pack_names(&m).difference(&before).cloned().collect();
    assert!(hit_packs.len() >= 2, "{hit_packs:?}");
    Damaged {
        m,
        clean: (clean_id, clean),
        hit: (hit_id, hit),
        hit_packs,
    }
}

fn scrub_all(m: &MemRepo) -> ScrubReport {
    let opts = ScrubOptions {
        subset: Subset::ALL,
        stale: None,
        max_duration: None,
    };
    scrub(&m.repo, opts, &NoProgress).expect("scrub runs")
}

fn check_all(m: &MemRepo) -> CheckReport {
    check(&m.repo, &NoProgress).expect("check runs")
}

fn flip(m: &MemRepo, kind: Kind, name: &str, offset_from_end: Option<usize>, offset: usize) {
    let mut bytes = m.storage.read(kind, name).expect("read");
    let at = match offset_from_end {
        Some(back) => bytes.len() - back,
        None => offset,
    };
    bytes[at] ^= 0x40;
    m.storage.write(kind, name, &bytes).expect("write");
}

/// The damaged packs a scrub names, as hex.
fn scrub_damaged(r: &ScrubReport) -> BTreeSet<String> {
    r.damaged.iter().map(|d| d.pack.to_hex()).collect()
}

#[test]
fn a_flipped_byte_in_a_pack_is_named_by_scrub_and_check() {
    let d = two_snapshots();
    let (in_blob, in_footer) = (&d.hit_packs[0], &d.hit_packs[1]);
    // A byte of the first blob (just after the 8-byte header): only a
    // scrub, which reads content, can see it.
    flip(&d.m, Kind::Data, in_blob, None, 8 + 3);
    // The last byte (footer magic): the trailer cannot be found.
    flip(&d.m, Kind::Data, in_footer, Some(1), 0);

    let s = scrub_all(&d.m);
    assert!(!s.ok());
    assert_eq!(
        scrub_damaged(&s),
        BTreeSet::from([in_blob.clone(), in_footer.clone()])
    );
    assert!(
        s.missing.is_empty() && s.damaged_metadata.is_empty(),
        "{s:?}"
    );

    // Check reads trailers, not content: it must see the footer damage.
    // It sees the other only if that pack holds a tree it walks (packs are
    // named by their hash, so which one is which differs from run to run);
    // either way every error names a damaged pack.
    let c = check_all(&d.m);
    assert!(
        c.errors
            .iter()
            .any(|e| e.problem.contains(in_footer.as_str())),
        "{:?}",
        c.errors
    );
    assert!(
        c.errors
            .iter()
            .all(|e| e.problem.contains(in_footer.as_str()) || e.problem.contains(in_blob.as_str())),
        "{:?}",
        c.errors
    );

    assert!(
        restore(&d.m.repo, &d.hit.0).is_err(),
        "a restore needing damaged data must fail, not return other bytes"
    );
    assert_eq!(restore(&d.m.repo, &d.clean.0).expect("restore"), d.clean.1);
}

#[test]
fn a_deleted_pack_is_named_missing() {
    let d = two_snapshots();
    let gone = &d.hit_packs[0];
    d.m.storage.remove(Kind::Data, gone).expect("remove");

    let s = scrub_all(&d.m);
    let missing: Vec<String> = s.missing.iter().map(|p| p.to_hex()).collect();
    assert_eq!(missing, vec![gone.clone()], "{s:?}");
    assert!(s.damaged.is_empty(), "{s:?}");

    let c = check_all(&d.m);
    assert!(
        c.errors
            .iter()
            .any(|e| e.problem.contains(gone.as_str()) && e.problem.contains("missing")),
        "{:?}",
        c.errors
    );
    assert!(restore(&d.m.repo, &d.hit.0).is_err());
    assert_eq!(restore(&d.m.repo, &d.clean.0).expect("restore"), d.clean.1);
}

/// A truncated index file is named by scrub and reported by check; the
/// data it listed stays readable through the pack trailers, even from a
/// fresh index cache.
#[test]
fn a_truncated_index_file_is_named_and_its_data_stays_readable() {
    let d = two_snapshots();
    let indexes = d.m.files(Kind::Index);
    assert_eq!(indexes.len(), 2, "one index file per backup");
    let (name, bytes) = &indexes[1];
    d.m.storage
        .write(Kind::Index, name, &bytes[..bytes.len() / 2])
        .expect("truncate");

    let s = scrub_all(&d.m);
    let named: Vec<&str> = s.damaged_metadata.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(named, vec![format!("index/{name}").as_str()], "{s:?}");
    assert!(s.damaged.is_empty() && s.missing.is_empty(), "{s:?}");

    let c = check_all(&d.m);
    assert_eq!(
        c.index_files, 1,
        "the truncated file is not counted as read"
    );
    assert!(
        c.errors
            .iter()
            .any(|e| e.remedy == Some(cairn_engine::Remedy::RepairIndex)),
        "{:?}",
        c.errors
    );

    let fresh_cache = common::scratch_dir();
    let repo = open(d.m.storage.clone(), fresh_cache.path()).expect("open");
    let clean = restore(&repo, &d.clean.0).expect("restore clean");
    assert_eq!(clean, d.clean.1);
    let hit = restore(&repo, &d.hit.0).expect("the truncated index's data is in trailers");
    assert_eq!(hit, d.hit.1);
    assert!(
        repo.warnings().iter().any(|w| w.contains(name.as_str())),
        "{:?}",
        repo.warnings()
    );
}

/// `--max-duration` already spent: no pack is started, the report says
/// the run stopped early, and nothing is called damaged; a run without a
/// deadline then reads every pack (in parallel) and does not.
#[test]
fn scrub_past_its_deadline_starts_no_pack_and_says_so() {
    let d = two_snapshots();
    let stored = pack_names(&d.m).len() as u64;
    let opts = |max_duration| ScrubOptions {
        subset: Subset::ALL,
        stale: None,
        max_duration,
    };
    let spent = scrub(
        &d.m.repo,
        opts(Some(std::time::Duration::ZERO)),
        &NoProgress,
    )
    .expect("scrub runs");
    assert_eq!((spent.packs, spent.stopped_early), (0, true));
    assert!(spent.ok(), "{:?}", spent.damaged);
    let full = scrub(&d.m.repo, opts(None), &NoProgress).expect("scrub runs");
    assert_eq!((full.packs, full.stopped_early), (stored, false));
    assert!(full.ok() && full.never_verified == 0, "{full:?}");
}
