//! Human and JSON output, and the terminal progress display.
//!
//! Invariants: machine output (`--json`) goes to stdout and nothing else
//! does in that mode; human results (summaries, tables) go to stdout,
//! warnings, errors and progress to stderr, as in restic; bars
//! are drawn only when stderr is a terminal and neither `-q` nor `--json`.
//! Text that comes from the repository or the filesystem (names, hosts,
//! tags, link targets, messages quoting them) is shown through [`esc`] or
//! [`esc_bytes`] in human output, so it cannot drive the terminal.
//! Every write to stdout goes through [`Stdout`], which remembers how it
//! failed: a closed pipe ends the output quietly (exit 0), any other
//! failure (a full disk) is an error (see `main`).

/// `println!` that never panics and never loses a failure silently: the
/// line goes through [`output::Stdout`](crate::output::Stdout), which
/// records a write error for `main` to report (a closed pipe only stops
/// the output).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let mut line = format!($($t)*);
        line.push('\n');
        let _ = $crate::output::Stdout.write_all(line.as_bytes());
    }};
}

/// `eprintln!` that never panics (see [`outln!`]).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

use cairn_engine::{Progress, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};
use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Standard output that records its first failure. After a closed pipe
/// (`EPIPE`) every further write fails at once, so listings stop.
pub struct Stdout;

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDOUT_FAILED: Mutex<Option<(std::io::ErrorKind, Option<i32>, String)>> = Mutex::new(None);

fn record(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, Ordering::SeqCst);
        return;
    }
    let mut slot = STDOUT_FAILED.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some((e.kind(), e.raw_os_error(), e.to_string()));
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::SeqCst) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        std::io::stdout().write(buf).inspect_err(record)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::SeqCst) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        std::io::stdout().flush().inspect_err(record)
    }
}

/// Was stdout found closed (its reader gone)?
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Is `e` the failure of a write to a closed stdout? Listings stop there,
/// and it is not an error: the reader (`head`, a pager) has what it wanted.
pub fn is_closed_stdout(e: &cairn_engine::Error) -> bool {
    use std::error::Error as _;
    stdout_closed()
        && e.source()
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Flush stdout; the first write failure other than a closed pipe (for
/// example `ENOSPC` on `/dev/full`) becomes an error.
pub fn finish_stdout() -> cairn_engine::Result<()> {
    let _ = Stdout.flush();
    let failed = STDOUT_FAILED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    match failed {
        None => Ok(()),
        Some((kind, code, text)) => {
            let e = match code {
                Some(c) => std::io::Error::from_raw_os_error(c),
                None => std::io::Error::new(kind, text),
            };
            Err(cairn_engine::Error::io("writing to standard output", e))
        }
    }
}

/// Map a failed write to stdout to an engine error (a closed pipe is
/// recognised later by [`is_closed_stdout`]).
pub fn write_error(e: std::io::Error) -> cairn_engine::Error {
    cairn_engine::Error::io("writing to standard output", e)
}

/// Should `c` be shown escaped? C0 and C1 controls, DEL, and the Unicode
/// controls that reorder text (bidirectional overrides and isolates).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Text from the repository or the filesystem, safe for a terminal:
/// control characters become C-style escapes (`\n`, `\t`, `\x1b`,
/// `\u{9b}`), and a backslash is doubled so the result is unambiguous.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || needs_escape(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' || needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`esc`] for raw bytes (names need not be UTF-8): bytes that are
/// not UTF-8 are shown as `\xNN`.
pub fn esc_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(&esc(chunk.valid()));
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// A path for human output (see [`esc_bytes`]).
pub fn esc_path(p: &Path) -> String {
    esc_bytes(p.as_os_str().as_bytes())
}

/// Output settings from the global flags.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// `--json`.
    pub json: bool,
    /// `-q`.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
}

impl Output {
    /// A command's human result (a summary, a table, what was done) on
    /// stdout, as restic prints it; suppressed by `-q`. Diagnostics
    /// (warnings, errors, progress) go to stderr instead.
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            crate::outln!("{msg}");
        }
    }

    /// A progress reporter for a long operation.
    pub fn progress(&self, what: &str) -> TermProgress {
        let bar = if wants_bar(self) {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} {bytes} ({bytes_per_sec}) {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_prefix(what.to_owned());
            b.enable_steady_tick(std::time::Duration::from_millis(200));
            Some(b)
        } else {
            None
        };
        TermProgress {
            bar,
            out: *self,
            warnings: Mutex::new(0),
        }
    }
}

