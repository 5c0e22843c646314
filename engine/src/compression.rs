//! Compression of payloads before sealing: one tag byte, then either the
//! stored bytes (tag 0) or one zstd frame (RFC 8878, tag 1).
//!
//! Invariants: compression never expands a payload by more than the tag
//! byte (incompressible data is stored); decompression is bounded by a
//! caller-given limit, so a hostile frame cannot exhaust memory.

use crate::error::{Error, Result};
use std::io::Read;

/// Tag of an uncompressed payload.
pub const TAG_STORED: u8 = 0;
/// Tag of a zstd-compressed payload.
pub const TAG_ZSTD: u8 = 1;

/// The default zstd level.
pub const DEFAULT_LEVEL: i32 = 3;

/// Compress `data` at `level`; store it if zstd does not make it smaller.
pub fn compress(data: &[u8], level: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    compress_into(&mut out, data, level);
    out
}

/// Chunks larger than this are first probed with a sample (see
/// [`compress_into`]).
const PROBE_ABOVE: usize = 128 * 1024;
/// Size of the probe sample.
const PROBE_LEN: usize = 32 * 1024;

/// Append the payload of `data` (tag byte, then body) to `out`, reusing one
/// zstd context per thread. Large inputs are probed first: if a 32 KiB
/// sample does not shrink by at least 3%, the whole input is stored
/// uncompressed without spending time on it (random or already-compressed
/// data). The result is always a valid payload for [`decompress`].
pub fn compress_into(out: &mut Vec<u8>, data: &[u8], level: i32) {
    thread_local! {
        static CTX: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let stored = |out: &mut Vec<u8>| {
        out.push(TAG_STORED);
        out.extend_from_slice(data);
    };
    if level <= 0 || data.len() < 64 {
        return stored(out);
    }
    CTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|(l, _)| *l) != Some(level) {
            *slot = zstd::bulk::Compressor::new(level).ok().map(|c| (level, c));
        }
        let Some((_, ctx)) = slot.as_mut() else {
            return stored(out);
        };
        if data.len() > PROBE_ABOVE {
            let sample = &data[..PROBE_LEN];
            match ctx.compress(sample) {
                Ok(z) if z.len() * 100 < sample.len() * 97 => {}
                _ => return stored(out),
            }
        }
        let start = out.len();
        out.push(TAG_ZSTD);
        out.resize(start + 1 + zstd::zstd_safe::compress_bound(data.len()), 0);
        match ctx.compress_to_buffer(data, &mut out[start + 1..]) {
            Ok(n) if n < data.len() => out.truncate(start + 1 + n),
            _ => {
                out.truncate(start);
                stored(out);
            }
        }
    })
}

/// Undo [`compress`]; output larger than `limit` bytes is an error.
pub fn decompress(payload: &[u8], limit: usize) -> Result<Vec<u8>> {
    let (tag, body) = payload
        .split_first()
        .ok_or_else(|| Error::corrupt("empty payload has no compression tag"))?;
    match *tag {
        TAG_STORED => {
            if body.len() > limit {
                return Err(Error::corrupt("stored payload exceeds its size limit"));
            }
            Ok(body.to_vec())
        }
        TAG_ZSTD => {
            let bad = |e: std::io::Error| Error::corrupt(format!("zstd frame is invalid: {e}"));
            if let Some(out) = decompress_sized(body, limit)? {
                return Ok(out);
            }
            let mut dec = zstd::stream::read::Decoder::new(body)
                .map_err(bad)?
                .single_frame();
            let mut out = Vec::new();
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            (&mut dec).take(cap).read_to_end(&mut out).map_err(bad)?;
            if out.len() > limit {
                return Err(Error::corrupt("zstd payload exceeds its size limit"));
            }
            let rest = dec.finish();
            if !rest.buffer().is_empty() || !rest.into_inner().is_empty() {
                return Err(Error::corrupt("bytes follow the zstd frame"));
            }
            Ok(out)
        }
        other => Err(Error::corrupt(format!("unknown compression tag {other}"))),
    }
}

