//! Human and JSON output, and the terminal progress display.
//!
//! Invariants: machine output (`--json`) goes to stdout and nothing else
//! does in that mode; messages, warnings and progress go to stderr; bars
//! are drawn only when stderr is a terminal and neither `-q` nor `--json`.

/// `println!` that never panics: when stdout is a closed pipe the text is
/// dropped (its reader is gone; the exit code still tells the outcome).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
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
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

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
    /// A human message on stderr (suppressed by `-q`).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            crate::errln!("{msg}");
        }
    }

    /// A progress reporter for a long operation.
    pub fn progress(&self, what: &str) -> TermProgress {
        let bar = if !self.json && !self.quiet && std::io::stderr().is_terminal() {
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
            b.set_message(path.display().to_string());
        }
        if self.out.verbose >= 2 && !self.out.json {
            crate::errln!("{}", path.display());
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
        match &self.bar {
            Some(b) => b.println(format!("warning: {message}")),
            None => crate::errln!("warning: {message}"),
        }
    }
}

/// RFC 3339 UTC with nanoseconds, for JSON.
pub fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::new(t.secs, t.nanos as i32)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| format!("{}.{:09}", t.secs, t.nanos))
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

/// Print one JSON value on stdout.
pub fn print_json(v: &serde_json::Value) {
    crate::outln!("{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_parsing() {
        let t = parse_time("2026-01-31T02:00:00Z").unwrap();
        assert_eq!(t.secs, 1_769_824_800);
        assert!(parse_time("yesterday").is_err());
        let e = parse_time("9999-12-31T23:59:59Z").unwrap_err().to_string();
        assert!(!e.contains("not RFC 3339"), "{e}");
        assert!(parse_time("9999-12-30T00:00:00Z").is_ok());
        assert_eq!(rfc3339(t), "2026-01-31T02:00:00Z");
        assert_eq!(bytes(1536), "1.5 KiB");
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
