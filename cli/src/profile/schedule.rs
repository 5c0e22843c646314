//! A profile's `[schedule]`, and the text of the systemd units and the
//! cron.d file that carry it out (`cairn schedule install` writes them).
//!
//! Invariants:
//! * what is written names only the cairn binary, the config file and the
//!   profile, never a password (the password stays behind the config's
//!   `password-file` or `password-command`);
//! * nothing placed in a unit or a crontab line can start a new line or
//!   directive: expressions are checked against a small alphabet, paths
//!   are quoted for systemd or sh, and control characters are refused;
//! * every file starts with [`MARKER`], so `schedule remove` deletes only
//!   files Cairn wrote.
//!
//! The service's hardening only takes away what a backup never needs to
//! *change* (kernel tunables, cgroups, the host name, real-time
//! scheduling, new privileges). Options that *hide* paths or devices
//! (ProtectSystem, ProtectHome, PrivateTmp, ProtectKernelModules,
//! ProtectKernelLogs, ProtectClock's device policy) would silently empty
//! parts of a backup, and RestrictSUIDSGID would fail the drill's restore
//! of setuid files, so they are left out on purpose.

use super::check::{text, Checked};
use super::raw;
use cairn_engine::{Error, Result};
use std::ops::Range;
use std::path::Path;

/// The first line of every file `schedule install` writes starts so.
pub const MARKER: &str = "# Written by cairn schedule install";

/// When a profile's routine runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// `on-calendar`: a systemd calendar expression (`daily`,
    /// `*-*-* 02:30:00`, `Mon..Fri 22:00`).
    pub on_calendar: Option<String>,
    /// `cron`: five cron fields (`30 2 * * *`) or `@daily` and its kin,
    /// for `schedule install --cron`.
    pub cron: Option<String>,
}

/// systemd's shorthand calendar names and the cron line each means.
const SHORTHANDS: &[(&str, &str)] = &[
    ("minutely", "* * * * *"),
    ("hourly", "0 * * * *"),
    ("daily", "0 0 * * *"),
    ("weekly", "0 0 * * 1"),
    ("monthly", "0 0 1 * *"),
    ("quarterly", "0 0 1 1,4,7,10 *"),
    ("semiannually", "0 0 1 1,7 *"),
    ("yearly", "0 0 1 1 *"),
    ("annually", "0 0 1 1 *"),
];

impl Schedule {
    pub(super) fn check(s: &raw::Schedule, span: Range<usize>) -> Checked<Schedule> {
        let on_calendar = s.on_calendar.as_ref().map(text).transpose()?;
        if let (Some(e), Some(v)) = (&on_calendar, &s.on_calendar) {
            check_on_calendar(e).map_err(|m| (v.span(), m))?;
        }
        let cron = s.cron.as_ref().map(text).transpose()?;
        if let (Some(e), Some(v)) = (&cron, &s.cron) {
            check_cron(e).map_err(|m| (v.span(), m))?;
        }
        if on_calendar.is_none() && cron.is_none() {
            return Err((
                span,
                "give on-calendar (systemd) or cron, or remove [schedule]".into(),
            ));
        }
        Ok(Schedule { on_calendar, cron })
    }

    /// The expression for a systemd timer.
    pub fn for_systemd(&self) -> Result<&str> {
        self.on_calendar.as_deref().ok_or_else(|| {
            Error::invalid("the profile's [schedule] has no on-calendar (a systemd calendar expression such as \"daily\" or \"*-*-* 02:30:00\"); give one, or install with --cron")
        })
    }

    /// The expression for a cron.d line: `cron`, else an `on-calendar`
    /// shorthand (`daily` is `0 0 * * *`).
    pub fn for_cron(&self) -> Result<String> {
        if let Some(c) = &self.cron {
            return Ok(c.clone());
        }
        let oc = self.on_calendar.as_deref().unwrap_or_default();
        SHORTHANDS
            .iter()
            .find(|(name, _)| *name == oc)
            .map(|(_, line)| (*line).to_owned())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "the profile's [schedule] has no cron expression and on-calendar '{}' has no cron equivalent: add cron = \"30 2 * * *\" (five fields)",
                    crate::output::esc(oc)
                ))
            })
    }
}

