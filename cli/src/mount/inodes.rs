//! The inode table of a mount: the made-up directories (`snapshots/`,
//! `ids/`, `hosts/`, `tags/`, the `latest` links) built once at mount
//! time, and the snapshots' own entries numbered as they are first met.
//!
//! Invariants: inode numbers are never reused or renumbered while the
//! mount lives (a directory's children are numbered once, the first time
//! it is listed or looked up), so the kernel and `find` see stable inodes;
//! every path gets its own inode (a directory reachable both as
//! `snapshots/T` and `ids/I` is two inodes, as the kernel requires of
//! directories); children are kept sorted by name for binary search.

use cairn_engine::{Node, Snapshot, SnapshotId, Timestamp, TreeId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The root directory's inode (FUSE fixes it at 1).
pub const ROOT: u64 = 1;

/// What an inode is.
pub enum Item {
    /// A directory the mount makes up, with the time it shows.
    Virtual(Timestamp),
    /// A symlink the mount makes up (`latest`).
    Link(Vec<u8>, Timestamp),
    /// A snapshot's root directory.
    SnapRoot(TreeId, Timestamp),
    /// An entry of a snapshot's trees.
    Node(Box<Node>),
}

/// One inode.
pub struct Entry {
    /// What it is.
    pub item: Item,
    /// Its parent directory (the root is its own parent).
    pub parent: u64,
    /// A directory's entries, sorted by name, once known.
    pub children: Option<Vec<(Vec<u8>, u64)>>,
    /// A regular file's map, once opened.
    pub file: Option<Arc<cairn_engine::ops::mount::FileMap>>,
}

/// All inodes of one mount; inode `n` is `entries[n - 1]`.
pub struct Inodes {
    entries: Vec<Entry>,
}

impl Inodes {
    /// The entry of `ino`, if there is one.
    pub fn get(&self, ino: u64) -> Option<&Entry> {
        self.entries.get(usize::try_from(ino).ok()?.checked_sub(1)?)
    }

    /// The entry of `ino`, to change.
    pub fn get_mut(&mut self, ino: u64) -> Option<&mut Entry> {
        self.entries
            .get_mut(usize::try_from(ino).ok()?.checked_sub(1)?)
    }

    /// Add an inode; returns its number.
    pub fn push(&mut self, parent: u64, item: Item) -> u64 {
        self.entries.push(Entry {
            item,
            parent,
            children: None,
            file: None,
        });
        self.entries.len() as u64
    }

    /// Give the snapshot nodes of a directory inode numbers (once).
    pub fn set_tree_children(&mut self, dir: u64, nodes: Vec<Node>) {
        let mut kids = Vec::with_capacity(nodes.len());
        for n in nodes {
            let name = n.name.clone();
            kids.push((name, self.push(dir, Item::Node(Box::new(n)))));
        }
        kids.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(e) = self.get_mut(dir) {
            e.children = Some(kids);
        }
    }

    /// The child `name` of `dir`, if `dir`'s children are known.
    pub fn child(&self, dir: u64, name: &[u8]) -> Option<u64> {
        let kids = self.get(dir)?.children.as_ref()?;
        kids.binary_search_by(|(n, _)| n.as_slice().cmp(name))
            .ok()
            .and_then(|i| kids.get(i))
            .map(|(_, ino)| *ino)
    }

    /// The made-up tree over `snaps` (oldest first): `snapshots/`,
    /// `ids/`, `hosts/`, `tags/`, each time-named group with `latest`.
    pub fn build(snaps: &[(SnapshotId, Snapshot)], name_of: &dyn Fn(Timestamp) -> String) -> Self {
        let mut t = Inodes {
            entries: Vec::new(),
        };
        let newest = snaps.last().map(|s| s.1.time).unwrap_or_default();
        t.push(ROOT, Item::Virtual(newest));
        let names = unique_names(snaps, name_of);
        let all: Vec<usize> = (0..snaps.len()).collect();
        let snapshots = t.group(ROOT, snaps, &names, &all);
        let ids = t.push(ROOT, Item::Virtual(newest));
        let mut id_kids = Vec::new();
        for (id, s) in snaps {
            let short = id.short();
            let dup = snaps.iter().filter(|(o, _)| o.short() == short).count() > 1;
            let name = if dup { id.to_string() } else { short };
            id_kids.push((
                name.into_bytes(),
                t.push(ids, Item::SnapRoot(s.tree, s.time)),
            ));
        }
        t.set_children(ids, id_kids);
        let mut hosts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut tags: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (_, s)) in snaps.iter().enumerate() {
            hosts.entry(dir_name(&s.host)).or_default().push(i);
            for tag in &s.tags {
                tags.entry(dir_name(tag)).or_default().push(i);
            }
        }
        let by = |t: &mut Inodes, groups: BTreeMap<String, Vec<usize>>| {
            let dir = t.push(ROOT, Item::Virtual(newest));
            let kids = groups
                .into_iter()
                .map(|(name, members)| (name.into_bytes(), t.group(dir, snaps, &names, &members)))
                .collect();
            t.set_children(dir, kids);
            dir
        };
        let hosts = by(&mut t, hosts);
        let tags = by(&mut t, tags);
        t.set_children(
            ROOT,
            vec![
                (b"hosts".to_vec(), hosts),
                (b"ids".to_vec(), ids),
                (b"snapshots".to_vec(), snapshots),
                (b"tags".to_vec(), tags),
            ],
        );
        t
    }

    /// A directory of the snapshots `members` (oldest first) by their
    /// time names, with `latest` pointing at the newest.
    fn group(
        &mut self,
        parent: u64,
        snaps: &[(SnapshotId, Snapshot)],
        names: &[String],
        members: &[usize],
    ) -> u64 {
        let newest = members.last().and_then(|i| snaps.get(*i));
        let dir = self.push(
            parent,
            Item::Virtual(newest.map(|s| s.1.time).unwrap_or_default()),
        );
        let mut kids = Vec::new();
        for i in members {
            if let (Some((_, s)), Some(name)) = (snaps.get(*i), names.get(*i)) {
                kids.push((
                    name.clone().into_bytes(),
                    self.push(dir, Item::SnapRoot(s.tree, s.time)),
                ));
            }
        }
        if let (Some(i), Some((_, s))) = (members.last(), newest) {
            if let Some(name) = names.get(*i) {
                let link = self.push(dir, Item::Link(name.clone().into_bytes(), s.time));
                kids.push((b"latest".to_vec(), link));
            }
        }
        self.set_children(dir, kids);
        dir
    }

    fn set_children(&mut self, dir: u64, mut kids: Vec<(Vec<u8>, u64)>) {
        kids.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(e) = self.get_mut(dir) {
            e.children = Some(kids);
        }
    }
}

