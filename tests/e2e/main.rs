//! End-to-end tests: the real `cairn` binary on real files with a real
//! RocksDB cache. One test binary; one module per capability.

mod audit;
mod copy;
mod dedup;
mod dump_archive;
mod durability;
mod export;
mod failures;
mod filters;
mod fixtures;
mod gc_stress;
mod golden;
mod golden_output;
mod hostile;
mod keys;
mod locks;
mod mongo;
mod mount;
mod parity;
mod profiles;
mod prune;
mod reading;
mod reference;
mod regression;
mod repair_path;
mod repository;
mod retention;
mod roundtrip;
mod run;
mod s3;
mod spec_tables;
mod stdin_dump;
mod traps;
mod vectors;
