//! `cairn init`: create a repository and its first key.

use super::Ctx;
use cairn_engine::{ChunkerParams, Error, FineParams, InitOptions, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Reed-Solomon parity: M parity shards per group of K packs (e.g. 10+2).
    #[arg(long, value_name = "K+M")]
    pub parity: Option<String>,
    /// Target pack size (4K to 1G, default 16M). Smaller packs let prune
    /// reclaim space at a finer grain; larger ones mean fewer files.
    #[arg(long, value_name = "SIZE")]
    pub pack_size: Option<String>,
    /// Average chunk size, a power of two from 64K to 16M (default 1M;
    /// minimum half of it, maximum four times). Smaller chunks find more
    /// duplicates and cost more index entries.
    #[arg(long, value_name = "SIZE", conflicts_with = "copy_chunker_params_from")]
    pub chunk_size: Option<String>,
    /// Average chunk size for database exports and files (.bson, .json,
    /// .jsonl, .csv, .sql, ...; .sqlite, .db, .wt, ... too with
    /// --page-size off): a power of two from 1K to 1M (default 8K), or
    /// "off" to cut them like other files.
    #[arg(
        long,
        value_name = "SIZE|off",
        conflicts_with = "copy_chunker_params_from"
    )]
    pub fine_chunk_size: Option<String>,
    /// Page size for page-structured database files (.sqlite, .sqlite3,
    /// .db, .mdb, .ibd, .wt): their first 1 GiB is cut at every multiple
    /// of it, so an updated page stores one chunk. A power of two from
    /// 512 to 64K (default 4K), or "off" to cut them as other database
    /// files.
    #[arg(
        long,
        value_name = "SIZE|off",
        conflicts_with = "copy_chunker_params_from"
    )]
    pub page_size: Option<String>,
    /// zstd level for everything written (0 stores data uncompressed;
    /// 1 to 22, default 3: higher is smaller and slower).
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(i32).range(0..=22))]
    pub zstd_level: Option<i32>,
    #[command(flatten)]
    pub kdf: crate::commands::key::KdfArgs,
    /// Share this repository's keys and chunker parameters, so that
    /// `copy` between the two deduplicates (its password is asked for
    /// with --from-password-file).
    #[arg(long, value_name = "REPO", requires = "from_password_file")]
    pub copy_chunker_params_from: Option<std::ffi::OsString>,
    /// File holding the password of --copy-chunker-params-from's repository
    /// [env: CAIRN_FROM_PASSWORD_FILE].
    #[arg(long, value_name = "FILE", env = "CAIRN_FROM_PASSWORD_FILE")]
    pub from_password_file: Option<PathBuf>,
}

/// A power-of-two size flag within `[lo, hi]`.
fn power_of_two(flag: &str, s: &str, lo: u64, hi: u64) -> Result<u32> {
    let n = crate::output::parse_size(s).map_err(|e| e.context(flag))?;
    if !n.is_power_of_two() || !(lo..=hi).contains(&n) {
        return Err(Error::invalid(format!(
            "{flag} {s}: must be a power of two from {} to {}",
            crate::output::bytes(lo),
            crate::output::bytes(hi)
        )));
    }
    Ok(n as u32)
}

/// `--chunk-size`, `--fine-chunk-size` and `--page-size` as the
/// repository's chunker parameters.
fn chunking(args: &InitArgs) -> Result<(ChunkerParams, Option<FineParams>)> {
    let chunker = match &args.chunk_size {
        None => ChunkerParams::default(),
        Some(s) => {
            ChunkerParams::with_average(power_of_two("--chunk-size", s, 64 << 10, 16 << 20)?)
        }
    };
    let mut fine = match args.fine_chunk_size.as_deref() {
        None => Some(FineParams::default()),
        Some("off") => None,
        Some(s) => Some(FineParams::with_average(power_of_two(
            "--fine-chunk-size",
            s,
            1 << 10,
            1 << 20,
        )?)),
    };
    let page = match args.page_size.as_deref() {
        None => return Ok((chunker, fine)),
        Some("off") => None,
        Some(s) => Some(power_of_two("--page-size", s, 512, 64 << 10)?),
    };
    match fine.as_mut() {
        Some(f) => f.page = page,
        None if page.is_some() => {
            return Err(Error::invalid(
                "--page-size needs the fine class: it cuts the fine part of database files \
                 (drop --fine-chunk-size off)",
            ))
        }
        None => {}
    }
    Ok((chunker, fine))
}

/// Run `init`.
pub fn run(ctx: &Ctx, args: &InitArgs) -> Result<i32> {
    let backend = ctx.backend()?;
    let pack_size = match &args.pack_size {
        None => InitOptions::default().pack_size,
        Some(s) => {
            let n = crate::output::parse_size(s).map_err(|e| e.context("--pack-size"))?;
            if !(4096..=1 << 30).contains(&n) {
                return Err(Error::invalid(format!(
                    "--pack-size {s}: must be between 4K and 1G"
                )));
            }
            n as u32
        }
    };
    let share_keys = match &args.copy_chunker_params_from {
        None => None,
        Some(from) => {
            let file = args.from_password_file.as_deref().ok_or_else(|| {
                Error::invalid("--copy-chunker-params-from needs --from-password-file")
            })?;
            Some(ctx.open_other(from, file)?.shared_keys())
        }
    };
    let (chunker, fine) = chunking(args)?;
    let opts = InitOptions {
        share_keys,
        pack_size,
        chunker,
        fine,
        zstd_level: args.zstd_level.unwrap_or(InitOptions::default().zstd_level),
        kdf: args.kdf.params(),
        parity: args
            .parity
            .as_deref()
            .map(super::parity::parse)
            .transpose()?
            .flatten(),
    };
    let pw = crate::password::get(ctx.password.as_ref(), true)?;
    let r = cairn_engine::ops::init::init(backend.clone(), &pw, &opts, ctx.cache_root())?;
    let id = &r.repository_id;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        ctx.out.info(&format!(
            "created Cairn repository {id} at {}\n\nKeep the password safe: without it the data cannot be recovered.",
            backend_location(ctx)
        ));
    }
    Ok(crate::exit::OK)
}

fn backend_location(ctx: &Ctx) -> String {
    ctx.location().map(|l| l.display()).unwrap_or_default()
}

/// The examples `cairn init --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Create a repository in a directory (asks for the password twice)
  cairn -r /srv/backup init
  # With Reed-Solomon parity: 2 parity shards per group of 10 packs
  cairn -r /srv/backup init --parity 10+2
  # Bigger chunks for a repository of large media files; no fine class
  cairn -r /srv/media-backup init --chunk-size 4M --fine-chunk-size off
  # MySQL data files: cut InnoDB's .ibd files at its 16 KiB pages
  cairn -r /srv/mysql-backup init --page-size 16K
  # A second repository that copy can deduplicate against the first
  cairn -r s3://backups/db1 init --copy-chunker-params-from /srv/backup --from-password-file /root/.cairn-pw";
