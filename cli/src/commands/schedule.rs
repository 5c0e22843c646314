//! `cairn schedule install | list | remove`: write, show and delete the
//! systemd units (or cron.d file) that run `cairn run PROFILE` on the
//! profile's schedule.
//!
//! Cairn writes files and stops there: it never calls `systemctl`. It
//! prints the commands to run instead, so installing into a staging
//! directory, an image or a configuration-management checkout works the
//! same as installing into `/etc`, and nothing is enabled behind the
//! administrator's back.
//!
//! Invariants: files are written atomically (temporary file, fsync,
//! rename, fsync directory) with mode 0644, and hold no password; a file
//! whose first line lacks the marker is never overwritten or removed.

use super::Ctx;
use crate::output::esc_path;
use crate::profile::schedule::{self as text, Invocation, MARKER};
use crate::profile::Config;
use cairn_engine::{Error, ErrorKind, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const UNIT_DIR: &str = "/etc/systemd/system";
const CRON_DIR: &str = "/etc/cron.d";

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Write cairn-PROFILE.service and .timer (or with --cron a cron.d
    /// file) that run `cairn --config FILE run PROFILE` on the profile's
    /// [schedule]; prints the systemctl commands that enable them.
    Install(InstallArgs),
    /// List the units and cron files `schedule install` wrote.
    List(Dirs),
    /// Remove a profile's units and cron file (only files Cairn wrote).
    Remove(RemoveArgs),
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    // Not called `profile`: clap would take it for the global `--profile`.
    /// The profile (in --config FILE or the default config).
    #[arg(value_name = "PROFILE")]
    pub name: String,
    /// Write a cron.d file instead of systemd units.
    #[arg(long)]
    pub cron: bool,
    /// Where systemd units go [default: /etc/systemd/system].
    #[arg(long, value_name = "DIR", conflicts_with = "cron")]
    pub unit_dir: Option<PathBuf>,
    /// Where the cron file goes [default: /etc/cron.d].
    #[arg(long, value_name = "DIR", requires = "cron")]
    pub cron_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct Dirs {
    /// Where systemd units are.
    #[arg(long, value_name = "DIR", default_value = UNIT_DIR)]
    pub unit_dir: PathBuf,
    /// Where cron files are.
    #[arg(long, value_name = "DIR", default_value = CRON_DIR)]
    pub cron_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The profile whose schedule goes.
    #[arg(value_name = "PROFILE")]
    pub name: String,
    #[command(flatten)]
    pub dirs: Dirs,
}

/// One file Cairn wrote.
#[derive(Serialize)]
struct Entry {
    profile: String,
    /// `systemd` or `cron`.
    kind: &'static str,
    path: PathBuf,
    /// The OnCalendar or cron expression (timers and cron files).
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<String>,
    /// A timer linked into timers.target.wants (timers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
}

#[derive(Serialize)]
struct Report {
    action: &'static str,
    files: Vec<Entry>,
    /// What to run next (Cairn does not run it).
    next: Vec<String>,
}

/// Run `schedule`.
pub fn run(ctx: &Ctx, cmd: &ScheduleCommand) -> Result<i32> {
    let report = match cmd {
        ScheduleCommand::Install(a) => install(ctx, a)?,
        ScheduleCommand::List(d) => Report {
            action: "list",
            files: list(d, None)?,
            next: Vec::new(),
        },
        ScheduleCommand::Remove(a) => remove(a)?,
    };
    if ctx.out.json {
        crate::output::print_report(&report);
        return Ok(crate::exit::OK);
    }
    if report.action == "list" && report.files.is_empty() {
        ctx.out.info("no schedule installed");
    }
    for f in &report.files {
        let state = match f.enabled {
            Some(true) => " (enabled)",
            Some(false) => " (not enabled)",
            None => "",
        };
        let when = f
            .schedule
            .as_deref()
            .map(|s| format!("  {s}"))
            .unwrap_or_default();
        let verb = match report.action {
            "install" => "wrote   ",
            "remove" => "removed ",
            _ => "",
        };
        crate::outln!(
            "{verb}{}  {}  {}{when}{state}",
            f.profile,
            f.kind,
            esc_path(&f.path)
        );
    }
    for n in &report.next {
        ctx.out.info(&format!("next: {n}"));
    }
    Ok(crate::exit::OK)
}

fn install(ctx: &Ctx, a: &InstallArgs) -> Result<Report> {
    let config = Config::find_and_load(ctx.config.as_deref())?;
    let profile = config.profile(&a.name)?;
    let schedule = profile.schedule.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "profile {} has no [schedule]: add on-calendar = \"daily\" (or cron = \"30 2 * * *\") to it in {}",
            profile.name,
            esc_path(&config.path)
        ))
    })?;
    let config_path = std::path::absolute(&config.path)
        .map_err(|e| Error::io(format!("resolving {}", config.path.display()), e))?;
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the cairn binary", e))?;
    let inv = Invocation {
        exe: &exe,
        config: &config_path,
        profile: &profile.name,
    };
    let name = &profile.name;
    let mut files = Vec::new();
    let next = if a.cron {
        let expr = schedule.for_cron()?;
        let dir = a.cron_dir.clone().unwrap_or_else(|| CRON_DIR.into());
        let path = dir.join(format!("cairn-{name}"));
        write_atomic(&path, &text::cron_file(&inv, &expr)?)?;
        files.push(entry(name, "cron", path, Some(expr), None));
        vec!["nothing: cron reads its directory by itself".to_owned()]
    } else {
        let expr = schedule.for_systemd()?;
        check_calendar(expr)?;
        let dir = a.unit_dir.clone().unwrap_or_else(|| UNIT_DIR.into());
        let service = dir.join(format!("cairn-{name}.service"));
        let timer = dir.join(format!("cairn-{name}.timer"));
        let (service_text, timer_text) = (text::service_unit(&inv)?, text::timer_unit(name, expr));
        // Refuse before writing either file.
        for p in [&service, &timer] {
            ours_or_absent(p)?;
        }
        write_atomic(&service, &service_text)?;
        write_atomic(&timer, &timer_text)?;
        files.push(entry(name, "systemd", service, None, None));
        let enabled = Some(is_enabled(&dir, name));
        files.push(entry(
            name,
            "systemd",
            timer,
            Some(expr.to_owned()),
            enabled,
        ));
        vec![format!(
            "systemctl daemon-reload && systemctl enable --now cairn-{name}.timer"
        )]
    };
    Ok(Report {
        action: "install",
        files,
        next,
    })
}

