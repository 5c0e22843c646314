//! Raw command-line definitions (clap). Validation into engine options
//! happens in each command module; help text is generated from here.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// Cairn: encrypted, deduplicating backups that stay restorable for decades.
#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    long_about = None,
    max_term_width = 100,
    after_help = crate::help::AFTER_HELP,
    after_long_help = crate::help::after_long_help()
)]
pub struct Cli {
    /// Repository location: a local directory (PATH or local:PATH), S3
    /// (s3://BUCKET/PREFIX with AWS_ENDPOINT_URL, or s3:https://HOST/BUCKET/PREFIX)
    /// or an export volume set, read-only (export:DIR) [env: CAIRN_REPOSITORY].
    #[arg(
        short = 'r',
        long = "repo",
        global = true,
        value_name = "REPO",
        help_heading = GLOBAL
    )]
    pub repo: Option<std::ffi::OsString>,

    /// File holding the repository location (as -r takes it), as restic's
    /// --repository-file [env: CAIRN_REPOSITORY_FILE].
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "repo",
        help_heading = GLOBAL
    )]
    pub repository_file: Option<PathBuf>,

    /// File holding the repository password (never pass the password
    /// itself) [env: CAIRN_PASSWORD_FILE].
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub password_file: Option<PathBuf>,

    /// Command (run with `sh -c`) whose first line of output is the
    /// password, as in restic [env: CAIRN_PASSWORD_COMMAND].
    #[arg(
        long,
        global = true,
        value_name = "CMD",
        conflicts_with = "password_file",
        help_heading = GLOBAL
    )]
    pub password_command: Option<std::ffi::OsString>,

    /// Config file with profiles [default: $XDG_CONFIG_HOME/cairn/cairn.toml,
    /// then /etc/cairn/cairn.toml].
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// Take the repository, password source, cache directory and S3
    /// settings from this profile where no flag or variable gives them.
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,

    /// With -r export:DIR: another directory holding volumes of the
    /// export (repeatable); missing volumes then fail the command with
    /// their list instead of being asked for on the terminal.
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub volumes_at: Vec<PathBuf>,

    /// Directory for the local index cache [env: CAIRN_CACHE_DIR; default:
    /// $XDG_CACHE_HOME/cairn].
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub cache_dir: Option<PathBuf>,

    /// Machine-readable JSON output.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// More detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new encrypted repository.
    #[command(after_help = crate::commands::init::EXAMPLES)]
    Init(crate::commands::init::InitArgs),
    /// Back up files, directories or standard input into a new snapshot.
    #[command(after_help = crate::commands::backup::EXAMPLES)]
    Backup(BackupArgs),
    /// List snapshots.
    #[command(after_help = crate::commands::snapshots::EXAMPLES)]
    Snapshots(SnapshotsArgs),
    /// List the contents of a snapshot.
    #[command(after_help = crate::commands::ls::EXAMPLES)]
    Ls(LsArgs),
    /// Restore a snapshot (or part of it) into a directory.
    #[command(after_help = crate::commands::restore::EXAMPLES)]
    Restore(RestoreArgs),
    /// Write one file of a snapshot to standard output, or a directory as
    /// a tar or zip archive (--archive).
    #[command(after_help = crate::commands::dump::EXAMPLES)]
    Dump(crate::commands::dump::DumpArgs),
    /// Read every blob of a snapshot and check it against what was recorded.
    #[command(after_help = crate::commands::verify::EXAMPLES)]
    Verify(VerifyArgs),
    /// Check the repository's structure: index, pack trailers, snapshots.
    #[command(after_help = crate::commands::check::EXAMPLES)]
    Check(CheckArgs),
    /// Recovery drill: restore to a temporary place, compare, report, clean up.
    #[command(after_help = crate::commands::drill::EXAMPLES)]
    Drill(DrillArgs),
    /// Read packs and verify every byte (names, tags, blob IDs).
    #[command(after_help = crate::commands::scrub::EXAMPLES)]
    Scrub(ScrubArgs),
    /// Rebuild damaged repository metadata.
    #[command(after_help = crate::commands::repair::EXAMPLES)]
    #[command(subcommand)]
    Repair(RepairCommand),
    /// Reed-Solomon parity settings and protection.
    #[command(after_help = crate::commands::parity::EXAMPLES)]
    #[command(subcommand)]
    Parity(ParityCommand),
    /// Remove stale locks.
    #[command(after_help = crate::commands::unlock::EXAMPLES)]
    Unlock(UnlockArgs),
    /// Remove snapshots by ID or by a retention policy (data is reclaimed by prune).
    #[command(after_help = crate::commands::forget::EXAMPLES)]
    Forget(crate::commands::forget::ForgetArgs),
    /// Add, remove or set snapshot tags; protect snapshots from forget.
    #[command(after_help = crate::commands::tag::EXAMPLES)]
    Tag(TagArgs),
    /// Delete data no snapshot references and repack mostly unused packs
    /// (safe while backups run).
    #[command(after_help = crate::commands::prune::EXAMPLES)]
    Prune(PruneArgs),
    /// Copy snapshots to other repositories (other keys, backends or
    /// parity), deduplicating against what each already holds.
    #[command(after_help = crate::commands::copy::EXAMPLES)]
    Copy(crate::commands::copy::CopyArgs),
    /// Write snapshots as a self-contained volume set for cold media
    /// (tape, optical discs, offline disks); `export verify` checks one.
    #[command(after_help = crate::commands::export::EXAMPLES)]
    Export(crate::commands::export::ExportArgs),
    /// Bring the snapshots of an export volume set into a repository.
    #[command(after_help = crate::commands::export::IMPORT_EXAMPLES)]
    Import(crate::commands::export::ImportArgs),
    /// Browse the snapshots as a read-only filesystem (FUSE) until Ctrl-C
    /// or `umount`.
    #[cfg(feature = "mount")]
    #[command(after_help = crate::mount::EXAMPLES)]
    Mount(crate::mount::MountArgs),
    /// Install, list or remove the systemd timer or cron job of a profile.
    #[command(after_help = crate::commands::schedule::EXAMPLES)]
    #[command(subcommand)]
    Schedule(crate::commands::schedule::ScheduleCommand),
    /// Run a profile's routine: back up every source, forget and prune by
    /// its policy, copy to every target, scrub, drill; one JSON report.
    #[command(after_help = crate::commands::run::EXAMPLES)]
    Run(crate::commands::run::RunArgs),
    /// Key files (one per password) and the paper key.
    #[command(after_help = crate::commands::key::EXAMPLES)]
    #[command(subcommand)]
    Key(crate::commands::key::KeyCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = crate::commands::completions::EXAMPLES)]
    Completions(crate::commands::completions::CompletionsArgs),
    /// Write the manual pages: cairn.1 to standard output, or one page per
    /// command into a directory.
    #[command(after_help = crate::commands::man::EXAMPLES)]
    Man(crate::commands::man::ManArgs),
    /// Show the version, the repository format versions this build reads
    /// and writes, and how it was built.
    #[command(after_help = crate::commands::version::EXAMPLES)]
    Version(crate::commands::version::VersionArgs),
    /// Find which snapshots hold paths matching a pattern, newest first.
    #[command(after_help = crate::commands::find::EXAMPLES)]
    Find(crate::commands::find::FindArgs),
    /// Show what changed between two snapshots (added, removed, modified).
    #[command(after_help = crate::commands::diff::EXAMPLES)]
    Diff(crate::commands::diff::DiffArgs),
    /// Sizes of snapshots: restore size, stored size, deduplication and
    /// compression ratios, blob and pack counts.
    #[command(after_help = crate::commands::stats::EXAMPLES)]
    Stats(crate::commands::stats::StatsArgs),
    /// Print a repository object (config, snapshot, tree, index,
    /// pack-trailer, key, lock) decoded as JSON; never shows secrets.
    #[command(after_help = crate::commands::cat::EXAMPLES)]
    Cat(crate::commands::cat::CatArgs),
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Files and directories to back up.
    pub paths: Vec<PathBuf>,
    /// Tag the snapshot (repeatable, or comma-separated).
    #[arg(long = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Host name to record [default: this machine's].
    #[arg(long)]
    pub host: Option<String>,
    /// Exclude paths matching GLOB (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Read exclude patterns from FILE, one per line (# comments).
    #[arg(long = "exclude-file", value_name = "FILE")]
    pub exclude_files: Vec<PathBuf>,
    /// Do not cross filesystem boundaries.
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Record access times (as restic: off by default, since reading a
    /// file changes its atime; without it atime is stored as the mtime).
    #[arg(long)]
    pub with_atime: bool,
    /// Snapshot time instead of now (RFC 3339, or "YYYY-MM-DD HH:MM:SS" local).
    #[arg(long)]
    pub time: Option<String>,
    /// Parent snapshot for change detection [default: latest with same host and paths].
    #[arg(long)]
    pub parent: Option<String>,
    /// Read the content from standard input.
    #[arg(long, conflicts_with = "paths")]
    pub stdin: bool,
    /// File name for --stdin content.
    #[arg(long, default_value = "stdin", requires = "stdin")]
    pub stdin_name: String,
    #[command(flatten)]
    pub select: crate::commands::backup::SelectArgs,
    #[command(flatten)]
    pub mongo: MongoArgs,
}

