//! `cairn export` (write a volume set for cold media), `cairn export
//! verify` (check and repair one) and `cairn import` (bring an export's
//! snapshots into a repository). See `cairn_engine::ops::export` and
//! `format-spec/v1/export.md`.

use super::Ctx;
use crate::location::Location;
use crate::output::{bytes, count, esc, esc_path};
use cairn_engine::ops::export::check::VolumeState;
use cairn_engine::ops::export::{ExportOptions, DEFAULT_PARITY};
use cairn_engine::{Error, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `cairn export`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: Option<ExportCommand>,
    /// Snapshots to export (IDs, prefixes or `latest`) [default: all].
    pub snapshots: Vec<String>,
    /// Directory that receives the volumes.
    #[arg(long, value_name = "DIR", required = true)]
    pub to: Option<PathBuf>,
    /// Largest size of one volume (binary units: 23G fits a 25 GB BD-R).
    #[arg(long, value_name = "SIZE", default_value = "23G")]
    pub volume_size: String,
    /// Write each volume as one POSIX tar file instead of a directory.
    #[arg(long)]
    pub tar: bool,
    /// Export parity: M parity files per group of up to K packs, each on
    /// its own volume, or `off` [default: 16+1, survives losing one volume].
    #[arg(long, value_name = "K+M")]
    pub parity: Option<String>,
    /// Export only packs that the earlier export with this catalogue (and
    /// its bases) lacks; a restore then also needs those volumes.
    #[arg(long, value_name = "CATALOGUE")]
    pub incremental_from: Option<PathBuf>,
}

/// Subcommands of `cairn export`.
#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Check every volume present against its manifest; report missing,
    /// damaged and rebuildable volumes (no password needed).
    Verify(VerifyArgs),
}

/// `cairn export verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Directories holding volumes (or volumes themselves).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Rebuild damaged or lost volumes from the others (parity and the
    /// copies every volume carries).
    #[arg(long)]
    pub repair: bool,
}

/// `cairn import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Directory holding the export's volumes.
    pub dir: PathBuf,
    /// Snapshots to import [default: every snapshot in the export].
    pub snapshots: Vec<String>,
    /// The repository that receives the snapshots.
    #[arg(long = "to", value_name = "REPO")]
    pub to: std::ffi::OsString,
    /// File holding that repository's password [env: CAIRN_TO_PASSWORD_FILE].
    #[arg(long, value_name = "FILE")]
    pub to_password_file: Option<PathBuf>,
}

/// Run `export` or `export verify`.
pub fn run(ctx: &Ctx, a: &ExportArgs) -> Result<i32> {
    if let Some(ExportCommand::Verify(v)) = &a.command {
        return verify(ctx, v);
    }
    let to =
        a.to.clone()
            .ok_or_else(|| Error::invalid("give --to DIR"))?;
    let parity = match &a.parity {
        None => DEFAULT_PARITY,
        Some(p) => super::parity::parse(p)?.unwrap_or((0, 0)),
    };
    let opts = ExportOptions {
        to,
        snapshots: a.snapshots.clone(),
        volume_size: crate::output::parse_size(&a.volume_size)?,
        tar: a.tar,
        parity,
        incremental_from: a.incremental_from.clone(),
    };
    let repo = ctx.open()?;
    let progress = ctx.out.progress("export");
    let result = cairn_engine::ops::export::export(&repo, &opts, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
        return Ok(crate::exit::OK);
    }
    ctx.out.info(&format!(
        "export set {} in {}: {}, {} of packs ({} already in earlier exports), {} of parity ({}); {} written in {:.1}s",
        r.set,
        esc_path(&r.to),
        count(r.volumes.len() as u64, "volume", "volumes"),
        bytes(r.pack_bytes),
        r.packs_in_bases,
        bytes(r.parity_bytes),
        r.parity,
        bytes(r.bytes_written),
        r.duration_secs
    ));
    for v in &r.volumes {
        crate::outln!(
            "{}  {:<6}  {:>10}  {} files",
            esc(&v.name),
            v.kind,
            bytes(v.bytes),
            v.files
        );
    }
    if !r.bases.is_empty() {
        ctx.out.info(&format!(
            "a restore also needs the volumes of: {}",
            r.bases.join(", ")
        ));
    }
    Ok(crate::exit::OK)
}

