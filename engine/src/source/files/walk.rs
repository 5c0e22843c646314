//! The filesystem walk of a file backup ([`FilesSource`]): the root tree
//! reproducing the absolute backup paths, directories in name order with
//! look-ahead prefetching, and files read only when their metadata changed
//! since the parent snapshot.
//!
//! Invariants: `lstat` semantics below each backup path (a symlink given
//! as a path is recorded as a link; directories above it are followed);
//! an entry that cannot be read is a warning, never an abort; a backup in
//! which no given path could be read fails, so it writes no snapshot.

use super::meta::{list_dir, open_dir, open_file, stat_at, Meta};
use super::paths::{absolute_paths, build_trie, Trie};
use super::select::{FileSelection, Selector};
use super::{node_from, prefetch, read_content, NameCache};
use crate::error::{Error, ErrorKind, Result};
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::id::TreeId;
use crate::progress::{check_interrupt, Change, Progress};
use crate::source::{dir_node, dir_node_like, BuildContext, ChunkClass, Sink, Source};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Files and directories given by path.
#[derive(Clone, Debug)]
pub struct FilesSource {
    pub(super) paths: Vec<PathBuf>,
    pub(super) sel: Selector,
}

impl FilesSource {
    /// A walk of `paths` (made absolute, `..` resolved against the real
    /// directories, sorted, deduplicated). Fails when none of them exists.
    pub fn new(paths: &[PathBuf], selection: &FileSelection) -> Result<Self> {
        Ok(FilesSource {
            paths: absolute_paths(paths)?,
            sel: Selector::new(selection)?,
        })
    }
}

impl Source for FilesSource {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn paths(&self) -> Vec<String> {
        self.paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    fn wants_parent(&self) -> bool {
        true
    }

    fn build(&mut self, sink: &mut dyn Sink, ctx: &BuildContext<'_>) -> Result<Tree> {
        let trie = build_trie(&self.paths);
        let mut w = Walk {
            sink,
            src: self,
            progress: ctx.progress,
            reuse_xattrs: ctx.parent_complete,
            names: NameCache::default(),
            warnings: Vec::new(),
            targets_saved: 0,
            held: 0,
        };
        let root = if trie.target {
            // Backing up "/" itself: the root tree is its listing.
            let md = std::fs::symlink_metadata("/").map_err(|e| Error::io("stat /", e))?;
            let t = w.dir_tree(Path::new("/"), None, b"", ctx.parent, md.dev())?;
            w.targets_saved += usize::from(t.is_some());
            t.unwrap_or_default()
        } else {
            w.root(&trie, Path::new("/"), ctx.parent)?
        };
        if w.targets_saved == 0 {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "nothing could be backed up ({}); no snapshot was written",
                    w.warnings.join("; ")
                ),
            ));
        }
        Ok(root)
    }
}

/// One walk in progress.
struct Walk<'a> {
    sink: &'a mut dyn Sink,
    src: &'a FilesSource,
    progress: &'a dyn Progress,
    /// Take an unchanged entry's xattrs from the parent (see `node_from`).
    reuse_xattrs: bool,
    names: NameCache,
    /// This walk's warnings (also given to the sink), to explain a walk
    /// that saved nothing.
    warnings: Vec<String>,
    /// Backup paths that made it into the tree.
    targets_saved: usize,
    /// Files the look-ahead holds open (at most [`HELD_FILES`]).
    held: usize,
}

