//! The paths a file backup is given: made absolute without following the
//! last component (a symlink given as a path is backed up as a link),
//! sorted, deduplicated, and arranged as a trie from `/` so the walk can
//! reproduce them in the snapshot's root tree.

use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The backup paths as a tree of names from `/`.
#[derive(Default)]
pub(super) struct Trie {
    /// This node is itself a backup path.
    pub(super) target: bool,
    /// Names below it, in name order.
    pub(super) children: BTreeMap<Vec<u8>, Trie>,
}

pub(super) fn build_trie(paths: &[PathBuf]) -> Trie {
    let mut root = Trie::default();
    for p in paths {
        let mut t = &mut root;
        for c in p.components() {
            if let std::path::Component::Normal(n) = c {
                t = t.children.entry(n.as_bytes().to_vec()).or_default();
            }
        }
        t.target = true;
    }
    root
}

/// Make `paths` absolute (resolving `..` against the real directories but
/// keeping the last component, so a symlink given as a path is not
/// followed), sorted and deduplicated. As restic: a missing path is a
/// warning of the walk; only when none of them exists is it an error.
pub(super) fn absolute_paths(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if given.is_empty() {
        return Err(Error::invalid(
            "nothing to back up: give at least one path (or --stdin)",
        ));
    }
    let mut paths = Vec::new();
    for p in given {
        let resolving = |e| Error::io(format!("resolving {}", p.display()), e);
        let mut abs = std::path::absolute(p).map_err(resolving)?;
        if abs
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            let name = abs.file_name().map(|n| n.to_owned());
            let parent = abs
                .parent()
                .map(std::fs::canonicalize)
                .transpose()
                .map_err(resolving)?;
            abs = match (parent, name) {
                (Some(dir), Some(name)) => dir.join(name),
                _ => std::fs::canonicalize(&abs).map_err(resolving)?,
            };
        }
        paths.push(abs);
    }
    if paths.iter().all(|p| std::fs::symlink_metadata(p).is_err()) {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "nothing to back up: {} {} not exist; no snapshot was written",
                names.join(", "),
                if names.len() == 1 { "does" } else { "do" }
            ),
        ));
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}