/// A systemd calendar expression, checked only against its alphabet
/// (install asks `systemd-analyze calendar` where it exists).
fn check_on_calendar(e: &str) -> std::result::Result<(), String> {
    let ok = !e.trim().is_empty()
        && e.len() <= 256
        && e.chars()
            .all(|c| c.is_ascii_alphanumeric() || " *-:.,/~_+".contains(c));
    if ok {
        Ok(())
    } else {
        Err("not a systemd calendar expression (e.g. \"daily\", \"*-*-* 02:30:00\", \"Mon..Fri 22:00\")".into())
    }
}

/// Five cron fields (minute, hour, day of month, month, day of week) of
/// `*`, numbers, ranges `a-b`, steps `/n` and lists, month and day names;
/// or one of `@hourly @daily @midnight @weekly @monthly @yearly @annually`.
pub fn check_cron(e: &str) -> std::result::Result<(), String> {
    const AT: &[&str] = &[
        "@hourly",
        "@daily",
        "@midnight",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
    ];
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let e = e.trim();
    if e.starts_with('@') {
        return if AT.contains(&e) {
            Ok(())
        } else {
            Err(format!("a cron shorthand is one of {}", AT.join(" ")))
        };
    }
    let fields: Vec<&str> = e.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(
            "a cron expression has five fields: minute hour day-of-month month day-of-week (e.g. \"30 2 * * *\")"
                .into(),
        );
    }
    let spec: [(&str, u32, u32, &[&str]); 5] = [
        ("minute", 0, 59, &[]),
        ("hour", 0, 23, &[]),
        ("day of month", 1, 31, &[]),
        ("month", 1, 12, MONTHS),
        ("day of week", 0, 7, DAYS),
    ];
    for (field, (name, lo, hi, names)) in fields.iter().zip(spec) {
        let bad = || {
            format!("cron {name} field '{field}': expected *, {lo}-{hi}, a range a-b, a step /n or a list")
        };
        for item in field.split(',') {
            if names.contains(&item.to_ascii_lowercase().as_str()) {
                continue;
            }
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            if let Some(s) = step {
                if !s.parse::<u32>().is_ok_and(|s| (1..=hi.max(1)).contains(&s)) {
                    return Err(bad());
                }
            }
            if range == "*" {
                continue;
            }
            let num = |s: &str| s.parse::<u32>().ok().filter(|n| (lo..=hi).contains(n));
            let ok = match range.split_once('-') {
                Some((a, b)) => num(a).zip(num(b)).is_some_and(|(a, b)| a <= b),
                None => num(range).is_some(),
            };
            if !ok {
                return Err(bad());
            }
        }
    }
    Ok(())
}

/// What a scheduled run executes: `EXE --config CONFIG run PROFILE`.
pub struct Invocation<'a> {
    /// The cairn binary (absolute).
    pub exe: &'a Path,
    /// The config file (absolute).
    pub config: &'a Path,
    /// The profile.
    pub profile: &'a str,
}

impl Invocation<'_> {
    fn words(&self) -> Result<[String; 3]> {
        let utf8 = |p: &Path, what: &str| -> Result<String> {
            let s = p.to_str().filter(|s| !s.chars().any(char::is_control));
            match s {
                Some(s) if p.is_absolute() => Ok(s.to_owned()),
                _ => Err(Error::invalid(format!(
                    "the {what} path {} cannot go into a unit or crontab (it must be absolute, UTF-8, without control characters)",
                    crate::output::esc_path(p)
                ))),
            }
        };
        Ok([
            utf8(self.exe, "cairn binary")?,
            utf8(self.config, "config file")?,
            self.profile.to_owned(),
        ])
    }
}

/// The marker line for `profile`'s files.
pub fn marker(profile: &str) -> String {
    format!("{MARKER} for profile {profile}; `cairn schedule remove {profile}` deletes it.")
}

fn safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.:+,@=-".contains(c))
}

