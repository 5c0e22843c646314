//! Pack files written around the page cache (`O_DIRECT`), by a thread of
//! their own.
//!
//! Why direct: a backup writes hundreds of megabytes of packs that no one
//! reads soon. Through the page cache every byte is copied into a cache
//! page first, and on a virtual machine a page the guest has not touched
//! lately costs a fault in the host: `perf` put 12% of a first backup's
//! samples in `copy_folio_from_iter_atomic`, and `dd` of 600 MB took 3.1 s
//! of kernel time buffered against 0.05 s direct (issue 15). Direct writes
//! go from the buffer to the device.
//!
//! Why a thread: a direct write returns only when the device has the
//! bytes, and the caller is a backup worker that could be compressing
//! meanwhile. `perf sched` put the two workers of a first backup 0.45 s
//! in uninterruptible sleep inside these writes (issue 15). A full stage
//! is handed to the file's writer thread and the caller fills another; it
//! waits only when [`IN_FLIGHT`] stages are on their way, when the device
//! is slower than the callers.
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
//! - at most [`IN_FLIGHT`] writes are in flight, done in order by the one
//!   writer thread, and [`DirectFile::finish`] returns only after all of
//!   them completed; a failed write is returned by the next call
//!   (`write_all` or `finish`) and by every call after it, so a file whose
//!   bytes did not all land is never handed back to be committed;
//! - durability is unchanged: the commit still fsyncs the file before the
//!   rename (a direct write reaches the device, not necessarily its
//!   stable storage, and not the file's size in the inode).

use crossbeam_channel::{Receiver, Sender};
use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Alignment of direct writes: buffer address, file offset and length
/// (the largest logical block size of common devices).
const ALIGN: usize = 4096;

/// Direct writes are this long: large enough that a device writes at its
/// sequential rate, small enough that the stages of each open pack add
/// little to a backup's peak memory (1 MiB measured 2 MiB more peak RSS
/// and no faster, issue 15).
const STAGE: usize = 1 << 18;

/// Stages handed to the writer thread and not yet written, at most: a
/// pack builder writes 1 MiB at a time (`pack::writer::WRITE_BUF`), and
/// the caller goes on while all of it is on its way to the device.
const IN_FLIGHT: usize = 4;

/// `STAGE` bytes at an address aligned to `ALIGN`.
struct Stage {
    buf: Vec<u8>,
    start: usize,
}

impl Stage {
    fn new() -> Self {
        let buf = vec![0u8; STAGE + ALIGN];
        let start = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
        Stage { buf, start }
    }

    fn bytes(&self, len: usize) -> &[u8] {
        &self.buf[self.start..self.start + len]
    }
}

/// A write for the writer thread: the stage, how much of it, and where.
type Request = (Stage, usize, u64);
/// What it did: the stage back, and whether `O_DIRECT` is now cleared.
type Done = (Stage, io::Result<bool>);

/// The writer thread of one file, and the stages it holds.
struct Writer {
    tx: Sender<Request>,
    rx: Receiver<Done>,
    handle: JoinHandle<()>,
    in_flight: usize,
    free: Vec<Stage>,
}

