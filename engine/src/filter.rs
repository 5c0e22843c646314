//! Include/exclude glob patterns, matched against absolute paths (backup)
//! or snapshot paths (restore), in the style of restic:
//!
//! * `*` and `?` do not cross `/`; `**` does;
//! * a pattern starting with `/` is anchored at the root; any other pattern
//!   matches at any depth (it is prefixed with `**/`);
//! * a pattern that matches a directory applies to everything below it.

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
    /// Compile patterns; an invalid pattern is an `InvalidInput` error.
    pub fn new(patterns: &[String]) -> Result<Self> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim_end_matches('/');
            let full = if p.starts_with('/') {
                p.to_owned()
            } else {
                format!("**/{p}")
            };
            let g = GlobBuilder::new(&full)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::invalid(format!("invalid pattern '{p}': {e}")))?;
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
        assert!(PathFilter::new(&["a[".into()]).is_err());
        assert!(!PathFilter::new(&[]).unwrap().matches(Path::new("/x")));
    }
}
