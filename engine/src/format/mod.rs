//! The on-disk format, one module per structure of `format-spec/v1/`:
//! pure encode and decode, no I/O. A reader can hold the spec and this
//! folder side by side.
//!
//! Invariants: every structure starts with a magic or carries a version
//! field, and an unknown version is `UnsupportedVersion`, never `Corrupt`;
//! every decoder caps what it allocates and never panics on any input
//! (property tests in `decode_fuzz`, fuzz targets in `fuzz/` through
//! [`decoders`]). This layer imports only the primitives below it
//! (`crypto`, `compression`, `chunking`, `id`, `error`).

pub mod cbor;
pub mod config;
pub mod decoders;
pub mod gc_plan;
pub mod index;
pub mod keyfile;
pub mod lock;
pub mod mongodb;
pub mod object;
pub mod pack;
pub mod parity;
pub mod scrub_record;
pub mod snapshot;
pub mod tree;

#[cfg(test)]
mod decode_fuzz;