fn entry(
    profile: &str,
    kind: &'static str,
    path: PathBuf,
    schedule: Option<String>,
    enabled: Option<bool>,
) -> Entry {
    Entry {
        profile: profile.to_owned(),
        kind,
        path,
        schedule,
        enabled,
    }
}

/// Where `systemd-analyze` exists, let it judge the calendar expression
/// (the config check only knows its alphabet).
fn check_calendar(expr: &str) -> Result<()> {
    let out = std::process::Command::new("systemd-analyze")
        .args(["calendar", expr])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if !o.status.success() => Err(Error::invalid(format!(
            "on-calendar '{}' is not a calendar expression systemd accepts (see `systemd-analyze calendar '{}'` and systemd.time(7))",
            crate::output::esc(expr),
            crate::output::esc(expr)
        ))),
        _ => Ok(()),
    }
}

/// The first line of `p` (at most 512 bytes read), if it is a file.
fn first_line(p: &Path) -> Result<Option<String>> {
    let f = match std::fs::File::open(p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", p.display()), e)),
    };
    let mut head = Vec::new();
    f.take(512)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
    let s = String::from_utf8_lossy(&head);
    Ok(Some(s.lines().next().unwrap_or_default().to_owned()))
}

/// `p` is absent or a file Cairn wrote.
fn ours_or_absent(p: &Path) -> Result<bool> {
    match first_line(p)? {
        None => Ok(false),
        Some(l) if l.starts_with(MARKER) => Ok(true),
        Some(_) => Err(Error::new(
            ErrorKind::Io,
            format!(
                "{} was not written by `cairn schedule install` (its first line is not \"{MARKER} ...\"); Cairn leaves it alone: move it away yourself if it should go",
                esc_path(p)
            ),
        )),
    }
}

fn is_enabled(unit_dir: &Path, name: &str) -> bool {
    let link = unit_dir
        .join("timers.target.wants")
        .join(format!("cairn-{name}.timer"));
    std::fs::symlink_metadata(link).is_ok()
}

