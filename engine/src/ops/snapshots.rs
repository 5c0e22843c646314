//! `snapshots`: list the snapshots a filter selects, oldest first, and the
//! snapshot files that cannot be read (listed separately: a damaged file
//! must not hide the others, nor pass unnoticed).

use crate::error::{Error, Result};
use crate::format::snapshot::{Snapshot, SnapshotStats};
use crate::format::tree::Timestamp;
use crate::id::{SnapshotId, TreeId};
use crate::repo::{Repository, SnapshotFilter};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::collections::HashMap;

/// One listed snapshot: its record with its ID.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The snapshot's ID.
    pub id: SnapshotId,
    /// The first 8 hex digits of the ID.
    pub short_id: String,
    /// The snapshot record.
    pub snapshot: Snapshot,
}

#[derive(serde::Serialize)]
struct ListedView<'a> {
    id: SnapshotId,
    short_id: &'a str,
    time: Timestamp,
    host: &'a str,
    user: &'a str,
    tags: &'a [String],
    paths: &'a [String],
    source: &'a str,
    tree: TreeId,
    parent: Option<SnapshotId>,
    program: &'a str,
    stats: &'a SnapshotStats,
}

/// One element of `snapshots --json`.
impl Serialize for Listed {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let n = &self.snapshot;
        ListedView {
            id: self.id,
            short_id: &self.short_id,
            time: n.time,
            host: &n.host,
            user: &n.user,
            tags: &n.tags,
            paths: &n.paths,
            source: &n.source,
            tree: n.tree,
            parent: n.parent,
            program: &n.program,
            stats: &n.stats,
        }
        .serialize(s)
    }
}

/// The result of `snapshots`. Serialized (its `--json` document) as the
/// array of listed snapshots.
#[derive(Debug, Default)]
pub struct SnapshotList {
    /// Selected snapshots, oldest first.
    pub snapshots: Vec<Listed>,
    /// Snapshot files that cannot be read: (file name, why).
    pub unreadable: Vec<(String, Error)>,
}

impl Serialize for SnapshotList {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.snapshots.len()))?;
        for l in &self.snapshots {
            seq.serialize_element(l)?;
        }
        seq.end()
    }
}

/// The snapshots `filter` selects; with `latest`, only the newest n of
/// each host and paths group (still oldest first).
pub fn snapshots(
    repo: &Repository,
    filter: &SnapshotFilter,
    latest: Option<usize>,
) -> Result<SnapshotList> {
    let (mut snaps, unreadable) = repo.snapshots_and_errors()?;
    snaps.retain(|(_, s)| filter.matches(s));
    if let Some(n) = latest {
        let mut seen: HashMap<(String, Vec<String>), usize> = HashMap::new();
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
    Ok(SnapshotList {
        snapshots: snaps
            .into_iter()
            .map(|(id, snapshot)| Listed {
                short_id: id.short(),
                id,
                snapshot,
            })
            .collect(),
        unreadable,
    })
}
