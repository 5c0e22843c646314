//! The world of one model case: the storage that survives crashes, the
//! crash-injecting backend and open repository that do not, the model of
//! which snapshots exist with their files, and one method per step. Each
//! step states what a crash in the middle of it may leave (see the parent
//! module) and updates the model to what the repository must now hold.

use crate::common::{self, listed, open, restore, Files, Rng};
use crate::crash::{CrashBackend, Fatal};
use cairn_engine::backend::{Backend, Kind, MemoryBackend};
use cairn_engine::ops::check::check;
use cairn_engine::ops::prune::{prune, MaxUnused, PruneOptions};
use cairn_engine::ops::scrub::{scrub, ScrubOptions, Subset};
use cairn_engine::{NoProgress, Repository, Result, SnapshotId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

const SCRUB_ALL: ScrubOptions = ScrubOptions {
    subset: Subset::ALL,
    stale: None,
    max_duration: None,
};

/// The repository under test, and what it must hold.
pub struct World<'l> {
    disk: Arc<MemoryBackend>,
    backend: Arc<CrashBackend>,
    cache: tempfile::TempDir,
    repo: Option<Repository>,
    /// The model: every snapshot that must exist, with its files, in the
    /// order they were made (not by ID: IDs hash random nonces, and random
    /// picks must not depend on them).
    model: Vec<(SnapshotId, Files)>,
    rng: Rng,
    /// Shared blocks, so files share chunks across snapshots.
    pool: Vec<Vec<u8>>,
    clock: i64,
    log: &'l Mutex<Vec<String>>,
    /// How often each kind of event happened, so the test can show that
    /// it reached every situation it claims to check.
    pub seen: BTreeMap<&'static str, u64>,
}

impl<'l> World<'l> {
    /// A new repository whose key, and so whose chunk boundaries, follow
    /// from `seed`, opened through a disarmed crash backend.
    pub fn new(seed: u64, log: &'l Mutex<Vec<String>>) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let disk = Arc::new(MemoryBackend::new());
        let master: [u8; 32] = rng.bytes(32).try_into().expect("32 bytes");
        let parity = rng.chance(50).then_some((2, 1));
        common::init_with_key(&disk, master, parity)?;
        let pool = (0..6)
            .map(|_| {
                let len = 1000 + rng.below(7000) as usize;
                rng.bytes(len)
            })
            .collect();
        let mut w = World {
            backend: Arc::new(CrashBackend::new(disk.clone())),
            disk,
            cache: common::scratch_dir(),
            repo: None,
            model: Vec::new(),
            rng,
            pool,
            clock: 0,
            log,
            seen: BTreeMap::new(),
        };
        if parity.is_some() {
            w.saw("case with parity");
        }
        w.reboot(false, false);
        Ok(w)
    }

    /// One step, chosen at random: backup, forget, prune or a reboot.
    pub fn random_step(&mut self) {
        match self.rng.below(10) {
            0..=3 => self.step_backup(),
            4..=5 => self.step_forget(),
            6..=8 => self.step_prune(),
            _ => {
                let wipe = self.rng.chance(50);
                self.reboot(wipe, false);
            }
        }
    }

    fn repo(&self) -> &Repository {
        self.repo.as_ref().expect("repository open")
    }