/// The fast path of [`decompress`]: one frame whose header states its
/// content size (every frame Cairn writes does), decompressed in one call
/// into a buffer of exactly that size, with a decompression context kept
/// per thread instead of one made per blob. A stated size over `limit` is
/// refused before anything is allocated, bytes after the frame are
/// refused, and so is content that does not have the stated size. `None`:
/// the header states no size, or the frame cannot be measured; the
/// streaming path then decodes it or says what is wrong.
fn decompress_sized(body: &[u8], limit: usize) -> Result<Option<Vec<u8>>> {
    use zstd::zstd_safe;
    let Ok(Some(size)) = zstd_safe::get_frame_content_size(body) else {
        return Ok(None);
    };
    let size = match usize::try_from(size) {
        Ok(n) if n <= limit => n,
        _ => return Err(Error::corrupt("zstd payload exceeds its size limit")),
    };
    match zstd_safe::find_frame_compressed_size(body) {
        Ok(n) if n == body.len() => {}
        Ok(_) => return Err(Error::corrupt("bytes follow the zstd frame")),
        Err(_) => return Ok(None),
    }
    thread_local! {
        static DCTX: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let bad = |e: std::io::Error| Error::corrupt(format!("zstd frame is invalid: {e}"));
    DCTX.with(|slot| {
        let mut slot = slot.borrow_mut();
        let dctx = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new().map_err(bad)?),
        };
        let mut out = Vec::with_capacity(size);
        dctx.decompress_to_buffer(body, &mut out).map_err(bad)?;
        if out.len() != size {
            return Err(Error::corrupt(
                "zstd frame's content is not the size its header states",
            ));
        }
        Ok(Some(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_never_expand() {
        let text = b"hello hello hello hello hello hello hello hello hello hello hello".repeat(10);
        let c = compress(&text, 3);
        assert_eq!(c[0], TAG_ZSTD);
        assert_eq!(decompress(&c, text.len()).unwrap(), text);
        let mut random = vec![0u8; 4096];
        blake3::Hasher::new().finalize_xof().fill(&mut random);
        let c = compress(&random, 3);
        assert_eq!(c[0], TAG_STORED);
        assert_eq!(c.len(), random.len() + 1);
        assert!(decompress(&c, 100).is_err());
    }

    fn payload(data: &[u8], level: i32) -> Vec<u8> {
        let mut out = vec![0xee; 3]; // appends after existing bytes
        compress_into(&mut out, data, level);
        assert_eq!(&out[..3], &[0xee; 3]);
        out.split_off(3)
    }

    #[test]
    fn compress_into_round_trips_and_probes() {
        let text = b"abcabcabc-".repeat(100_000);
        for level in [0, 3, 5] {
            let p = payload(&text, level);
            assert_eq!(p[0], if level > 0 { TAG_ZSTD } else { TAG_STORED });
            assert_eq!(decompress(&p, text.len()).unwrap(), text);
        }
        // Random data is stored after the probe, large or small.
        for n in [1000, 1 << 20] {
            let mut random = vec![0u8; n];
            blake3::Hasher::new().finalize_xof().fill(&mut random);
            let p = payload(&random, 3);
            assert_eq!(p[0], TAG_STORED);
            assert_eq!(decompress(&p, n).unwrap(), random);
        }
    }

    #[test]
    fn bomb_is_bounded() {
        let zeros = vec![0u8; 10 << 20];
        let c = compress(&zeros, 3);
        assert!(decompress(&c, 1 << 20).is_err());
        assert!(decompress(&[9, 1, 2], 10).is_err());
        assert!(decompress(&[1, 1, 2], 10).is_err());
        // Exactly one frame: a second frame appended is rejected.
        let mut two = compress(&vec![1u8; 1000], 3);
        let again = compress(&vec![1u8; 1000], 3);
        two.extend_from_slice(&again[1..]);
        assert!(decompress(&two, 1 << 20).is_err());
    }

    /// Frames that state their size take the one-call path; a frame that
    /// does not (another writer streaming its output) still decodes, and
    /// is still bounded.
    #[test]
    fn frames_with_and_without_a_stated_size() {
        let text = b"abcdefgh-".repeat(50_000);
        let sized = compress(&text, 3);
        assert!(matches!(
            zstd::zstd_safe::get_frame_content_size(&sized[1..]),
            Ok(Some(n)) if n == text.len() as u64
        ));
        let mut enc = zstd::stream::write::Encoder::new(vec![TAG_ZSTD], 3).unwrap();
        std::io::Write::write_all(&mut enc, &text).unwrap();
        let unsized_frame = enc.finish().unwrap();
        assert!(matches!(
            zstd::zstd_safe::get_frame_content_size(&unsized_frame[1..]),
            Ok(None)
        ));
        for p in [&sized, &unsized_frame] {
            assert_eq!(decompress(p, text.len()).unwrap(), text);
            assert!(decompress(p, text.len() - 1).is_err());
        }
    }
}