/// MongoDB selection options (backup from, or restore to, `mongodb://`).
#[derive(Args, Debug, Default)]
pub struct MongoArgs {
    /// MongoDB: only this database (repeatable).
    #[arg(long = "db", value_name = "DB")]
    pub dbs: Vec<String>,
    /// MongoDB: only this collection, as NAME or DB.NAME (repeatable).
    #[arg(long = "collection", value_name = "COLL")]
    pub collections: Vec<String>,
    /// MongoDB backup: skip this collection, NAME or DB.NAME (repeatable).
    #[arg(long = "exclude-collection", value_name = "COLL")]
    pub exclude_collections: Vec<String>,
    /// MongoDB backup: auto, transaction, snapshot or per-collection.
    #[arg(long, default_value = "auto")]
    pub consistency: String,
    /// MongoDB: seconds to wait for the server before giving up.
    #[arg(long, default_value_t = 10)]
    pub mongo_timeout: u64,
}

/// restic's snapshot filter (for `snapshots` and `forget`; for `latest`
/// in `ls`, `dump`, `restore`, `verify` and `drill`).
#[derive(Args, Debug, Default)]
pub struct SnapshotFilter {
    /// Only snapshots of this host (repeatable: any of them).
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Only snapshots with all of these tags (repeatable: any of the lists).
    #[arg(long = "tag", value_name = "TAG[,TAG...]")]
    pub tags: Vec<String>,
    /// Only snapshots that include this absolute path (repeatable: all of them).
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// The engine's filter (relative paths made absolute).
    pub fn to_engine(&self) -> cairn_engine::Result<cairn_engine::SnapshotFilter> {
        cairn_engine::SnapshotFilter::new(&self.hosts, &self.tags, &self.paths)
    }
}

