//! `cairn snapshots`: a table, or `--json`.

use super::Ctx;
use crate::args::SnapshotsArgs;
use crate::output::{bytes, esc, local_time};
use cairn_engine::Result;

/// Run `snapshots`.
pub fn run(ctx: &Ctx, args: &SnapshotsArgs) -> Result<i32> {
    let filter = args.filter.to_engine()?;
    let repo = ctx.open()?;
    let list = cairn_engine::ops::snapshots::snapshots(&repo, &filter, args.latest)?;
    let bad = &list.unreadable;
    let outcome = if bad.is_empty() {
        Ok(crate::exit::OK)
    } else {
        for (name, e) in bad {
            crate::errln!(
                "error: snapshots/{} is unreadable: {}",
                esc(name),
                esc(&crate::advice::message(e))
            );
        }
        Err(cairn_engine::Error::new(
            cairn_engine::ErrorKind::Corrupt,
            format!(
                "{} unreadable (listed above; the others are shown); restore them from a copy, or run `cairn scrub`",
                crate::output::count(bad.len() as u64, "snapshot file", "snapshot files")
            ),
        ))
    };
    if ctx.out.json {
        crate::output::print_report(&list);
        return outcome;
    }
    crate::outln!(
        "{:<10} {:<19} {:<16} {:<16} {:>10}  Paths",
        "ID",
        "Time",
        "Host",
        "Tags",
        "Size"
    );
    crate::outln!("{}", "-".repeat(90));
    for l in &list.snapshots {
        let (id, s) = (&l.id, &l.snapshot);
        crate::outln!(
            "{:<10} {:<19} {:<16} {:<16} {:>10}  {}",
            id.short(),
            local_time(s.time),
            esc(&s.host),
            esc(&s.tags.join(",")),
            bytes(s.stats.bytes),
            esc(&s.paths.join(" "))
        );
    }
    crate::outln!(
        "{}",
        crate::output::count(list.snapshots.len() as u64, "snapshot", "snapshots")
    );
    outcome
}

/// The examples `cairn snapshots --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Every snapshot, oldest first
  cairn snapshots
  # The newest 3 of each group, of one host with a tag
  cairn snapshots --host db1 --tag nightly --latest 3
  # For scripts
  cairn --json snapshots";
