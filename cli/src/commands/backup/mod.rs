//! `cairn backup`: paths, path lists, standard input or a MongoDB URI
//! into a new snapshot, with progress while it runs (`progress`) and a
//! summary at the end (`report`).

mod progress;
mod report;
mod select;

pub use select::SelectArgs;

use super::Ctx;
use crate::args::BackupArgs;
use crate::output::parse_time;
use cairn_engine::ops::backup::ParityStep;
use cairn_engine::source::mongodb::{Consistency, DumpOptions};
use cairn_engine::{BackupOptions, Error, Result};

fn read_exclude_file(path: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading exclude file {}", path.display()), e))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn options(args: &BackupArgs, paths: Vec<std::path::PathBuf>) -> Result<BackupOptions> {
    let mut excludes = args.excludes.clone();
    for f in &args.exclude_files {
        excludes.extend(read_exclude_file(f)?);
    }
    let time = args.time.as_deref().map(parse_time).transpose()?;
    let mut files = args.select.selection(excludes)?;
    files.one_file_system = args.one_file_system;
    files.with_atime = args.with_atime;
    Ok(BackupOptions {
        paths,
        tags: super::tag::checked_tags(&args.tags, "--tag")?,
        host: args.host.clone(),
        time,
        files,
        parent: None,
        force: args.select.force,
        dry_run: args.select.dry_run,
    })
}

/// Run `backup`.
pub fn run(ctx: &Ctx, args: &BackupArgs) -> Result<i32> {
    let mut paths = args.paths.clone();
    if args.select.has_lists() {
        if args.stdin {
            return Err(Error::invalid(
                "--files-from* and --stdin cannot be combined",
            ));
        }
        let listed = args.select.listed_paths()?;
        if listed.is_empty() && paths.is_empty() {
            return Err(Error::invalid(
                "nothing to back up: the --files-from lists name no path",
            ));
        }
        paths.extend(listed);
    }
    let mut opts = options(args, paths)?;
    if !args.stdin && opts.paths.is_empty() {
        return Err(Error::invalid(
            "nothing to back up: give one or more paths, --files-from FILE, or --stdin",
        ));
    }
    // Any argument may be a URI: never treat one as a path (its password
    // would be echoed in a "does not exist" message).
    let uris: Vec<&str> = opts
        .paths
        .iter()
        .filter_map(|p| p.to_str())
        .filter(|p| cairn_engine::source::mongodb::conn::is_mongodb_uri(p))
        .collect();
    let dump = match uris.first() {
        Some(uri) => {
            if opts.paths.len() > 1 {
                return Err(Error::invalid(format!(
                    "back up one MongoDB URI at a time, without file paths ({})",
                    cairn_engine::source::mongodb::mask_uri(uri)
                )));
            }
            Some(DumpOptions {
                connect: super::mongo_args::connect(uri, args.mongo.mongo_timeout)?,
                dbs: args.mongo.dbs.clone(),
                collections: args.mongo.collections.clone(),
                exclude_collections: args.mongo.exclude_collections.clone(),
                consistency: Consistency::parse(&args.mongo.consistency)?,
            })
        }
        None => {
            let m = &args.mongo;
            if !m.dbs.is_empty() || !m.collections.is_empty() || !m.exclude_collections.is_empty() {
                return Err(Error::invalid(
                    "--db/--collection/--exclude-collection need a mongodb:// URI to back up",
                ));
            }
            None
        }
    };
    let repo = ctx.open()?;
    if let Some(p) = &args.parent {
        if args.select.force {
            return Err(Error::invalid("--parent and --force cannot be combined"));
        }
        opts.parent = Some(repo.find_snapshot(p)?.0);
    }
    let progress = progress::BackupProgress::new(ctx.out);
    let result = if let Some(d) = &dump {
        cairn_engine::ops::backup::backup_mongodb(&repo, d, &opts, &progress)
    } else if args.stdin {
        let stdin = std::io::stdin();
        cairn_engine::backup_stdin(&repo, &args.stdin_name, stdin, &opts, &progress)
    } else {
        cairn_engine::backup(&repo, &opts, &progress)
    };
    progress.finish(result.is_ok());
    let summary = result?;
    if ctx.out.json {
        crate::output::print_json(&report::json(&summary));
    } else if !ctx.out.quiet {
        crate::outln!("{}", report::human(&summary, args.select.force));
    }
    let parity_failure = match &summary.parity {
        ParityStep::Failed(e) => Some(e.as_str()),
        ParityStep::Interrupted => Some("interrupted"),
        ParityStep::NotConfigured | ParityStep::Protected(_) => None,
    };
    if let Some(why) = parity_failure {
        crate::errln!(
            "warning: the snapshot is stored but parity was not updated ({why}); run `cairn parity protect`"
        );
    }
    Ok(if summary.partial {
        crate::exit::PARTIAL
    } else {
        crate::exit::OK
    })
}

/// The examples `cairn backup --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Back up two directories with a tag, skipping temporary files
  cairn backup /srv /etc --tag nightly --exclude '*.tmp'
  # Stay on one filesystem; exclude patterns from a file
  cairn backup / -x --exclude-file /etc/cairn/excludes
  # Back up a stream from standard input under a file name
  mongodump --archive | cairn backup --stdin --stdin-name mongo.archive
  # Back up MongoDB databases directly
  cairn backup 'mongodb://backup@db1.example:27017/?authSource=admin' --tag nightly
  # Paths from a list (globs expanded), skipping caches; see what would be added
  cairn backup --files-from /etc/cairn/paths --exclude-caches --dry-run -v";
