//! Trees built from streams rather than a filesystem walk (standard input,
//! database dumps). Every node is synthetic: owned by the current user,
//! mode 0644 or 0755, timestamped with the snapshot time. Invariant: a read
//! error in a stream is fatal, because a dump that could not be read
//! completely must not become a snapshot.

use super::{dir_node, BuildContext, ChunkClass, Sink};
use crate::error::{Error, Result};
use crate::format::tree::{Node, NodeKind, Timestamp, Tree};
use crate::progress::Progress;
use std::io::Read;

/// Builds synthetic nodes for stream content (see the module docs).
pub struct StreamNodes<'s, 'c> {
    sink: &'s mut dyn Sink,
    time: Timestamp,
    progress: &'c dyn Progress,
}

impl<'s, 'c> StreamNodes<'s, 'c> {
    /// Nodes fed to `sink`, timestamped with the snapshot time.
    pub fn new(sink: &'s mut dyn Sink, ctx: &BuildContext<'c>) -> Self {
        StreamNodes {
            sink,
            time: ctx.time,
            progress: ctx.progress,
        }
    }

    fn node(&self, name: &[u8], kind: NodeKind) -> Node {
        let mut node = Node::new(name.to_vec(), kind);
        node.mode = if kind == NodeKind::Dir { 0o755 } else { 0o644 };
        node.uid = nix::unistd::geteuid().as_raw();
        node.gid = nix::unistd::getegid().as_raw();
        node.mtime = self.time;
        node.atime = self.time;
        node.ctime = self.time;
        node
    }

    /// A regular file whose content is everything `reader` yields.
    pub fn file(&mut self, name: &[u8], mut reader: impl Read, what: &str) -> Result<Node> {
        self.file_from(name, &mut reader, what, true)
    }

    /// As [`file`](Self::file); `count_progress = false` when the reader
    /// reports progress itself as bytes arrive.
    pub fn file_from(
        &mut self,
        name: &[u8],
        reader: &mut dyn Read,
        what: &str,
        count_progress: bool,
    ) -> Result<Node> {
        let mut node = self.node(name, NodeKind::File);
        let mut content = Vec::new();
        let total = self
            .sink
            .chunk(
                reader,
                &mut content,
                ChunkClass::for_name(name),
                0,
                count_progress,
            )?
            .map_err(|e| Error::from_io(format!("reading {what}"), e))?;
        node.size = total;
        node.content = content;
        let stats = self.sink.stats();
        stats.files += 1;
        stats.bytes += total;
        Ok(node)
    }

    /// A directory holding `nodes`.
    pub fn dir(&mut self, name: &[u8], nodes: Vec<Node>) -> Result<Node> {
        let node = self.node(name, NodeKind::Dir);
        dir_node(self.sink, node, Tree { nodes })
    }

    /// Where to report progress.
    pub fn progress(&self) -> &'c dyn Progress {
        self.progress
    }
}