/// Each snapshot's directory name: its time; snapshots that share a time
/// name are all told apart by their short ID (`TIME-ID`), so a name never
/// depends on which of them was listed first.
fn unique_names(
    snaps: &[(SnapshotId, Snapshot)],
    name_of: &dyn Fn(Timestamp) -> String,
) -> Vec<String> {
    let times: Vec<String> = snaps.iter().map(|(_, s)| name_of(s.time)).collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &times {
        *count.entry(t).or_default() += 1;
    }
    times
        .iter()
        .zip(snaps)
        .map(|(t, (id, _))| match count.get(t.as_str()) {
            Some(n) if *n > 1 => format!("{t}-{}", id.short()),
            _ => t.clone(),
        })
        .collect()
}

/// A host or tag as a directory name: `/` and NUL cannot appear in one,
/// and `.`, `..` and the empty name mean something else.
fn dir_name(s: &str) -> String {
    match s {
        "" => "_".into(),
        "." | ".." => s.replace('.', "_"),
        _ => s.replace(['/', '\0'], "_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: u8, secs: i64, host: &str, tags: &[&str]) -> (SnapshotId, Snapshot) {
        let s = Snapshot {
            time: Timestamp { secs, nanos: 0 },
            tree: TreeId([id; 32]),
            paths: vec!["/x".into()],
            host: host.into(),
            user: "u".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            parent: None,
            source: "files".into(),
            stats: Default::default(),
            program: "t".into(),
        };
        (SnapshotId([id; 32]), s)
    }

    /// Walk `path` (`/`-separated) from the root.
    fn at(t: &Inodes, path: &str) -> Option<u64> {
        path.split('/')
            .try_fold(ROOT, |dir, name| t.child(dir, name.as_bytes()))
    }

    fn link(t: &Inodes, path: &str) -> String {
        match at(t, path).and_then(|i| t.get(i)).map(|e| &e.item) {
            Some(Item::Link(target, _)) => String::from_utf8_lossy(target).into_owned(),
            _ => panic!("{path} is not a link"),
        }
    }

    #[test]
    fn layout_names_groups_and_latest() {
        let snaps = [
            snap(1, 10, "a", &["daily"]),
            snap(2, 20, "b/c", &[]),
            snap(3, 20, "a", &["daily", "x"]),
        ];
        let t = Inodes::build(&snaps, &|ts: Timestamp| format!("T{}", ts.secs));
        // Two snapshots share a time: both named with their short IDs.
        let twenty = [
            format!("T20-{}", snaps[1].0.short()),
            format!("T20-{}", snaps[2].0.short()),
        ];
        for name in ["T10", twenty[0].as_str(), twenty[1].as_str()] {
            assert!(at(&t, &format!("snapshots/{name}")).is_some(), "{name}");
        }
        assert_eq!(link(&t, "snapshots/latest"), twenty[1]);
        assert_eq!(link(&t, "hosts/a/latest"), twenty[1]);
        assert_eq!(link(&t, "hosts/b_c/latest"), twenty[0]);
        assert_eq!(link(&t, "tags/daily/latest"), twenty[1]);
        assert!(at(&t, "tags/daily/T10").is_some());
        assert!(at(&t, "tags/x/T10").is_none());
        assert!(at(&t, &format!("ids/{}", snaps[0].0.short())).is_some());
        // Every path is its own inode, and the numbers do not move.
        let (a, b) = (at(&t, "snapshots/T10"), at(&t, "hosts/a/T10"));
        assert_ne!(a, b);
        assert_eq!(at(&t, "snapshots/T10"), a);
    }
}