/// Should progress be drawn? Only on a terminal (stderr), without `-q`
/// or `--json`.
pub fn wants_bar(out: &Output) -> bool {
    !out.json && !out.quiet && std::io::stderr().is_terminal()
}

/// Draws a spinner with byte counts; prints warnings as they happen.
pub struct TermProgress {
    bar: Option<ProgressBar>,
    out: Output,
    warnings: Mutex<u64>,
}

impl TermProgress {
    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for TermProgress {
    fn file(&self, path: &Path) {
        if let Some(b) = &self.bar {
            b.set_message(esc_path(path));
        }
        if self.out.verbose >= 2 && !self.out.json {
            crate::errln!("{}", esc_path(path));
        }
    }

    fn bytes(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn warn(&self, message: &str) {
        *self.warnings.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        if self.out.quiet {
            return;
        }
        let message = esc(message);
        match &self.bar {
            Some(b) => b.println(format!("warning: {message}")),
            None => crate::errln!("warning: {message}"),
        }
    }
}

/// Local time for tables.
pub fn local_time(t: Timestamp) -> String {
    jiff::Timestamp::new(t.secs, t.nanos as i32)
        .map(|ts| {
            ts.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| t.secs.to_string())
}

/// Parse `--time`: RFC 3339, or a civil date-time in the local zone.
pub fn parse_time(s: &str) -> cairn_engine::Result<Timestamp> {
    let ts = match (
        s.parse::<jiff::Timestamp>(),
        s.parse::<jiff::civil::DateTime>(),
    ) {
        (Ok(ts), _) => ts,
        (Err(_), Ok(dt)) => dt
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .map_err(|e| cairn_engine::Error::invalid(format!("--time '{s}': {e}")))?
            .timestamp(),
        // Well-formed but unusable (e.g. past the year 9999 once the
        // offset is applied): say why instead of "not RFC 3339".
        (Err(e), Err(_)) if looks_like_rfc3339(s) => {
            return Err(cairn_engine::Error::invalid(format!("--time '{s}': {e}")))
        }
        (Err(_), Err(_)) => {
            return Err(cairn_engine::Error::invalid(format!(
                "--time '{s}' is not RFC 3339 (2026-01-31T02:00:00Z) or 'YYYY-MM-DD HH:MM:SS'"
            )))
        }
    };
    Ok(Timestamp {
        secs: ts.as_second(),
        nanos: ts.subsec_nanosecond().max(0) as u32,
    })
}

/// `YYYY-MM-DDTHH:MM...` with a zone designator at the end.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b.get(4) == Some(&b'-')
        && b.get(10).is_some_and(|c| matches!(c, b'T' | b't' | b' '))
        && (s.ends_with(['Z', 'z']) || b.get(b.len() - 6).is_some_and(|c| matches!(c, b'+' | b'-')))
}

/// Parse an elapsed-time duration for `--stale` and `--max-duration`:
/// numbers with units `s`, `min`, `h`, `d` (24 h) and `w` (7 d), combined
/// like `1h30min`. A bare `m` is refused: restic's retention durations
/// (`--keep-within 6m`) use it for months, so it would be ambiguous here.
pub fn parse_duration(s: &str) -> cairn_engine::Result<std::time::Duration> {
    let bad = |why: String| {
        cairn_engine::Error::invalid(format!(
            "'{s}' is not a duration ({why}): use s, min, h, d or w, e.g. 30min, 12h, 90d, 2w"
        ))
    };
    let mut total: u64 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad("empty".into()));
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (num, tail) = rest.split_at(digits);
        if num.is_empty() {
            return Err(bad("a unit without a number".into()));
        }
        let unit_len = tail.len()
            - tail
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, tail) = tail.split_at(unit_len);
        let secs = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "m" => {
                return Err(bad(format!(
                    "'m' is ambiguous: minutes here, months in --keep-within; write {num}min for minutes"
                )))
            }
            "" => return Err(bad(format!("no unit after {num}"))),
            other => return Err(bad(format!("unknown unit '{other}'"))),
        };
        let n: u64 = num.parse().map_err(|_| bad("number too large".into()))?;
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| bad("too long".into()))?;
        rest = tail;
    }
    if total == 0 {
        return Err(bad("zero".into()));
    }
    Ok(std::time::Duration::from_secs(total))
}

