//! Chunk classes: which chunker parameters cut which stream.
//!
//! A repository may declare a second, *fine* set of chunker parameters
//! (config keys `fine_*`, `format-spec/v1/chunking.md`, "Chunk classes").
//! Database files and exports change by scattered row updates; with 1 MiB
//! chunks each update dirties a whole megabyte, with 8 KiB chunks only its
//! neighbourhood. Which streams are fine is decided by the stream's file
//! name alone ([`ChunkClass::for_name`]), so every writer of a repository
//! cuts the same bytes the same way and deduplication across hosts holds.
//!
//! Files of page-structured databases (SQLite, LMDB, InnoDB, WiredTiger)
//! change a page at a time: where the repository also declares a page
//! size (config key `fine_page`), their fine part is cut at every multiple
//! of it in the file instead, so an updated page dirties one chunk of its
//! own size, not the 8 KiB or more around it that content-defined cuts
//! give.
//!
//! Invariants: the class changes only where chunks start, never what a
//! reader sees (a file is the concatenation of its extents, whatever their
//! sizes); the fine class (pages included) stops at `limit` bytes into the
//! file, so a huge database cannot make a tree hold hundreds of millions
//! of extents.

use super::ChunkerParams;
use crate::error::{Error, Result};

/// How a stream is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkClass {
    /// The repository's main parameters (`chunk_*`).
    Normal,
    /// The fine parameters (`fine_*`), where the repository has them.
    Fine,
    /// Page-aligned cuts (`fine_page`), where the repository has them;
    /// the fine class where it has no page size.
    Page,
}

/// Final name extensions (compared ASCII-case-insensitively) of files cut
/// with the fine class: database files and row-oriented exports, which
/// change by scattered updates. `format-spec/v1/chunking.md` lists the
/// same names; a change here is a format change (it moves cut points).
pub const FINE_EXTENSIONS: &[&str] = &[
    "bson", "csv", "db", "ibd", "json", "jsonl", "mdb", "ndjson", "sql", "sqlite", "sqlite3",
    "tsv", "wt",
];

/// Final name extensions of page-structured database files (a subset of
/// [`FINE_EXTENSIONS`]), cut at page boundaries where the repository
/// declares a page size: SQLite, LMDB, InnoDB and WiredTiger files.
/// `format-spec/v1/chunking.md` lists the same names; a change here is a
/// format change (it moves cut points).
pub const PAGE_EXTENSIONS: &[&str] = &["db", "ibd", "mdb", "sqlite", "sqlite3", "wt"];

impl ChunkClass {
    /// The class of a stream stored under the file name `name` (the last
    /// path component): page when its final extension is in
    /// [`PAGE_EXTENSIONS`], fine when in [`FINE_EXTENSIONS`], normal
    /// otherwise (no extension, or a name that is only an extension such
    /// as `.json`).
    pub fn for_name(name: &[u8]) -> ChunkClass {
        let ext = match name.iter().rposition(|b| *b == b'.') {
            Some(0) | None => return ChunkClass::Normal,
            Some(dot) => name.get(dot + 1..).unwrap_or_default(),
        };
        let listed = |list: &[&str]| list.iter().any(|e| e.as_bytes().eq_ignore_ascii_case(ext));
        if listed(PAGE_EXTENSIONS) {
            ChunkClass::Page
        } else if listed(FINE_EXTENSIONS) {
            ChunkClass::Fine
        } else {
            ChunkClass::Normal
        }
    }
}

/// The fine class of a repository: its parameters and how far into a
/// file they apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FineParams {
    /// Chunk sizes of the fine class.
    pub chunker: ChunkerParams,
    /// Chunks that start before this offset of their file (holes
    /// included) are cut with the fine parameters; later ones with the
    /// main parameters.
    pub limit: u64,
    /// The page size of the page class (`fine_page`): page files' chunks
    /// before `limit` end at multiples of it in the file. `None`: page
    /// files are fine (repositories made before the page class).
    pub page: Option<u32>,
}

