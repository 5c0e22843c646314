//! Keyed FastCDC content-defined chunking.
//!
//! FastCDC as in Xia et al., "The Design of Fast Content-Defined Chunking
//! for Data Deduplication Based Storage Systems" (IEEE TPDS 2020): gear
//! rolling hash, cut-point skipping below the minimum size, and normalized
//! chunking (level 2) around the average. The 256-entry gear table is not
//! the paper's public table: it is expanded from the repository's secret
//! gear key with the BLAKE3 XOF, so boundaries (and therefore chunk sizes)
//! cannot be predicted by whoever lacks the key.
//!
//! Invariant: for a given key, parameters, byte stream and (for the page
//! class) the stream's offset in its file, the cut points are a pure
//! function of those; `format-spec/v1/chunking.md` pins them and the test
//! vectors check them. A stream of the fine class ([`class`]) is cut with
//! the fine parameters up to its limit, then with the main ones; one of the
//! page class is cut at fixed page boundaries of its file up to the same
//! limit instead of content-defined cuts.

mod class;

pub use class::{ChunkClass, FineParams, FINE_EXTENSIONS, PAGE_EXTENSIONS, PAGE_SIZES};

use crate::error::{Error, Result};
use std::io::Read;

/// Chunk size parameters (stored in the repository config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkerParams {
    /// No cut before this many bytes (except at end of input).
    pub min_size: u32,
    /// Target average; MUST be a power of two.
    pub avg_size: u32,
    /// Forced cut at this many bytes.
    pub max_size: u32,
}

impl Default for ChunkerParams {
    /// 512 KiB / 1 MiB / 4 MiB.
    fn default() -> Self {
        ChunkerParams::with_average(1024 * 1024)
    }
}

/// Largest `max_size` a repository may declare (bounds memory per chunk).
pub const MAX_CHUNK_SIZE_LIMIT: u32 = 64 * 1024 * 1024;

impl ChunkerParams {
    /// Chunks of average `avg` (a power of two): minimum `avg/2`, maximum
    /// `4·avg` (at most [`MAX_CHUNK_SIZE_LIMIT`]), the shape of the
    /// defaults.
    pub fn with_average(avg: u32) -> ChunkerParams {
        ChunkerParams {
            min_size: avg / 2,
            avg_size: avg,
            max_size: avg.saturating_mul(4).min(MAX_CHUNK_SIZE_LIMIT),
        }
    }

    /// Check the constraints of `format-spec/v1/chunking.md`.
    pub fn validate(&self) -> Result<()> {
        let ok = self.avg_size.is_power_of_two()
            && self.avg_size >= 256
            && self.min_size >= 64
            && self.min_size <= self.avg_size
            && self.avg_size <= self.max_size
            && self.max_size <= MAX_CHUNK_SIZE_LIMIT;
        if ok {
            Ok(())
        } else {
            Err(Error::corrupt(format!(
                "invalid chunker parameters {}/{}/{}",
                self.min_size, self.avg_size, self.max_size
            )))
        }
    }
}

/// The keyed FastCDC cut-point finder.
#[derive(Clone)]
pub struct Chunker {
    gear: Box<[u64; 256]>,
    params: ChunkerParams,
    mask_s: u64,
    mask_l: u64,
}

/// Expand the gear table: entry `i` is bytes `8i..8i+8` (little-endian) of
/// the BLAKE3 XOF output keyed by `gear_key` over the empty input.
pub fn gear_table(gear_key: &[u8; 32]) -> Box<[u64; 256]> {
    let mut bytes = [0u8; 2048];
    blake3::Hasher::new_keyed(gear_key)
        .finalize_xof()
        .fill(&mut bytes);
    let mut table = Box::new([0u64; 256]);
    for (slot, chunk) in table.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *slot = u64::from_le_bytes(b);
    }
    table
}

/// A mask of the `n` most significant bits.
fn top_bits(n: u32) -> u64 {
    if n == 0 {
        0
    } else {
        u64::MAX << (64 - n.min(64))
    }
}

impl Chunker {
    /// A chunker for `params` keyed by `gear_key`.
    pub fn new(gear_key: &[u8; 32], params: ChunkerParams) -> Result<Self> {
        params.validate()?;
        let bits = params.avg_size.trailing_zeros();
        Ok(Chunker {
            gear: gear_table(gear_key),
            params,
            mask_s: top_bits(bits + 2),
            mask_l: top_bits(bits - 2),
        })
    }

