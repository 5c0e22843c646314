//! Prune on storage whose listings show removals late
//! (`Backend::listing_lag`, `format-spec/v1/gc.md`, "A store whose
//! listings lag", item 4): the plan must outlive the index files it made
//! obsolete by at least the lag, so that a writer that no longer lists
//! the plan no longer lists those index files either.

use crate::common::{backup, forget, init_options, scratch_dir, Files, Rng, PASSWORD};
use cairn_engine::backend::{Backend, Kind, MemoryBackend, PendingWrite};
use cairn_engine::ops::prune::{prune, MaxUnused, PruneOptions};
use cairn_engine::{NoProgress, Repository, Result};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LAG: Duration = Duration::from_millis(600);

/// The in-memory backend, claiming a listing lag and timing removals.
struct Lagging {
    inner: MemoryBackend,
    removed: Mutex<Vec<(Kind, Instant)>>,
}

impl Backend for Lagging {
    fn as_dyn(&self) -> &dyn Backend {
        self
    }
    fn location(&self) -> String {
        "lagging memory".into()
    }
    fn listing_lag(&self) -> Duration {
        LAG
    }
    fn begin_write(&self, kind: Kind) -> Result<Box<dyn PendingWrite + '_>> {
        self.inner.begin_write(kind)
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn write(&self, kind: Kind, name: &str, data: &[u8]) -> Result<()> {
        self.inner.write(kind, name, data)
    }
    fn read(&self, kind: Kind, name: &str) -> Result<Vec<u8>> {
        self.inner.read(kind, name)
    }
    fn read_range(&self, kind: Kind, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.inner.read_range(kind, name, offset, len)
    }
    fn size(&self, kind: Kind, name: &str) -> Result<u64> {
        self.inner.size(kind, name)
    }
    fn list(&self, kind: Kind) -> Result<Vec<(String, u64)>> {
        self.inner.list(kind)
    }
    fn remove(&self, kind: Kind, name: &str) -> Result<()> {
        self.removed
            .lock()
            .expect("not poisoned")
            .push((kind, Instant::now()));
        self.inner.remove(kind, name)
    }
}

#[test]
fn prune_keeps_its_plan_for_the_listing_lag_after_removing_index_files() {
    let storage = Arc::new(Lagging {
        inner: MemoryBackend::new(),
        removed: Mutex::new(Vec::new()),
    });
    let cache = scratch_dir();
    let repo = Repository::init(
        storage.clone(),
        PASSWORD,
        &init_options(),
        cache.path().to_path_buf(),
    )
    .expect("init");
    let mut rng = Rng::new(7);
    let files: Files = [("a".to_owned(), rng.bytes(30_000))].into();
    let old = backup(&repo, &files, 1)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    forget(&repo, &[old]).expect("forget");
    storage.removed.lock().expect("not poisoned").clear();
    let opts = PruneOptions {
        max_unused: MaxUnused::Bytes(0),
        ..PruneOptions::default()
    };
    let report = prune(&repo, &opts, &NoProgress).expect("prune");
    assert!(report.swept.packs > 0, "{report:?}");
    let removed = storage.removed.lock().expect("not poisoned");
    let last_index = removed
        .iter()
        .filter(|(k, _)| *k == Kind::Index)
        .map(|(_, t)| *t)
        .max()
        .expect("prune removed index files");
    let plan = removed
        .iter()
        .find(|(k, _)| *k == Kind::State)
        .map(|(_, t)| *t)
        .expect("prune removed its plan");
    assert!(
        plan.duration_since(last_index) >= LAG,
        "the plan went {:?} after the last index file, less than the lag",
        plan.duration_since(last_index)
    );
}
