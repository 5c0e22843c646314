//! A pack that fails to be stored while a backup commits loses the blobs
//! it held, even if the storage works again a moment later: the backup
//! must then write no snapshot (issue 15's review: packs buffer their last
//! bytes until they finish, so the failure surfaces at the commit, where
//! a retry of the index upload once let the snapshot through).

use crate::common::{init_options, scratch_dir, Rng, PASSWORD};
use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::{BackupOptions, Error, ErrorKind, NoProgress, Repository, Result};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Fails the next `n` writes of packs, once each, then passes everything.
struct Flaky {
    disk: Arc<MemoryBackend>,
    fail_packs: AtomicU32,
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
        self.disk.read(kind, name)
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
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
    let flaky = Arc::new(Flaky {
        disk: disk.clone(),
        fail_packs: AtomicU32::new(0),
    });
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
