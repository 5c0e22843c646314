//! What a prune did (or, with `--dry-run`, would do), and its `--json`
//! document: totals per action, the selected packs, plans still waiting
//! for other processes, and warnings.

use super::mark::{Action, Selected, Selection};
use super::sweep::Swept;
use super::PruneOptions;
use crate::id::PackId;
use serde::ser::{Serialize, Serializer};
use serde::Serialize as DeriveSerialize;

/// A plan still waiting for other processes.
#[derive(Clone, Debug, DeriveSerialize)]
pub struct PendingPlan {
    /// Its name in `state/`.
    #[serde(rename = "plan")]
    pub name: String,
    /// Packs it condemns.
    pub packs: u64,
    /// Locks whose holders have not finished yet.
    #[serde(rename = "waiting_for_locks")]
    pub waiting: u64,
}

/// What a prune did (or, dry, would do).
#[derive(Clone, Debug, Default)]
pub struct PruneReport {
    /// Snapshots whose references were computed.
    pub snapshots: u64,
    /// Distinct referenced blobs.
    pub referenced_blobs: u64,
    /// The mark decision for this run.
    pub selection: Selection,
    /// Sealed bytes copied into new packs.
    pub repacked_bytes: u64,
    /// Plans swept, packs deleted and bytes freed in this run.
    pub swept: Swept,
    /// Plans left for a later prune.
    pub pending: Vec<PendingPlan>,
    /// Unreadable plans removed.
    pub removed_unreadable: Vec<String>,
    /// Bytes of stale temporaries (killed writes) removed.
    pub stale_temporaries_bytes: u64,
    /// Things worth knowing.
    pub warnings: Vec<String>,
    /// Only reported what would be done.
    pub dry_run: bool,
}

impl PruneReport {
    /// The report of a run with `opts`.
    pub(super) fn for_run(mut self, opts: &PruneOptions) -> Self {
        self.dry_run = opts.dry_run;
        self
    }

    /// Packs and bytes selected per action.
    pub fn selected(&self, action: Action) -> (u64, u64) {
        self.selection.bytes(action)
    }
    /// Sealed bytes referenced.
    pub fn used_bytes(&self) -> u64 {
        self.selection.used_bytes
    }
    /// Unused bytes before and after.
    pub fn unused_bytes(&self) -> (u64, u64) {
        (self.selection.unused_bytes, self.selection.unused_after)
    }
    /// Selected packs, by ID.
    pub fn packs(&self) -> &[Selected] {
        &self.selection.packs
    }
}

impl Action {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::DeleteUnindexed => "delete-unindexed",
            Action::Repack => "repack",
        }
    }
}

#[derive(DeriveSerialize)]
struct Deleted {
    packs: u64,
    bytes: u64,
    unindexed_packs: u64,
}

#[derive(DeriveSerialize)]
struct Repacked {
    packs: u64,
    bytes: u64,
    copied_bytes: u64,
}

#[derive(DeriveSerialize)]
struct PackView {
    pack: PackId,
    size: u64,
    used: u64,
    action: &'static str,
}

#[derive(DeriveSerialize)]
struct SweptView {
    plans: u64,
    packs: u64,
    bytes: u64,
    resurrected: u64,
}

#[derive(DeriveSerialize)]
struct View<'a> {
    dry_run: bool,
    snapshots: u64,
    referenced_blobs: u64,
    used_bytes: u64,
    unused_bytes: u64,
    unused_bytes_after: u64,
    delete: Deleted,
    repack: Repacked,
    swept: SweptView,
    pending_plans: &'a [PendingPlan],
    packs: Vec<PackView>,
    warnings: &'a [String],
    removed_unreadable_plans: &'a [String],
    stale_temporaries_bytes: u64,
}

/// The `--json` document of `prune`.
impl Serialize for PruneReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (del_n, del_b) = self.selected(Action::Delete);
        let (orph_n, orph_b) = self.selected(Action::DeleteUnindexed);
        let (rep_n, rep_b) = self.selected(Action::Repack);
        let (unused_before, unused_after) = self.unused_bytes();
        View {
            dry_run: self.dry_run,
            snapshots: self.snapshots,
            referenced_blobs: self.referenced_blobs,
            used_bytes: self.used_bytes(),
            unused_bytes: unused_before,
            unused_bytes_after: unused_after,
            delete: Deleted {
                packs: del_n + orph_n,
                bytes: del_b + orph_b,
                unindexed_packs: orph_n,
            },
            repack: Repacked {
                packs: rep_n,
                bytes: rep_b,
                copied_bytes: self.repacked_bytes,
            },
            swept: SweptView {
                plans: self.swept.plans,
                packs: self.swept.packs,
                bytes: self.swept.bytes,
                resurrected: self.swept.resurrected,
            },
            pending_plans: &self.pending,
            packs: self
                .packs()
                .iter()
                .map(|p| PackView {
                    pack: p.pack,
                    size: p.size,
                    used: p.used,
                    action: p.action.name(),
                })
                .collect(),
            warnings: &self.warnings,
            removed_unreadable_plans: &self.removed_unreadable,
            stale_temporaries_bytes: self.stale_temporaries_bytes,
        }
        .serialize(s)
    }
}
