//! What a backup shows while it runs. On a terminal (stderr, unless `-q`
//! or `--json`): elapsed time, percentage, files and bytes done of the
//! scan's totals, errors, time left and the current file, redrawn a few
//! times a second. With `--json`: `status` lines on stdout at most
//! `CAIRN_PROGRESS_FPS` times a second (default 1) and once at the end of
//! a backup that succeeded, and with `-v`/`-vv` `verbose_status` lines;
//! the summary line follows (`report`; it lists the warnings). Without
//! either, nothing.
//!
//! Invariants: `--json` stdout holds only JSON lines; `-v` lists go to
//! stdout (restic prints them there), drawn around the bar so neither
//! garbles the other; no path reaches the terminal unescaped.

use crate::output::{bytes, esc, esc_path, Output};
use cairn_engine::{Change, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    files_done: u64,
    bytes_done: u64,
    total: Option<(u64, u64, bool)>,
    errors: u64,
    /// The file being read, kept only when a bar or JSON status shows it
    /// (escaped when shown: per file, escaping cost more than the file's
    /// `lstat` in an unchanged re-backup).
    current: Option<std::path::PathBuf>,
    last_emit: Option<Instant>,
}

/// Progress of one backup (see the module docs).
pub struct BackupProgress {
    out: Output,
    start: Instant,
    bar: Option<ProgressBar>,
    json_every: Duration,
    state: Mutex<State>,
}

fn json_interval() -> Duration {
    let fps = std::env::var("CAIRN_PROGRESS_FPS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(1.0)
        .min(1000.0);
    Duration::from_secs_f64(1.0 / fps)
}

/// `h:mm:ss` or `m:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

impl BackupProgress {
    /// Progress for a backup with these output settings.
    pub fn new(out: Output) -> Self {
        let bar = crate::output::wants_bar(&out).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        BackupProgress {
            out,
            start: Instant::now(),
            bar,
            json_every: json_interval(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (percent done 0..=1, seconds left) once a total is known.
    fn estimate(&self, s: &State) -> (Option<f64>, Option<u64>) {
        let Some((_, total_bytes, finished)) = s.total else {
            return (None, None);
        };
        let frac = if total_bytes == 0 {
            if finished {
                1.0
            } else {
                0.0
            }
        } else {
            (s.bytes_done as f64 / total_bytes as f64).min(1.0)
        };
        let elapsed = self.start.elapsed().as_secs_f64();
        let left = (finished && s.bytes_done > 0 && elapsed > 0.0).then(|| {
            let rate = s.bytes_done as f64 / elapsed;
            (total_bytes.saturating_sub(s.bytes_done) as f64 / rate).round() as u64
        });
        (Some(frac), left)
    }

    fn status_json(&self, s: &State) -> serde_json::Value {
        let (frac, left) = self.estimate(s);
        let (total_files, total_bytes) = s.total.map_or((None, None), |t| (Some(t.0), Some(t.1)));
        json!({
            "message_type": "status",
            "seconds_elapsed": self.start.elapsed().as_secs(),
            "seconds_remaining": left,
            "percent_done": frac,
            "total_files": total_files,
            "total_bytes": total_bytes,
            "scan_finished": s.total.is_some_and(|t| t.2),
            "files_done": s.files_done,
            "bytes_done": s.bytes_done,
            "error_count": s.errors,
            "current_files": s.current.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        })
    }

    fn status_line(&self, s: &State) -> String {
        let (frac, left) = self.estimate(s);
        let pct = frac
            .map(|f| format!(" {:5.1}%", f * 100.0))
            .unwrap_or_default();
        let total = match s.total {
            Some((f, b, done)) => format!(
                ", total {} files {}{}",
                f,
                bytes(b),
                if done { "" } else { " (scanning)" }
            ),
            None => String::new(),
        };
        let eta = left
            .map(|l| format!(", ETA {}", clock(Duration::from_secs(l))))
            .unwrap_or_default();
        format!(
            "[{}]{pct}  {} files {}{total}, {} errors{eta}\n{}",
            clock(self.start.elapsed()),
            s.files_done,
            bytes(s.bytes_done),
            s.errors,
            s.current.as_deref().map(esc_path).unwrap_or_default()
        )
    }

    /// Redraw the bar, or write a JSON status line when one is due.
    fn tick(&self, force: bool) {
        let mut s = self.state();
        if let Some(b) = &self.bar {
            b.set_message(self.status_line(&s));
        } else if self.out.json && !self.out.quiet {
            let due = s.last_emit.is_none_or(|t| t.elapsed() >= self.json_every);
            let due = force || (due && self.start.elapsed() >= self.json_every);
            if due {
                s.last_emit = Some(Instant::now());
                crate::output::print_json(&self.status_json(&s));
            }
        }
    }

    /// Stop drawing; in JSON mode after a backup that `succeeded`, write
    /// the final status line (a failed one ends with its error document).
    pub fn finish(&self, succeeded: bool) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        } else if succeeded {
            self.tick(true);
        }
    }

    /// Print a line on stdout without garbling the bar.
    fn list(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| crate::outln!("{line}")),
            None => crate::outln!("{line}"),
        }
    }
}

impl Progress for BackupProgress {
    fn file(&self, path: &Path) {
        if self.bar.is_some() || (self.out.json && !self.out.quiet) {
            self.state().current = Some(path.to_path_buf());
        }
    }

    fn bytes(&self, n: u64) {
        self.state().bytes_done += n;
        self.tick(false);
    }

    fn warn(&self, message: &str) {
        self.state().errors += 1;
        if self.out.quiet {
            return;
        }
        let line = format!("warning: {}", esc(message));
        match &self.bar {
            Some(b) => b.suspend(|| crate::errln!("{line}")),
            None => crate::errln!("{line}"),
        }
    }

    fn done(&self, path: &Path, kind: &str, size: u64, change: Change) {
        let is_dir = kind == "dir";
        if kind == "file" {
            self.state().files_done += 1;
        }
        let shown = match change {
            Change::Unmodified => self.out.verbose >= 2,
            Change::New | Change::Changed => self.out.verbose >= 1,
        };
        if !shown || self.out.quiet {
            return;
        }
        let action = match change {
            Change::New => "new",
            Change::Changed => "modified",
            Change::Unmodified => "unchanged",
        };
        if self.out.json {
            crate::output::print_json(&json!({
                "message_type": "verbose_status",
                "action": action,
                "item": path.to_string_lossy(),
                "type": kind,
                "data_size": size,
            }));
        } else {
            let slash = if is_dir { "/" } else { "" };
            self.list(&format!("{action:<9} {}{slash}", esc_path(path)));
        }
    }

    fn scanned(&self, files: u64, bytes: u64, finished: bool) {
        self.state().total = Some((files, bytes, finished));
    }

    /// The bar and the `--json` status lines show totals; a quiet or
    /// unattended backup shows nothing and skips the scan.
    fn wants_totals(&self) -> bool {
        self.bar.is_some() || self.out.json
    }
}
