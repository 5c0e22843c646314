//! A reader that a signal can stop.
//!
//! A backup of standard input may wait a long time for its first byte (a
//! slow `pg_dump` behind a pipe). A blocking `read` is not woken by
//! SIGINT/SIGTERM (the handler is installed with `SA_RESTART`), so a
//! backup reading stdin directly would only notice the interrupt when the
//! writer closes the pipe — and then see end-of-file and store an empty
//! snapshot. [`InterruptibleReader`] moves the blocking reads to a helper
//! thread and waits for their results in short slices, checking the
//! interrupt flag in between: an interrupt ends the read with
//! [`ErrorKind::Interrupted`] within `POLL`, whatever the source does.
//!
//! Invariants: memory is bounded by `DEPTH` blocks of `BLOCK` bytes;
//! every byte the source yields is delivered in order, exactly once; end
//! of file is reported only when the source reported it.

use crate::error::{Error, ErrorKind};
use crate::progress::{check_interrupt, Progress};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::io::Read;
use std::time::Duration;

/// Bytes per read on the helper thread.
const BLOCK: usize = 1 << 20;
/// Blocks read ahead at most.
const DEPTH: usize = 4;
/// How long a read waits before it looks at the interrupt flag again.
const POLL: Duration = Duration::from_millis(100);

/// See the module documentation.
pub struct InterruptibleReader<'p> {
    rx: Receiver<std::io::Result<Vec<u8>>>,
    block: Vec<u8>,
    pos: usize,
    eof: bool,
    progress: &'p dyn Progress,
}

impl<'p> InterruptibleReader<'p> {
    /// Start reading `source` on a helper thread. Bytes are reported to
    /// `progress` as they arrive, so a slow stream shows movement.
    pub fn new(source: impl Read + Send + 'static, progress: &'p dyn Progress) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(DEPTH);
        let spawned = std::thread::Builder::new()
            .name("cairn-stream-read".into())
            .spawn(move || {
                let mut source = source;
                loop {
                    let mut buf = vec![0u8; BLOCK];
                    let msg = match source.read(&mut buf) {
                        Ok(n) => {
                            buf.truncate(n);
                            Ok(buf)
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e),
                    };
                    let last = !matches!(&msg, Ok(b) if !b.is_empty());
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            // Without a thread the reader reports the failure on first use.
            let (tx, rx2) = crossbeam_channel::bounded(1);
            let _ = tx.send(Err(e));
            return Self::with(rx2, progress);
        }
        Self::with(rx, progress)
    }

    fn with(rx: Receiver<std::io::Result<Vec<u8>>>, progress: &'p dyn Progress) -> Self {
        InterruptibleReader {
            rx,
            block: Vec::new(),
            pos: 0,
            eof: false,
            progress,
        }
    }
}

impl Read for InterruptibleReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(rest) = self.block.get(self.pos..).filter(|r| !r.is_empty()) {
                let n = rest.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(rest.get(..n).unwrap_or_default());
                self.pos += n;
                return Ok(n);
            }
            if self.eof || buf.is_empty() {
                return Ok(0);
            }
            check_interrupt().map_err(std::io::Error::other)?;
            match self.rx.recv_timeout(POLL) {
                Ok(Ok(block)) if block.is_empty() => self.eof = true,
                Ok(Ok(block)) => {
                    self.progress.bytes(block.len() as u64);
                    self.block = block;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(std::io::Error::other(Error::new(
                        ErrorKind::Io,
                        "the input reader stopped unexpectedly",
                    )))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn delivers_every_byte_in_order() {
        let data: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        let mut r = InterruptibleReader::new(std::io::Cursor::new(data.clone()), &NoProgress);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    /// stdin progress stayed at 0 B while data streamed: bytes are now
    /// reported as they arrive, before the chunker has a chunk.
    #[test]
    fn progress_counts_bytes_as_they_arrive() {
        struct Count(std::sync::atomic::AtomicU64);
        impl Progress for Count {
            fn bytes(&self, n: u64) {
                self.0.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let count = Count(std::sync::atomic::AtomicU64::new(0));
        let mut r = InterruptibleReader::new(std::io::Cursor::new(vec![7u8; 1000]), &count);
        let mut first = [0u8; 10];
        assert_eq!(r.read(&mut first).unwrap(), 10);
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1000);
    }

    #[test]
    fn read_errors_come_through() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from_raw_os_error(nix::libc::EIO))
            }
        }
        let mut r = InterruptibleReader::new(Broken, &NoProgress);
        let e = r.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::libc::EIO));
    }
}
