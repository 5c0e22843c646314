//! Open read handles of packs, kept between reads of the same backend.
//!
//! A restore or a scrub reads thousands of blobs from a hundred packs;
//! opening the pack for each read walks the no-follow path (root, `data/`,
//! the fan-out directory, `lstat`, the file, `fstat`) every time, and that
//! was most of a restore's kernel time. Packs are immutable and named by
//! the BLAKE3 of their bytes, so a handle opened once (through that same
//! checked path) reads the same bytes as a fresh open would.
//!
//! Invariants: only `data/` files are kept; this backend forgets a name
//! whenever it writes, commits or removes that name (so a repaired pack is
//! read anew); at most [`CAP`] handles are open. A pack removed by another
//! process stays readable through a kept handle, with the same bytes, as
//! if the read had happened just before the removal.

use std::fs::File;
use std::sync::{Arc, Mutex};

/// Handles kept: enough for the packs a parallel restore reads at once,
/// far below any descriptor limit.
pub(super) const CAP: usize = 32;

/// Least recently used first.
#[derive(Debug, Default)]
pub(super) struct Handles(Mutex<Vec<(String, Arc<File>)>>);

impl Handles {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<File>)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept handle of `name`, now the most recently used.
    pub(super) fn get(&self, name: &str) -> Option<Arc<File>> {
        let mut list = self.list();
        let i = list.iter().position(|(n, _)| n == name)?;
        let entry = list.remove(i);
        let f = Arc::clone(&entry.1);
        list.push(entry);
        Some(f)
    }

    /// Keep `f` as the handle of `name`, dropping the least recently used.
    pub(super) fn put(&self, name: &str, f: Arc<File>) {
        let mut list = self.list();
        list.retain(|(n, _)| n != name);
        if list.len() >= CAP {
            list.remove(0);
        }
        list.push((name.to_owned(), f));
    }

    /// Forget `name` (written, committed or removed by this backend).
    pub(super) fn forget(&self, name: &str) {
        self.list().retain(|(n, _)| n != name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<File> {
        Arc::new(tempfile::tempfile().unwrap())
    }

    #[test]
    fn keeps_the_most_recently_used_and_forgets_on_request() {
        let h = Handles::default();
        for i in 0..CAP {
            h.put(&format!("p{i}"), file());
        }
        assert!(h.get("p0").is_some()); // p0 is now the most recent
        h.put("new", file()); // drops p1, the least recently used
        assert!(h.get("p1").is_none());
        assert!(h.get("p0").is_some() && h.get("new").is_some());
        h.forget("p0");
        assert!(h.get("p0").is_none());
        assert_eq!(h.list().len(), CAP - 1);
    }
}
