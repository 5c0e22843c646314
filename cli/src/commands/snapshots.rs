//! `cairn snapshots`: a table, or `--json`.

use super::Ctx;
use crate::args::SnapshotsArgs;
use crate::output::{bytes, esc, local_time, rfc3339};
use cairn_engine::{Result, Snapshot, SnapshotId};
use serde_json::json;

/// JSON form of one snapshot (also used by other commands).
pub fn to_json(id: &SnapshotId, s: &Snapshot) -> serde_json::Value {
    json!({
        "id": id.to_hex(),
        "short_id": id.short(),
        "time": rfc3339(s.time),
        "host": s.host,
        "user": s.user,
        "tags": s.tags,
        "paths": s.paths,
        "source": s.source,
        "tree": s.tree.to_hex(),
        "parent": s.parent.map(|p| p.to_hex()),
        "program": s.program,
        "stats": {
            "files": s.stats.files,
            "dirs": s.stats.dirs,
            "bytes": s.stats.bytes,
            "unchanged_files": s.stats.unchanged_files,
            "new_bytes": s.stats.new_bytes,
            "stored_bytes": s.stats.stored_bytes,
        },
    })
}

/// Run `snapshots`.
pub fn run(ctx: &Ctx, args: &SnapshotsArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let (mut snaps, bad) = repo.snapshots_and_errors()?;
    let filter = args.filter.to_engine()?;
    snaps.retain(|(_, s)| filter.matches(s));
    if let Some(n) = args.latest {
        // The newest n of each host + paths group, still oldest first.
        let mut seen: std::collections::HashMap<(String, Vec<String>), usize> =
            std::collections::HashMap::new();
        let mut keep = vec![false; snaps.len()];
        for (i, (_, s)) in snaps.iter().enumerate().rev() {
            let c = seen.entry((s.host.clone(), s.paths.clone())).or_default();
            if *c < n {
                *c += 1;
                keep[i] = true;
            }
        }
        let mut it = keep.into_iter();
        snaps.retain(|_| it.next().unwrap_or(false));
    }
    let outcome = if bad.is_empty() {
        Ok(crate::exit::OK)
    } else {
        for (name, e) in &bad {
            crate::errln!(
                "error: snapshots/{} is unreadable: {}",
                esc(name),
                esc(&e.to_string())
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
        let v: Vec<_> = snaps.iter().map(|(id, s)| to_json(id, s)).collect();
        crate::output::print_json(&serde_json::Value::Array(v));
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
    for (id, s) in &snaps {
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
        crate::output::count(snaps.len() as u64, "snapshot", "snapshots")
    );
    outcome
}