    /// The parameters.
    pub fn params(&self) -> ChunkerParams {
        self.params
    }

    /// Length of the first chunk of `data`, where `data` starts at a chunk
    /// boundary and holds at least `max_size` bytes unless it is the end of
    /// the stream.
    pub fn cut(&self, data: &[u8]) -> usize {
        let min = self.params.min_size as usize;
        if data.len() <= min {
            return data.len();
        }
        let max = data.len().min(self.params.max_size as usize);
        let normal = max.min(self.params.avg_size as usize);
        let mut fp: u64 = 0;
        let gear = &*self.gear;
        if let Some(small) = data.get(min..normal) {
            for (i, b) in small.iter().enumerate() {
                fp = (fp << 1).wrapping_add(gear[usize::from(*b)]);
                if fp & self.mask_s == 0 {
                    return min + i + 1;
                }
            }
        }
        let start = normal.max(min);
        if let Some(large) = data.get(start..max) {
            for (i, b) in large.iter().enumerate() {
                fp = (fp << 1).wrapping_add(gear[usize::from(*b)]);
                if fp & self.mask_l == 0 {
                    return start + i + 1;
                }
            }
        }
        max
    }

    /// All chunk lengths of a complete in-memory input.
    pub fn cut_all(&self, mut data: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let n = self.cut(data);
            out.push(n);
            data = data.get(n..).unwrap_or_default();
        }
        out
    }
}

/// Splits a byte stream into chunks, reading through a caller-owned
/// buffer that is reused across streams (so a backup of many small files
/// allocates and zeroes it once). Buffering is bounded by twice the
/// largest `max_size` in use (8 MiB at the defaults: the largest buffer of
/// a backup); a refill moves fewer than `max_size` leftover bytes and then
/// reads at least as many.
pub struct StreamChunker<'c, 'b, R> {
    chunker: &'c Chunker,
    /// The fine chunker and how many stream bytes it cuts: chunks that
    /// start before that offset are fine.
    fine: Option<(&'c Chunker, u64)>,
    /// The page class: page size, the stream's offset in its file, and
    /// how many stream bytes it cuts (chunks that start before that end at
    /// the next multiple of the page size in the file).
    page: Option<(u64, u64, u64)>,
    /// Largest chunk either chunker may cut.
    max: usize,
    reader: R,
    buf: &'b mut Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes returned so far.
    emitted: u64,
    eof: bool,
}

impl<'c, 'b, R: Read> StreamChunker<'c, 'b, R> {
    /// Chunk `reader` with `chunker`, buffering in `buf`.
    pub fn new(chunker: &'c Chunker, reader: R, buf: &'b mut Vec<u8>) -> Self {
        StreamChunker {
            chunker,
            fine: None,
            page: None,
            max: chunker.params.max_size as usize,
            reader,
            buf,
            start: 0,
            end: 0,
            emitted: 0,
            eof: false,
        }
    }

    /// Cut the chunks that start in the first `until` bytes of the stream
    /// with `fine` instead (the fine class; `until` = the class's limit
    /// minus the stream's offset in its file).
    pub fn fine_until(mut self, fine: &'c Chunker, until: u64) -> Self {
        if until > 0 {
            self.fine = Some((fine, until));
            self.max = self.max.max(fine.params.max_size as usize);
        }
        self
    }

    /// Cut the chunks that start in the first `until` bytes of the stream
    /// at multiples of `page` in the file, the stream starting `offset`
    /// bytes into it (the page class; `until` = the fine limit minus
    /// `offset`).
    pub fn pages_until(mut self, page: u32, offset: u64, until: u64) -> Self {
        if until > 0 && page > 0 {
            self.page = Some((u64::from(page), offset, until));
            // A page may be larger than the main chunks: buffer a whole
            // one, or a page would be cut short where the buffer ends.
            self.max = self.max.max(page as usize);
        }
        self
    }

