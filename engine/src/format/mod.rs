//! The on-disk format, one module per structure of `format-spec/v1/`:
//! pure encode and decode, no I/O. A reader can hold the spec and this
//! folder side by side:
//!
//! | module | structure | spec |
//! |---|---|---|
//! | [`config`] | `CAIRN` marker, `config` | `v1/overview.md` |
//! | [`keyfile`] | key files | `v1/crypto.md` |
//! | [`paper`] | the paper key (master key as text) | `v1/crypto.md` |
//! | [`object`] | the envelope steps shared by sealed files | `v1/crypto.md`, `v1/packs-and-index.md` |
//! | [`pack`] | packs, blob entries, trailers | `v1/packs-and-index.md` |
//! | [`index`] | index files | `v1/packs-and-index.md` |
//! | [`cbor`], [`tree`], [`snapshot`] | canonical CBOR, trees, snapshots | `v1/trees-and-snapshots.md` |
//! | [`lock`] | lock files | `v1/overview.md` |
//! | [`gc_plan`] | GC plans | `v1/gc.md` |
//! | [`scrub_record`] | `state/scrub` | `v1/overview.md` |
//! | [`parity`] | parity file headers | `v1/parity.md` |
//! | [`export`], [`ustar`] | export volumes: catalogue, label, manifests, tar form | `v1/export.md` |
//! | [`mongodb`] | MongoDB snapshot layout | `v1/mongodb.md` |
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
pub mod export;
mod export_parse;
pub mod gc_plan;
pub mod index;
pub mod keyfile;
pub mod lock;
pub mod mongodb;
pub mod object;
pub mod pack;
pub mod paper;
pub mod parity;
pub mod scrub_record;
pub mod snapshot;
pub mod tree;
pub mod ustar;
mod versions;
pub use versions::{format_versions, FormatVersion, FormatVersions};

#[cfg(test)]
mod decode_fuzz;