/// A word of an `ExecStart=` line (systemd.service(5) quoting; `%` and
/// `$` doubled so neither is expanded).
fn systemd_word(s: &str) -> String {
    let escaped = s.replace('%', "%%").replace('$', "$$");
    if safe(s) {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A word of a `sh` command line in a crontab (no `%`: cron turns it
/// into a newline).
fn sh_word(s: &str) -> Result<String> {
    if s.contains('%') {
        return Err(Error::invalid(format!(
            "'{}' contains '%', which cron turns into a line break: use a systemd timer, or another path",
            crate::output::esc(s)
        )));
    }
    if safe(s) {
        return Ok(s.to_owned());
    }
    Ok(format!("'{}'", s.replace('\'', "'\\''")))
}

/// `cairn-PROFILE.service`.
pub fn service_unit(inv: &Invocation<'_>) -> Result<String> {
    let [exe, config, profile] = inv.words()?;
    Ok(format!(
        "{marker}
[Unit]
Description=Cairn backup routine (profile {profile})
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User=root
# Optional: environment for this profile (S3 keys, CAIRN_MONGODB_PASSWORD_FILE, ...).
EnvironmentFile=-/etc/cairn/cairn-{profile}.env
ExecStart={exe} --config {config} run {profile}
Nice=10
CPUSchedulingPolicy=batch
IOSchedulingClass=idle
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
ProtectHostname=yes
RestrictRealtime=yes
LockPersonality=yes
",
        marker = marker(&profile),
        exe = systemd_word(&exe),
        config = systemd_word(&config),
    ))
}

/// `cairn-PROFILE.timer` (Persistent: a run missed while the machine was
/// off happens at the next boot).
pub fn timer_unit(profile: &str, on_calendar: &str) -> String {
    format!(
        "{marker}
[Unit]
Description=Schedule of the Cairn backup routine (profile {profile})

[Timer]
OnCalendar={on_calendar}
Persistent=true
Unit=cairn-{profile}.service

[Install]
WantedBy=timers.target
",
        marker = marker(profile),
    )
}

/// `/etc/cron.d/cairn-PROFILE`: one line, run as root, with a PATH.
pub fn cron_file(inv: &Invocation<'_>, expr: &str) -> Result<String> {
    check_cron(expr).map_err(Error::invalid)?;
    let [exe, config, profile] = inv.words()?;
    Ok(format!(
        "{marker}
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
{expr} root {exe} --config {config} run {profile}
",
        marker = marker(&profile),
        expr = expr.trim(),
        exe = sh_word(&exe)?,
        config = sh_word(&config)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions() {
        for ok in [
            "30 2 * * *",
            "*/15 * * * *",
            "0 1-5/2 1,15 jan mon",
            "0 0 * * 7",
            "@daily",
        ] {
            assert_eq!(check_cron(ok), Ok(()), "{ok}");
        }
        for bad in [
            "30 2 * *",
            "60 2 * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "5-1 * * * *",
            "*/0 * * * *",
            "@reboot",
            "x * * * *",
            "0 0 * * 8",
        ] {
            assert!(check_cron(bad).is_err(), "{bad}");
        }
    }

    /// The Debian package's template unit (cli/packaging/systemd) runs a
    /// profile exactly as the unit `schedule install` writes for it. Only
    /// the package's has `Documentation=`: it ships the manual pages, and
    /// `systemd-analyze verify` rejects a unit naming pages not installed.
    #[test]
    fn packaged_template_service_matches_the_installed_unit() {
        let packaged = include_str!("../../packaging/systemd/cairn-run@.service");
        let inv = Invocation {
            exe: Path::new("/usr/bin/cairn"),
            config: Path::new("/etc/cairn/cairn.toml"),
            profile: "PROFILENAME",
        };
        let generated = service_unit(&inv).unwrap().replace("PROFILENAME", "%i");
        let settings = |unit: &str| -> Vec<String> {
            unit.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter(|l| !l.starts_with("Documentation="))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(settings(packaged), settings(&generated));
    }

    #[test]
    fn words_are_quoted_for_each_reader() {
        assert_eq!(systemd_word("/usr/bin/cairn"), "/usr/bin/cairn");
        assert_eq!(systemd_word("/a b/c\"d%e$f"), "\"/a b/c\\\"d%%e$$f\"");
        assert_eq!(sh_word("/a b/it's").unwrap(), "'/a b/it'\\''s'");
        assert!(sh_word("/a%b").is_err());
    }

    #[test]
    fn cron_follows_calendar_shorthands_only() {
        let s = |oc: &str, cron: Option<&str>| Schedule {
            on_calendar: Some(oc.into()),
            cron: cron.map(Into::into),
        };
        assert_eq!(s("daily", None).for_cron().unwrap(), "0 0 * * *");
        assert_eq!(
            s("weekly", Some("5 4 * * 0")).for_cron().unwrap(),
            "5 4 * * 0"
        );
        assert!(s("*-*-* 02:30:00", None).for_cron().is_err());
        assert_eq!(s("daily", None).for_systemd().unwrap(), "daily");
    }
}
