//! Benchmarks for Cairn live in `benches/`: criterion stages in
//! `benches/`, the `limits` program in `src/bin/`, and the side-by-side
//! harness in `compare/`. This crate has no library code.