/// Parse a size such as `500`, `64K`, `500M`, `2G`, `1T` (binary units;
/// a trailing `B` or `iB` is accepted).
pub fn parse_size(s: &str) -> cairn_engine::Result<u64> {
    let bad = || cairn_engine::Error::invalid(format!("'{s}' is not a size like 500M or 2G"));
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    n.checked_mul(mult).ok_or_else(bad)
}

/// `n` and the noun, singular or plural: `count(1, "snapshot", "snapshots")`
/// is "1 snapshot".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Human-readable byte count (binary units).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Print one JSON value on stdout (failures are recorded, see [`Stdout`]).
pub fn print_json(v: &serde_json::Value) {
    crate::outln!("{v}");
}

/// The `--json` document of a command that could not run.
#[derive(serde::Serialize)]
pub struct ErrorDoc {
    /// The message, as on stderr.
    pub error: String,
    /// The error kind's stable name.
    pub kind: &'static str,
    /// The remedy's stable name, when a command helps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<&'static str>,
    /// The exit code that follows.
    pub exit_code: i32,
}

/// Print an operation's report as one JSON document (keys sorted, as
/// every `--json` document of the CLI).
pub fn print_report<T: serde::Serialize>(report: &T) {
    match serde_json::to_value(report) {
        Ok(v) => print_json(&v),
        Err(e) => crate::errln!("error: the report could not be serialized: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(esc("plain name.txt"), "plain name.txt");
        assert_eq!(esc("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(esc("new\nline\ttab"), "new\\nline\\ttab");
        assert_eq!(esc("back\\slash"), "back\\\\slash");
        assert_eq!(esc("c1\u{9b}x"), "c1\\u{9b}x");
        assert_eq!(esc("rlo\u{202e}txt"), "rlo\\u{202e}txt");
        assert_eq!(esc("héllo"), "héllo");
        assert_eq!(esc_bytes(b"\xffname\x07"), "\\xffname\\x07");
        assert_eq!(esc_bytes(b"\xc3\xa9"), "é");
    }

    #[test]
    fn time_parsing() {
        let t = parse_time("2026-01-31T02:00:00Z").unwrap();
        assert_eq!(t.secs, 1_769_824_800);
        assert!(parse_time("yesterday").is_err());
        let e = parse_time("9999-12-31T23:59:59Z").unwrap_err().to_string();
        assert!(!e.contains("not RFC 3339"), "{e}");
        assert!(parse_time("9999-12-30T00:00:00Z").is_ok());
        assert_eq!(t.to_rfc3339(), "2026-01-31T02:00:00Z");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(count(1u64, "snapshot", "snapshots"), "1 snapshot");
        assert_eq!(
            count(0u64, "other entry", "other entries"),
            "0 other entries"
        );
        assert_eq!(parse_duration("1h30min").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("90d").unwrap().as_secs(), 90 * 86_400);
        assert_eq!(parse_duration("2w1s").unwrap().as_secs(), 1_209_601);
        let e = parse_duration("30m").unwrap_err().to_string();
        assert!(e.contains("ambiguous") && e.contains("30min"), "{e}");
        for bad in ["", "10", "5x", "m", "0s", "6m", "1y", "1mo", "h1", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("500MiB").unwrap(), 500 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in ["", "G", "1.5G", "-1", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