#[derive(Args, Debug)]
pub struct SnapshotsArgs {
    #[command(flatten)]
    pub filter: SnapshotFilter,
    /// Only the newest N snapshots of each host and paths group.
    #[arg(long, value_name = "N")]
    pub latest: Option<usize>,
}

/// Options shared by `prune` and `forget --prune`.
#[derive(Args, Debug, Clone)]
pub struct PruneOpts {
    /// Unused space allowed to remain: a percentage of the used space
    /// (5%), a size (500M) or "unlimited" (never repack for space).
    #[arg(long, value_name = "LIMIT", default_value = "5%")]
    pub max_unused: String,
    /// Repack at most this much pack data in one run (e.g. 2G).
    #[arg(long, value_name = "SIZE")]
    pub max_repack_size: Option<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Show what would be deleted and repacked, with sizes; change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub opts: PruneOpts,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    /// Snapshots to change (ID prefixes or "latest").
    #[arg(required = true)]
    pub snapshots: Vec<String>,
    /// Add a tag (repeatable).
    #[arg(long = "add", value_name = "TAG")]
    pub add: Vec<String>,
    /// Remove a tag (repeatable).
    #[arg(long = "remove", value_name = "TAG")]
    pub remove: Vec<String>,
    /// Replace all tags with these (repeatable).
    #[arg(long = "set", value_name = "TAG")]
    pub set: Vec<String>,
    /// Protect from forget (adds the tag "protected").
    #[arg(long, conflicts_with = "unprotect")]
    pub protect: bool,
    /// Remove the protection.
    #[arg(long)]
    pub unprotect: bool,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Snapshot ID, unique prefix, or "latest".
    pub snapshot: String,
    /// Directory or file inside the snapshot [default: /].
    pub path: Option<OsString>,
    /// Show mode, owner, size and time.
    #[arg(short, long)]
    pub long: bool,
    #[command(flatten, next_help_heading = "Which snapshot \"latest\" means")]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// Snapshot ID, unique prefix, or "latest".
    pub snapshot: String,
    /// Directory to restore into (MongoDB dumps: a mongodump-style directory).
    #[arg(short, long, required_unless_present = "to", conflicts_with = "to")]
    pub target: Option<PathBuf>,
    /// Restore a MongoDB dump into this server (mongodb:// URI).
    #[arg(long, value_name = "URI")]
    pub to: Option<String>,
    /// MongoDB: replace existing collections.
    #[arg(long, requires = "to")]
    pub drop: bool,
    /// MongoDB: restore database OLD as NEW (repeatable).
    #[arg(long = "rename-db", value_name = "OLD=NEW", requires = "to")]
    pub rename_db: Vec<String>,
    /// MongoDB: only this database (repeatable).
    #[arg(long = "db", value_name = "DB", requires = "to")]
    pub dbs: Vec<String>,
    /// MongoDB: only this collection, NAME or DB.NAME (repeatable).
    #[arg(long = "collection", value_name = "COLL", requires = "to")]
    pub collections: Vec<String>,
    /// MongoDB: seconds to wait for the server before giving up.
    #[arg(long, default_value_t = 10)]
    pub mongo_timeout: u64,
    /// Restore only paths matching GLOB (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    pub includes: Vec<OsString>,
    /// Skip paths matching GLOB (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<OsString>,
    #[command(flatten, next_help_heading = "Which snapshot \"latest\" means")]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Snapshot ID, unique prefix, or "latest".
    pub snapshot: String,
    #[command(flatten, next_help_heading = "Which snapshot \"latest\" means")]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct CheckArgs {}

#[derive(Args, Debug)]
pub struct DrillArgs {
    /// Snapshot ID, unique prefix, or "latest".
    #[arg(default_value = "latest")]
    pub snapshot: String,
    /// MongoDB snapshots: restore into temporary databases on this server.
    #[arg(long, value_name = "URI")]
    pub to: Option<String>,
    /// File snapshots: where to make the temporary directory [default: system temp].
    #[arg(long, value_name = "DIR")]
    pub tmp_dir: Option<PathBuf>,
    /// Also write the JSON report to this file (for cron and alerting).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// MongoDB: seconds to wait for the server before giving up.
    #[arg(long, default_value_t = 10)]
    pub mongo_timeout: u64,
    #[command(flatten, next_help_heading = "Which snapshot \"latest\" means")]
    pub filter: SnapshotFilter,
}

#[derive(Args, Debug)]
pub struct ScrubArgs {
    /// Verify only part n of m (deterministic by pack ID), e.g. 1/7; or a
    /// percentage (e.g. 10%) of the packs, least recently verified first.
    #[arg(long, default_value = "1/1")]
    pub subset: String,
    /// Only packs not verified for this long, or never. Units s, min, h, d,
    /// w (e.g. 90d; a bare m is refused: it means months in --keep-within).
    #[arg(long, value_name = "AGE")]
    pub stale: Option<String>,
    /// Start no new pack after this long (units s, min, h, d, w, e.g.
    /// 30min); stalest packs go first.
    #[arg(long, value_name = "DURATION")]
    pub max_duration: Option<String>,
    /// Rebuild damaged or missing packs (from parity, or from --from), then verify again.
    #[arg(long)]
    pub repair: bool,
    /// Another repository (a directory or an s3: location) holding copies of the same packs.
    #[arg(long, value_name = "REPO", requires = "repair")]
    pub from: Option<std::ffi::OsString>,
}

#[derive(Subcommand, Debug)]
pub enum ParityCommand {
    /// Turn parity on (or change K+M) and protect every pack not yet covered.
    Set {
        /// K+M, e.g. 10+2; or "off".
        spec: String,
    },
    /// Protect packs that no parity group covers yet.
    Protect,
}

#[derive(Subcommand, Debug)]
pub enum RepairCommand {
    /// Rebuild the index from the pack trailers alone (exclusive lock).
    Index,
    /// Make snapshots that reference lost data restorable, minus the lost files.
    Snapshots,
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// Remove all locks, not just stale ones (only when no cairn process runs).
    #[arg(long)]
    pub remove_all: bool,
}
