//! The format versions this build reads and writes, in one place, for
//! `cairn version` and for anyone deciding whether a build can open an old
//! repository or export (`format-spec/README.md`, "Versioning policy").
//!
//! Invariant: every number here is the constant its decoder checks, not a
//! copy, so this report cannot drift from what the code accepts.

use serde::Serialize;
use std::collections::BTreeMap;

/// What one format family (repository, export volume set) this build
/// reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormatVersion {
    /// Versions this build opens.
    pub reads: Vec<u64>,
    /// The version this build creates.
    pub writes: u64,
}

/// The format versions of this build, for `cairn version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormatVersions {
    /// The repository (`CAIRN` marker and `config`, `format-spec/v1/`).
    pub repository: FormatVersion,
    /// Export volume sets (`format-spec/v1/export.md`).
    pub export: FormatVersion,
    /// The version field of each versioned object inside a repository.
    pub objects: BTreeMap<&'static str, u64>,
}

/// The versions this build reads and writes.
pub fn format_versions() -> FormatVersions {
    let exact = |v: u64| FormatVersion {
        reads: vec![v],
        writes: v,
    };
    FormatVersions {
        repository: exact(super::config::FORMAT_VERSION),
        export: exact(u64::from(super::export::EXPORT_VERSION)),
        objects: BTreeMap::from([
            ("key", u64::from(super::keyfile::KEY_VERSION)),
            ("pack", u64::from(super::pack::PACK_VERSION)),
            ("index", u64::from(super::index::INDEX_VERSION)),
            ("tree", super::tree::TREE_VERSION),
            ("snapshot", super::snapshot::SNAPSHOT_VERSION),
            ("parity", u64::from(super::parity::PARITY_VERSION)),
            ("paper_key", u64::from(super::paper::PAPER_VERSION)),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_checked_constants() {
        let v = format_versions();
        assert_eq!(v.repository.writes, super::super::config::FORMAT_VERSION);
        assert!(v.repository.reads.contains(&v.repository.writes));
        assert_eq!(v.objects.len(), 7);
    }
}