/// A file written from aligned staging buffers, directly when it can be.
pub(super) struct DirectFile {
    file: Arc<File>,
    /// The stage being filled (`None` when writing through the page cache).
    stage: Option<Stage>,
    /// Bytes staged.
    fill: usize,
    /// File offset of the stage's first byte.
    offset: u64,
    direct: bool,
    /// Started at the first full stage; `None` before, or if no thread
    /// could be started (then stages are written by the caller).
    writer: Option<Writer>,
    no_thread: bool,
    /// A write failed: every later call fails too.
    broken: bool,
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
        DirectFile {
            file: Arc::new(file),
            stage: direct.then(Stage::new),
            fill: 0,
            offset: 0,
            direct,
            writer: None,
            no_thread: false,
            broken: false,
        }
    }

    /// Append `data`.
    pub(super) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(broken());
        }
        let written = self.append(data);
        self.broken = written.is_err();
        written
    }

    fn append(&mut self, mut data: &[u8]) -> io::Result<()> {
        if self.stage.is_none() {
            self.file.write_all_at(data, self.offset)?;
            self.offset += data.len() as u64;
            return Ok(());
        }
        while !data.is_empty() {
            let stage = self.stage.as_mut().ok_or_else(stage_lost)?;
            let n = (STAGE - self.fill).min(data.len());
            let at = stage.start + self.fill;
            stage.buf[at..at + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
            if self.fill == STAGE {
                self.send_stage()?;
            }
        }
        Ok(())
    }

    /// Write what is staged, wait for every write, and hand back the file
    /// (to sync and commit).
    pub(super) fn finish(mut self) -> io::Result<Arc<File>> {
        if self.broken {
            return Err(broken());
        }
        let settled = self.settle();
        if let Some(w) = self.writer.take() {
            drop(w.tx);
            let _ = w.handle.join();
        }
        settled?;
        if let Some(stage) = self.stage.take() {
            if self.fill % ALIGN != 0 {
                clear_direct(&self.file, &mut self.direct)?;
            }
            write_at(
                &self.file,
                stage.bytes(self.fill),
                self.offset,
                &mut self.direct,
            )?;
        }
        Ok(self.file)
    }

    /// Hand the full stage to the writer thread and take an empty one;
    /// without a thread, write it here.
    fn send_stage(&mut self) -> io::Result<()> {
        self.start_writer();
        let full = self.stage.take().ok_or_else(stage_lost)?;
        let Some(w) = self.writer.as_mut() else {
            let written = write_at(&self.file, full.bytes(STAGE), self.offset, &mut self.direct);
            self.stage = Some(full);
            written?;
            self.offset += STAGE as u64;
            self.fill = 0;
            return Ok(());
        };
        while let Ok(done) = w.rx.try_recv() {
            let stage = w.completed(done, &mut self.direct)?;
            w.free.push(stage);
        }
        let next = match w.free.pop() {
            Some(s) => s,
            None if w.in_flight < IN_FLIGHT => Stage::new(),
            None => w.wait(&mut self.direct)?,
        };
        w.tx.send((full, STAGE, self.offset))
            .map_err(|_| io::Error::other("the pack writer thread stopped"))?;
        w.in_flight += 1;
        self.stage = Some(next);
        self.offset += STAGE as u64;
        self.fill = 0;
        Ok(())
    }

    /// Start the writer thread, once.
    fn start_writer(&mut self) {
        if self.writer.is_some() || self.no_thread {
            return;
        }
        let (tx, requests) = crossbeam_channel::bounded::<Request>(IN_FLIGHT);
        let (results, rx) = crossbeam_channel::bounded::<Done>(IN_FLIGHT);
        let file = Arc::clone(&self.file);
        let mut direct = self.direct;
        let spawned = std::thread::Builder::new()
            .name("cairn-pack-io".into())
            .spawn(move || {
                for (stage, len, offset) in requests {
                    let r =
                        write_at(&file, stage.bytes(len), offset, &mut direct).map(|()| !direct);
                    if results.send((stage, r)).is_err() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(handle) => {
                self.writer = Some(Writer {
                    tx,
                    rx,
                    handle,
                    in_flight: 0,
                    free: Vec::new(),
                })
            }
            Err(_) => self.no_thread = true,
        }
    }

    /// Wait for every write handed to the writer thread.
    fn settle(&mut self) -> io::Result<()> {
        if let Some(w) = self.writer.as_mut() {
            while w.in_flight > 0 {
                w.wait(&mut self.direct)?;
            }
        }
        Ok(())
    }
}

impl Writer {
    /// Wait for the oldest write in flight; its stage back.
    fn wait(&mut self, direct: &mut bool) -> io::Result<Stage> {
        let done = self
            .rx
            .recv()
            .map_err(|_| io::Error::other("the pack writer thread stopped"))?;
        self.completed(done, direct)
    }

    /// Account for a finished write; its stage back, or its error.
    fn completed(&mut self, (stage, r): Done, direct: &mut bool) -> io::Result<Stage> {
        self.in_flight -= 1;
        if r? {
            *direct = false;
        }
        Ok(stage)
    }
}

fn broken() -> io::Error {
    io::Error::other("an earlier write to this file failed")
}

fn stage_lost() -> io::Error {
    io::Error::other("internal: pack stage missing")
}

/// Write `bytes` at `offset`. A file system that accepted `O_DIRECT` at
/// `fcntl` but refuses this write gets it again through the page cache.
fn write_at(file: &File, bytes: &[u8], offset: u64, direct: &mut bool) -> io::Result<()> {
    match file.write_all_at(bytes, offset) {
        Err(e) if *direct && e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
            clear_direct(file, direct)?;
            file.write_all_at(bytes, offset)
        }
        r => r,
    }
}

/// Clear `O_DIRECT`: later writes go through the page cache.
fn clear_direct(file: &File, direct: &mut bool) -> io::Result<()> {
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
        let s = Stage::new();
        assert_eq!(s.buf[s.start..].as_ptr() as usize % ALIGN, 0);
        assert!(s.buf.len() - s.start >= STAGE);
    }

    /// Many more stages than may be in flight, in pieces that straddle
    /// them: the writer thread's stages are recycled in order.
    #[test]
    fn many_stages_through_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many");
        let mut f = DirectFile::with_mode(File::create(&path).unwrap(), true);
        let want = pattern(3 * IN_FLIGHT * STAGE + 3 * ALIGN);
        for piece in want.chunks(STAGE / 3 + 1) {
            f.write_all(piece).unwrap();
        }
        f.finish().unwrap().sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    /// A write the writer thread could not do fails the next call and
    /// every later one, so the file is never handed back to be committed.
    #[test]
    fn a_failed_write_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro");
        File::create(&path).unwrap();
        let read_only = File::open(&path).unwrap();
        let mut f = DirectFile::with_mode(read_only, true);
        let data = pattern(2 * STAGE);
        let wrote = f.write_all(&data).and_then(|()| f.write_all(&data));
        let later = f.write_all(&data);
        if wrote.is_err() {
            assert!(later.is_err(), "a write after a failed one succeeded");
        }
        assert!(f.finish().is_err());
    }
}
