//! The summary a backup ends with, answering what a user asks after one:
//! what was new, changed or unmodified, how much data was added and
//! stored, which parent snapshot was compared against (or that none was
//! found), how long it took, and how many warnings there were. Human
//! output goes to stdout (restic's place for it); `--json` writes one
//! `summary` line, the last of the stream (`docs/json.md`).
//!
//! Invariant: sizes use binary prefixes throughout (KiB, MiB, GiB; rates
//! in MiB/s), as every other Cairn output does.

use super::progress::clock;
use crate::output::bytes;
use cairn_engine::BackupSummary;
use std::time::Duration;

/// The JSON summary line: the engine's report with `message_type`.
pub fn json(s: &BackupSummary) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(m) = v.as_object_mut() {
        m.insert("message_type".into(), "summary".into());
    }
    v
}

/// The human summary, one string of lines.
pub fn human(s: &BackupSummary, force: bool) -> String {
    let c = &s.changes;
    let st = &s.stats;
    let mut out = String::new();
    let parent = match (s.parent, force) {
        (Some(p), _) => format!("compared with parent snapshot {}", p.short()),
        (None, true) => "no parent snapshot used (--force): every file was read".into(),
        (None, false) => "no parent snapshot found: every file was read".into(),
    };
    out.push_str(&parent);
    out.push('\n');
    out.push_str(&format!(
        "Files: {:>8} new, {:>8} changed, {:>8} unmodified\n",
        c.files_new, c.files_changed, c.files_unmodified
    ));
    out.push_str(&format!(
        "Dirs:  {:>8} new, {:>8} changed, {:>8} unmodified\n",
        c.dirs_new, c.dirs_changed, c.dirs_unmodified
    ));
    let verb = if s.dry_run { "Would add" } else { "Added" };
    out.push_str(&format!(
        "{verb} to the repository: {} ({} stored)\n",
        bytes(st.new_bytes),
        bytes(st.stored_bytes)
    ));
    let secs = s.duration_secs;
    let rate = if secs > 0.0 {
        st.bytes as f64 / secs / (1u64 << 20) as f64
    } else {
        0.0
    };
    out.push_str(&format!(
        "processed {} files, {} in {} ({rate:.1} MiB/s)\n",
        st.files,
        bytes(st.bytes),
        clock(Duration::from_secs_f64(secs.max(0.0)))
    ));
    if !s.warnings.is_empty() {
        let what = if s.dry_run { "would be" } else { "is" };
        out.push_str(&format!(
            "{} warnings: some entries could not be read; the snapshot {what} partial (exit code 3)\n",
            s.warnings.len()
        ));
    }
    match s.snapshot_id {
        Some(id) => out.push_str(&format!("snapshot {} saved", id.short())),
        None => out.push_str("dry run: nothing was stored"),
    }
    out
}
