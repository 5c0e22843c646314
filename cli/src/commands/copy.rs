//! `cairn copy`: snapshots into one or more other repositories (see
//! `cairn_engine::ops::copy`). Each destination gets its own report; a
//! failing destination does not stop the others, and makes the exit 1.

use super::Ctx;
use crate::output::{bytes, count, esc};
use cairn_engine::ops::copy::CopyReport;
use cairn_engine::{Error, Result, SnapshotId};
use clap::Args;
use serde::Serialize;

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// Snapshots to copy (IDs, prefixes or `latest`) [default: all that match the filters].
    pub snapshots: Vec<String>,
    /// Destination repository (repeatable: one report per destination)
    /// [default: the copy targets of --profile].
    #[arg(long = "to", value_name = "REPO")]
    pub to: Vec<std::ffi::OsString>,
    /// File holding the destinations' password [env: CAIRN_TO_PASSWORD_FILE].
    #[arg(long, value_name = "FILE")]
    pub to_password_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub filter: crate::args::SnapshotFilter,
}

/// The `--json` document: one entry per destination, in the order given.
#[derive(Serialize)]
struct CopyDoc {
    targets: Vec<TargetDoc>,
}

/// One destination's outcome.
#[derive(Serialize)]
struct TargetDoc {
    location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<CopyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Run `copy`.
pub fn run(ctx: &Ctx, a: &CopyArgs) -> Result<i32> {
    let targets = targets(ctx, a)?;
    let src = ctx.open()?;
    let ids = select(&src, a)?;
    let progress = ctx.out.progress("copy");
    let mut doc = CopyDoc {
        targets: Vec::new(),
    };
    let mut failed = false;
    for (location, open) in targets {
        let result =
            open().and_then(|dst| cairn_engine::ops::copy::copy(&src, &dst, &ids, &progress));
        match result {
            Ok(r) => doc.targets.push(TargetDoc {
                location,
                report: Some(r),
                error: None,
            }),
            Err(e) if e.kind() == cairn_engine::ErrorKind::Interrupted => {
                progress.finish();
                return Err(e);
            }
            Err(e) => {
                failed = true;
                crate::errln!(
                    "cairn: copy to {location} failed: {}",
                    esc(&crate::advice::message(&e))
                );
                doc.targets.push(TargetDoc {
                    location,
                    report: None,
                    error: Some(crate::advice::message(&e)),
                });
            }
        }
    }
    progress.finish();
    if ctx.out.json {
        crate::output::print_report(&doc);
    } else {
        for t in &doc.targets {
            if let Some(r) = &t.report {
                ctx.out.info(&format!(
                    "{}: copied {}, skipped {} already there; wrote {} ({}), {} already present, verified; {:.1}s",
                    t.location,
                    count(r.copied.len() as u64, "snapshot", "snapshots"),
                    r.skipped.len(),
                    count(r.blobs_written, "blob", "blobs"),
                    bytes(r.bytes_written),
                    r.blobs_deduplicated,
                    r.duration_secs
                ));
            }
        }
    }
    Ok(if failed {
        crate::exit::ERROR
    } else {
        crate::exit::OK
    })
}

/// Opens one destination when called (so one that cannot be opened is
/// that destination's failure, reported in turn).
type Opener<'a> = Box<dyn FnOnce() -> Result<cairn_engine::Repository> + 'a>;

/// The destinations, named for the report: `--to` locations with the
/// `--to-password-file` password, else the copy targets of `--profile`
/// (each profile target with its own password and settings).
fn targets<'a>(ctx: &'a Ctx, a: &'a CopyArgs) -> Result<Vec<(String, Opener<'a>)>> {
    if a.to.is_empty() {
        let Some(name) = &ctx.profile else {
            return Err(Error::invalid(
                "copy needs a destination: --to REPO (repeatable), or --profile NAME with copy targets",
            ));
        };
        let config = crate::profile::Config::find_and_load(ctx.config.as_deref())?;
        let profile = config.profile(name)?.clone();
        if profile.copy.is_empty() {
            return Err(Error::invalid(format!(
                "profile {} has no copy targets ([copy] to = [...]); give --to REPO",
                esc(name)
            )));
        }
        return Ok(profile
            .copy
            .clone()
            .into_iter()
            .map(|t| {
                let (label, opened) = super::run::steps::open_target(ctx, &config, &profile, &t);
                (label, Box::new(move || opened) as Opener<'a>)
            })
            .collect());
    }
    let pwfile = a
        .to_password_file
        .clone()
        .or_else(|| {
            std::env::var_os("CAIRN_TO_PASSWORD_FILE")
                .filter(|v| !v.is_empty())
                .map(Into::into)
        })
        .ok_or_else(|| {
            Error::invalid(
                "copy needs the destinations' password: --to-password-file FILE (or CAIRN_TO_PASSWORD_FILE)",
            )
        })?;
    Ok(a.to
        .iter()
        .map(|raw| {
            let shown = crate::location::Location::parse(raw)
                .map(|l| l.display())
                .unwrap_or_else(|_| {
                    crate::output::esc_bytes(std::os::unix::ffi::OsStrExt::as_bytes(
                        raw.as_os_str(),
                    ))
                });
            let pwfile = pwfile.clone();
            let open: Opener<'a> = Box::new(move || ctx.open_other(raw, &pwfile));
            (shown, open)
        })
        .collect())
}

/// The snapshots to copy: those named, else all that match the filters,
/// oldest first.
fn select(src: &cairn_engine::Repository, a: &CopyArgs) -> Result<Vec<SnapshotId>> {
    let filter = a.filter.to_engine()?;
    if a.snapshots.is_empty() {
        return Ok(src
            .snapshots()?
            .into_iter()
            .filter(|(_, s)| filter.matches(s))
            .map(|(id, _)| id)
            .collect());
    }
    let mut ids = Vec::new();
    for spec in &a.snapshots {
        let (id, _) = src.find_snapshot_matching(spec, &filter)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The examples `cairn copy --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Every snapshot to two other repositories
  cairn copy --to s3://backups-eu/db1 --to s3://backups-us/db1 --to-password-file /root/.cairn-offsite
  # Only the newest snapshot of one host
  cairn copy latest --host db1 --to /mnt/usb/repo --to-password-file /root/.cairn-usb";
