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
mod stream;

pub use class::{ChunkClass, FineParams, FINE_EXTENSIONS, PAGE_EXTENSIONS, PAGE_SIZES};
pub use stream::{cut_all_classes, cut_all_pages, StreamChunker};

use crate::error::{Error, Result};

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
            match roll(gear, fp, small, self.mask_s) {
                Ok(n) => return min + n,
                Err(f) => fp = f,
            }
        }
        let start = normal.max(min);
        if let Some(large) = data.get(start..max) {
            if let Ok(n) = roll(gear, fp, large, self.mask_l) {
                return start + n;
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

/// Roll the gear hash `fp = (fp << 1) + gear[byte]` (wrapping) over
/// `bytes`: `Ok(n)` when the fingerprint after the `n`th byte is the first
/// with `fp & mask == 0`, else `Err` with the final fingerprint.
///
/// The plain loop is bound by its dependency chain (a shift and an add per
/// byte). Here each block of [`ROLL_BLOCK`] bytes advances the chain once:
/// the fingerprint after byte `k` of a block is `(fp << k) + t_k`, with
/// `t_k = (t_(k-1) << 1) + gear[b_k]` independent of `fp`, so the blocks'
/// `t` sums and tests overlap. Shifts and wrapping adds distribute modulo
/// 2^64, so every fingerprint, and therefore every cut, is exactly the
/// plain loop's (`roll_matches_the_plain_loop`).
#[inline(always)]
fn roll(
    gear: &[u64; 256],
    mut fp: u64,
    bytes: &[u8],
    mask: u64,
) -> std::result::Result<usize, u64> {
    let mut blocks = bytes.chunks_exact(ROLL_BLOCK);
    let mut at = 0;
    for block in &mut blocks {
        let mut t = [0u64; ROLL_BLOCK];
        let mut acc = 0u64;
        for (slot, b) in t.iter_mut().zip(block) {
            acc = (acc << 1).wrapping_add(gear[usize::from(*b)]);
            *slot = acc;
        }
        let mut hit = false;
        let mut f = [0u64; ROLL_BLOCK];
        for (k, (slot, tk)) in f.iter_mut().zip(t).enumerate() {
            *slot = (fp << (k + 1)).wrapping_add(tk);
            hit |= *slot & mask == 0;
        }
        if hit {
            if let Some(k) = f.iter().position(|x| x & mask == 0) {
                return Ok(at + k + 1);
            }
        }
        fp = f[ROLL_BLOCK - 1];
        at += ROLL_BLOCK;
    }
    for b in blocks.remainder() {
        fp = (fp << 1).wrapping_add(gear[usize::from(*b)]);
        at += 1;
        if fp & mask == 0 {
            return Ok(at);
        }
    }
    Err(fp)
}

/// Bytes per step of [`roll`]'s fingerprint chain.
const ROLL_BLOCK: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn small() -> ChunkerParams {
        ChunkerParams {
            min_size: 1024,
            avg_size: 4096,
            max_size: 16384,
        }
    }

    pub(super) fn data(n: usize, seed: u8) -> Vec<u8> {
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

    /// The blocked roll finds the same cut and fingerprint as one shift
    /// and add per byte, for every mask width, start value and length
    /// (including lengths that leave a remainder).
    #[test]
    fn roll_matches_the_plain_loop() {
        let gear = gear_table(&[9; 32]);
        let d = data(1 << 16, 4);
        for bits in [1u32, 3, 6, 9, 12, 64] {
            let mask = top_bits(bits);
            for (start, len) in [(0, 0), (0, 3), (5, 4099), (17, 1 << 15), (1, 60_001)] {
                let bytes = &d[start..start + len];
                for seed in [0u64, u64::MAX, 0x0123_4567_89ab_cdef] {
                    let mut fp = seed;
                    let mut want = Err(0);
                    for (i, b) in bytes.iter().enumerate() {
                        fp = (fp << 1).wrapping_add(gear[usize::from(*b)]);
                        if fp & mask == 0 {
                            want = Ok(i + 1);
                            break;
                        }
                    }
                    let want = want.map_err(|_| fp);
                    assert_eq!(roll(&gear, seed, bytes, mask), want, "{bits} {start} {len}");
                }
            }
        }
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
    fn rejects_bad_params() {
        let p = ChunkerParams {
            min_size: 1024,
            avg_size: 3000,
            max_size: 16384,
        };
        assert!(Chunker::new(&[0; 32], p).is_err());
    }
}
