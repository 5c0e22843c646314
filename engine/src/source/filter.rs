//! Include/exclude glob patterns, matched against absolute paths (backup)
//! or snapshot paths (restore), in the style of restic:
//!
//! * `*` and `?` do not cross `/`; `**` does;
//! * a pattern starting with `/` is anchored at the root; any other pattern
//!   matches at any depth (it is prefixed with `**/`);
//! * a pattern that matches a directory applies to everything below it;
//! * an empty pattern (or `/`) is refused: it would match everything, and
//!   an empty `--exclude ''` (say, from an unset shell variable) must not
//!   silently empty a backup or a restore.

use crate::error::{Error, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::Path;

/// A compiled set of patterns.
#[derive(Clone, Debug)]
pub struct PathFilter {
    set: GlobSet,
    empty: bool,
}

impl PathFilter {
    /// Compile patterns; an invalid or empty pattern is an `InvalidInput`
    /// error that quotes the pattern as the user wrote it.
    pub fn new(patterns: &[String]) -> Result<Self> {
        Self::with_case(patterns, false)
    }

    /// As [`new`](Self::new), matching letters regardless of case when
    /// `ignore_case` (restic's `--iexclude`).
    pub fn with_case(patterns: &[String], ignore_case: bool) -> Result<Self> {
        let mut b = GlobSetBuilder::new();
        for given in patterns {
            let p = given.trim_end_matches('/');
            if p.is_empty() {
                return Err(Error::invalid(format!(
                    "empty pattern '{given}': it would match every path; give a name or a glob such as '*.tmp'"
                )));
            }
            let full = if p.starts_with('/') {
                p.to_owned()
            } else {
                format!("**/{p}")
            };
            let g = GlobBuilder::new(&full)
                .literal_separator(true)
                .case_insensitive(ignore_case)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::invalid(format!("invalid pattern '{given}': {}", e.kind())))?;
            b.add(g);
        }
        Ok(PathFilter {
            set: b
                .build()
                .map_err(|e| Error::invalid(format!("invalid patterns: {e}")))?,
            empty: patterns.is_empty(),
        })
    }

    /// No patterns at all.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Does a pattern match `path` itself?
    pub fn matches(&self, path: &Path) -> bool {
        !self.empty && self.set.is_match(path)
    }

    /// Does a pattern match `path` or one of its ancestors?
    pub fn matches_or_ancestor(&self, path: &Path) -> bool {
        !self.empty && path.ancestors().any(|a| self.set.is_match(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantics() {
        let f = PathFilter::new(&["*.log".into(), "/srv/cache".into()]).unwrap();
        assert!(f.matches(Path::new("/a/b/x.log")));
        assert!(!f.matches(Path::new("/a/b/x.logs")));
        assert!(f.matches(Path::new("/srv/cache")));
        assert!(!f.matches(Path::new("/x/srv/cache")));
        assert!(f.matches_or_ancestor(Path::new("/srv/cache/deep/file")));
        let e = PathFilter::new(&["a[".into()]).unwrap_err().to_string();
        assert!(!e.contains("**/"), "the rewritten pattern leaked: {e}");
        assert!(e.contains("'a['"), "{e}");
        for empty in ["", "/", "//"] {
            assert!(PathFilter::new(&[empty.into()]).is_err(), "{empty:?}");
        }
        assert!(!PathFilter::new(&[]).unwrap().matches(Path::new("/x")));
        let i = PathFilter::with_case(&["*.LOG".into()], true).unwrap();
        assert!(i.matches(Path::new("/a/x.log")));
        assert!(!PathFilter::new(&["*.LOG".into()])
            .unwrap()
            .matches(Path::new("/a/x.log")));
    }
}