    fn fill(&mut self) -> std::io::Result<()> {
        let max = self.max;
        if self.eof || self.end - self.start >= max {
            return Ok(());
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let want = 2 * max;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.end < want {
            match self.reader.read(&mut self.buf[self.end..want]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next chunk (valid until the next call), or `None` at the end.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<&[u8]>> {
        self.fill()?;
        if self.start == self.end {
            return Ok(None);
        }
        let chunker = match self.fine {
            Some((fine, until)) if self.emitted < until => fine,
            _ => self.chunker,
        };
        let rest = &self.buf[self.start..self.end];
        let n = match self.page {
            Some((page, offset, until)) if self.emitted < until => {
                page_cut(page, offset.wrapping_add(self.emitted), rest.len())
            }
            _ => chunker.cut(rest),
        };
        let chunk = &self.buf[self.start..self.start + n];
        self.start += n;
        self.emitted += n as u64;
        Ok(Some(chunk))
    }
}

/// Length of a page-class chunk that starts at file offset `at`, with
/// `left` bytes left in the stream: up to the next multiple of `page`.
fn page_cut(page: u64, at: u64, left: usize) -> usize {
    if page == 0 {
        return left;
    }
    let to_boundary = page - at % page;
    usize::try_from(to_boundary).map_or(left, |n| n.min(left))
}

/// All chunk lengths of a complete in-memory stream of the page class
/// that starts `offset` bytes into its file: chunks starting before `until`
/// stream bytes end at multiples of `page` in the file, the rest are cut
/// by `normal` (what [`StreamChunker::pages_until`] does, for tests and
/// vectors).
pub fn cut_all_pages(
    normal: &Chunker,
    page: u32,
    offset: u64,
    until: u64,
    data: &[u8],
) -> Vec<usize> {
    cut_all_until(normal, until, data, |p, rest| {
        page_cut(u64::from(page), offset.wrapping_add(p), rest.len())
    })
}

/// All chunk lengths of a complete in-memory stream of the fine class:
/// chunks starting before `until` are cut by `fine`, the rest by `normal`
/// (what [`StreamChunker::fine_until`] does, for tests and vectors).
pub fn cut_all_classes(normal: &Chunker, fine: &Chunker, until: u64, data: &[u8]) -> Vec<usize> {
    cut_all_until(normal, until, data, |_, rest| fine.cut(rest))
}

/// All chunk lengths of `data`: a chunk that starts at stream position
/// `p < until` is `early(p, rest)` long, later ones are cut by `normal`.
fn cut_all_until(
    normal: &Chunker,
    until: u64,
    mut data: &[u8],
    early: impl Fn(u64, &[u8]) -> usize,
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut p = 0u64;
    while !data.is_empty() {
        let n = if p < until {
            early(p, data)
        } else {
            normal.cut(data)
        };
        out.push(n);
        p += n as u64;
        data = data.get(n..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ChunkerParams {
        ChunkerParams {
            min_size: 1024,
            avg_size: 4096,
            max_size: 16384,
        }
    }

    fn data(n: usize, seed: u8) -> Vec<u8> {
        let mut out = vec![0u8; n];
        blake3::Hasher::new_keyed(&[seed; 32])
            .finalize_xof()
            .fill(&mut out);
        out
    }

    #[test]
    fn sizes_within_bounds_and_stream_matches() {
        let c = Chunker::new(&[3; 32], small()).unwrap();
        let d = data(1 << 20, 1);
        let cuts = c.cut_all(&d);
        assert_eq!(cuts.iter().sum::<usize>(), d.len());
        for n in &cuts[..cuts.len() - 1] {
            assert!((1024..=16384).contains(n), "{n}");
        }
        let avg = d.len() / cuts.len();
        assert!((2048..=8192).contains(&avg), "avg {avg}");
        let mut buf = Vec::new();
        let mut sc = StreamChunker::new(&c, std::io::Cursor::new(&d), &mut buf);
        let mut lens = Vec::new();
        while let Some(ch) = sc.next_chunk().unwrap() {
            lens.push(ch.len());
        }
        assert_eq!(lens, cuts);
    }

    #[test]
    fn key_changes_boundaries() {
        let d = data(1 << 18, 2);
        let a = Chunker::new(&[1; 32], small()).unwrap().cut_all(&d);
        let b = Chunker::new(&[2; 32], small()).unwrap().cut_all(&d);
        assert_ne!(a, b);
    }

    #[test]
    fn insertion_resyncs() {
        let c = Chunker::new(&[5; 32], small()).unwrap();
        let d = data(1 << 20, 3);
        let mut e = d.clone();
        e.splice(500_000..500_000, *b"0123456789");
        let set = |v: &[u8]| {
            let mut off = 0;
            c.cut_all(v)
                .into_iter()
                .map(|n| {
                    let s = blake3::hash(&v[off..off + n]);
                    off += n;
                    s
                })
                .collect::<std::collections::HashSet<_>>()
        };
        let (a, b) = (set(&d), set(&e));
        assert!(b.difference(&a).count() <= 3);
    }

    #[test]
    fn fine_class_stops_at_its_limit_and_streams_match() {
        let normal = Chunker::new(&[4; 32], small()).unwrap();
        let fine = Chunker::new(&[4; 32], FineParams::with_average(256).chunker).unwrap();
        let d = data(200_000, 4);
        let cuts = cut_all_classes(&normal, &fine, 50_000, &d);
        assert_eq!(cuts.iter().sum::<usize>(), d.len());
        let mut off = 0;
        for (i, n) in cuts.iter().enumerate() {
            let last = i + 1 == cuts.len();
            if off < 50_000 {
                assert!(*n <= 1024, "fine chunk of {n} at {off}");
            } else if !last {
                assert!(*n > 1024, "main chunk of {n} at {off}");
            }
            off += n;
        }
        let mut buf = Vec::new();
        let mut sc = StreamChunker::new(&normal, std::io::Cursor::new(&d), &mut buf)
            .fine_until(&fine, 50_000);
        let mut lens = Vec::new();
        while let Some(ch) = sc.next_chunk().unwrap() {
            lens.push(ch.len());
        }
        assert_eq!(lens, cuts);
        assert_eq!(cut_all_classes(&normal, &fine, 0, &d), normal.cut_all(&d));
    }

    /// Page chunks end at multiples of the page size in the file, also for
    /// a region that starts off a page boundary, until the limit; then the
    /// main parameters cut; the streaming chunker agrees.
    #[test]
    fn page_class_cuts_at_file_page_boundaries_until_its_limit() {
        let normal = Chunker::new(&[5; 32], small()).unwrap();
        let d = data(100_000, 5);
        for offset in [0u64, 12_288 + 100] {
            let until = 40_960u64.saturating_sub(offset);
            let cuts = cut_all_pages(&normal, 4096, offset, until, &d);
            assert_eq!(cuts.iter().sum::<usize>(), d.len());
            let mut at = offset;
            for n in &cuts {
                if at - offset < until {
                    assert!(*n <= 4096, "page chunk of {n} at {at}");
                    assert_eq!((at + *n as u64) % 4096, 0, "ends off a page: {at} + {n}");
                }
                at += *n as u64;
            }
            assert!(
                cuts.iter().any(|n| *n > 4096),
                "main chunks after the limit"
            );
            let mut buf = Vec::new();
            let mut sc = StreamChunker::new(&normal, std::io::Cursor::new(&d), &mut buf)
                .pages_until(4096, offset, until);
            let mut lens = Vec::new();
            while let Some(ch) = sc.next_chunk().unwrap() {
                lens.push(ch.len());
            }
            assert_eq!(lens, cuts, "offset {offset}");
        }
        assert_eq!(cut_all_pages(&normal, 4096, 0, 0, &d), normal.cut_all(&d));
    }

    /// A page larger than the main parameters' largest chunk is still cut
    /// whole by the streaming chunker (its buffer holds a page).
    #[test]
    fn pages_larger_than_main_chunks_are_cut_whole() {
        let tiny = ChunkerParams {
            min_size: 256,
            avg_size: 1024,
            max_size: 4096,
        };
        let normal = Chunker::new(&[6; 32], tiny).unwrap();
        let d = data(200_000, 6);
        let cuts = cut_all_pages(&normal, 16384, 0, 100_000, &d);
        assert!(cuts.iter().take(7).all(|n| *n == 16384), "{cuts:?}");
        let mut buf = Vec::new();
        let mut sc = StreamChunker::new(&normal, std::io::Cursor::new(&d), &mut buf)
            .pages_until(16384, 0, 100_000);
        let mut lens = Vec::new();
        while let Some(ch) = sc.next_chunk().unwrap() {
            lens.push(ch.len());
        }
        assert_eq!(lens, cuts);
    }

    #[test]
    fn rejects_bad_params() {
        let p = ChunkerParams {
            min_size: 1024,
            avg_size: 3000,
            max_size: 16384,
        };
        assert!(Chunker::new(&[0; 32], p).is_err());
    }
}
