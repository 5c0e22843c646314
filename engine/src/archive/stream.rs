//! Backups built from streams rather than a filesystem walk: standard
//! input and database dumps. The nodes are synthetic (owned by the current
//! user, timestamped with the snapshot time); the content goes through the
//! same chunk → dedup → seal → pack pipeline as files. Invariant: a read
//! error in any stream aborts the backup — no partial dump becomes a
//! snapshot.

use super::{
    base_snapshot, finish, run_walker, BackupOptions, BackupSummary, WalkSettings, Walker,
};
use crate::error::{Error, Result};
use crate::filter::PathFilter;
use crate::progress::Progress;
use crate::repo::commit::BlobWriter;
use crate::repo::lock::LockMode;
use crate::repo::Repository;
use crate::source::interruptible::InterruptibleReader;
use crate::tree::{Node, NodeKind, Timestamp, Tree};
use std::io::Read;
use std::sync::Mutex;

/// Builds a snapshot from streams instead of a filesystem walk (standard
/// input, database dumps). Every node it makes is owned by the current
/// user, mode 0644/0755, timestamped with the snapshot time. A read error
/// in a stream is fatal: a dump that could not be read completely must not
/// become a snapshot.
pub struct StreamSink<'w, 'a, 'r> {
    walker: &'w mut Walker<'a, 'r>,
    time: Timestamp,
}

impl StreamSink<'_, '_, '_> {
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
    pub fn file(&mut self, name: &[u8], reader: impl Read, what: &str) -> Result<Node> {
        self.file_from(name, reader, what, true)
    }

    /// As [`file`](Self::file); `count_chunks = false` when the reader
    /// reports progress itself as bytes arrive.
    fn file_from(
        &mut self,
        name: &[u8],
        reader: impl Read,
        what: &str,
        count_chunks: bool,
    ) -> Result<Node> {
        let mut node = self.node(name, NodeKind::File);
        let mut content = Vec::new();
        self.walker.chunk_progress = count_chunks;
        let read = self.walker.chunk_stream(reader, &mut content);
        self.walker.chunk_progress = true;
        let total = read?.map_err(|e| Error::from_io(format!("reading {what}"), e))?;
        node.size = total;
        node.content = content;
        self.walker.stats.files += 1;
        self.walker.stats.bytes += total;
        Ok(node)
    }

    /// A directory holding `nodes`.
    pub fn dir(&mut self, name: &[u8], nodes: Vec<Node>) -> Result<Node> {
        let node = self.node(name, NodeKind::Dir);
        self.walker.dir_node(node, Tree { nodes })
    }

    /// Report progress on an item.
    pub fn progress(&self) -> &dyn Progress {
        self.walker.progress
    }
}

/// Back up a tree of streams built by `build` (see [`StreamSink`]).
pub(crate) fn backup_streams(
    repo: &Repository,
    opts: &BackupOptions,
    source: &str,
    paths: Vec<String>,
    progress: &dyn Progress,
    build: impl FnOnce(&mut StreamSink) -> Result<Vec<Node>>,
) -> Result<BackupSummary> {
    let snapshot = base_snapshot(opts, paths, source);
    let lock = repo.lock(LockMode::Shared)?;
    let writer = BlobWriter::new(repo, &lock)?;
    let failed = Mutex::new(None);
    let settings = WalkSettings {
        excludes: PathFilter::new(&[])?,
        one_fs: false,
        with_atime: true, // stream nodes carry the snapshot time throughout
    };
    let walked = run_walker(repo, &writer, &failed, settings, progress, |w| {
        let mut sink = StreamSink {
            walker: w,
            time: snapshot.time,
        };
        let nodes = build(&mut sink)?;
        w.add_tree(Tree { nodes })
    });
    finish(repo, &lock, writer, failed, walked, snapshot)
}

/// Back up one stream (standard input) as a file named `name`. The
/// stream is read on a helper thread ([`InterruptibleReader`]), so an
/// interrupt stops the backup even while no byte arrives, and progress
/// counts bytes as they are read.
pub fn backup_stdin(
    repo: &Repository,
    name: &str,
    reader: impl Read + Send + 'static,
    opts: &BackupOptions,
    progress: &dyn Progress,
) -> Result<BackupSummary> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::invalid(format!(
            "--stdin-name '{name}' must be a plain file name"
        )));
    }
    backup_streams(
        repo,
        opts,
        "stdin",
        vec![name.to_owned()],
        progress,
        |sink| {
            let reader = InterruptibleReader::new(reader, progress);
            Ok(vec![sink.file_from(
                name.as_bytes(),
                reader,
                "standard input",
                false,
            )?])
        },
    )
}
