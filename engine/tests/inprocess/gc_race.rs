//! The GC protocol (`format-spec/v1/gc.md`) against a backup that runs
//! across a prune's sweep, synchronised by explicit signals, not sleeps.
//!
//! The situation the sequential model test cannot reach: a plan condemns
//! the packs of forgotten data; a backup that starts after the plan was
//! armed stores the same data again; while it runs, a second prune sweeps
//! the plan (the backup's lock is not among those the plan waits for) and
//! deletes those packs. The backup must not have deduplicated against the
//! condemned packs, or its snapshot would reference deleted data: writers
//! never count a blob in a condemned pack as stored.

use crate::common::{backup, forget, listed, restore, Files, MemRepo, Rng, Synthetic};
use cairn_engine::ops::check::check;
use cairn_engine::ops::prune::{prune, MaxUnused, PruneOptions};
use cairn_engine::source::{BuildContext, Sink, Source};
use cairn_engine::{BackupOptions, LockMode, NoProgress, Result, Timestamp, Tree};
use std::sync::mpsc::{channel, Receiver, Sender};

/// A synthetic source that, once every chunk has been offered to the
/// pipeline, says so and waits for permission to finish the snapshot.
struct Gated<'a> {
    inner: Synthetic<'a>,
    chunked: Sender<()>,
    go: Receiver<()>,
}

impl Source for Gated<'_> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn paths(&self) -> Vec<String> {
        self.inner.paths()
    }
    fn build(&mut self, sink: &mut dyn Sink, ctx: &BuildContext<'_>) -> Result<Tree> {
        let tree = self.inner.build(sink, ctx)?;
        self.chunked.send(()).expect("test is waiting");
        self.go.recv().expect("test lets the backup finish");
        Ok(tree)
    }
}

fn full() -> PruneOptions {
    PruneOptions {
        max_unused: MaxUnused::Bytes(0),
        ..PruneOptions::default()
    }
}

#[test]
fn a_backup_running_across_a_sweep_never_relies_on_condemned_packs() {
    let m = MemRepo::new();
    let mut rng = Rng::new(31);
    let files: Files = [
        ("a".to_owned(), rng.bytes(20_000)),
        ("d/b".to_owned(), rng.bytes(9000)),
    ]
    .into();
    let old = backup(&m.repo, &files, 1)
        .expect("backup")
        .snapshot_id
        .expect("stored");
    forget(&m.repo, &[old]).expect("forget");

    // Prune 1 marks the forgotten data while another process holds a
    // lock, so its plan waits instead of sweeping at once.
    let other = m.repo.lock(LockMode::Shared).expect("other lock");
    let first = prune(&m.repo, &full(), &NoProgress).expect("prune 1");
    assert_eq!(first.pending.len(), 1, "{first:?}");
    assert_eq!(first.swept.packs, 0);
    drop(other);

    let (chunked_tx, chunked) = channel();
    let (go, go_rx) = channel();
    let new = std::thread::scope(|s| {
        let running = s.spawn(|| {
            let mut source = Gated {
                inner: Synthetic { files: &files },
                chunked: chunked_tx,
                go: go_rx,
            };
            let opts = BackupOptions {
                host: Some("in-process".into()),
                time: Some(Timestamp { secs: 2, nanos: 0 }),
                ..BackupOptions::default()
            };
            cairn_engine::ops::backup::backup_source(&m.repo, &mut source, &opts, &NoProgress)
        });
        chunked.recv().expect("backup reached the gate");
        // Prune 2 sweeps the first plan: its packs are deleted now.
        let second = prune(&m.repo, &full(), &NoProgress).expect("prune 2");
        assert!(second.swept.packs > 0, "{second:?}");
        go.send(()).expect("backup waits");
        running.join().expect("backup thread").expect("backup")
    });

    let id = new.snapshot_id.expect("stored");
    assert_eq!(listed(&m.repo).expect("list"), [id].into());
    assert_eq!(restore(&m.repo, &id).expect("restore"), files);
    let c = check(&m.repo, &NoProgress).expect("check");
    assert!(c.ok(), "{:?}", c.errors);
    // Once the backup has ended, a prune finishes what waited for it and
    // keeps everything the new snapshot needs.
    let third = prune(&m.repo, &full(), &NoProgress).expect("prune 3");
    assert!(third.pending.is_empty(), "{third:?}");
    assert_eq!(restore(&m.repo, &id).expect("restore"), files);
    assert!(check(&m.repo, &NoProgress).expect("check").ok());
}
