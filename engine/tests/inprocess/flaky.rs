//! A backend wrapper that fails chosen pack uploads once and counts reads
//! of parity files, for two properties of backups:
//!
//! * a pack that fails to be stored while a backup commits loses the
//!   blobs it held, even if the storage works again a moment later: the
//!   backup must then write no snapshot (packs buffer their last bytes
//!   until they finish, so the failure surfaces at the commit, where a
//!   retry of the index upload once let the snapshot through);
//! * a backup with parity reads the headers of the parity files new since
//!   the last run only, not of every parity file (issue 15, part 4).

use crate::common::{init_options, scratch_dir, Rng, PASSWORD};
use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::{BackupOptions, Error, ErrorKind, NoProgress, Repository, Result};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Fails the next `fail_packs` writes of packs, once each, then passes
/// everything; counts reads of parity files.
struct Flaky {
    disk: Arc<MemoryBackend>,
    fail_packs: AtomicU32,
    parity_reads: AtomicU32,
}

impl Flaky {
    fn new(disk: Arc<MemoryBackend>) -> Self {
        Flaky {
            disk,
            fail_packs: AtomicU32::new(0),
            parity_reads: AtomicU32::new(0),
        }
    }

    fn count(&self, kind: Kind) {
        if kind == Kind::Parity {
            self.parity_reads.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Backend for Flaky {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }
    fn location(&self) -> String {
        format!("flaky {}", self.disk.location())
    }
    fn create(&self) -> Result<()> {
        self.disk.create()
    }
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        let fail = kind == Kind::Data
            && self
                .fail_packs
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if fail {
            return Err(Error::new(
                ErrorKind::Io,
                "injected: one pack upload failed",
            ));
        }
        self.disk.write(kind, name, data)
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        self.count(kind);
        self.disk.read(kind, name)
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.count(kind);
        self.disk.read_range(kind, name, offset, len)
    }
    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        self.disk.size(kind, name)
    }
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        self.disk.list(kind)
    }
    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        self.disk.remove(kind, name)
    }
}

#[test]
fn a_pack_lost_at_commit_means_no_snapshot_even_when_storage_recovers() {
    let disk = Arc::new(MemoryBackend::new());
    let cache = scratch_dir();
    drop(
        Repository::init(disk.clone(), PASSWORD, &init_options(), cache.path().into())
            .expect("init"),
    );
    let flaky = Arc::new(Flaky::new(disk.clone()));
    let repo = Repository::open(flaky.clone(), PASSWORD, cache.path().into()).expect("open");
    // Less than one pack: its only data pack is written by the commit.
    let data = Rng::new(21).bytes(2000);
    flaky.fail_packs.store(1, Ordering::SeqCst);
    let opts = BackupOptions::default();
    let run = cairn_engine::backup_stdin(
        &repo,
        "dump",
        std::io::Cursor::new(data.clone()),
        &opts,
        &NoProgress,
    );
    assert!(
        run.is_err(),
        "a backup whose pack was lost wrote snapshot {:?}",
        run.ok().map(|s| s.snapshot_id)
    );
    assert_eq!(
        flaky.fail_packs.load(Ordering::SeqCst),
        0,
        "the pack upload was attempted"
    );
    assert!(disk.list(Kind::Snapshot).expect("list").is_empty());
    // The storage works again: the next backup stores everything.
    let s = cairn_engine::backup_stdin(
        &repo,
        "dump",
        std::io::Cursor::new(data),
        &opts,
        &NoProgress,
    )
    .expect("backup after recovery");
    assert!(s.snapshot_id.is_some());
    let c = cairn_engine::ops::check::check(&repo, &NoProgress).expect("check");
    assert!(c.ok(), "{:?}", c.errors);
}

#[test]
fn a_backup_with_parity_reads_only_the_new_parity_headers() {
    let disk = Arc::new(MemoryBackend::new());
    let cache = scratch_dir();
    let opts = cairn_engine::InitOptions {
        parity: Some((2, 1)),
        ..init_options()
    };
    drop(Repository::init(disk.clone(), PASSWORD, &opts, cache.path().into()).expect("init"));
    let flaky = Arc::new(Flaky::new(disk.clone()));
    let repo = Repository::open(flaky.clone(), PASSWORD, cache.path().into()).expect("open");
    let parity_files = || disk.list(Kind::Parity).expect("list").len() as u32;
    let mut rng = Rng::new(33);
    let mut backup = |reads_expected: Option<u32>| {
        let before = parity_files();
        flaky.parity_reads.store(0, Ordering::SeqCst);
        let data = rng.bytes(20_000);
        cairn_engine::backup_stdin(
            &repo,
            "dump",
            std::io::Cursor::new(data),
            &BackupOptions::default(),
            &NoProgress,
        )
        .expect("backup");
        let reads = flaky.parity_reads.load(Ordering::SeqCst);
        if let Some(want) = reads_expected {
            assert_eq!(
                reads, want,
                "parity reads with {before} parity files before the backup"
            );
        }
        parity_files() - before
    };
    let first = backup(Some(0));
    assert!(first >= 2, "the first backup made {first} parity files");
    // Each header not seen before costs two reads (its fixed part, then
    // the member list); headers seen once are not read again.
    let second = backup(Some(2 * first));
    assert!(second >= 2);
    backup(Some(2 * second));
}
