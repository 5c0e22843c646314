//! The report types of `diff`: restic's change letters, one change line
//! of `diff --json`, and the totals that close it. They are the JSON
//! contract of the command (README, "Browsing and comparing snapshots"):
//! field names do not change without the README and golden files.

use crate::format::tree::NodeKind;
use crate::id::SnapshotId;
use crate::ops::ls::kind_name;
use serde::Serialize;

/// What happened to a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    /// Only in the second snapshot (`+`).
    Added,
    /// Only in the first snapshot (`-`).
    Removed,
    /// File content or symlink target changed (`M`).
    Modified,
    /// Same content, other metadata: mode, owner, mtime, xattrs, device
    /// number (`U`).
    Metadata,
    /// A different type, e.g. a file that became a directory (`T`).
    TypeChanged,
}

impl Modifier {
    /// restic's letter.
    pub fn letter(self) -> &'static str {
        match self {
            Modifier::Added => "+",
            Modifier::Removed => "-",
            Modifier::Modified => "M",
            Modifier::Metadata => "U",
            Modifier::TypeChanged => "T",
        }
    }
}

/// One changed path; serializes as one `diff --json` change line.
pub struct Change<'a> {
    /// Absolute path in the snapshots, raw bytes.
    pub path: &'a [u8],
    /// What happened.
    pub modifier: Modifier,
    /// The entry's type (in the second snapshot, unless removed).
    pub kind: NodeKind,
}

#[derive(Serialize)]
struct ChangeView {
    message_type: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes_hex: Option<String>,
    modifier: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `{"message_type":"change","path":…,"modifier":"+","type":"file"}`; a
/// path that is not UTF-8 also has its exact bytes in `path_bytes_hex`.
impl Serialize for Change<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ChangeView {
            message_type: "change",
            path: String::from_utf8_lossy(self.path).into_owned(),
            path_bytes_hex: std::str::from_utf8(self.path)
                .is_err()
                .then(|| crate::id::hex_encode(self.path)),
            modifier: self.modifier.letter(),
            kind: kind_name(self.kind),
        }
        .serialize(s)
    }
}

/// What one side has that the other lacks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Regular files.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Other entries (symlinks, devices, FIFOs, sockets).
    pub others: u64,
    /// Content chunks referenced only on this side (of the parts compared).
    pub data_blobs: u64,
    /// Trees read only on this side.
    pub tree_blobs: u64,
    /// Plaintext bytes of those data blobs (file content), from the index.
    pub bytes: u64,
}

/// The totals of a diff; serializes as the final `statistics` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    /// Always `"statistics"` (restic's JSON lines tag).
    pub message_type: &'static str,
    /// The first snapshot.
    pub source_snapshot: SnapshotId,
    /// The second snapshot.
    pub target_snapshot: SnapshotId,
    /// Files whose content changed (`M`).
    pub changed_files: u64,
    /// Entries whose metadata only changed (`U`).
    pub metadata_changed: u64,
    /// Entries whose type changed (`T`).
    pub type_changed: u64,
    /// In the second snapshot only.
    pub added: Totals,
    /// In the first snapshot only.
    pub removed: Totals,
    /// Trees read to compute the diff (both sides).
    pub trees_loaded: u64,
    /// Subtrees skipped unread because both sides had the same ID.
    pub trees_skipped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_restics() {
        let all = [
            Modifier::Added,
            Modifier::Removed,
            Modifier::Modified,
            Modifier::Metadata,
            Modifier::TypeChanged,
        ];
        let letters: Vec<_> = all.iter().map(|m| m.letter()).collect();
        assert_eq!(letters, ["+", "-", "M", "U", "T"]);
    }
}