fn verify(ctx: &Ctx, a: &VerifyArgs) -> Result<i32> {
    let progress = ctx.out.progress("export verify");
    let result = cairn_engine::ops::export::check::verify(a.dirs.clone(), a.repair, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        for v in &r.volumes {
            let state = match (v.state, v.repaired) {
                (_, true) => "repaired",
                (VolumeState::Intact, _) => "intact",
                (VolumeState::Damaged, _) if v.rebuildable => "damaged, rebuildable",
                (VolumeState::Damaged, _) => "damaged, NOT rebuildable",
                (VolumeState::Missing, _) if v.rebuildable => "missing, rebuildable",
                (VolumeState::Missing, _) => "missing, NOT rebuildable",
            };
            crate::outln!("{}  {state}", esc(&v.name));
            if v.state == VolumeState::Damaged {
                for p in &v.problems {
                    crate::outln!("  {}", esc(p));
                }
            }
        }
    }
    Ok(crate::exit::for_outcome(r.outcome))
}

/// Run `import`: the export opened read-only (its password from the usual
/// sources), the destination with `--to-password-file`.
pub fn import(ctx: &Ctx, a: &ImportArgs) -> Result<i32> {
    let pw_file = a
        .to_password_file
        .clone()
        .or_else(|| std::env::var_os("CAIRN_TO_PASSWORD_FILE").filter(|v| !v.is_empty()).map(PathBuf::from))
        .ok_or_else(|| {
            Error::invalid("import needs the destination's password: --to-password-file FILE (or CAIRN_TO_PASSWORD_FILE)")
        })?;
    let mut dirs = vec![a.dir.clone()];
    dirs.extend(ctx.volumes_at.iter().cloned());
    let ask = ctx.volumes_at.is_empty() && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let src = ctx.open_at(&Location::Export { dirs, ask }, ctx.password.as_ref(), None)?;
    let ids = if a.snapshots.is_empty() {
        src.snapshots()?
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
    } else {
        a.snapshots
            .iter()
            .map(|s| src.find_snapshot(s).map(|x| x.0))
            .collect::<Result<Vec<_>>>()?
    };
    for id in &ids {
        src.make_available(cairn_engine::backend::Need::Snapshot(*id))?;
    }
    let dst = ctx.open_other(&a.to, &pw_file)?;
    let progress = ctx.out.progress("import");
    let result = cairn_engine::ops::copy::copy(&src, &dst, &ids, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        ctx.out.info(&format!(
            "imported {} into {} ({} already there); wrote {} ({}), {} already present, verified; {:.1}s",
            count(r.copied.len() as u64, "snapshot", "snapshots"),
            r.destination,
            r.skipped.len(),
            count(r.blobs_written, "blob", "blobs"),
            bytes(r.bytes_written),
            r.blobs_deduplicated,
            r.duration_secs
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn export --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Every snapshot as 23 GiB volumes for 25 GB BD-R discs
  cairn export --to /mnt/staging/2026-12 --volume-size 23G
  # Only what an earlier set lacks
  cairn export latest --to /mnt/staging/2027-01 --incremental-from /mnt/staging/2026-12/cairn-3ebe6016-001/CATALOGUE
  # Check a set (no password needed); rebuild damaged volumes
  cairn export verify /mnt/bd --repair";

/// The examples `cairn import --help` ends with (a test parses each).
pub const IMPORT_EXAMPLES: &str = "\
Examples:
  # Bring every snapshot of a set into a repository
  cairn import /mnt/bd --to /backup/new-repo --to-password-file /root/.cairn-pw";
