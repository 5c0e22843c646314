//! Pack files written around the page cache (`O_DIRECT`).
//!
//! Why: a backup writes hundreds of megabytes of packs that no one reads
//! soon. Through the page cache every byte is copied into a cache page
//! first, and on a virtual machine a page the guest has not touched lately
//! costs a fault in the host: `perf` put 12% of a first backup's samples in
//! `copy_folio_from_iter_atomic`, and `dd` of 600 MB took 3.1 s of kernel
//! time buffered against 0.05 s direct (issue 15). Direct writes go from
//! the buffer to the device.
//!
//! Invariants:
//! - every direct write starts at a multiple of [`ALIGN`] in the file,
//!   from a buffer aligned to [`ALIGN`], and is a multiple of [`ALIGN`]
//!   long (packs are a multiple of 4096 bytes, so whole packs go direct);
//! - anything else (a tail that is not a multiple of [`ALIGN`], a file
//!   system that refuses direct I/O at `fcntl` or at the first write) is
//!   written through the page cache on the same descriptor after
//!   `O_DIRECT` is cleared, at the same offset: the bytes in the file are
//!   the bytes given, whichever way they went;
//! - durability is unchanged: the commit still fsyncs the file before the
//!   rename (a direct write reaches the device, not necessarily its
//!   stable storage, and not the file's size in the inode).

use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Alignment of direct writes: buffer address, file offset and length
/// (the largest logical block size of common devices).
const ALIGN: usize = 4096;

/// Direct writes are this long: large enough that a device writes at its
/// sequential rate, small enough that the stage of each open pack adds
/// little to a backup's peak memory (1 MiB measured 2 MiB more peak RSS
/// and no faster, issue 15).
const STAGE: usize = 1 << 18;

/// A file written from an aligned staging buffer, directly when it can be.
pub(super) struct DirectFile {
    file: File,
    /// `STAGE + ALIGN` bytes; the stage is `buf[start..start + STAGE]`.
    buf: Vec<u8>,
    start: usize,
    /// Bytes staged.
    fill: usize,
    /// File offset of the stage's first byte.
    offset: u64,
    direct: bool,
}

impl DirectFile {
    /// Write `file` (empty, opened for writing) directly if its file
    /// system allows it, else through the page cache.
    pub(super) fn new(file: File) -> Self {
        let direct = fcntl_getfl(&file)
            .and_then(|fl| fcntl_setfl(&file, fl | OFlags::DIRECT))
            .is_ok();
        Self::with_mode(file, direct)
    }

    /// Write `file` through the page cache.
    pub(super) fn buffered(file: File) -> Self {
        Self::with_mode(file, false)
    }

    fn with_mode(file: File, direct: bool) -> Self {
        let (buf, start) = if direct {
            let buf = vec![0u8; STAGE + ALIGN];
            let start = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
            (buf, start)
        } else {
            (Vec::new(), 0)
        };
        DirectFile {
            file,
            buf,
            start,
            fill: 0,
            offset: 0,
            direct,
        }
    }

    /// Append `data`.
    pub(super) fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        if !self.direct {
            self.file.write_all_at(data, self.offset)?;
            self.offset += data.len() as u64;
            return Ok(());
        }
        while !data.is_empty() {
            let n = (STAGE - self.fill).min(data.len());
            let at = self.start + self.fill;
            self.buf[at..at + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
            if self.fill == STAGE {
                self.write_stage()?;
            }
        }
        Ok(())
    }

    /// Write what is staged and hand back the file (to sync and commit).
    pub(super) fn finish(mut self) -> std::io::Result<File> {
        if self.fill % ALIGN != 0 {
            clear_direct(&self.file, &mut self.direct)?;
        }
        self.write_stage()?;
        Ok(self.file)
    }

    /// Write the stage at its offset and empty it.
    fn write_stage(&mut self) -> std::io::Result<()> {
        let stage = &self.buf[self.start..self.start + self.fill];
        match self.file.write_all_at(stage, self.offset) {
            // The file system accepted `O_DIRECT` at `fcntl` but not this
            // write: the whole stage again, through the page cache.
            Err(e)
                if self.direct
                    && e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) =>
            {
                clear_direct(&self.file, &mut self.direct)?;
                self.file.write_all_at(stage, self.offset)?;
            }
            r => r?,
        }
        self.offset += self.fill as u64;
        self.fill = 0;
        Ok(())
    }
}

/// Clear `O_DIRECT`: later writes go through the page cache.
fn clear_direct(file: &File, direct: &mut bool) -> std::io::Result<()> {
    if *direct {
        let fl = fcntl_getfl(file)?;
        fcntl_setfl(file, fl - OFlags::DIRECT)?;
        *direct = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4093) as u8).collect()
    }

    /// Writes of awkward sizes, ending aligned or not, as `new` chooses,
    /// buffered, and staged (forced, whatever the file system allows):
    /// the file holds exactly the bytes given.
    #[test]
    fn the_file_holds_the_bytes_written() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [1, 4095, STAGE + 3, 2 * ALIGN, 17, STAGE, 5000];
        for total_extra in [0usize, 4096 - 1] {
            for mode in [None, Some(false), Some(true)] {
                let path = dir.path().join(format!("f{total_extra}{mode:?}"));
                let file = File::create(&path).unwrap();
                let mut f = match mode {
                    None => DirectFile::new(file),
                    Some(d) => DirectFile::with_mode(file, d),
                };
                let mut want = Vec::new();
                for (i, n) in sizes.iter().enumerate() {
                    let chunk = pattern(n + i);
                    f.write_all(&chunk).unwrap();
                    want.extend_from_slice(&chunk);
                }
                // Pad to a multiple of ALIGN, or leave a ragged tail.
                let pad = (ALIGN - want.len() % ALIGN) % ALIGN + total_extra;
                let tail = pattern(pad);
                f.write_all(&tail).unwrap();
                want.extend_from_slice(&tail);
                f.finish().unwrap().sync_all().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), want, "{path:?}");
            }
        }
    }

    /// The stage sits at an aligned address, so a direct write can go.
    #[test]
    fn the_stage_is_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let f = DirectFile::with_mode(File::create(dir.path().join("a")).unwrap(), true);
        assert_eq!(f.buf[f.start..].as_ptr() as usize % ALIGN, 0);
        assert!(f.buf.len() - f.start >= STAGE);
    }
}
