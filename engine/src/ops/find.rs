//! `find`: which snapshots hold a path matching a glob, as `restic find`
//! does. Each snapshot's trees are streamed through [`browse::walk`] (a
//! snapshot may hold millions of entries: they are never collected), and
//! every match goes to a visitor at once, newest snapshot first.
//!
//! Pattern semantics (restic's): a pattern without `/` matches an entry's
//! base name; a pattern with `/` matches the full path, from the root when
//! it starts with `/`, else its last components. `*` and `?` never cross
//! `/`; `**` does. Invariants: an empty or malformed pattern is refused
//! (`InvalidInput`) before any snapshot is read; a walk is bounded by the
//! same [`browse::WalkGuard`] as every other reader.

use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::Timestamp;
use crate::id::SnapshotId;
use crate::ops::ls::Entry;
use crate::repo::browse;
use crate::repo::Repository;
use crate::source::filter::PathFilter;
use serde::Serialize;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What to look for.
#[derive(Clone, Debug, Default)]
pub struct FindOptions {
    /// Glob patterns; an entry matches if any of them does.
    pub patterns: Vec<String>,
    /// Match letters regardless of case (`-i`).
    pub ignore_case: bool,
    /// Only entries modified at or after this time (`--oldest`).
    pub oldest: Option<Timestamp>,
    /// Only entries modified at or before this time (`--newest`).
    pub newest: Option<Timestamp>,
}

/// Compiled [`FindOptions`] patterns.
#[derive(Clone, Debug)]
pub struct Matcher {
    set: PathFilter,
    oldest: Option<Timestamp>,
    newest: Option<Timestamp>,
}

impl Matcher {
    /// Compile; an empty or malformed pattern is an `InvalidInput` error
    /// quoting it as given.
    pub fn new(opts: &FindOptions) -> Result<Self> {
        if opts.patterns.is_empty() {
            return Err(Error::invalid("give at least one pattern to find"));
        }
        // The same compiled patterns, with the same rules, as backup's
        // excludes and restore's filters.
        let set = PathFilter::with_case(&opts.patterns, opts.ignore_case)?;
        if let (Some(o), Some(n)) = (opts.oldest, opts.newest) {
            if o > n {
                return Err(Error::invalid(
                    "--oldest is after --newest: no modification time can match",
                ));
            }
        }
        Ok(Matcher {
            set,
            oldest: opts.oldest,
            newest: opts.newest,
        })
    }

    /// Does the entry at `path` (absolute, in the snapshot), modified at
    /// `mtime`, match?
    pub fn matches(&self, path: &[u8], mtime: Timestamp) -> bool {
        self.oldest.is_none_or(|o| mtime >= o)
            && self.newest.is_none_or(|n| mtime <= n)
            && self.set.matches(Path::new(OsStr::from_bytes(path)))
    }
}

/// Totals of a search.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FindReport {
    /// Snapshots searched.
    pub snapshots: u64,
    /// Snapshots with at least one match.
    pub snapshots_matched: u64,
    /// Matches in all snapshots (an entry counts once per snapshot).
    pub hits: u64,
}

/// Search `snaps` (any order; searched newest first, then by ID) for
/// entries `matcher` accepts, calling `visit(id, snapshot, entry)` for
/// each match in tree order.
pub fn find(
    repo: &Repository,
    snaps: &[(SnapshotId, Snapshot)],
    matcher: &Matcher,
    visit: &mut dyn FnMut(&SnapshotId, &Snapshot, &Entry<'_>) -> Result<()>,
) -> Result<FindReport> {
    let mut order: Vec<&(SnapshotId, Snapshot)> = snaps.iter().collect();
    order.sort_by(|a, b| b.1.time.cmp(&a.1.time).then(a.0.cmp(&b.0)));
    let mut report = FindReport::default();
    for (id, snap) in order {
        report.snapshots += 1;
        let mut hits = 0u64;
        browse::walk(repo, snap, b"/", true, &mut |path, node| {
            if matcher.matches(path, node.mtime) {
                hits += 1;
                visit(id, snap, &Entry { path, node })?;
            }
            Ok(())
        })
        .map_err(|e| e.context(format!("snapshot {}", id.short())))?;
        report.hits += hits;
        report.snapshots_matched += u64::from(hits > 0);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str], ignore_case: bool) -> Matcher {
        Matcher::new(&FindOptions {
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            ignore_case,
            ..FindOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn base_name_full_path_and_case() {
        let t = Timestamp::default();
        let base = m(&["*.conf"], false);
        assert!(base.matches(b"/etc/app/x.conf", t));
        assert!(base.matches(b"/x.conf", t));
        assert!(!base.matches(b"/etc/x.conf.bak", t));
        assert!(!base.matches(b"/etc/X.CONF", t));
        assert!(m(&["*.conf"], true).matches(b"/etc/X.CONF", t));
        let anchored = m(&["/etc/*.conf"], false);
        assert!(anchored.matches(b"/etc/x.conf", t));
        assert!(!anchored.matches(b"/srv/etc/x.conf", t));
        assert!(!anchored.matches(b"/etc/sub/x.conf", t));
        let tail = m(&["app/*.conf"], false);
        assert!(tail.matches(b"/etc/app/x.conf", t));
        assert!(!tail.matches(b"/etc/x.conf", t));
        assert!(m(&["/etc/**"], false).matches(b"/etc/a/b/c", t));
    }

    #[test]
    fn time_bounds_are_inclusive() {
        let at = |secs| Timestamp { secs, nanos: 0 };
        let f = Matcher::new(&FindOptions {
            patterns: vec!["*".into()],
            oldest: Some(at(10)),
            newest: Some(at(20)),
            ..FindOptions::default()
        })
        .unwrap();
        assert!(!f.matches(b"/a", at(9)));
        assert!(f.matches(b"/a", at(10)));
        assert!(f.matches(b"/a", at(20)));
        assert!(!f.matches(b"/a", at(21)));
    }

    #[test]
    fn bad_patterns_are_usage_errors() {
        for bad in [vec![], vec!["".to_string()], vec!["a[".to_string()]] {
            let e = Matcher::new(&FindOptions {
                patterns: bad.clone(),
                ..FindOptions::default()
            })
            .unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