/// Smallest and largest page size a config may declare: SQLite's page
/// sizes range from 512 bytes to 64 KiB.
pub const PAGE_SIZES: std::ops::RangeInclusive<u32> = 512..=65536;

/// Default fine class: 4 KiB / 8 KiB / 32 KiB for the first 1 GiB of a
/// file, and 4 KiB pages. Measured on the benchmark corpus (1% of 600,000
/// JSON-lines rows rewritten, 3,000 SQLite rows updated): the next day's
/// stored increment of those two files falls from 72 MB at 1 MiB chunks
/// to 25 MB, while storing them the first time costs 11% more (zstd sees
/// less context per chunk). Cutting the SQLite file (4 KiB pages) at page
/// boundaries then takes its share from 13.0 MB to 5.6 MB, for 11% more
/// the first time (37.8 MB stored, then 42.1 MB). 1 GiB of 4 KiB chunks is
/// about 8.4 MB of extent IDs in a tree, the most one file's fine part can
/// add to every snapshot that changes it (at the smallest page size a
/// config allows, 512 bytes, it is 67 MB). 4 KiB is SQLite's default page
/// size (since 3.12), LMDB's and WiredTiger's allocation unit, and divides
/// InnoDB's 16 KiB pages.
impl Default for FineParams {
    fn default() -> Self {
        FineParams::with_average(8192)
    }
}

impl FineParams {
    /// Fine chunks of average `avg` (a power of two, shaped as
    /// [`ChunkerParams::with_average`]), for the first 1 GiB of a file.
    pub fn with_average(avg: u32) -> FineParams {
        FineParams {
            chunker: ChunkerParams::with_average(avg),
            limit: 1 << 30,
            page: Some(4096),
        }
    }

    /// Check the constraints of `format-spec/v1/chunking.md`.
    pub fn validate(&self) -> Result<()> {
        self.chunker
            .validate()
            .map_err(|e| Error::corrupt(format!("fine class: {}", e.message())))?;
        match self.page {
            Some(p) if !(p.is_power_of_two() && PAGE_SIZES.contains(&p)) => Err(Error::corrupt(
                format!("fine class: page size {p} is not a power of two from 512 to 65536"),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_by_final_extension() {
        for fine in [&b"export.jsonl"[..], b"users.bson", b"a.b.csv", b"dump.SQL"] {
            assert_eq!(ChunkClass::for_name(fine), ChunkClass::Fine, "{fine:?}");
        }
        for page in [
            &b"APP.SQLITE"[..],
            b"collection-7-123.wt",
            b"data.mdb",
            b"orders.ibd",
            b"x.db",
            b"y.sqlite3",
        ] {
            assert_eq!(ChunkClass::for_name(page), ChunkClass::Page, "{page:?}");
        }
        // Every page extension is a fine one: a repository without a page
        // size cuts page files fine, as before the page class.
        for e in PAGE_EXTENSIONS {
            assert!(FINE_EXTENSIONS.contains(e), "{e}");
        }
        for normal in [
            &b"app.log"[..],
            b"dump.bson.gz",
            b".json",
            b"json",
            b"",
            b"movie.",
            b"WiredTiger",
        ] {
            assert_eq!(
                ChunkClass::for_name(normal),
                ChunkClass::Normal,
                "{normal:?}"
            );
        }
    }

    #[test]
    fn default_fine_class_is_valid() {
        let f = FineParams::default();
        f.validate().unwrap();
        assert_eq!(
            (f.chunker.min_size, f.chunker.avg_size, f.chunker.max_size),
            (4096, 8192, 32768)
        );
        assert_eq!(f.page, Some(4096));
        assert!(FineParams::with_average(3000).validate().is_err());
        for bad in [256, 3000, 1 << 17] {
            let f = FineParams {
                page: Some(bad),
                ..FineParams::default()
            };
            assert!(f.validate().is_err(), "{bad}");
        }
    }
}
