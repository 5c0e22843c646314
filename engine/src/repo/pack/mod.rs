//! Reading and writing pack files (their byte layout is `format::pack`):
//! building a pack in memory and reading its trailer or one blob back from
//! storage. Invariant: a pack is written once, whole, and never modified.

mod reader;
mod writer;

pub use crate::format::pack::{BlobEntry, BlobType};
pub use reader::{open_blob, read_trailer};
pub use writer::PackBuilder;
