//! `cairn find PATTERN...`: which snapshots hold a matching path, newest
//! snapshot first, like `restic find`. Matches are printed as they are
//! found (a pattern like `*` may match millions): a header per snapshot
//! and one line per match, or with `--json` one array of
//! `{"snapshot", "matches", "hits"}` objects written incrementally, so
//! stdout is one JSON document even for huge results.

use super::Ctx;
use crate::output::{bytes, esc, esc_bytes, local_time, write_error};
use cairn_engine::ops::find::{FindOptions, Matcher};
use cairn_engine::ops::ls::Entry;
use cairn_engine::{Error, Repository, Result, Snapshot, SnapshotId, Timestamp};
use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct FindArgs {
    /// Glob patterns (any may match): without `/` matched against each
    /// entry's name, with `/` against its path (from the root if it starts
    /// with `/`, else its last components); `*` and `?` stay within one
    /// name, `**` crosses directories.
    #[arg(required = true, value_name = "PATTERN")]
    pub patterns: Vec<String>,
    /// Search only these snapshots (ID, unique prefix or "latest";
    /// repeatable) [default: every snapshot the filters select].
    #[arg(short = 's', long = "snapshot", value_name = "ID")]
    pub snapshots: Vec<String>,
    /// Only entries modified at or before TIME (RFC 3339 or
    /// "YYYY-MM-DD HH:MM:SS" local time).
    #[arg(short = 'N', long, value_name = "TIME")]
    pub newest: Option<String>,
    /// Only entries modified at or after TIME.
    #[arg(short = 'O', long, value_name = "TIME")]
    pub oldest: Option<String>,
    /// Match letters regardless of case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Show mode, owner, size and time as `ls --long` does.
    #[arg(short, long)]
    pub long: bool,
    #[command(flatten, next_help_heading = "Which snapshots to search")]
    pub filter: crate::args::SnapshotFilter,
}

/// The snapshots `specs` name (each resolved as `ls` resolves one, with
/// `latest` honouring the filters), or without specs every readable
/// snapshot the filters select (unreadable snapshot files are warned
/// about on stderr); each once, made available (export volumes).
pub fn select(
    repo: &Repository,
    specs: &[String],
    filter: &crate::args::SnapshotFilter,
) -> Result<Vec<(SnapshotId, Snapshot)>> {
    let f = filter.to_engine()?;
    let mut out: Vec<(SnapshotId, Snapshot)> = if specs.is_empty() {
        let (snaps, bad) = repo.snapshots_and_errors()?;
        // A damaged snapshot file hides none of the others, and is named.
        for (name, e) in bad {
            repo.warn(format!(
                "snapshot file snapshots/{name} is unreadable and was left out ({e}); see `cairn check`"
            ));
        }
        snaps.into_iter().filter(|(_, s)| f.matches(s)).collect()
    } else {
        let mut v: Vec<(SnapshotId, Snapshot)> = Vec::new();
        for spec in specs {
            let found = repo.find_snapshot_matching(spec, &f)?;
            if !v.iter().any(|(id, _)| *id == found.0) {
                v.push(found);
            }
        }
        v
    };
    for (id, _) in &mut out {
        repo.make_available(cairn_engine::backend::Need::Snapshot(*id))?;
    }
    Ok(out)
}

fn time_flag(flag: &str, value: &Option<String>) -> Result<Option<Timestamp>> {
    value
        .as_deref()
        .map(|v| {
            crate::output::parse_time(v).map_err(|e| {
                Error::invalid(format!(
                    "--{flag}: {}",
                    e.message().replacen("--time ", "", 1)
                ))
            })
        })
        .transpose()
}

/// Run `find`.
pub fn run(ctx: &Ctx, a: &FindArgs) -> Result<i32> {
    // Bad patterns and times are usage errors before the repository opens.
    let matcher = Matcher::new(&FindOptions {
        patterns: a.patterns.clone(),
        ignore_case: a.ignore_case,
        oldest: time_flag("oldest", &a.oldest)?,
        newest: time_flag("newest", &a.newest)?,
    })?;
    let repo = ctx.open()?;
    let snaps = select(&repo, &a.snapshots, &a.filter)?;
    let mut out = std::io::BufWriter::new(crate::output::Stdout);
    let json = ctx.out.json;
    // The snapshot whose matches are being printed, and its hits so far.
    let mut current: Option<(SnapshotId, u64)> = None;
    if json {
        write!(out, "[").map_err(write_error)?;
    }
    let mut visit = |id: &SnapshotId, snap: &Snapshot, e: &Entry| -> Result<()> {
        let first = current.as_ref().is_none_or(|(c, _)| c != id);
        if first {
            if json {
                if let Some((_, hits)) = current {
                    write!(out, "],\"hits\":{hits}}},").map_err(write_error)?;
                }
                write!(out, "{{\"snapshot\":\"{id}\",\"matches\":[").map_err(write_error)?;
            } else {
                if current.is_some() {
                    writeln!(out).map_err(write_error)?;
                }
                writeln!(
                    out,
                    "Found matching entries in snapshot {} from {} ({} of {})",
                    id.short(),
                    local_time(snap.time),
                    esc(&snap.host),
                    esc(&snap.paths.join(", "))
                )
                .map_err(write_error)?;
            }
            current = Some((*id, 0));
        }
        if let Some((_, hits)) = current.as_mut() {
            *hits += 1;
        }
        if json {
            let v = serde_json::to_value(e).map_err(|e| Error::internal(e.to_string()))?;
            write!(out, "{}{v}", if first { "" } else { "," }).map_err(write_error)?;
        } else if a.long {
            writeln!(out, "{}", super::ls::long_line(e)).map_err(write_error)?;
        } else {
            let n = e.node;
            writeln!(
                out,
                "{}  {:>10}  {}",
                local_time(n.mtime),
                bytes(n.size),
                esc_bytes(e.path)
            )
            .map_err(write_error)?;
        }
        Ok(())
    };
    let result = cairn_engine::ops::find::find(&repo, &snaps, &matcher, &mut visit);
    if json {
        // Closed even when the search failed half-way (a damaged tree):
        // stdout then holds the matches so far, then the error document.
        if let Some((_, hits)) = current {
            write!(out, "],\"hits\":{hits}}}").map_err(write_error)?;
        }
        writeln!(out, "]").map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    let report = result?;
    if !json && report.hits == 0 {
        ctx.out.info(&format!(
            "no matches in {}",
            crate::output::count(report.snapshots, "snapshot", "snapshots")
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn find --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Which snapshots hold a configuration file, newest first
  cairn find '*.conf'
  # Ignoring case, on one host, with modes and owners
  cairn find -i '*.JPG' --host laptop --long
  # Everything below a directory, in the latest snapshot only
  cairn find '/etc/nginx/**' --snapshot latest
  # Matches modified since a date, as JSON
  cairn --json find 'id_rsa*' --oldest 2026-01-01T00:00:00Z";