/// Write `text` to `path` atomically, mode 0644.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    ours_or_absent(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    // A leading dot and a `.tmp` suffix: neither systemd nor cron reads it.
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let io = |what: &str, e| Error::io(format!("{what} {}", tmp.display()), e);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|e| io("creating", e))?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| io("setting the mode of", e))?;
        f.write_all(text.as_bytes()).map_err(|e| io("writing", e))?;
        f.sync_all().map_err(|e| io("syncing", e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            Error::io(
                format!("renaming {} to {}", tmp.display(), path.display()),
                e,
            )
        })?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Cairn's files in the two directories (for one profile, or all).
fn list(d: &Dirs, only: Option<&str>) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (dir, kind) in [(&d.unit_dir, "systemd"), (&d.cron_dir, "cron")] {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        for n in names {
            let Some(rest) = n.strip_prefix("cairn-") else {
                continue;
            };
            let profile = match kind {
                "systemd" => rest
                    .strip_suffix(".service")
                    .or_else(|| rest.strip_suffix(".timer")),
                _ => (!rest.contains('.')).then_some(rest),
            };
            let Some(profile) = profile else { continue };
            if only.is_some_and(|o| o != profile) {
                continue;
            }
            let path = dir.join(&n);
            if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
                || !first_line(&path)?.is_some_and(|l| l.starts_with(MARKER))
            {
                continue;
            }
            let (schedule, enabled) = match (kind, n.ends_with(".timer")) {
                ("systemd", true) => (
                    setting(&path, "OnCalendar="),
                    Some(is_enabled(dir, profile)),
                ),
                ("systemd", false) => (None, None),
                _ => (cron_expr(&path), None),
            };
            out.push(entry(profile, kind, path, schedule, enabled));
        }
    }
    Ok(out)
}

fn setting(p: &Path, key: &str) -> Option<String> {
    let t = std::fs::read_to_string(p).ok()?;
    t.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::to_owned)
}

fn cron_expr(p: &Path) -> Option<String> {
    let t = std::fs::read_to_string(p).ok()?;
    let line = t.lines().find(|l| l.contains(" root "))?;
    line.split(" root ").next().map(str::to_owned)
}

fn remove(a: &RemoveArgs) -> Result<Report> {
    let name = &a.name;
    let candidates = [
        a.dirs.unit_dir.join(format!("cairn-{name}.service")),
        a.dirs.unit_dir.join(format!("cairn-{name}.timer")),
        a.dirs.cron_dir.join(format!("cairn-{name}")),
    ];
    // Check every file first: a refusal removes nothing.
    let mut found = Vec::new();
    for p in &candidates {
        if ours_or_absent(p)? {
            found.push(p);
        }
    }
    let files = list(&a.dirs, Some(name))?;
    if found.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "no schedule of profile {} in {} or {}",
                crate::output::esc(name),
                esc_path(&a.dirs.unit_dir),
                esc_path(&a.dirs.cron_dir)
            ),
        ));
    }
    let mut next = Vec::new();
    for p in &found {
        std::fs::remove_file(p).map_err(|e| Error::io(format!("removing {}", p.display()), e))?;
    }
    if found.iter().any(|p| p.starts_with(&a.dirs.unit_dir)) {
        // What `systemctl disable` would remove: the link to our timer.
        let link = a
            .dirs
            .unit_dir
            .join("timers.target.wants")
            .join(format!("cairn-{name}.timer"));
        if std::fs::read_link(&link).is_ok_and(|t| t.file_name() == link.file_name()) {
            std::fs::remove_file(&link)
                .map_err(|e| Error::io(format!("removing {}", link.display()), e))?;
        }
        next.push(format!(
            "systemctl stop cairn-{name}.timer; systemctl daemon-reload"
        ));
    }
    Ok(Report {
        action: "remove",
        files,
        next,
    })
}

/// The examples `cairn schedule --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # systemd service and timer for a profile's [schedule]
  cairn --config /etc/cairn/cairn.toml schedule install nightly
  # A cron.d file instead
  cairn schedule install nightly --cron
  # What is installed; remove it
  cairn schedule list
  cairn schedule remove nightly";
