//! Streaming the chunker over a reader ([`StreamChunker`]) through a
//! reused buffer, with the chunk classes' switches (fine parameters, page
//! boundaries) at their limits; and the same cuts over a stream held in
//! memory, for tests and vectors (`cut_all_classes`, `cut_all_pages`).
//!
//! Invariant: for every class the streaming cuts equal the in-memory ones
//! (`format-spec/v1/chunking.md`, "Chunk classes"): each cut sees at least
//! the largest chunk (or page) any class may cut, or the whole remainder.

use super::Chunker;
use std::io::Read;

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
    use super::super::tests::{data, small};
    use super::*;
    use crate::chunking::{ChunkerParams, FineParams};

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
}
