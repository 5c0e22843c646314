//! Reading and writing pack files (their byte layout is `format::pack`):
//! building a pack in memory and reading its trailer or one blob back from
//! storage. Invariant: a pack is written once, whole, and never modified.

mod reader;
mod writer;

pub use crate::format::pack::{
    decode_entries, decode_trailer, decode_trailer_payload, encode_entries, BlobEntry, BlobType,
    ENTRY_LEN, FOOTER_LEN, HEADER_LEN, PACK_ALIGN, PACK_MAGIC, PACK_VERSION,
};
pub use reader::{open_blob, read_trailer};
pub use writer::{FinishedPack, PackBuilder};
