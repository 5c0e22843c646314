//! The record of one drill, as `cairn drill --report FILE` keeps it and
//! `--json` prints it: which snapshot, when, how long, and the outcome. A
//! drill that could not run still gets a record (status `failed`), so a
//! scheduled drill leaves a trace either way.

use super::DrillReport;
use crate::error::Error;
use crate::format::tree::Timestamp;
use crate::id::SnapshotId;
use crate::ops::Outcome;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// What a drill restores into.
#[derive(Clone, Debug)]
pub enum DrillTarget {
    /// A temporary directory under this one (file snapshots).
    Directory(std::path::PathBuf),
    /// Temporary databases on this server (MongoDB snapshots).
    #[cfg(feature = "mongodb")]
    MongoDb(crate::source::mongodb::MongoConnect),
}

/// One drill's record.
#[derive(Debug)]
pub struct DrillRecord {
    /// The snapshot drilled.
    pub snapshot_id: SnapshotId,
    /// Its source kind.
    pub source: String,
    /// When the drill started.
    pub started: Timestamp,
    /// How long it took, seconds.
    pub duration_secs: f64,
    /// The comparison, or why the drill could not run.
    pub result: Result<DrillReport, Error>,
}

impl DrillRecord {
    /// `ok`, `mismatch` or `failed`.
    pub fn status(&self) -> &'static str {
        match &self.result {
            Ok(r) if r.mismatches.is_empty() => "ok",
            Ok(_) => "mismatch",
            Err(_) => "failed",
        }
    }

    /// Damage found, or all matched (a drill that failed has no outcome:
    /// its error is in `result`).
    pub fn outcome(&self) -> Outcome {
        match &self.result {
            Ok(r) if !r.mismatches.is_empty() => Outcome::DamageFound,
            _ => Outcome::Success,
        }
    }
}

/// The record as JSON: the common fields, then the comparison's totals
/// and mismatches, or `error`.
impl Serialize for DrillRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("snapshot_id", &self.snapshot_id)?;
        m.serialize_entry("source", &self.source)?;
        m.serialize_entry("status", self.status())?;
        m.serialize_entry("started", &self.started)?;
        m.serialize_entry("duration_secs", &self.duration_secs)?;
        match &self.result {
            Ok(r) => {
                m.serialize_entry("files", &r.files)?;
                m.serialize_entry("bytes", &r.bytes)?;
                m.serialize_entry("collections", &r.collections)?;
                m.serialize_entry("documents", &r.documents)?;
                m.serialize_entry("mismatches", &r.mismatches)?;
            }
            Err(e) => m.serialize_entry("error", &e.to_string())?,
        }
        m.end()
    }
}
