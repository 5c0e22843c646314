//! Where backup data comes from: the filesystem ([`files::FilesSource`]),
//! standard input ([`stdin::StdinSource`]) and MongoDB (`mongodb`, behind
//! the `mongodb` cargo feature, on by default).
//!
//! A [`Source`] builds the snapshot's root tree by feeding a [`Sink`]: a
//! narrow trait this layer owns and the backup pipeline (`ops::backup`)
//! implements, so no source ever sees the repository, the lock or the
//! commit. Invariants: an unreadable entry of a filesystem walk is a
//! warning, never an abort; a stream that cannot be read completely fails
//! the build, so no partial stream becomes a snapshot.

pub mod files;
pub mod filter;
pub mod interruptible;
#[cfg(feature = "mongodb")]
pub mod mongodb;
pub mod stdin;
pub mod stream;

pub use crate::chunking::ChunkClass;
use crate::error::Result;
use crate::format::snapshot::SnapshotStats;
use crate::format::tree::{Extent, Node, Timestamp, Tree};
use crate::id::TreeId;
use crate::progress::Progress;
use std::io::Read;

/// What a source feeds. Errors returned as `Err` are the repository's
/// (the backup must stop); errors of the data being read are the inner
/// `io::Result` of [`Sink::chunk`], for the source to judge.
pub trait Sink {
    /// Cut `reader` into chunks (content-defined, or at pages for the page
    /// class), store the new ones, and append their IDs to `content`;
    /// returns the bytes read. The stream starts `offset` bytes into its
    /// file and is cut as `class` says (`ChunkClass::for_name` of the
    /// file's name). With `count_progress` the bytes are reported as
    /// chunks complete (off when the reader reports them itself).
    fn chunk(
        &mut self,
        reader: &mut dyn Read,
        content: &mut Vec<Extent>,
        class: ChunkClass,
        offset: u64,
        count_progress: bool,
    ) -> Result<std::io::Result<u64>>;
    /// Store a tree (deduplicated); its ID.
    fn tree(&mut self, tree: Tree) -> Result<TreeId>;
    /// Is the parent snapshot's tree `id` still stored, so that a tree
    /// equal to it can be recorded as `id` without encoding it again?
    fn tree_stored(&self, id: &TreeId) -> Result<bool>;
    /// For each of `contents`, are all its chunks stored? A parent's
    /// content list is reused only then, so a lost pack heals by reading
    /// the file again. One call for many files batches the lookups.
    fn are_stored(&self, contents: &[&[Extent]]) -> Result<Vec<bool>>;
    /// A tree of the parent snapshot, for change detection.
    fn parent_tree(&mut self, id: &TreeId) -> Result<Tree>;
    /// Record a problem that makes the snapshot partial.
    fn warn(&mut self, msg: String);
    /// The running totals of the snapshot.
    fn stats(&mut self) -> &mut SnapshotStats;
    /// A walk finished the entry at `path` (its node as stored).
    fn entry_done(
        &mut self,
        _path: &std::path::Path,
        _node: &Node,
        _change: crate::progress::Change,
    ) {
    }
}

/// What a source knows about the snapshot it builds.
pub struct BuildContext<'a> {
    /// The snapshot time (stream nodes are timestamped with it).
    pub time: Timestamp,
    /// The parent snapshot's root tree, if the source asked for one and
    /// it could be read.
    pub parent: Option<&'a Tree>,
    /// The parent was made by the same user and read everything (not
    /// tagged partial), so what it recorded of an entry whose inode and
    /// ctime are unchanged (its xattrs) is what this run would read.
    pub parent_complete: bool,
    /// Where to report progress.
    pub progress: &'a dyn Progress,
}

/// A source of backup data.
pub trait Source {
    /// The snapshot's `source` field: `files`, `stdin` or `mongodb`.
    fn kind(&self) -> &'static str;
    /// The snapshot's `paths` field.
    fn paths(&self) -> Vec<String>;
    /// Does this source skip unchanged data using a parent snapshot (one
    /// of the same kind, host and paths)?
    fn wants_parent(&self) -> bool {
        false
    }
    /// Build the root tree (not yet stored: the pipeline stores it).
    fn build(&mut self, sink: &mut dyn Sink, ctx: &BuildContext<'_>) -> Result<Tree>;
}

/// Store `tree` as the subtree of directory `node`, counting the directory.
pub fn dir_node(sink: &mut dyn Sink, mut node: Node, tree: Tree) -> Result<Node> {
    sink.stats().dirs += 1;
    node.subtree = Some(sink.tree(tree)?);
    Ok(node)
}

/// As [`dir_node`], when the parent snapshot had this directory as
/// `prev` (its tree and the tree's ID): a tree equal to it is recorded
/// under that ID if it is still stored, skipping its encoding, hashing and
/// lookup. The encoding is canonical CBOR (format-spec
/// `trees-and-snapshots.md`), so an equal tree would encode to a blob with
/// that very ID; a parent written by an older version may hold other bytes
/// for equal nodes, which every reader reads alike.
pub fn dir_node_like(
    sink: &mut dyn Sink,
    mut node: Node,
    tree: Tree,
    prev: Option<(&Tree, TreeId)>,
) -> Result<Node> {
    if let Some((prev, id)) = prev {
        if *prev == tree && sink.tree_stored(&id)? {
            sink.stats().dirs += 1;
            node.subtree = Some(id);
            return Ok(node);
        }
    }
    dir_node(sink, node, tree)
}
