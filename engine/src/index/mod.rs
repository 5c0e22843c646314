//! The blob index: which pack holds each blob.
//!
//! The *authoritative* index is the set of sealed index files in the
//! repository ([`mod@file`]). The RocksDB database under the user's cache
//! directory ([`cache`]) is a disposable copy for fast lookups with bounded
//! memory; it is rebuilt from the index files whenever it is missing or
//! stale, and deleting it never loses anything.

pub mod cache;
pub mod file;

pub use cache::{IndexCache, Location};
pub use file::{IndexFile, PackEntries};
