//! The scan that runs beside a file backup, as restic's does: it counts
//! the files and bytes the backup will read, so progress can show a
//! percentage and an estimate of the time left.
//!
//! Invariants: it asks the backup's own [`Selector`], so its totals count
//! the same entries; it only reads metadata (never file content); it is
//! advisory, so an unreadable entry is skipped silently (the backup
//! reports it) and a stop request ends it at the next entry.

use super::select::Selector;
use super::FilesSource;
use crate::progress::Progress;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the scan found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanTotals {
    /// Regular files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

struct Scan<'a> {
    sel: &'a Selector,
    stop: &'a AtomicBool,
    progress: &'a dyn Progress,
    totals: ScanTotals,
    last_report: Instant,
}

/// Count what a backup of `source` will read, reporting running totals
/// to `progress` a few times a second and the final ones at the end.
/// Returns `None` if `stop` was set before the scan completed.
pub fn scan(
    source: &FilesSource,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Option<ScanTotals> {
    let mut s = Scan {
        sel: &source.sel,
        stop,
        progress,
        totals: ScanTotals::default(),
        last_report: Instant::now(),
    };
    for p in &source.paths {
        if s.stopped() {
            return None;
        }
        if let Ok(md) = std::fs::symlink_metadata(p) {
            s.entry(p, &md, md.dev());
        }
    }
    if s.stopped() {
        return None;
    }
    progress.scanned(s.totals.files, s.totals.bytes, true);
    Some(s.totals)
}

impl Scan<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn entry(&mut self, path: &Path, md: &std::fs::Metadata, root_dev: u64) {
        if self.sel.excluded(path) {
            return;
        }
        if md.is_file() {
            if !self.sel.too_large(md.len()) {
                self.totals.files += 1;
                self.totals.bytes += md.len();
            }
        } else if md.is_dir() && !(self.sel.one_fs && md.dev() != root_dev) {
            self.dir(path, root_dev);
        }
        if self.last_report.elapsed() >= Duration::from_millis(250) {
            self.last_report = Instant::now();
            self.progress
                .scanned(self.totals.files, self.totals.bytes, false);
        }
    }

    fn dir(&mut self, path: &Path, root_dev: u64) {
        let Ok(rd) = std::fs::read_dir(path) else {
            return;
        };
        let tag = self.sel.tag_in(path).map(<[u8]>::to_vec);
        for ent in rd.flatten() {
            if self.stopped() {
                return;
            }
            use std::os::unix::ffi::OsStrExt;
            if tag
                .as_ref()
                .is_some_and(|t| ent.file_name().as_bytes() != t.as_slice())
            {
                continue;
            }
            let child = ent.path();
            if let Ok(md) = std::fs::symlink_metadata(&child) {
                self.entry(&child, &md, root_dev);
            }
        }
    }
}
