//! In-process tests of the engine's operations: backup, restore, forget,
//! prune, check and scrub called as library functions on the in-memory
//! backend, with no `cairn` binary spawned. They build as one test binary
//! (one link of RocksDB) with a module per concern:
//!
//! * `common`: a fast repository, a synthetic source, reading a restored
//!   directory back, forgetting snapshots;
//! * `roundtrip`: backup → restore, backup → forget → prune → restore;
//! * `damage`: check and scrub name the damage done through the backend;
//! * `crash`: a backend wrapper that fails every mutation after the Nth;
//! * `flaky`: a pack upload that fails once at the commit (no snapshot);
//! * `gc_race`: a backup running across a prune's sweep;
//! * `lag`: prune on storage whose listings show removals late;
//! * `model`: random operation sequences with crashes and reboots, checked
//!   against a model of which snapshots exist and what each holds.

mod common;
mod crash;
mod damage;
mod flaky;
mod gc_race;
mod lag;
mod model;
mod roundtrip;