impl Walk<'_> {
    /// The node for an `lstat` result (warnings reported), with the atime
    /// policy applied. `at`: where the entry is (see [`At`]); `file`: the
    /// entry, already open for reading.
    fn node(
        &mut self,
        at: &At<'_>,
        md: &Meta,
        previous: Option<&Node>,
        file: Option<&std::fs::File>,
    ) -> Node {
        let previous = previous.filter(|_| self.reuse_xattrs);
        let (mut node, warns) =
            node_from(at.path, at.dir, at.name, md, &self.names, previous, file);
        for w in warns {
            self.warn(w);
        }
        if !self.src.sel.with_atime {
            node.atime = node.mtime;
        }
        node
    }

    fn warn(&mut self, msg: String) {
        self.warnings.push(msg.clone());
        self.sink.warn(msg);
    }

    /// The parent snapshot's tree of a directory, with its ID.
    fn parent_subtree(&mut self, parent: Option<&Node>) -> Option<(Tree, TreeId)> {
        let id = parent.filter(|n| n.kind == NodeKind::Dir)?.subtree?;
        match self.sink.parent_tree(&id) {
            Ok(t) => Some((t, id)),
            Err(e) => {
                self.warn(format!(
                    "parent snapshot tree unreadable, reading all files: {e}"
                ));
                None
            }
        }
    }

    /// Store a directory's tree, or reuse the parent's ID for an equal one.
    fn dir_node(&mut self, node: Node, tree: Tree, prev: Option<&(Tree, TreeId)>) -> Result<Node> {
        dir_node_like(self.sink, node, tree, prev.map(|(t, id)| (t, *id)))
    }
    /// `stored`: whether the parent's content is all stored, when the
    /// caller checked it in a batch (`None`: ask the sink). `opened`: the
    /// file, when the look-ahead already opened it.
    fn file(
        &mut self,
        at: &At<'_>,
        mut node: Node,
        parent: Option<&Node>,
        stored: Option<bool>,
        opened: Option<std::fs::File>,
    ) -> Result<Option<Node>> {
        let path = at.path;
        if self.src.sel.too_large(node.size) {
            return Ok(None);
        }
        self.progress.file(path);
        if let Some(p) = parent {
            if self
                .src
                .sel
                .unchanged(p, node.size, node.mtime, node.ctime, node.inode)
                && match stored {
                    Some(s) => s,
                    None => self.sink.are_stored(&[&p.content])?.first() == Some(&true),
                }
            {
                node.content = p.content.clone();
                let stats = self.sink.stats();
                stats.files += 1;
                stats.bytes += node.size;
                stats.unchanged_files += 1;
                self.progress.bytes(node.size);
                return Ok(Some(node));
            }
        }
        let class = ChunkClass::for_name(&node.name);
        let read = match opened.map_or_else(|| open_file(at.dir, path, at.name), Ok) {
            Ok(f) => read_content(self.sink, f, class)?,
            Err(e) => Err(e),
        };
        match read {
            Ok((content, size)) => {
                node.size = size;
                node.content = content;
                let stats = self.sink.stats();
                stats.files += 1;
                stats.bytes += node.size;
                Ok(Some(node))
            }
            Err(e) => {
                self.warn(format!("{}: {e} (file skipped)", path.display()));
                Ok(None)
            }
        }
    }

    /// Back up one directory entry that exists at `path`.
    fn entry(
        &mut self,
        path: &Path,
        name: &[u8],
        parent: Option<&Node>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        check_interrupt()?;
        if self.src.sel.excluded(path) {
            return Ok(None);
        }
        let md = match std::fs::symlink_metadata(path) {
            Ok(m) => Meta::from_std(&m),
            Err(e) => {
                self.warn(format!("{}: {e} (skipped)", path.display()));
                return Ok(None);
            }
        };
        let at = At {
            path,
            dir: None,
            name,
        };
        self.entry_with(&at, md, parent, None, None, root_dev)
    }

    /// As [`entry`](Self::entry) with the `lstat` result (and, for a file
    /// the look-ahead opened, its descriptor) already in hand; tells the
    /// sink whether the entry is new, changed or unmodified.
    fn entry_with(
        &mut self,
        at: &At<'_>,
        md: Meta,
        parent: Option<&Node>,
        stored: Option<bool>,
        opened: Option<std::fs::File>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        let path = at.path;
        let out = self.entry_node(at, md, parent, stored, opened, root_dev)?;
        if let Some(n) = &out {
            let change = match parent {
                None => Change::New,
                Some(p) if p == n => Change::Unmodified,
                Some(_) => Change::Changed,
            };
            self.sink.entry_done(path, n, change);
        }
        Ok(out)
    }

    fn entry_node(
        &mut self,
        at: &At<'_>,
        md: Meta,
        parent: Option<&Node>,
        stored: Option<bool>,
        opened: Option<std::fs::File>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        let node = self.node(at, &md, parent, opened.as_ref());
        if node.kind == NodeKind::Symlink && node.target.is_none() {
            return Ok(None); // unreadable link: warned above, skipped
        }
        match node.kind {
            NodeKind::File => self.file(at, node, parent, stored, opened),
            NodeKind::Dir => {
                if self.src.sel.one_fs && md.dev != root_dev {
                    return dir_node(self.sink, node, Tree::default()).map(Some);
                }
                let prev = self.parent_subtree(parent);
                self.dir(at, node, prev.as_ref(), root_dev)
            }
            _ => Ok(Some(node)),
        }
    }

    fn dir(
        &mut self,
        at: &At<'_>,
        node: Node,
        prev: Option<&(Tree, TreeId)>,
        root_dev: u64,
    ) -> Result<Option<Node>> {
        match self.dir_tree(at.path, at.dir, at.name, prev.map(|(t, _)| t), root_dev)? {
            Some(tree) => self.dir_node(node, tree, prev).map(Some),
            None => Ok(None),
        }
    }

    /// The tree of the directory at `path` (`name` in the open directory
    /// `up`, when there is one): its entries are looked up by name in it.
    fn dir_tree(
        &mut self,
        path: &Path,
        up: Option<BorrowedFd<'_>>,
        name: &[u8],
        parent: Option<&Tree>,
        root_dev: u64,
    ) -> Result<Option<Tree>> {
        let listed = open_dir(up, path, name).and_then(|d| Ok((list_dir(&d)?, d)));
        let (entries, dir) = match listed {
            Ok(l) => l,
            Err(e) => {
                self.warn(format!("{}: {e} (directory skipped)", path.display()));
                return Ok(None);
            }
        };
        let mut names: Vec<Vec<u8>> = Vec::new();
        for ent in entries {
            match ent {
                Ok(n) => names.push(n),
                Err(e) => self.warn(format!("{}: {e} (entry skipped)", path.display())),
            }
        }
        names.sort();
        // Whether each file of the parent tree still has all its chunks
        // stored, asked in one batch rather than a lookup per chunk as
        // each unchanged file comes.
        let stored = match parent {
            Some(t) => {
                let contents: Vec<&[Extent]> = t
                    .nodes
                    .iter()
                    .map(|n| match n.kind {
                        NodeKind::File => n.content.as_slice(),
                        _ => &[],
                    })
                    .collect();
                self.sink.are_stored(&contents)?
            }
            None => Vec::new(),
        };
        if let Some(tag) = self.src.sel.tag_in(path) {
            names.retain(|n| n.as_slice() == tag);
        }
        // Look ahead: lstat the next entries, and open the files we will
        // have to read (new or changed ones) and ask the kernel to start
        // reading them, so disk latency overlaps our work. Unchanged files
        // are never opened.
        let mut ahead: std::collections::VecDeque<Ahead> = std::collections::VecDeque::new();
        let mut names = names.into_iter();
        let mut tree = Tree::default();
        loop {
            while ahead.len() < PREFETCH_FILES {
                let Some(name) = names.next() else { break };
                let child = path.join(std::ffi::OsStr::from_bytes(&name));
                let md = stat_at(dir.as_fd(), &name);
                let mut opened = None;
                if let Ok(m) = &md {
                    // Unchanged and all its chunks stored: not read.
                    let at = parent.and_then(|t| t.position(&name));
                    let pnode = at.and_then(|i| parent.and_then(|t| t.nodes.get(i)));
                    let kept = at.and_then(|i| stored.get(i).copied()) == Some(true);
                    let same = kept
                        && pnode.is_some_and(|p| {
                            self.src.sel.unchanged(p, m.size, m.mtime, m.ctime, m.ino)
                        });
                    let file = m.kind == NodeKind::File;
                    if file && !same && !self.src.sel.excluded(&child) {
                        let keep = self.held < HELD_FILES;
                        opened = prefetch(dir.as_fd(), &child, &name, keep);
                        self.held += usize::from(opened.is_some());
                    }
                }
                ahead.push_back((name, md, opened));
            }
            let Some((name, md, opened)) = ahead.pop_front() else {
                break;
            };
            self.held -= usize::from(opened.is_some());
            check_interrupt()?;
            let child = path.join(std::ffi::OsStr::from_bytes(&name));
            if self.src.sel.excluded(&child) {
                continue;
            }
            let md = match md {
                Ok(m) => m,
                Err(e) => {
                    self.warn(format!("{}: {e} (skipped)", child.display()));
                    continue;
                }
            };
            let at = parent.and_then(|t| t.position(&name));
            let pnode = at.and_then(|i| parent.and_then(|t| t.nodes.get(i)));
            let stored = at.and_then(|i| stored.get(i).copied());
            let at = At {
                path: &child,
                dir: Some(dir.as_fd()),
                name: &name,
            };
            if let Some(n) = self.entry_with(&at, md, pnode, stored, opened, root_dev)? {
                tree.nodes.push(n);
            }
        }
        Ok(Some(tree))
    }

    /// Build the root tree reproducing the absolute `paths`.
    fn root(&mut self, trie: &Trie, prefix: &Path, parent: Option<&Tree>) -> Result<Tree> {
        let mut tree = Tree::default();
        for (name, sub) in &trie.children {
            let path = prefix.join(std::ffi::OsStr::from_bytes(name));
            let pnode = parent.and_then(|t| t.get(name));
            // A backup path itself is recorded as it is (a symlink stays a
            // symlink); a directory above it is followed if it is a symlink
            // (e.g. /lib -> usr/lib), because it must be a directory here.
            let md = if sub.target {
                std::fs::symlink_metadata(&path)
            } else {
                std::fs::metadata(&path)
            };
            let md = match md {
                Ok(m) => Meta::from_std(&m),
                Err(e) => {
                    self.warn(format!("{}: {e} (skipped)", path.display()));
                    continue;
                }
            };
            let node = if sub.target {
                let n = self.entry(&path, name, pnode, md.dev)?;
                self.targets_saved += usize::from(n.is_some());
                n
            } else {
                let at = At {
                    path: &path,
                    dir: None,
                    name,
                };
                let node = self.node(&at, &md, pnode, None);
                let prev = self.parent_subtree(pnode);
                let subtree = self.root(sub, &path, prev.as_ref().map(|(t, _)| t))?;
                Some(self.dir_node(node, subtree, prev.as_ref())?)
            };
            if let Some(n) = node {
                tree.nodes.push(n);
            }
        }
        Ok(tree)
    }
}

/// How many entries ahead of the current one are examined and prefetched.
const PREFETCH_FILES: usize = 32;

/// At most this many files the look-ahead opened are held open at once,
/// over all the directories being walked: a subdirectory is walked while
/// its parent's look-ahead still holds files, so without a bound a tree
/// 32 levels deep would hold a thousand descriptors and meet the usual
/// limit (`deep_tree_within_a_small_descriptor_limit`). Past the bound a
/// file is only advised (opened, `WILLNEED`, closed) and opened again
/// when read.
const HELD_FILES: usize = 64;

/// A looked-ahead entry: its name, its `lstat` result and, for a file to
/// be read, the descriptor the look-ahead opened.
type Ahead = (Vec<u8>, std::io::Result<Meta>, Option<std::fs::File>);

/// Where an entry is: its full path (for messages, exclusions and the
/// backup paths themselves) and, below a backup path, its open directory
/// and its name there, which the system calls use instead of the path.
struct At<'a> {
    path: &'a Path,
    dir: Option<BorrowedFd<'a>>,
    name: &'a [u8],
}