    fn note(&self, line: String) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }

    fn saw(&mut self, event: &'static str) {
        *self.seen.entry(event).or_default() += 1;
    }

    /// Maybe arm a crash for the next operation, after 0 to 15 storage
    /// mutations: about as many as one backup or prune of these sizes
    /// makes (an operation that needs fewer simply succeeds).
    fn maybe_arm(&mut self) -> Option<(u64, Fatal)> {
        if !self.rng.chance(50) {
            return None;
        }
        let n = self.rng.below(16);
        let fatal = if self.rng.chance(50) {
            Fatal::Before
        } else {
            Fatal::After
        };
        self.backend.arm(n, fatal);
        Some((n, fatal))
    }

    /// After an operation: reboot if the process died, else disarm.
    fn settle(&mut self, armed: Option<(u64, Fatal)>) -> bool {
        if self.backend.crashed() {
            self.note(format!("  crashed at {armed:?}"));
            self.saw(match armed.map(|a| a.1) {
                Some(Fatal::After) => "crash after applying",
                _ => "crash before applying",
            });
            let wipe = self.rng.chance(50);
            self.reboot(wipe, true);
            true
        } else {
            self.backend.disarm();
            false
        }
    }

    /// Drop everything in memory and reopen from the same storage.
    fn reboot(&mut self, wipe_cache: bool, crashed: bool) {
        self.note(format!("  reboot (wipe cache: {wipe_cache})"));
        self.repo = None;
        let locks = self.disk.list(Kind::Lock).expect("list locks");
        assert!(
            crashed || locks.is_empty(),
            "a process that did not crash left locks: {locks:?}"
        );
        for (name, _) in locks {
            self.disk.remove(Kind::Lock, &name).expect("unlock");
        }
        self.saw(if wipe_cache {
            "reboot, cache wiped"
        } else {
            "reboot, cache kept"
        });
        if wipe_cache {
            self.cache = common::scratch_dir();
        }
        self.backend = Arc::new(CrashBackend::new(self.disk.clone()));
        self.repo = Some(open(self.backend.clone(), self.cache.path()).expect("reopen"));
    }

    /// Random files: fresh bytes, blocks of the shared pool (with a small
    /// private tail), or a file of an existing snapshot.
    fn files(&mut self) -> Files {
        const NAMES: [&str; 8] = ["a", "b", "c", "d0/a", "d0/b", "d1/a", "d1/b", "d1/c"];
        let mut files = Files::new();
        for _ in 0..1 + self.rng.below(5) {
            let name = NAMES[self.rng.below(NAMES.len() as u64) as usize];
            let content = match self.rng.below(10) {
                0 => Vec::new(),
                1..=3 => {
                    let len = self.rng.below(20_000) as usize;
                    self.rng.bytes(len)
                }
                4..=7 => {
                    let mut v = Vec::new();
                    for _ in 0..1 + self.rng.below(3) {
                        let i = self.rng.below(self.pool.len() as u64) as usize;
                        v.extend_from_slice(&self.pool[i]);
                    }
                    let tail = self.rng.below(300) as usize;
                    v.extend(self.rng.bytes(tail));
                    v
                }
                _ => match self.pick_snapshots(1).first() {
                    Some(id) => {
                        let n = self.files_of(id).len() as u64;
                        let k = self.rng.below(n) as usize;
                        let old = self.files_of(id).values().nth(k);
                        old.cloned().unwrap_or_default()
                    }
                    None => self.rng.bytes(5000),
                },
            };
            files.insert(name.to_owned(), content);
        }
        files
    }

    fn has(&self, id: &SnapshotId) -> bool {
        self.model.iter().any(|(m, _)| m == id)
    }

    fn files_of(&self, id: &SnapshotId) -> &Files {
        &self
            .model
            .iter()
            .find(|(m, _)| m == id)
            .expect("in the model")
            .1
    }

    /// Up to `n` distinct snapshots of the model, in random order.
    fn pick_snapshots(&mut self, n: usize) -> Vec<SnapshotId> {
        let mut ids: Vec<SnapshotId> = self.model.iter().map(|(id, _)| *id).collect();
        let mut out = Vec::new();
        while out.len() < n && !ids.is_empty() {
            out.push(ids.swap_remove(self.rng.below(ids.len() as u64) as usize));
        }
        out
    }

    fn step_backup(&mut self) {
        let files = self.files();
        self.clock += 1;
        let armed = self.maybe_arm();
        self.note(format!(
            "backup {:?} (crash {armed:?})",
            files.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()
        ));
        let result = common::backup(self.repo(), &files, self.clock);
        let crashed = self.settle(armed);
        match result {
            Ok(s) => {
                self.note(format!("  -> {}", s.snapshot_id.expect("stored").short()));
                self.saw("backup");
                assert!(!self.has(&s.snapshot_id.expect("stored")));
                self.model.push((s.snapshot_id.expect("stored"), files));
            }
            Err(e) => {
                assert!(crashed, "backup failed without a crash: {e}");
                self.saw("backup crashed");
                let new: Vec<SnapshotId> = listed(self.repo())
                    .expect("list")
                    .into_iter()
                    .filter(|id| !self.has(id))
                    .collect();
                if let Some(id) = new.first() {
                    assert_eq!(new.len(), 1, "a failed backup wrote {new:?}");
                    assert_eq!(
                        armed.map(|a| a.1),
                        Some(Fatal::After),
                        "a failed backup left snapshot {id:?} though its write failed"
                    );
                    self.note(format!("  snapshot {} stored as it died", id.short()));
                    self.saw("backup crashed after storing its snapshot");
                    self.model.push((*id, files));
                }
            }
        }
    }

    fn step_forget(&mut self) {
        let n = 1 + self.rng.below(2) as usize;
        let ids = self.pick_snapshots(n);
        let armed = self.maybe_arm();
        self.note(format!(
            "forget {:?} (crash {armed:?})",
            ids.iter().map(|i| i.short()).collect::<Vec<_>>()
        ));
        let result = common::forget(self.repo(), &ids);
        let crashed = self.settle(armed);
        if let Err(e) = &result {
            assert!(crashed, "forget failed without a crash: {e}");
            self.saw("forget crashed");
        }
        // Any of the given snapshots may be gone after a crash (in no
        // particular order); `verify` then checks that nothing else is.
        let present = listed(self.repo()).expect("list");
        let gone: Vec<SnapshotId> = ids
            .iter()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        assert!(result.is_err() || gone == ids, "forget succeeded");
        if result.is_err() && !gone.is_empty() {
            self.saw("forget crashed after removing some");
        }
        self.model.retain(|(id, _)| !gone.contains(id));
    }

    fn step_prune(&mut self) {
        let max_unused = match self.rng.below(3) {
            0 => MaxUnused::Bytes(0),
            1 => MaxUnused::Percent(5.0),
            _ => MaxUnused::Unlimited,
        };
        let armed = self.maybe_arm();
        self.note(format!("prune {max_unused:?} (crash {armed:?})"));
        let opts = PruneOptions {
            max_unused,
            ..PruneOptions::default()
        };
        let result = prune(self.repo(), &opts, &NoProgress);
        let crashed = self.settle(armed);
        match result {
            Ok(r) => {
                assert!(r.pending.is_empty(), "no other lock: {:?}", r.pending);
                self.note(format!("  -> swept {} packs", r.swept.packs));
                self.saw(if r.swept.packs > 0 {
                    "prune deleted packs"
                } else {
                    "prune deleted nothing"
                });
            }
            Err(e) => {
                assert!(crashed, "prune failed without a crash: {e}");
                self.saw("prune crashed");
                let plans = self.disk.list(Kind::State).expect("list state");
                if plans.iter().any(|(n, _)| n.starts_with("gc-")) {
                    self.saw("prune crashed leaving a plan");
                }
            }
        }
    }

    /// The invariants that hold after every step.
    pub fn verify(&self) {
        let repo = self.repo();
        let listed = listed(repo).expect("list snapshots");
        let want: BTreeSet<SnapshotId> = self.model.iter().map(|(id, _)| *id).collect();
        assert_eq!(listed, want, "snapshots listed");
        for (id, files) in &self.model {
            let got = restore(repo, id).unwrap_or_else(|e| panic!("restore {id:?}: {e}"));
            assert!(
                &got == files,
                "snapshot {} restores to other files",
                id.short()
            );
        }
        let report = check(repo, &NoProgress).expect("check runs");
        assert!(report.ok(), "check: {:?}", report.errors);
        let scrubbed = scrub(repo, SCRUB_ALL, &NoProgress).expect("scrub runs");
        assert!(scrubbed.ok(), "scrub: {scrubbed:?}");
    }

    /// The final sweep: with no crash pending, a full prune leaves nothing
    /// unused, and a second one finds nothing to do.
    pub fn finish(&mut self) {
        self.note("final prune".into());
        let opts = PruneOptions {
            max_unused: MaxUnused::Bytes(0),
            ..PruneOptions::default()
        };
        prune(self.repo(), &opts, &NoProgress).expect("final prune");
        self.verify();
        let again = prune(self.repo(), &opts, &NoProgress).expect("second prune");
        assert!(again.packs().is_empty(), "left over: {:?}", again.packs());
        assert_eq!(again.unused_bytes(), (0, 0));
        // Prune protects what it writes: with parity on, every pack is in
        // a group again, whatever crashes left unprotected.
        let scrubbed = scrub(self.repo(), SCRUB_ALL, &NoProgress).expect("scrub");
        assert_eq!(scrubbed.unprotected, 0, "{scrubbed:?}");
    }
}
